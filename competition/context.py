"""What every step of ``python -m competition`` works on: the config, the validated competition and plan, the run
folder."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from competition.config import PipelineConfig
from competition.data import Competition
from competition.run_folder import RunFolder
from competition.validate import Plan


@dataclass
class Context:
    """The config, the validated competition, what the config resolves to, and the open run folder of one
    invocation."""

    config: PipelineConfig
    competition: Competition
    plan: Plan
    run: RunFolder
    only_fold: int | None = None  # train --only-fold: the one fold whose models this job trains
    only_seed: int | None = None  # train --only-seed: the one seed index of that fold

    def folds(self) -> np.ndarray:
        """The run's folds, (n_train,) int64: ``folds.csv``, checked against the data (the folds step writes it;
        the runner runs that step before any step that reads it)."""
        return self.run.read_folds(self.competition, self.config.folds.n_splits)
