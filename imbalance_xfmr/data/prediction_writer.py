"""Lightning callback that writes ``predict`` probabilities to a CSV: the id column, then one column per class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import BasePredictionWriter

from .io import write_csv


class ProbabilityWriter(BasePredictionWriter):
    """Collect the (B, C) probabilities ``predict_step`` returns and write them, in the data's row order, to a CSV.

    Works with :class:`~imbalance_xfmr.data.TextDataModule`, whose prediction batches carry ``index`` (row
    positions; batches may be sorted by length) and which knows the ids and class names. The CSV has the id column
    (named like the data's) and one column per class named ``str(class)``, and is written atomically (temporary
    file, then rename), so a reader never sees half a file.

    Parameters
    ----------
    output_path : str
        Where the CSV goes; its folder is created if needed.
    overwrite : bool
        Replace an existing file at ``output_path``. Off by default, so a second ``predict`` never silently
        destroys an earlier run's predictions: it stops before predicting instead.
    """

    def __init__(self, output_path: str = "predictions.csv", overwrite: bool = False) -> None:
        super().__init__(write_interval="batch")
        self.output_path = output_path
        self.overwrite = overwrite

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage != "predict":
            return
        if trainer.world_size > 1:
            raise RuntimeError(
                "ProbabilityWriter writes from a single process: run predict with trainer.devices=1 "
                f"(world size is {trainer.world_size})."
            )
        datamodule = trainer.datamodule
        if not all(hasattr(datamodule, name) for name in ("predict_ids", "classes", "id_column")):
            raise TypeError("ProbabilityWriter needs a TextDataModule (ids and class names) to write predictions.")
        if Path(self.output_path).exists() and not self.overwrite:
            raise FileExistsError(
                f"{self.output_path} already exists and would be overwritten; choose another "
                "--prediction_writer.output_path, or pass --prediction_writer.overwrite true to replace it."
            )

    def on_predict_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._indices: list[torch.Tensor] = []
        self._probabilities: list[torch.Tensor] = []

    def write_on_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        prediction: Any,
        batch_indices: Any,
        batch: dict[str, torch.Tensor],
        batch_idx: int,
        dataloader_idx: int,
    ) -> None:
        self._indices.append(batch["index"].cpu())
        self._probabilities.append(prediction.detach().float().cpu())

    def on_predict_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        datamodule = trainer.datamodule
        index = torch.cat(self._indices)
        probabilities = torch.cat(self._probabilities)
        classes = [str(label) for label in datamodule.classes]
        if probabilities.shape != (len(index), len(classes)):
            raise ValueError(
                f"predict_step returned probabilities of shape {tuple(probabilities.shape)}; expected "
                f"({len(index)}, {len(classes)}): one row per text, one column per class."
            )
        order = torch.argsort(index)
        frame = pd.DataFrame(probabilities[order].numpy(), columns=classes)
        frame.insert(0, datamodule.id_column, datamodule.predict_ids[index[order].numpy()])
        write_csv(self.output_path, frame)
