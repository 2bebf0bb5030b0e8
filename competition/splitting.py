"""The split of the train rows into folds: a pure function of the labels, groups and folds settings, so that the
config check can make the folds (to find a split that cannot train) before the folds step writes them."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold



def make_folds(labels: np.ndarray, n_splits: int = 5, seed: int = 0, groups: np.ndarray | None = None) -> np.ndarray:
    """The validation fold of each train row, shape (n_train,) int64 in ``0 .. n_splits - 1``, in train order, for
    the train ``labels`` (n_train,); with ``groups`` (n_train,), rows sharing a group value land in the same fold."""
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    else:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    fold = np.empty(len(labels), dtype=np.int64)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(fold)), labels, groups)):
        fold[valid] = k
    return fold


def classes_missing_from_training(labels: np.ndarray, fold: np.ndarray, classes: np.ndarray) -> dict[int, list]:
    """``{k: [classes absent from the rows fold k's models train on]}`` for the folds whose training part lacks a
    class (empty when every fold's model sees every class)."""
    missing = {}
    for k in np.unique(fold):
        absent = np.setdiff1d(classes, labels[fold != k]).tolist()
        if absent:
            missing[int(k)] = absent
    return missing
