"""Fixed stratified K folds, saved as ``folds.csv`` (id, fold) and reused on every later step and rerun.

Every model of a run (each fold's Transformer, the baseline, the blend) is scored out of fold on the same split,
so comparisons between them are fair. The split is scikit-learn's ``StratifiedKFold`` (or
``StratifiedGroupKFold`` when rows come in groups) with ``shuffle=True`` and ``random_state=seed``: the same data
and seed give a byte-identical ``folds.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from competition.context import Context
from competition.data import Competition, CompetitionDataError, compare_ids, is_missing
from competition.errors import PipelineError
from competition.rundir import write_csv

FOLDS_FILE = "folds.csv"


def make_folds(competition: Competition, n_splits: int = 5, seed: int = 0,
               group_column: str | None = None) -> pd.DataFrame:
    """Assign each train row a validation fold in ``0 .. n_splits - 1``.

    Returns a frame with columns ``id`` (the competition's id column, renamed) and ``fold`` (int64), one row per
    train row, in train order. With ``group_column``, rows sharing a group value land in the same fold.
    """
    train = competition.train
    labels = competition.train_labels
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 2:
        raise PipelineError(f"folds.n_splits must be an integer of at least 2, got {n_splits!r}")
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < n_splits:
        rare = ", ".join(f"{c!r} ({n})" for c, n in zip(classes, counts) if n < n_splits)
        raise CompetitionDataError(f"train.csv has fewer rows than folds.n_splits={n_splits} for class(es) {rare}: "
                                   "every fold must hold every class; lower folds.n_splits")
    if group_column is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
        groups = None
    else:
        if group_column not in train.columns:
            raise CompetitionDataError(f"folds.group_column {group_column!r} is not a column of train.csv; its "
                                       f"columns are {list(train.columns)}")
        if is_missing(train[group_column]).any():
            raise CompetitionDataError(f"train.csv has empty or NaN values in the group column {group_column!r}")
        groups = train[group_column].to_numpy(dtype=object)
        if len(np.unique(groups)) < n_splits:
            raise CompetitionDataError(f"train.csv has {len(np.unique(groups))} distinct {group_column!r} groups, "
                                       f"fewer than folds.n_splits={n_splits}; lower folds.n_splits")
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = np.empty(len(train), dtype=np.int64)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(train)), labels, groups)):
        fold[valid] = k
    return pd.DataFrame({"id": competition.train_ids, "fold": fold})


def read_folds(path: str | Path, competition: Competition, n_splits: int) -> pd.DataFrame:
    """Read a saved ``folds.csv`` and check it splits ``competition``'s train rows into ``n_splits`` folds.

    Returns the same frame :func:`make_folds` would (id, fold int64, train order). Raises
    :class:`CompetitionDataError` when the file's ids or fold numbers do not fit.
    """
    path = Path(path)
    folds = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    if list(folds.columns) != ["id", "fold"]:
        raise CompetitionDataError(f"{path} has columns {list(folds.columns)}, expected ['id', 'fold']")
    problems = compare_ids(folds["id"], competition.train[competition.id_column], str(path), "train.csv")
    if problems:
        raise CompetitionDataError(f"{path} was made for other data: {problems[0]}. Delete it to make new folds, "
                                   "or use another run folder (--output)")
    fold = pd.to_numeric(folds["fold"], errors="coerce")
    if fold.isna().any() or set(fold.unique()) != set(range(n_splits)):
        raise CompetitionDataError(f"{path} has fold numbers {sorted(folds['fold'].unique())[:10]}, but "
                                   f"folds.n_splits={n_splits} needs exactly 0..{n_splits - 1}. Delete it to make "
                                   "new folds, or set folds.n_splits to match")
    return pd.DataFrame({"id": folds["id"].to_numpy(dtype=object), "fold": fold.to_numpy(dtype=np.int64)})


def load_or_make_folds(path: str | Path, competition: Competition, n_splits: int = 5, seed: int = 0,
                       group_column: str | None = None) -> pd.DataFrame:
    """The folds saved at ``path`` when it exists (checked by :func:`read_folds`), else new ones saved there."""
    path = Path(path)
    if path.exists():
        return read_folds(path, competition, n_splits)
    folds = make_folds(competition, n_splits, seed, group_column)
    write_csv(path, folds)
    return folds


def run_folds(ctx: Context) -> np.ndarray:
    """The fold of each train row, shape (n_train,) int64, from the run's folds.csv (made on first use)."""
    cfg = ctx.config.folds
    seed = ctx.config.seed if cfg.seed is None else cfg.seed
    return load_or_make_folds(ctx.path(FOLDS_FILE), ctx.competition, cfg.n_splits, seed,
                              cfg.group_column)["fold"].to_numpy()
