"""ML-ROS and ML-RUS: random over- and under-sampling of multilabel data by label bags.

Charte, Rivera, del Jesus & Herrera (2015), "Addressing imbalance in multilabel classification: Measures and random
resampling algorithms", Neurocomputing 163, section 4 (algorithms ML-ROS and ML-RUS). With ``P`` the share of the
data set to resample, MeanIR computed once on the input and IRLbl recomputed on the data set as it changes:

- ML-ROS: one *bag* per minority label (IRLbl > MeanIR), the rows that carry it. While clones are still owed, a round
  clones one random row of every bag in turn (label order); a bag leaves once its label's IRLbl, recomputed after
  its clone, is <= MeanIR. A clone carries its whole labelset, so it also raises the counts of the other labels.
- ML-RUS: one bag per majority label (IRLbl < MeanIR). While deletions are still owed, a round deletes one random
  remaining row of every bag; a bag leaves once its label's IRLbl is >= MeanIR.

Where we depart from the paper's pseudo-code, and why:

- The number of rows to clone or delete is ``ceil(P * n_samples)`` (the paper's counter ``|D| / 100 * P``, read
  while it is positive; P is a fraction here, not a percentage). As in the paper, the counter is only read between
  rounds, so the last round completes and can overshoot it by up to (number of bags - 1) rows.
- The loop also stops when no bag is left (the paper's loop would not end).
- ML-RUS never deletes a row that carries a minority label: its bags hold only the rows with none (as Charte's group's
  reference implementation, the R package mldr.resampling, does). Deleting such rows would lower the minority labels'
  counts, raising the imbalance ML-RUS exists to reduce. A bag with no deletable row left leaves the loop.
- A label with no positive row (IRLbl infinite) is in no bag and out of MeanIR (see ``_multilabel_measures``).

Each loop runs vectorized, many rounds at a time: the draws of a block of rounds are made at once, the running label
counts after every resampled row come from one cumulative sum, and the block is cut at the first round that changes
the set of bags (an exit; for ML-RUS also a row that two bags drew, or a bag running dry, which is then played
row by row). Same ``random_state`` → same rows, whatever the block sizes.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._base import RowSelectingMixin, take_rows
from ._multilabel_base import BaseMultilabelSampler
from ._multilabel_measures import label_imbalance

# Rounds drawn in the first block; a block that runs to its end doubles the next one, a cut block sets it to twice
# the rounds it kept (blocks shrink where bags leave often, grow where they do not).
_FIRST_BLOCK_ROUNDS = 64
# Cap on a block's running counts (rows x labels int64 cells, 16 MiB).
_MAX_BLOCK_CELLS = 1 << 21


def resampling_count(percentage: float, n_samples: int) -> int:
    """``ceil(percentage * n_samples)``, rounded first so that 0.1 * 100 owes 10 rows, not 11."""
    return math.ceil(round(percentage * n_samples, 6))


def minority_labels(ratios: np.ndarray, mean_ratio: float) -> np.ndarray:
    """Label indices with IRLbl > MeanIR that occur in the data (int64, ascending)."""
    return np.flatnonzero(np.isfinite(ratios) & (ratios > mean_ratio))


def majority_labels(ratios: np.ndarray, mean_ratio: float) -> np.ndarray:
    """Label indices with IRLbl < MeanIR (int64, ascending)."""
    return np.flatnonzero(ratios < mean_ratio)


def _block_rounds(owed: int, n_bags: int, n_labels: int, planned: int) -> int:
    return max(1, min(math.ceil(owed / n_bags), planned, _MAX_BLOCK_CELLS // (n_bags * n_labels)))


def _next_block(kept: int, drawn: int) -> int:
    return 2 * drawn if kept == drawn else max(_FIRST_BLOCK_ROUNDS, 2 * kept)


def _label_ratios(running: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """IRLbl of ``labels[i]`` in the counts ``running[i]`` (rows of per-label counts); ``inf`` for a zero count."""
    own = running[np.arange(len(running)), labels]
    with np.errstate(divide="ignore", invalid="ignore"):
        return running.max(axis=1) / own


def ml_ros_clones(indicator: np.ndarray, percentage: float, random_state: Any) -> np.ndarray:
    """The rows ML-ROS clones, in cloning order.

    indicator : bool ndarray of shape (n_samples, n_labels). Returns int64 row indices (repeats allowed); consumes
    ``check_random_state(random_state)``.
    """
    rng = check_random_state(random_state)
    n_samples, n_labels = indicator.shape
    counts, ratios, mean_ratio = label_imbalance(indicator)
    labels = minority_labels(ratios, mean_ratio)
    bags = [np.flatnonzero(indicator[:, label]) for label in labels]
    active = np.arange(labels.size)
    owed = resampling_count(percentage, n_samples)
    clones, planned = [], _FIRST_BLOCK_ROUNDS
    while owed > 0 and active.size:
        n_rounds = _block_rounds(owed, active.size, n_labels, planned)
        # rows[r, j]: the clone of bag active[j] in round r; raveled, the cloning order.
        rows = np.stack([bags[b][rng.randint(bags[b].size, size=n_rounds)] for b in active], axis=1)
        running = counts + np.cumsum(indicator[rows.ravel()], axis=0, dtype=np.int64)
        leaves = (_label_ratios(running, np.tile(labels[active], n_rounds)) <= mean_ratio).reshape(rows.shape)
        exit_rounds = np.flatnonzero(leaves.any(axis=1))
        # Clones never take a row away, so a round's draws stay valid whoever leaves in it: keep the rounds up to
        # and including the first exit.
        kept = int(exit_rounds[0]) + 1 if exit_rounds.size else n_rounds
        clones.append(rows[:kept].ravel())
        counts = running[kept * active.size - 1]
        owed -= kept * active.size
        if exit_rounds.size:
            active = active[~leaves[kept - 1]]
        planned = _next_block(kept, n_rounds)
    return np.concatenate(clones) if clones else np.empty(0, dtype=np.int64)


def ml_rus_deletions(indicator: np.ndarray, percentage: float, random_state: Any) -> np.ndarray:
    """The rows ML-RUS deletes, in deletion order (int64, distinct).

    indicator : bool ndarray of shape (n_samples, n_labels). Each bag's deletion order is a random permutation of its
    rows drawn up front (``check_random_state(random_state).permutation``, label order); in its turn a bag deletes
    the first of them not deleted yet, a uniform draw among its remaining rows.
    """
    rng = check_random_state(random_state)
    n_samples, n_labels = indicator.shape
    counts, ratios, mean_ratio = label_imbalance(indicator)
    labels = majority_labels(ratios, mean_ratio)
    protected = indicator[:, minority_labels(ratios, mean_ratio)].any(axis=1)
    queues = [rng.permutation(np.flatnonzero(indicator[:, label] & ~protected)) for label in labels]
    active = np.array([b for b in range(labels.size) if queues[b].size], dtype=np.intp)
    deleted = np.zeros(n_samples, dtype=bool)
    owed = resampling_count(percentage, n_samples)
    order: list[np.ndarray] = []
    planned = _FIRST_BLOCK_ROUNDS
    while owed > 0 and active.size:
        for b in active:
            queues[b] = queues[b][~deleted[queues[b]]]
        n_bags = active.size
        n_rounds = _block_rounds(owed, n_bags, n_labels, planned)
        rows = np.full((n_rounds, n_bags), -1, dtype=np.intp)
        for j, b in enumerate(active):
            head = queues[b][:n_rounds]
            rows[: head.size, j] = head
        clean = _first_irregular_round(rows)
        running = counts - np.cumsum(indicator[rows[:clean].ravel()], axis=0, dtype=np.int64)
        # "not below" rather than ">=": a label whose count reached 0 with all the others (0 / 0) leaves too.
        ratio = _label_ratios(running, np.tile(labels[active], clean))
        leaves = ~(ratio < mean_ratio).reshape(clean, n_bags)
        exit_rounds = np.flatnonzero(leaves.any(axis=1))
        kept = int(exit_rounds[0]) + 1 if exit_rounds.size else clean
        order.append(rows[:kept].ravel())
        deleted[order[-1]] = True
        if kept:
            counts = running[kept * n_bags - 1]
        owed -= kept * n_bags
        if exit_rounds.size:
            active = active[~leaves[kept - 1]]
        elif kept < n_rounds and owed > 0:
            # Round `kept` has a row two bags drew, or a bag with nothing left: play it row by row.
            active, owed = _rus_round(indicator, labels, queues, active, deleted, counts, mean_ratio, owed, order)
        planned = _next_block(kept, n_rounds)
    return np.concatenate(order).astype(np.int64, copy=False) if order else np.empty(0, dtype=np.int64)


def _first_irregular_round(rows: np.ndarray) -> int:
    """First round (row of ``rows``) holding a -1 (a bag ran dry) or a row drawn earlier in the block."""
    flat = rows.ravel()
    positions = [flat.size]
    empty = np.flatnonzero(flat < 0)
    if empty.size:
        positions.append(int(empty[0]))
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    # A stable sort keeps equal rows in block order: every element of a run but its first is a repeat.
    repeats = order[1:][(ordered[1:] == ordered[:-1]) & (ordered[1:] >= 0)]
    if repeats.size:
        positions.append(int(repeats.min()))
    return min(positions) // rows.shape[1]


def _rus_round(
    indicator: np.ndarray,
    labels: np.ndarray,
    queues: list[np.ndarray],
    active: np.ndarray,
    deleted: np.ndarray,
    counts: np.ndarray,
    mean_ratio: float,
    owed: int,
    order: list[np.ndarray],
) -> tuple[np.ndarray, int]:
    """One ML-RUS round, bag by bag; updates ``queues``, ``deleted``, ``counts`` and ``order`` in place."""
    staying = []
    for b in active:
        queues[b] = queues[b][~deleted[queues[b]]]
        if not queues[b].size:
            continue
        row = queues[b][0]
        order.append(queues[b][:1])
        deleted[row] = True
        counts -= indicator[row]
        owed -= 1
        if _label_ratios(counts[np.newaxis], labels[b : b + 1])[0] < mean_ratio:
            staying.append(b)
    return np.array(staying, dtype=np.intp), owed


class _RowSelectingMultilabelSampler(RowSelectingMixin, BaseMultilabelSampler):
    """Shared parameters of ML-ROS and ML-RUS; they only pick rows (any dtype, NaN, strings, raw texts)."""

    def __init__(self, *, percentage: float = 0.1, random_state: Any = None) -> None:
        self.percentage = percentage
        self.random_state = random_state


class MLROS(_RowSelectingMultilabelSampler):
    """ML-ROS: clone random rows of the minority labels' bags (Charte et al. 2015, Neurocomputing 163, Alg. 1).

    See the module docstring for the algorithm and where it departs from the paper.

    Parameters
    ----------
    percentage : float > 0, default=0.1
        Rows to clone, as a fraction of the data set (the paper's P / 100): ``ceil(percentage * n_samples)``, fewer
        when every minority label reaches MeanIR first, up to (number of minority labels - 1) more to end a round.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    imbalance_ratio_per_label_ : ndarray of shape (n_labels,), float64
        IRLbl of the input (see :func:`~imbalance_xfmr.sampling.imbalance_ratio_per_label`).
    mean_imbalance_ratio_ : float
        MeanIR of the input.
    minority_labels_ : ndarray of int64
        Column indices of the labels whose rows were cloned (IRLbl > MeanIR).
    sample_indices_ : ndarray of shape (n_samples_new,), int64
        ``arange(n_samples)`` followed by the cloned rows in cloning order.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.

    X_res is X's rows followed by the clones; a DataFrame X gets a fresh ``RangeIndex``, as from RandomOverSampler.
    """

    _parameter_constraints: ClassVar[dict] = {
        "percentage": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def _fit_resample(self, X: Any, Y: np.ndarray, indicator: np.ndarray) -> tuple[Any, np.ndarray]:
        self.minority_labels_ = minority_labels(self.imbalance_ratio_per_label_, self.mean_imbalance_ratio_)
        clones = ml_ros_clones(indicator, self.percentage, self.random_state)
        self.sample_indices_ = np.concatenate([np.arange(len(Y), dtype=np.int64), clones])
        X_res = take_rows(X, self.sample_indices_)
        if hasattr(X_res, "reset_index"):
            X_res = X_res.reset_index(drop=True)
        return X_res, Y[self.sample_indices_]


class MLRUS(_RowSelectingMultilabelSampler):
    """ML-RUS: delete random rows of the majority labels' bags (Charte et al. 2015, Neurocomputing 163, Alg. 2).

    Rows carrying a minority label are never deleted. See the module docstring for the algorithm and where it
    departs from the paper.

    Parameters
    ----------
    percentage : float in (0, 1), default=0.1
        Rows to delete, as a fraction of the data set (the paper's P / 100): ``ceil(percentage * n_samples)``,
        fewer when every majority label reaches MeanIR (or runs out of deletable rows) first, up to
        (number of majority labels - 1) more to end a round.
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    imbalance_ratio_per_label_ : ndarray of shape (n_labels,), float64
    mean_imbalance_ratio_ : float
    majority_labels_ : ndarray of int64
        Column indices of the labels whose rows were deleted from (IRLbl < MeanIR).
    sample_indices_ : ndarray of shape (n_samples_new,), int64
        The rows kept, ascending.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.

    A DataFrame X keeps the kept rows' index labels, as from RandomUnderSampler.
    """

    _parameter_constraints: ClassVar[dict] = {
        "percentage": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def _fit_resample(self, X: Any, Y: np.ndarray, indicator: np.ndarray) -> tuple[Any, np.ndarray]:
        self.majority_labels_ = majority_labels(self.imbalance_ratio_per_label_, self.mean_imbalance_ratio_)
        kept = np.ones(len(Y), dtype=bool)
        kept[ml_rus_deletions(indicator, self.percentage, self.random_state)] = False
        self.sample_indices_ = np.flatnonzero(kept).astype(np.int64, copy=False)
        return take_rows(X, self.sample_indices_), Y[self.sample_indices_]
