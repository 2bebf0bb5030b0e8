"""The ``folds`` step: fixed stratified K folds, saved as ``folds.csv`` and reused by every later step and rerun.

Every model of a run (each fold's Transformer, the baseline, the blend) is scored out of fold on the same split,
so comparisons between them are fair. The split is scikit-learn's ``StratifiedKFold`` (or
``StratifiedGroupKFold`` when rows come in groups, ``folds.group_column``) with ``shuffle=True`` and
``random_state=seed``: the same data and seed give a byte-identical ``folds.csv``. ``n_splits`` and the group
column were checked against the data by :mod:`competition.validate`.
"""

from __future__ import annotations

import numpy as np

from competition.context import Context
from competition.splitting import make_folds

__all__ = ["make_folds", "step_folds"]


def step_folds(ctx: Context) -> None:
    """Make ``folds.csv``, or check the one already in the run folder."""
    existed = ctx.run.has_folds()
    if not existed:
        competition, folds = ctx.competition, ctx.config.folds
        fold = make_folds(competition.train_labels, folds.n_splits, ctx.plan.fold_seed,
                          competition.groups(folds.group_column))
        ctx.run.write_folds(competition, fold)
    sizes = np.bincount(ctx.folds())
    ctx.run.log(f"folds: {'checked' if existed else 'made'} the folds: {len(sizes)} folds of "
                f"{sizes.min()}-{sizes.max()} rows")
