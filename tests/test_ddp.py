"""One fold model of the competition pipeline trained by ``imbalance-xfmr fit`` under Lightning DDP: 2 CPU processes
on gloo (``trainer.strategy: ddp``, ``devices: 2``, ``accelerator: cpu``), with the per-epoch resampling sharded.

Lightning's ``ddp`` strategy re-launches the command line for rank 1, so the fit runs as a real command in a
subprocess, on the config :func:`competition.fold_models.fit_args` makes for fold 0. The callback of
``tests/ddp_recorder.py`` records what each rank's sampler drew and what each rank trained on, epoch by epoch.
"""

import json
import math
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.distributed
import yaml

from competition.fold_models import fit_args
from imbalance_xfmr.cli import check_config
from imbalance_xfmr.sampling.torch_sampler import ClassBalancedBatchSampler, ResamplingSampler

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
SEED = 1234
EPOCHS = 2
BATCH_SIZE = 16
N_ROWS, N_MINORITY, N_FOLDS, VAL_FOLD = 200, 40, 5, 0
RUNS = {
    # ResamplingSampler is a DistributedSampler: Lightning's default use_distributed_sampler=True leaves it alone.
    "random_over": {},
    # ClassBalancedBatchSampler needs use_distributed_sampler=False (README, "Resampling").
    "class_balanced": {"use_distributed_sampler": False},
}


def _loopback() -> str | None:
    """The loopback interface's name ('lo', 'lo0'), or None when this machine has none that gloo could use."""
    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
        names = [name for _, name in socket.if_nameindex()]
    except OSError:
        return None
    return next((name for name in names if name.startswith("lo")), None)


LOOPBACK = _loopback()
needs_gloo = pytest.mark.skipif(
    not (torch.distributed.is_available() and torch.distributed.is_gloo_available() and LOOPBACK),
    reason="DDP on CPU needs torch.distributed with gloo and a loopback interface (127.0.0.1)",
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command() -> list[str]:
    """The ``imbalance-xfmr`` console script of this interpreter's environment, else the module."""
    script = Path(sys.executable).with_name("imbalance-xfmr")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "imbalance_xfmr.cli"]


def _labels_and_folds() -> tuple[np.ndarray, np.ndarray]:
    """Every row's encoded label (ham 0, spam 1: every 5th row) and fold (stratified: 8 spam of 40 rows each)."""
    rows = np.arange(N_ROWS)
    return (rows % (N_ROWS // N_MINORITY) == 0).astype(np.int64), (rows // N_FOLDS) % N_FOLDS


def _write_tables(root: Path) -> tuple[Path, Path]:
    """An imbalanced 2-class table with a fold column (``N_MINORITY`` spam among ``N_ROWS``), and a test table."""
    rng = np.random.default_rng(0)
    ham = ["lunch", "meeting", "tomorrow", "see", "you", "at", "the", "office", "thanks", "call"]
    spam = ["win", "free", "cash", "now", "prize", "click", "offer", "urgent", "claim", "money"]
    codes, folds = _labels_and_folds()
    labels = np.array(["ham", "spam"])[codes]
    texts = [" ".join(rng.choice(spam if label == "spam" else ham, size=rng.integers(3, 9))) for label in labels]
    frame = pd.DataFrame({"id": [f"r{i:03d}" for i in range(N_ROWS)], "text": texts, "label": labels, "fold": folds})
    train, test = root / "train.csv", root / "test.csv"
    frame.to_csv(train, index=False)
    frame[["id", "text"]].head(20).to_csv(test, index=False)
    return train, test


def _user_config(resampling: str, trainer: dict, records: Path) -> dict:
    """A tiny model's ``imbalance-xfmr fit`` config, trained on 2 CPU processes."""
    return {
        "data": {"max_vocab_size": 64, "min_frequency": 1, "max_length": 12, "batch_size": BATCH_SIZE,
                 "resampling": resampling},
        "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32},
        "trainer": {
            "accelerator": "cpu", "strategy": "ddp", "devices": 2, "max_epochs": EPOCHS,
            "num_sanity_val_steps": 0, "enable_progress_bar": False, "enable_model_summary": False,
            "callbacks": [{"class_path": "ddp_recorder.ShardRecorder", "init_args": {"folder": str(records)}}],
            **trainer,
        },
        "checkpoints": {"last_every_seconds": 0},  # last.ckpt after every epoch: each rank takes rank 0's decision
    }


@pytest.fixture(scope="module")
def ddp_fits(tmp_path_factory):
    """Both fold-model fits, launched concurrently: ``{resampling: (run folder, exit code, log)}``."""
    root = tmp_path_factory.mktemp("ddp_fold")
    tables = _write_tables(root)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": LOOPBACK,
    }
    for key in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "GROUP_RANK", "RANK", "PL_GLOBAL_SEED"):
        env.pop(key, None)  # this process's own launch settings (if any) are not the child's
    processes = {}
    for resampling, trainer in RUNS.items():
        folder = root / resampling
        folder.mkdir()
        args = fit_args(_user_config(resampling, trainer, folder / "records"), tables=tables, k=VAL_FOLD, seed=SEED,
                        folder=folder, checkpoints=folder / "checkpoints", logs="logs", checkpoint="best")
        config = folder / "fit.yaml"
        config.write_text(yaml.safe_dump(args), encoding="utf-8")
        log = open(folder / "fit.log", "w")  # noqa: SIM115 - closed below, once the command has ended
        processes[resampling] = (folder, log, subprocess.Popen(
            [*_command(), "fit", "--config", str(config)], cwd=folder, stdout=log, stderr=subprocess.STDOUT,
            env={**env, "MASTER_PORT": str(_free_port())},
            start_new_session=True,  # rank 1 joins rank 0's process group, so a timeout can end both
        ))
    fits = {}
    for resampling, (folder, log, process) in processes.items():
        try:
            code = process.wait(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            code = process.wait()
        log.close()
        fits[resampling] = (folder, code, (folder / "fit.log").read_text(errors="replace"))
    return fits


def _fit(ddp_fits, resampling):
    folder, code, log = ddp_fits[resampling]
    assert code == 0, f"imbalance-xfmr fit (ddp, 2 processes) exited with {code}:\n{log[-4000:]}"
    records = {(rank, epoch): json.loads((folder / "records" / f"rank{rank}_epoch{epoch}.json").read_text())
               for rank in range(2) for epoch in range(EPOCHS)}
    saves = {rank: json.loads((folder / "records" / f"rank{rank}_saves.json").read_text()) for rank in range(2)}
    return folder, records, saves


def _train_labels() -> np.ndarray:
    """Encoded labels (ham 0, spam 1) of fold 0's training rows, in file order, as the DataModule holds them."""
    labels, folds = _labels_and_folds()
    return labels[folds != VAL_FOLD]


def _check_checkpoints(folder: Path, saves: dict, steps: int) -> None:
    """last.ckpt (and the best epoch) written once per epoch, by rank 0 only, atomically; loads, finite weights."""
    checkpoints = folder / "checkpoints"
    names = sorted(path.name for path in checkpoints.iterdir())
    assert "last.ckpt" in names and len(names) == 2 and names[0].startswith("best-"), names  # no temporary leftovers
    assert saves[1] == [], "rank 1 wrote checkpoints"
    last_saves = [save for save in saves[0] if Path(save["path"]).name == "last.ckpt"]
    assert [save["io"] for save in saves[0]] == ["AtomicCheckpointIO"] * len(saves[0])
    assert [save["epoch"] for save in last_saves] == list(range(EPOCHS))  # once per epoch
    checkpoint = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == EPOCHS - 1 and checkpoint["global_step"] == steps
    assert checkpoint["TextDataModule"]["classes"] == ["ham", "spam"]
    weights = checkpoint["state_dict"]
    assert weights and all(torch.isfinite(value).all() for value in weights.values() if value.is_floating_point())
    config = yaml.safe_load(next((folder / "logs").glob("version_*/config.yaml")).read_text())
    assert config["seed_everything"] == SEED and config["trainer"]["strategy"] == "ddp"


@needs_gloo
def test_fold_model_trains_under_ddp_with_the_resampling_sharded(ddp_fits):
    """random_over, Lightning's default use_distributed_sampler: each epoch, the two ranks train on disjoint,
    equal-length halves (positions rank::2) of one and the same over-sample of fold 0's training rows."""
    folder, records, saves = _fit(ddp_fits, "random_over")
    labels = _train_labels()
    reference = ResamplingSampler(labels, "auto", kind="over", seed=SEED)
    draws = []
    for epoch in range(EPOCHS):
        rank0, rank1 = records[0, epoch], records[1, epoch]
        for rank, record in enumerate((rank0, rank1)):
            assert record["world_size"] == 2 and record["sampler_replicas"] == 2 and record["sampler_rank"] == rank
            # Lightning left the sampler alone (no DistributedSamplerWrapper sharding it a second time).
            assert record["sampler"] == "ResamplingSampler" and record["sampler_epoch"] == epoch
            assert record["sampler_seed"] == SEED and record["dataset_labels"] == labels.tolist()
        reference.set_epoch(epoch)
        draw = reference.epoch_indices().tolist()
        assert rank0["draw"] == rank1["draw"] == draw  # the same epoch draw on both ranks
        assert Counter(labels[draw].tolist()) == {0: 128, 1: 128}  # the over-sample: minority up to the majority
        shard0, shard1 = rank0["shard"], rank1["shard"]
        assert len(shard0) == len(shard1) == len(draw) // 2
        assert shard0 == draw[0::2] and shard1 == draw[1::2]  # disjoint positions that together cover the draw
        assert Counter(shard0) + Counter(shard1) == Counter(draw)
        for shard, record in ((shard0, rank0), (shard1, rank1)):  # each rank trained on its shard, in order
            assert sum(record["batch_labels"], []) == labels[shard].tolist()
            assert len(record["batch_labels"]) == math.ceil(len(shard) / BATCH_SIZE)
        # Lightning shards the validation rows (20 + 20 of fold 0's 40); the epoch metrics, torchmetrics states
        # synchronised across ranks, are those of all 40 on both ranks, so ModelCheckpoint ranks epochs alike.
        assert [sum(map(len, record["val_labels"])) for record in (rank0, rank1)] == [20, 20]
        assert sum(map(sum, rank0["val_labels"] + rank1["val_labels"])) == 8
        for name in ("val/f1_macro", "val/balanced_accuracy", "val/pr_auc", "val/roc_auc"):
            assert rank0["metrics"][name] == rank1["metrics"][name], name
        draws.append(draw)
    assert draws[0] != draws[1]  # a fresh resample every epoch
    _check_checkpoints(folder, saves, steps=EPOCHS * math.ceil(256 / 2 / BATCH_SIZE))


@needs_gloo
def test_fold_model_trains_under_ddp_with_class_balanced_batches(ddp_fits):
    """class_balanced with use_distributed_sampler=False: each rank trains on every other batch of one epoch's
    class-balanced batches (8 ham + 8 spam each)."""
    folder, records, saves = _fit(ddp_fits, "class_balanced")
    labels = _train_labels()
    reference = ClassBalancedBatchSampler(ResamplingSampler(labels, "auto", kind="over", seed=SEED), BATCH_SIZE)
    for epoch in range(EPOCHS):
        rank0, rank1 = records[0, epoch], records[1, epoch]
        for rank, record in enumerate((rank0, rank1)):
            assert record["batch_sampler"] == "ClassBalancedBatchSampler" and record["sampler"] == "ResamplingSampler"
            assert record["sampler_replicas"] == 2 and record["sampler_rank"] == rank
            assert record["sampler_epoch"] == epoch and record["sampler_seed"] == SEED
        reference.set_epoch(epoch)
        batches = reference.epoch_batches().tolist()  # 256 rows / 16 = 16 batches, 8 per rank
        assert rank0["draw"] == rank1["draw"] == batches
        assert rank0["shard"] == batches[0::2] and rank1["shard"] == batches[1::2]
        for record in (rank0, rank1):
            assert record["batch_labels"] == [labels[batch].tolist() for batch in record["shard"]]
            assert all(Counter(batch) == {0: 8, 1: 8} for batch in record["batch_labels"])
    _check_checkpoints(folder, saves, steps=EPOCHS * 8)


def test_a_drawn_seed_is_rank_zeros_in_a_ddp_child(monkeypatch, tmp_path):
    """``seed_everything: true`` under ``strategy: ddp``: Lightning re-runs the command for rank 1 with rank 0's
    environment (``LOCAL_RANK=1``, and ``PL_GLOBAL_SEED`` set by rank 0's ``seed_everything``). Rank 1 must train
    with rank 0's seed: the epoch draw of ResamplingSampler and the per-batch seeds come from it, and a different
    draw per rank would train on overlapping shards that miss rows."""
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("PL_GLOBAL_SEED", "31337")
    args = fit_args(_user_config("random_over", {}, tmp_path / "records"), tables=_write_tables(tmp_path),
                    k=VAL_FOLD, seed=SEED, folder=tmp_path, checkpoints=tmp_path / "checkpoints", logs="logs",
                    checkpoint="best")
    assert check_config({**args, "seed_everything": True})["seed_everything"] == 31337
