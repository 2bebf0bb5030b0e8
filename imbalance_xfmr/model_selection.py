"""Cross-validation for multilabel targets: iterative stratification.

Sechidis, Tsoumakas & Vlahavas (2011), "On the stratification of multi-label data", ECML PKDD, Algorithm 1, for k
folds of equal desired size. Every fold should receive ``1/k`` of the rows and ``1/k`` of each label's positive
rows. Labels are served rarest first: while labelled rows are left, take the label with the fewest (but at least
one) unassigned positive rows (ties broken at random), and hand each of its unassigned rows, in row order, to the fold
that still lacks the most rows *of that label*; ties go to the fold lacking the most rows overall, then to a random
one. Rows with no label at all come last, each to the fold lacking the most rows (ties at random).

:func:`iterative_stratification` gives the fold of every row; :class:`MultilabelStratifiedKFold` is the scikit-learn
splitter built on it. Both return exactly what ``iterstrat.ml_stratifiers.MultilabelStratifiedKFold`` (the PyPI
package iterative-stratification 0.1.9, the maintained implementation) returns for the same ``random_state``: the
optional shuffle is one ``RandomState.permutation`` and every random tie-break one ``randint(0, n_tied)``, made in
the algorithm's order (under scikit-learn 1.9 iterstrat takes an int ``random_state`` only with ``shuffle=True``;
without it, it breaks ties with NumPy's global RandomState). Unlike ``sklearn.model_selection.KFold``,
``random_state`` matters without ``shuffle`` too (the ties); give an int for folds that are the same on every call.

Speed: the greedy choice only depends on how many rows each fold holds (of the label being served, and in total), so
the choices fall into *levels*: every fold that lacks the most of the label gets one row, in order of how many rows
it lacks overall, before any fold gets a second. Which folds form a level, and in which groups of ties, does not
depend on the random tie-breaks (only the order inside a group does), and once every fold holds the same number of
the label's rows the levels repeat. The groups are therefore worked out for the few levels before they repeat, all
the tie-breaks are drawn in one call (``randint`` with an array of bounds draws what the calls one by one would), and
the orders are decoded for all the repeating levels at once: Python only loops over labels, folds and those levels.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.model_selection import BaseCrossValidator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _num_samples

from imbalance_xfmr.sampling._multilabel_measures import check_indicator

_ONE_LABEL_PER_ROW_HINT = " For one class label per row use sklearn.model_selection.StratifiedKFold."

__all__ = ["MultilabelStratifiedKFold", "iterative_stratification"]


def iterative_stratification(
    Y: Any, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None
) -> np.ndarray:
    """The test fold of every row under iterative stratification (module docstring).

    Parameters
    ----------
    Y : array-like or DataFrame of shape (n_samples, n_labels)
        0/1 label indicator.
    n_splits : int >= 2, default=5
    shuffle : bool, default=False
        Shuffle the rows before assigning them (changes which rows are served first within a label).
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle and the tie-breaks.

    Returns
    -------
    ndarray of shape (n_samples,), int64
        Fold index (0 .. n_splits - 1) of every row; ``MultilabelStratifiedKFold(...).split`` yields
        ``flatnonzero(folds == i)`` as the i-th test set.
    """
    _check_n_splits(n_splits)
    indicator = np.ascontiguousarray(check_indicator(Y, hint=_ONE_LABEL_PER_ROW_HINT), dtype=bool)
    _check_enough_rows(n_splits, indicator.shape[0])
    rng = check_random_state(random_state)
    if not shuffle:
        return _assign_folds(indicator, n_splits, rng)
    order = rng.permutation(indicator.shape[0])
    folds = np.empty(indicator.shape[0], dtype=np.int64)
    folds[order] = _assign_folds(indicator[order], n_splits, rng)
    return folds


class MultilabelStratifiedKFold(BaseCrossValidator):
    """K-fold splitter that keeps every label's proportion in every fold: iterative stratification.

    Sechidis, Tsoumakas & Vlahavas (2011); see the module docstring. Each row is in exactly one test fold; fold
    sizes and every label's count per fold stay close to ``1/n_splits`` of the total (within one row wherever the
    greedy order allows). Same folds as ``iterstrat.ml_stratifiers.MultilabelStratifiedKFold`` for the same
    ``random_state``.

    Parameters
    ----------
    n_splits : int >= 2, default=5
    shuffle : bool, default=False
        Shuffle the rows before assigning them.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffle and the random tie-breaks, which happen with ``shuffle=False`` too: pass an int for
        folds that are the same on every call.

    Examples
    --------
    >>> Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 1], [1, 1], [0, 0], [0, 0]])
    >>> [test.tolist() for _, test in MultilabelStratifiedKFold(2, random_state=0).split(Y, Y)]
    [[1, 2, 5, 7], [0, 3, 4, 6]]
    """

    def __init__(self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None) -> None:
        _check_n_splits(n_splits)
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle must be True or False; got {shuffle!r}.")
        self.n_splits = int(n_splits)
        self.shuffle = shuffle
        self.random_state = random_state

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        """The number of folds, ``n_splits`` (the arguments are ignored, as in scikit-learn)."""
        return self.n_splits

    def split(self, X: Any, y: Any, groups: Any = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(train, test)`` row indices (int64, ascending) for each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...) or None
            Only its length is used (checked against y's).
        y : array-like or DataFrame of shape (n_samples, n_labels)
            0/1 label indicator the folds are stratified on.
        groups : ignored
        """
        folds = iterative_stratification(y, self.n_splits, shuffle=self.shuffle, random_state=self.random_state)
        if X is not None and _num_samples(X) != folds.size:
            raise ValueError(f"X and y must have the same number of rows: X has {_num_samples(X)}, y {folds.size}.")
        for fold in range(self.n_splits):
            test = folds == fold
            yield np.flatnonzero(~test), np.flatnonzero(test)


def _check_n_splits(n_splits: Any) -> None:
    if not isinstance(n_splits, Integral) or isinstance(n_splits, bool):
        raise ValueError(f"n_splits must be an int >= 2; got {n_splits!r} of type {type(n_splits).__name__}.")
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2 (one train and one test fold); got {n_splits}.")


def _check_enough_rows(n_splits: int, n_samples: int) -> None:
    if n_splits > n_samples:
        raise ValueError(
            f"Cannot have number of splits n_splits={n_splits} greater than the number of samples: "
            f"n_samples={n_samples}. Use fewer splits."
        )


def _assign_folds(indicator: np.ndarray, n_splits: int, rng: np.random.RandomState) -> np.ndarray:
    """Iterative stratification of the rows of a bool (n_samples, n_labels) indicator, in row order."""
    n_samples = indicator.shape[0]
    folds = np.empty(n_samples, dtype=np.int64)
    unassigned = np.ones(n_samples, dtype=bool)
    left = np.count_nonzero(indicator, axis=0)  # unassigned positive rows of each label
    label_in_fold = np.zeros((n_splits, indicator.shape[1]), dtype=np.int64)
    rows_in_fold = np.zeros(n_splits, dtype=np.int64)
    while left.any():
        rarest = np.flatnonzero(left == left[left > 0].min())
        label = rarest[rng.randint(rarest.size)] if rarest.size > 1 else rarest[0]
        rows = np.flatnonzero(indicator[:, label] & unassigned)
        chosen = _greedy_folds(label_in_fold[:, label], rows_in_fold, rows.size, rng)
        folds[rows] = chosen
        unassigned[rows] = False
        served = indicator[rows]
        for fold in range(n_splits):  # a loop over folds, not rows
            label_in_fold[fold] += np.count_nonzero(served[chosen == fold], axis=0)
        rows_in_fold += np.bincount(chosen, minlength=n_splits)
        left -= np.count_nonzero(served, axis=0)
    rest = np.flatnonzero(unassigned)
    # Rows without labels: the fold lacking the most rows, ties at random (one key, so it is both keys).
    folds[rest] = _greedy_folds(rows_in_fold, rows_in_fold, rest.size, rng)
    return folds


def _greedy_folds(
    primary: np.ndarray, secondary: np.ndarray, n_rows: int, rng: np.random.RandomState
) -> np.ndarray:
    """Folds of ``n_rows`` rows handed out one at a time to the fold with the smallest ``(primary, secondary)``.

    Both counts of the chosen fold grow by one after each row; a tie on both goes to
    ``tied[rng.randint(len(tied))]`` (``tied`` in ascending fold order), drawn only when two or more folds tie.
    Returns int64 (n_rows,); the inputs are not modified.
    """
    primary, secondary = primary.copy(), secondary.copy()
    n_folds = primary.size
    groups: list[tuple[np.ndarray, int]] = []  # (tied folds, rows they take), in serving order
    left = n_rows
    # Levels differ until every fold holds the same primary count; work them out one by one.
    while left and primary.min() != primary.max():
        level = np.flatnonzero(primary == primary.min())
        left = _serve_level(_tie_groups(level, secondary), left, groups)
        primary[level] += 1
        secondary[level] += 1
    # From here every level holds all folds in the same tie groups (all counts grow by one per level).
    pattern = _tie_groups(np.arange(n_folds), secondary)
    n_full, tail_rows = divmod(left, n_folds)
    tail: list[tuple[np.ndarray, int]] = []
    _serve_level(pattern, tail_rows, tail)
    pattern_highs = _draw_bounds([(group, group.size) for group in pattern])
    highs = np.concatenate([_draw_bounds(groups), np.tile(pattern_highs, n_full), _draw_bounds(tail)])
    codes = rng.randint(0, highs) if highs.size else highs
    n_head, n_body = _draw_bounds(groups).size, pattern_highs.size * n_full
    head = _decode_groups(groups, codes[:n_head])
    body = _decode_repeated(pattern, codes[n_head : n_head + n_body].reshape(n_full, pattern_highs.size))
    end = _decode_groups(tail, codes[n_head + n_body :])
    return np.concatenate([head, body.ravel(), end]).astype(np.int64, copy=False)


def _tie_groups(level: np.ndarray, secondary: np.ndarray) -> list[np.ndarray]:
    """The folds of ``level`` grouped by equal ``secondary`` count, groups by ascending count, folds ascending."""
    counts = secondary[level]
    ordered = level[np.lexsort((level, counts))]
    breaks = np.flatnonzero(np.diff(np.sort(counts))) + 1
    return np.split(ordered, breaks)


def _serve_level(level_groups: list[np.ndarray], left: int, served: list[tuple[np.ndarray, int]]) -> int:
    """Append to ``served`` the groups of one level that take rows (the last one cut at ``left``); rows left after."""
    for group in level_groups:
        if not left:
            break
        take = min(group.size, left)
        served.append((group, take))
        left -= take
    return left


def _draw_bounds(groups: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """``randint`` upper bounds of the tie-breaks serving ``groups``: g, g-1, ... while two or more folds tie."""
    bounds = [np.arange(group.size, group.size - take, -1) for group, take in groups]
    bounds = np.concatenate(bounds) if bounds else np.empty(0, dtype=np.int64)
    return bounds[bounds > 1]


def _decode_groups(groups: list[tuple[np.ndarray, int]], codes: np.ndarray) -> np.ndarray:
    """The folds served, group after group: each code picks among the group's folds not served yet."""
    served, position = [], 0
    for group, take in groups:
        waiting = group.tolist()
        for _ in range(take):  # a few groups: the levels before the repeating ones, and the last one
            pick = 0
            if len(waiting) > 1:
                pick, position = int(codes[position]), position + 1
            served.append(waiting.pop(pick))
    return np.asarray(served, dtype=np.int64)


def _decode_repeated(pattern: list[np.ndarray], codes: np.ndarray) -> np.ndarray:
    """Folds served by ``len(codes)`` full levels of ``pattern``, shape (n_levels, n_folds), all levels at once."""
    n_levels = codes.shape[0]
    blocks, column = [], 0
    for group in pattern:
        waiting = np.ones((n_levels, group.size), dtype=bool)
        order = np.empty((n_levels, group.size), dtype=np.int64)
        for step in range(group.size):  # a loop over the folds of a group
            if step < group.size - 1:
                code = codes[:, column]
                column += 1
            else:
                code = np.zeros(n_levels, dtype=np.int64)
            # The code-th fold still waiting in each level.
            rank = np.cumsum(waiting, axis=1) - 1
            pick = np.argmax(waiting & (rank == code[:, np.newaxis]), axis=1)
            order[:, step] = group[pick]
            waiting[np.arange(n_levels), pick] = False
        blocks.append(order)
    return np.concatenate(blocks, axis=1) if blocks else np.empty((n_levels, 0), dtype=np.int64)
