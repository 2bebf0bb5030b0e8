"""Decision-threshold tuning on out-of-fold predictions (our own API; no reference library has it).

Binary: :func:`tune_threshold` evaluates a confusion-matrix metric at every distinct score with one sort and
cumulative counts, O(n log n), and returns the best threshold for the rule ``predict positive iff score >= t``.

Multiclass: :func:`tune_class_offsets` finds per-class additive offsets ``b`` for the rule
``predict argmax_k(log_score[k] + b[k])`` by exact coordinate ascent: with the other offsets fixed, each row's
prediction is a step function of ``b[c]`` (the row switches to ``c`` once ``b[c]`` passes
``max_{k != c}(log_score[k] + b[k]) - log_score[c]``), so one sort of those switch points and a cumulative sweep
give the best ``b[c]`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._ranking import _check_1d, _check_scores, _float_weights, binary_counts_at_thresholds
from ._validation import unique_labels
from ._validation import check_consistent_length, check_option, to_array

__all__ = ["BINARY_THRESHOLD_METRICS", "MULTICLASS_THRESHOLD_METRICS", "OffsetResult", "ThresholdResult",
           "apply_class_offsets", "tune_class_offsets", "tune_threshold"]

BINARY_THRESHOLD_METRICS = ("f1", "f1_macro", "fbeta", "mcc", "gmean", "balanced_accuracy", "youden")
"""The metrics :func:`tune_threshold` maximises (binary tasks)."""
MULTICLASS_THRESHOLD_METRICS = ("f1_macro", "balanced_accuracy")
"""The metrics :func:`tune_class_offsets` maximises (any number of classes)."""


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


# eq=False: fields hold arrays, whose == is elementwise (identity equality and hashing instead).
@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """Best threshold and the whole metric-vs-threshold curve.

    threshold : float
        Best observed score ``t`` for the rule ``score >= t``.
    score : float
        Metric value at ``threshold``.
    thresholds : ndarray of shape (n_distinct_scores,)
        Every distinct score (samples of non-zero weight), increasing.
    scores : ndarray of shape (n_distinct_scores,)
        Metric value at each of ``thresholds``.
    """

    threshold: float
    score: float
    thresholds: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True, eq=False)
class OffsetResult:
    """Tuned per-class offsets for ``argmax(log_scores + offsets)``.

    offsets : ndarray of shape (n_classes,), float64
        Additive offsets in y_score's column order (``labels``). Only differences between offsets matter; a class
        whose offset never improved the metric keeps 0.
    score : float
        Metric with the offsets applied (never below ``baseline_score``).
    baseline_score : float
        Metric of the plain argmax (all offsets 0).
    labels : ndarray of shape (n_classes,)
        Class label of each column.
    n_iter : int
        Rounds over all classes run (a round without improvement ends the search).
    """

    offsets: np.ndarray
    score: float
    baseline_score: float
    labels: np.ndarray
    n_iter: int


# ------------------------------------------------------------------------------------------------------ binary


def _binary_metric_curve(metric: str, beta: float, tp: np.ndarray, fp: np.ndarray, positives: float, negatives: float):
    """Metric at every threshold from (weighted) true/false positive counts; undefined ratios count as 0."""
    fn = positives - tp
    tn = negatives - fp
    tpr = tp / positives
    tnr = tn / negatives

    def ratio(numerator, denominator):
        return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)

    if metric in ("f1", "fbeta"):
        beta2 = 1.0 if metric == "f1" else beta**2
        return ratio((1 + beta2) * tp, (1 + beta2) * tp + beta2 * fn + fp)
    if metric == "f1_macro":
        # Mean of the positive class's F1 and the negative class's (2 tn / (2 tn + fn + fp)).
        return (ratio(2 * tp, 2 * tp + fn + fp) + ratio(2 * tn, 2 * tn + fn + fp)) / 2
    if metric == "mcc":
        # Multiply the four margins in float64 pairs to stay far from overflow with large weighted counts.
        denominator = np.sqrt((tp + fp) * (tn + fn)) * np.sqrt(positives * negatives)
        return ratio(tp * tn - fp * fn, denominator)
    if metric == "gmean":
        return np.sqrt(tpr * tnr)
    if metric == "balanced_accuracy":
        return (tpr + tnr) / 2
    return tpr - (1 - tnr)  # Youden's J


def tune_threshold(
    y_true: Any,
    y_score: Any,
    *,
    metric: str = "f1",
    beta: float = 1.0,
    pos_label: Any = None,
    sample_weight: Any = None,
) -> ThresholdResult:
    """Threshold on ``y_score`` maximising a binary confusion-matrix metric, exactly, over every distinct score.

    Convention: a sample is predicted positive when ``score >= threshold``; the returned threshold is one of the
    observed scores. When several thresholds reach the best value, the LARGEST one wins (fewest positives).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels with both classes present; without ``pos_label`` they must be {0, 1} or {-1, 1}.
    y_score : array-like of shape (n_samples,)
        Out-of-fold scores, higher = more positive (probabilities, logits, decision values).
    metric : {'f1', 'f1_macro', 'fbeta', 'mcc', 'gmean', 'balanced_accuracy', 'youden'}, default='f1'
        Values equal, for ``y_pred = score >= t``, to sklearn's ``f1_score``, ``f1_score(average='macro')``,
        ``fbeta_score(beta=beta)``,
        ``matthews_corrcoef``, imblearn's binary ``geometric_mean_score`` (sqrt(TPR * TNR)),
        ``balanced_accuracy_score`` and Youden's J = TPR - FPR. Undefined ratios (0/0) count as 0, like
        sklearn's default ``zero_division``.
    beta : float > 0, default=1.0
        Recall weight of 'fbeta' (ignored by the other metrics).
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
        Zero-weight samples are ignored (their scores are no candidate thresholds).

    Returns
    -------
    ThresholdResult
    """
    check_option("tune_threshold", "metric", metric, list(BINARY_THRESHOLD_METRICS))
    if isinstance(beta, bool) or not isinstance(beta, (int, float, np.number)) or not beta > 0:
        raise ValueError(f"beta must be a positive number; got {beta!r}.")
    fp, tp, thresholds = binary_counts_at_thresholds(y_true, y_score, pos_label, sample_weight, float_only=True)
    positives, negatives = tp[-1], fp[-1]
    if positives <= 0 or negatives <= 0:
        raise ValueError(
            "tune_threshold needs both classes in y_true (with non-zero weight); got "
            f"{'no positive' if positives <= 0 else 'no negative'} samples."
        )
    curve = _binary_metric_curve(metric, float(beta), tp, fp, positives, negatives)
    # Thresholds come in decreasing order, so the first maximum is the largest threshold.
    best = int(np.argmax(curve))
    return ThresholdResult(
        threshold=float(thresholds[best]),
        score=float(curve[best]),
        thresholds=_read_only(thresholds[::-1].astype(np.float64)),
        scores=_read_only(curve[::-1].copy()),
    )


# -------------------------------------------------------------------------------------------------- multiclass


def _log_scores(y_score: Any, scores_are: str) -> np.ndarray:
    check_option("tune_class_offsets", "scores_are", scores_are, ["proba", "logits"])
    scores = _check_scores(y_score, "y_score", float_only=True).astype(np.float64, copy=False)
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise ValueError(f"y_score must have shape (n_samples, n_classes) with n_classes >= 2; got {scores.shape}.")
    if scores_are == "logits":
        return scores
    if scores.min() < 0 or scores.max() > 1:
        raise ValueError(
            "y_score holds values outside [0, 1] but scores_are='proba'; pass scores_are='logits' for logits or "
            "decision values."
        )
    # A zero probability becomes a very negative (finite) log so that offsets stay comparable.
    return np.log(np.maximum(scores, np.finfo(np.float64).tiny))


def apply_class_offsets(y_score: Any, offsets: Any, *, scores_are: str = "proba") -> np.ndarray:
    """Predicted column index ``argmax_k(log_score[k] + offsets[k])`` for each row (ties: the lowest index).

    Parameters
    ----------
    y_score : array-like of shape (n_samples, n_classes)
        Probabilities (``scores_are='proba'``, the log is taken) or logits (``scores_are='logits'``).
    offsets : array-like of shape (n_classes,)
    scores_are : {'proba', 'logits'}, default='proba'

    Returns
    -------
    ndarray of shape (n_samples,), int64: column indices (map them through ``OffsetResult.labels``).
    """
    log_scores = _log_scores(y_score, scores_are)
    offsets = np.asarray(to_array(offsets, "offsets"), dtype=np.float64)
    if offsets.shape != (log_scores.shape[1],):
        raise ValueError(f"offsets must have shape ({log_scores.shape[1]},), one per column; got {offsets.shape}.")
    return np.argmax(log_scores + offsets, axis=1)


def _per_class_values(metric: str, tp: np.ndarray, predicted: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Each class's term of the macro average: F1 = 2 tp / (predicted + support), or recall = tp / support;
    0 where undefined (elementwise, any shapes that broadcast)."""
    tp, predicted, support = np.broadcast_arrays(tp, predicted, support)
    denominator = predicted + support if metric == "f1_macro" else support
    numerator = 2 * tp if metric == "f1_macro" else tp
    return np.divide(numerator, denominator, out=np.zeros(tp.shape), where=denominator != 0)


def _n_averaged(metric: str, support: np.ndarray) -> int:
    """Macro F1 averages over every column's class; balanced accuracy over the classes present in y_true."""
    return support.shape[0] if metric == "f1_macro" else int(np.count_nonzero(support))


def _cumsum_within_groups(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Inclusive running sums of each row of ``values`` (k, n) over the earlier columns of the same group."""
    # Class indices fit in 16 bits, where NumPy's stable sort is a radix sort.
    order = np.argsort(groups.astype(np.int16 if groups.max() < 2**15 else np.int64), kind="stable")
    grouped = values[:, order]
    running = np.cumsum(grouped, axis=1)
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_groups[1:] != sorted_groups[:-1])))
    before_group = running[:, starts] - grouped[:, starts]
    result = np.empty_like(running)
    result[:, order] = running - np.repeat(before_group, np.diff(np.append(starts, groups.shape[0])), axis=1)
    return result


def _best_offset_for_class(
    c: int,
    log_scores: np.ndarray,
    offsets: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    support: np.ndarray,
    metric: str,
) -> tuple[float, float]:
    """(best offset for class c, its metric) with the other offsets fixed; exact over all step positions.

    O(n log n) time and O(n) memory: moving one row to c changes only two classes' terms (its rival's and c's),
    so the metric of every state is a running sum of per-row changes.
    """
    n = log_scores.shape[0]
    shifted = log_scores + offsets
    shifted[:, c] = -np.inf
    rival = np.argmax(shifted, axis=1)  # the prediction while class c is not chosen
    switch_at = shifted[np.arange(n), rival] - log_scores[:, c]  # row predicts c iff offsets[c] > switch_at

    order = np.argsort(switch_at, kind="stable")
    switch_at, rival, truth, w = switch_at[order], rival[order], codes[order], weights[order]
    hit = w * (truth == rival)
    # State j: the first j rows (smallest switch points) predict c, the others their rival. State 0 counts:
    tp = np.bincount(rival, weights=hit, minlength=support.shape[0])
    predicted = np.bincount(rival, weights=w, minlength=support.shape[0])
    # A row's move lowers its rival's counts by what that rival has lost up to and including this row.
    lost_hits, lost_predicted = _cumsum_within_groups(np.stack((hit, w)), rival)
    rival_tp, rival_predicted, rival_support = tp[rival] - lost_hits, predicted[rival] - lost_predicted, support[rival]
    rival_change = _per_class_values(metric, rival_tp, rival_predicted, rival_support) - _per_class_values(
        metric, rival_tp + hit, rival_predicted + w, rival_support
    )
    class_c_term = _per_class_values(metric, np.cumsum(w * (truth == c)), np.cumsum(w), support[c])
    totals = _per_class_values(metric, tp, predicted, support).sum() + np.concatenate(
        ([0.0], np.cumsum(rival_change) + class_c_term)
    )

    # Only states between distinct switch points are reachable: j = 0, the end of each tie run.
    states = np.concatenate(([0], np.flatnonzero(switch_at[1:] != switch_at[:-1]) + 1, [n]))
    values = totals[states] / _n_averaged(metric, support)
    best = int(np.argmax(values))
    # An offset strictly inside the chosen gap (below the first / above the last switch point at the ends).
    j = states[best]
    if j == 0:
        offset = switch_at[0] - 1.0
    elif j == n:
        offset = switch_at[-1] + 1.0
    else:
        offset = (switch_at[j - 1] + switch_at[j]) / 2
    return float(offset), float(values[best])


def tune_class_offsets(
    y_true: Any,
    y_score: Any,
    *,
    metric: str = "f1_macro",
    scores_are: str = "proba",
    labels: Any = None,
    max_iter: int = 20,
    sample_weight: Any = None,
) -> OffsetResult:
    """Per-class additive offsets on log-probabilities (or logits) maximising a multiclass metric.

    Decision rule: ``predict labels[argmax_k(s[k] + offsets[k])]`` with ``s = log(y_score)`` when
    ``scores_are='proba'`` and ``s = y_score`` when ``scores_are='logits'`` (see :func:`apply_class_offsets`).
    Coordinate ascent from all-zero offsets: for each class in turn the exactly best offset is taken if it
    strictly improves the metric; rounds repeat until one brings no improvement or ``max_iter`` rounds ran.
    The result is therefore never worse than the plain argmax, and each offset is optimal given the others
    (a coordinate-wise optimum, not necessarily the global one).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_score : array-like of shape (n_samples, n_classes)
    metric : {'f1_macro', 'balanced_accuracy'}, default='f1_macro'
        'f1_macro' = sklearn ``f1_score(average='macro', labels=labels)`` (all columns' classes count, absent
        ones with F1 0); 'balanced_accuracy' = mean recall over the classes present in y_true
        (sklearn ``balanced_accuracy_score``).
    scores_are : {'proba', 'logits'}, default='proba'
    labels : array-like of shape (n_classes,), default=None
        Class of each column; default: the sorted labels of y_true (then every class must occur in y_true).
    max_iter : int >= 1, default=20
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    OffsetResult
    """
    check_option("tune_class_offsets", "metric", metric, list(MULTICLASS_THRESHOLD_METRICS))
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer; got {max_iter!r}.")
    log_scores = _log_scores(y_score, scores_are)
    targets = _check_1d(to_array(y_true, "y_true"), "y_true")
    check_consistent_length(targets, log_scores)
    n_classes = log_scores.shape[1]
    present = unique_labels(targets)
    classes = present if labels is None else _check_1d(to_array(labels, "labels"), "labels")
    if classes.shape[0] != n_classes:
        raise ValueError(
            f"y_score has {n_classes} columns but there are {classes.shape[0]} classes "
            f"({'in y_true' if labels is None else 'in labels'}); pass labels=<class of each column>."
        )
    lookup = {label: i for i, label in enumerate(classes.tolist())}
    if len(lookup) != n_classes:
        raise ValueError(f"labels must be unique; got {classes.tolist()}.")
    column_of_present = np.array([lookup.get(label, -1) for label in present.tolist()])
    if (column_of_present < 0).any():
        missing = present[column_of_present < 0].tolist()
        raise ValueError(f"y_true contains labels {missing} that are not in labels {classes.tolist()}.")
    codes = column_of_present[np.searchsorted(present, targets)]
    weights = _float_weights(sample_weight, targets.shape[0])
    weights = np.ones(targets.shape[0]) if weights is None else weights
    support = np.bincount(codes, weights=weights, minlength=n_classes)

    def score_of(offsets: np.ndarray) -> float:
        predicted = np.argmax(log_scores + offsets, axis=1)
        hit = codes == predicted
        tp = np.bincount(predicted[hit], weights=weights[hit], minlength=n_classes)
        counts = np.bincount(predicted, weights=weights, minlength=n_classes)
        return float(_per_class_values(metric, tp, counts, support).sum() / _n_averaged(metric, support))

    offsets = np.zeros(n_classes)
    baseline = best = score_of(offsets)
    n_iter = 0
    for n_iter in range(1, max_iter + 1):
        improved = False
        for c in range(n_classes):
            candidate, value = _best_offset_for_class(c, log_scores, offsets, codes, weights, support, metric)
            if value <= best:
                continue
            # Re-score the move on the real decision rule: only a verified strict gain is kept, so the score
            # can never drop below the baseline (guards against rounding in the swept sums).
            trial = offsets.copy()
            trial[c] = candidate
            trial_score = score_of(trial)
            if trial_score > best:
                offsets, best, improved = trial, trial_score, True
        if not improved:
            break
    return OffsetResult(offsets=_read_only(offsets), score=best, baseline_score=baseline, labels=classes, n_iter=n_iter)
