"""The ``folds`` step: fixed stratified K folds, saved as ``folds.csv`` and reused by every later step and rerun.

Every model of a run (each fold's Transformer, the baseline, the blend) is scored out of fold on the same split,
so comparisons between them are fair. The split is scikit-learn's ``StratifiedKFold`` (or
``StratifiedGroupKFold`` when rows come in groups, ``folds.group_column``) with ``shuffle=True`` and
``random_state=seed``: the same data and seed give a byte-identical ``folds.csv``. ``n_splits`` and the group
column were checked against the data by :mod:`competition.validate`.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from competition.context import Context
from competition.data import Competition


def make_folds(competition: Competition, n_splits: int = 5, seed: int = 0,
               group_column: str | None = None) -> np.ndarray:
    """The validation fold of each train row, shape (n_train,) int64 in ``0 .. n_splits - 1``, in train order; with
    ``group_column``, rows sharing a group value land in the same fold."""
    if group_column is None:
        splitter, groups = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed), None
    else:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        groups = competition.train[group_column].to_numpy(dtype=object)
    fold = np.empty(len(competition.train), dtype=np.int64)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(fold)), competition.train_labels, groups)):
        fold[valid] = k
    return fold


def run_folds(ctx: Context) -> np.ndarray:
    """The run's folds (n_train,) int64: ``folds.csv`` when the folder has it (checked against the data), else
    new ones, written there. Every step that needs the folds calls this, so any step can run first."""
    config, run = ctx.config.folds, ctx.run
    if run.has_folds():
        return run.read_folds(ctx.competition, config.n_splits)
    run.pin("folds")
    fold = make_folds(ctx.competition, config.n_splits, ctx.plan.fold_seed, config.group_column)
    run.write_folds(ctx.competition, fold)
    return fold


def step_folds(ctx: Context) -> None:
    """Make ``folds.csv``, or check the one already in the run folder."""
    existed = ctx.run.has_folds()
    sizes = np.bincount(run_folds(ctx))
    ctx.run.log(f"folds: {'checked' if existed else 'made'} the folds: {len(sizes)} folds of "
                f"{sizes.min()}-{sizes.max()} rows")
