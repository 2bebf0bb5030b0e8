"""A callback for tests/test_ddp.py, given to ``imbalance-xfmr fit`` through ``trainer.callbacks`` (class_path
``ddp_recorder.ShardRecorder``; this folder is on the subprocess's PYTHONPATH).

Every epoch, every rank writes ``<folder>/rank<r>_epoch<e>.json``: its training sampler's seed, epoch, world size
and rank, the whole epoch draw (every rank's shard interleaved), this rank's shard as the DataLoader iterates it,
the labels of the training batches it actually trained on, the labels of its validation batches and its metrics
after the epoch's validation, so the test can check that the batches came from the shard and the shards from one
draw. ``<folder>/rank<r>_saves.json`` lists the checkpoints the rank's CheckpointIO wrote.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl


class ShardRecorder(pl.Callback):
    def __init__(self, folder: str) -> None:
        self.folder = folder
        self._record: dict[str, Any] = {}

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Record every checkpoint write of this rank's CheckpointIO in ``rank<r>_saves.json``."""
        io = trainer.strategy.checkpoint_io
        save = io.save_checkpoint
        saves_path = Path(self.folder, f"rank{trainer.global_rank}_saves.json")
        saves: list[dict[str, Any]] = []
        saves_path.parent.mkdir(parents=True, exist_ok=True)
        saves_path.write_text("[]", encoding="utf-8")  # by every rank: a missing file is a recorder that never ran

        def recorded_save(checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            save(checkpoint, path, storage_options)
            saves.append({"path": str(path), "epoch": checkpoint.get("epoch"), "io": type(io).__name__})
            saves_path.write_text(json.dumps(saves), encoding="utf-8")

        io.save_checkpoint = recorded_save

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loader = trainer.train_dataloader
        batch_sampler = loader.batch_sampler
        # class_balanced: the DataLoader's batch_sampler is a ClassBalancedBatchSampler holding the ResamplingSampler.
        balanced = type(batch_sampler).__name__ == "ClassBalancedBatchSampler"
        sampler = batch_sampler.sampler if balanced else loader.sampler
        record = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "epoch": trainer.current_epoch,
            "sampler": type(sampler).__name__,
            "batch_sampler": type(batch_sampler).__name__,
            "sampler_epoch": getattr(sampler, "epoch", None),
            "sampler_seed": getattr(sampler, "seed", None),
            "sampler_replicas": getattr(sampler, "num_replicas", None),
            "sampler_rank": getattr(sampler, "rank", None),
            "batch_labels": [],
        }
        if balanced:
            record["draw"] = batch_sampler.epoch_batches().tolist()
            record["shard"] = [list(batch) for batch in batch_sampler]
        elif type(sampler).__name__ == "ResamplingSampler":
            record["draw"] = sampler.epoch_indices().tolist()
            record["shard"] = list(sampler)
        record["dataset_labels"] = loader.dataset.labels.tolist()
        self._record = record

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        self._record["batch_labels"].append(batch["labels"].tolist())

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loaders = trainer.val_dataloaders
        self._record["val_sampler"] = type(loaders.sampler).__name__
        self._record["val_labels"] = []

    def on_validation_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                                  batch_idx: int, dataloader_idx: int = 0) -> None:
        self._record["val_labels"].append(batch["labels"].tolist())

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        record = self._record
        # This epoch's validation ran before this hook: what each rank's ModelCheckpoint monitors.
        record["metrics"] = {name: float(value) for name, value in trainer.callback_metrics.items()}
        path = Path(self.folder, f"rank{record['rank']}_epoch{record['epoch']}.json")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record), encoding="utf-8")
