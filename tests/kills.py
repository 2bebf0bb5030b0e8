"""A simulated kill for the resume tests: an exception raised at the start of a fit's second epoch, after the first
epoch's ``last.ckpt`` was written (what a kill or an out-of-memory leaves behind)."""

from __future__ import annotations

import pytorch_lightning as pl

from imbalance_xfmr.training import LastCheckpoint


class SimulatedKill(Exception):
    pass


class KillAtSecondEpoch(pl.Callback):
    """Raises :class:`SimulatedKill` when the second epoch (epoch 1) starts."""

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1:
            raise SimulatedKill


def kill_at_second_epoch(trainer: pl.Trainer) -> None:
    """Make ``trainer`` write ``last.ckpt`` after every epoch, as a fit whose first epoch outlasts
    ``checkpoints.last_every_seconds`` does (a test's epochs last a fraction of a second), and raise
    :class:`SimulatedKill` when its second epoch starts."""
    for callback in trainer.callbacks:
        if isinstance(callback, LastCheckpoint):
            callback.every_seconds = 0.0
    trainer.callbacks.append(KillAtSecondEpoch())
