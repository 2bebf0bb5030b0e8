"""A simulated kill for the resume tests: an exception raised at the start of a fit's second epoch, after the first
epoch's ``last.ckpt`` was written (what a kill or an out-of-memory leaves behind)."""

from __future__ import annotations

import pytorch_lightning as pl


class SimulatedKill(Exception):
    pass


class KillAtSecondEpoch(pl.Callback):
    """Raises :class:`SimulatedKill` when the second epoch (epoch 1) starts."""

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == 1:
            raise SimulatedKill
