"""A small binary competition cut from the embedded demo, for end-to-end pipeline tests."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytorch_lightning as pl

from imbalance_xfmr.training import LastCheckpoint

DEMO = Path("competition/demo/binary")


def write_tiny_competition(folder: Path, n_spam: int, n_ham: int, n_test: int) -> Path:
    """Write train.csv (the demo's first ``n_spam`` spam and ``n_ham`` ham rows, in the demo's order), test.csv and
    sample_submission.csv (their first ``n_test`` rows) to ``folder``; return ``folder``."""
    train, test, sample = (pd.read_csv(DEMO / name, dtype=str, keep_default_na=False)
                           for name in ("train.csv", "test.csv", "sample_submission.csv"))
    subset = pd.concat([train[train["label"] == "spam"].head(n_spam), train[train["label"] == "ham"].head(n_ham)])
    subset.sort_index().to_csv(folder / "train.csv", index=False)
    test.head(n_test).to_csv(folder / "test.csv", index=False)
    sample.head(n_test).to_csv(folder / "sample_submission.csv", index=False)
    return folder


class KillOnce(pl.Callback):
    """Kills its process (``os._exit``, no cleanup: as a kill or an out-of-memory would) at the start of epoch
    ``epoch`` of fold ``val_fold``'s model, once: ``marker`` is created so that a rerun trains on. Given through
    ``trainer.callbacks`` (``class_path: tiny_competition.KillOnce``), it reaches worker processes too."""

    def __init__(self, marker: str, val_fold: int = 1, epoch: int = 1) -> None:
        self.marker, self.val_fold, self.epoch = Path(marker), val_fold, epoch

    def on_fit_start(self, trainer, pl_module):
        # The epoch before the kill writes last.ckpt, as one that outlasts checkpoints.last_every_seconds would.
        for callback in trainer.callbacks:
            if isinstance(callback, LastCheckpoint):
                callback.every_seconds = 0.0

    def on_train_epoch_start(self, trainer, pl_module):
        if (trainer.datamodule.val_fold == self.val_fold and trainer.current_epoch == self.epoch
                and not self.marker.exists()):
            self.marker.touch()
            os._exit(9)


class SlowStart(pl.Callback):
    """Sleeps ``seconds`` when a fit starts training, so that a test can signal the run while fold models train."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds

    def on_train_start(self, trainer, pl_module):
        import time

        time.sleep(self.seconds)
