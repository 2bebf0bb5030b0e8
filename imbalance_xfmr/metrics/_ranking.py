"""Ranking and probabilistic metrics with scikit-learn 1.9's semantics.

``roc_auc_score``, ``average_precision_score``, ``roc_curve``, ``precision_recall_curve``, ``log_loss`` and
``brier_score_loss`` take the same arguments, return the same values (to ~1e-15 relative; curves have the very same
thresholds) and raise the same warnings and exception types as their ``sklearn.metrics`` namesakes.

Speed: scikit-learn ranks every sample with a stable ``argsort`` (O(n log n) with a large constant). Without sample
weights we never need the permutation, only sorted values: ``np.sort`` of the positives' and negatives' scores plus
``np.searchsorted`` give the number of positives and negatives at or above every distinct score. ROC AUC is then the
Mann-Whitney U statistic (ties count one half) and average precision a sum over the distinct positive scores. With
sample weights we sort like scikit-learn (stable, descending) and take cumulative sums, so the curves match bit for
bit.
"""

from __future__ import annotations

import warnings
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ._validation import (
    InvalidParameterError,
    check_consistent_length,
    check_option,
    check_sample_weight,
    to_array,
    type_of_target,
    unique_labels,
)

__all__ = [
    "average_precision_score",
    "brier_score_loss",
    "log_loss",
    "precision_recall_curve",
    "roc_auc_score",
    "roc_curve",
]


# --------------------------------------------------------------------------------------------------- input checks

def _check_scores(y_score: Any, name: str, float_only: bool = False) -> np.ndarray:
    """Numeric 1-D or 2-D array of finite scores. Integer and bool scores keep their dtype unless ``float_only``
    (float16/32/64 are kept, everything else becomes float64, like sklearn's ``check_array``)."""
    scores = to_array(y_score, name)
    if scores.dtype.kind not in "biuf" or (float_only and scores.dtype.kind != "f"):
        try:
            scores = scores.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name} must hold numbers (scores or probabilities); got dtype {scores.dtype}."
            ) from None
    if scores.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D (n_samples,) or 2-D (n_samples, n_classes); got shape {scores.shape}.")
    if scores.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={scores.shape}) while a minimum of 1 is required.")
    if scores.dtype.kind == "f" and not np.isfinite(scores).all():
        kind = "NaN" if np.isnan(scores).any() else "infinity or a value too large for dtype('float64')"
        raise ValueError(f"Input {name} contains {kind}.")
    return scores


def _check_1d(array: np.ndarray, name: str) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        return array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name} should be a 1d array, got an array of shape {array.shape} instead. "
            "Pass one value per sample (for several classes use roc_auc_score/average_precision_score)."
        )
    return array


def _label_array(y_true: Any, name: str = "y_true") -> np.ndarray:
    labels = to_array(y_true, name)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape[0] == 0:
        raise ValueError(f"Found array with 0 sample(s) (shape={labels.shape}) while a minimum of 1 is required.")
    return labels


def _float_weights(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Sample weights as float64 (None stays None); all-zero weights are an error."""
    weights = check_sample_weight(sample_weight, n_samples)
    return None if weights is None else weights.astype(np.float64, copy=False)


def _resolve_pos_label(pos_label: Any, classes: np.ndarray) -> Any:
    """sklearn's ``_check_pos_label_consistency`` given y_true's distinct ``classes``: without ``pos_label``,
    labels must be {0, 1} or {-1, 1}."""
    if pos_label is not None:
        return pos_label
    values = set(classes.tolist())
    if classes.dtype.kind not in "biuf" or not (values <= {0, 1} or values <= {-1, 1}):
        shown = ", ".join(repr(c) for c in classes.tolist())
        raise ValueError(
            f"y_true takes value in {{{shown}}} and pos_label is not specified: either make y_true take value "
            "in {0, 1} or {-1, 1} or pass pos_label explicitly."
        )
    return 1


def _binary_target(y_true: Any, pos_label: Any) -> np.ndarray:
    """Boolean "is positive" vector of a binary ``y_true`` (multiclass allowed when ``pos_label`` is given)."""
    labels = _label_array(y_true)
    y_type, classes = type_of_target(labels)
    if not (y_type == "binary" or (y_type == "multiclass" and pos_label is not None)):
        raise ValueError(f"{y_type} format is not supported")
    pos_label = _resolve_pos_label(pos_label, classes)
    return labels == pos_label


# ------------------------------------------------------------------------------------------ binary core: counts


def _stable_descending_order(scores: np.ndarray) -> np.ndarray:
    """Permutation sorting ``scores`` in decreasing order, ties in input order (sklearn's stable descending sort)."""
    last = scores.shape[0] - 1
    return last - np.argsort(scores[::-1], kind="stable")[::-1]


def _counts_at_thresholds(
    positive: np.ndarray, scores: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fps, tps, thresholds): (weighted) negatives and positives with ``score >= t`` for every distinct score
    ``t``, in decreasing order of ``t``. fps/tps are float64. Matches sklearn's ``confusion_matrix_at_thresholds``
    (zero-weight samples are dropped first, so they add no threshold)."""
    if weights is None:
        ascending = np.sort(scores)
        starts = np.flatnonzero(np.concatenate(([True], ascending[1:] != ascending[:-1])))
        values = ascending[starts]
        positive_scores = np.sort(scores[positive])
        tps = positive_scores.shape[0] - np.searchsorted(positive_scores, values, side="left")
        fps = (scores.shape[0] - starts) - tps
        return fps[::-1].astype(np.float64), tps[::-1].astype(np.float64), values[::-1]
    nonzero = weights != 0
    positive, scores, weights = positive[nonzero], scores[nonzero], weights[nonzero]
    order = _stable_descending_order(scores)
    scores = scores[order]
    is_positive = positive[order].astype(np.float64)
    weights = weights[order]
    group_ends = np.append(np.flatnonzero(scores[1:] != scores[:-1]), scores.shape[0] - 1)
    # Two cumulative sums (not total - tps) keep fps monotone under rounding, exactly like sklearn.
    tps = np.cumsum(is_positive * weights)[group_ends]
    fps = np.cumsum((1 - is_positive) * weights)[group_ends]
    return fps, tps, scores[group_ends]


def _counts_at_group_ends(positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise (fps, tps) of 2-D ``positive``/``scores`` (one binary problem per row, no weights).

    Every position of a row's decreasing-score order carries the counts at the end of its tie group, so tied
    samples become repeated points of the curve (zero-width segments) and the row-wise arrays stay rectangular.
    """
    order = np.argsort(scores, axis=1)[:, ::-1]  # order within ties is irrelevant: ties share their group's end
    scores = np.take_along_axis(scores, order, axis=1)
    tps = np.cumsum(np.take_along_axis(positive, order, axis=1), axis=1, dtype=np.float64)
    fps = np.arange(1, scores.shape[1] + 1, dtype=np.float64) - tps
    n_columns = scores.shape[1]
    is_end = np.ones(scores.shape, dtype=bool)
    is_end[:, :-1] = scores[:, 1:] != scores[:, :-1]
    end_of_group = np.where(is_end, np.arange(n_columns), n_columns)
    end_of_group = np.minimum.accumulate(end_of_group[:, ::-1], axis=1)[:, ::-1]
    return np.take_along_axis(fps, end_of_group, axis=1), np.take_along_axis(tps, end_of_group, axis=1)


# ---------------------------------------------------------------------------------------- binary core: metrics


def binary_counts_at_thresholds(
    y_true: Any, y_score: Any, pos_label: Any, sample_weight: Any, float_only: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate binary ``(y_true, y_score, sample_weight)`` and return the (weighted) false and true positive
    counts at each distinct score, decreasing thresholds (the shared first step of the curves and the tuner)."""
    positive = _binary_target(y_true, pos_label)
    scores = _check_1d(_check_scores(y_score, "y_score", float_only=float_only), "y_score")
    check_consistent_length(positive, scores)
    weights = _float_weights(sample_weight, positive.shape[0])
    return _counts_at_thresholds(positive, scores, weights)


def _area_under_roc(fps: np.ndarray, tps: np.ndarray, max_fpr: float | None) -> np.ndarray:
    """Trapezoidal area under (fpr, tpr) along the last axis, McClish-standardised partial AUC when ``max_fpr``.

    The curve starts at (0, 0); ``fps``/``tps`` are non-decreasing along the last axis and end at the totals.
    """
    zeros = np.zeros(fps.shape[:-1] + (1,))
    fpr = np.concatenate((zeros, fps), axis=-1) / fps[..., -1:]
    tpr = np.concatenate((zeros, tps), axis=-1) / tps[..., -1:]
    x0, x1, y0, y1 = fpr[..., :-1], fpr[..., 1:], tpr[..., :-1], tpr[..., 1:]
    if max_fpr is None or max_fpr == 1:
        return np.sum((x1 - x0) * (y0 + y1), axis=-1) / 2
    # Keep the part of each segment left of max_fpr; a crossing segment is cut at its interpolated point.
    right = np.minimum(x1, max_fpr)
    width = np.maximum(right - x0, 0.0)
    slope = np.divide(y1 - y0, x1 - x0, out=np.zeros_like(x0), where=x1 > x0)
    y_right = np.where(x1 > max_fpr, y0 + slope * width, y1)
    partial = np.sum(width * (y0 + y_right), axis=-1) / 2
    min_area = 0.5 * max_fpr**2
    return 0.5 * (1 + (partial - min_area) / (max_fpr - min_area))


def _average_precision_from_counts(fps: np.ndarray, tps: np.ndarray) -> np.ndarray:
    """sum_k (R_k - R_{k-1}) P_k along the last axis (thresholds in decreasing order, no interpolation)."""
    gained = np.diff(tps, axis=-1, prepend=0.0)
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    return np.maximum(np.sum(gained * precision, axis=-1) / tps[..., -1], 0.0)


def _mann_whitney_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """Unweighted ROC AUC = P(score_pos > score_neg) + P(tie) / 2, from two sorted arrays."""
    negative_scores = np.sort(scores[~positive])
    positive_scores = np.sort(scores[positive])
    below = np.searchsorted(negative_scores, positive_scores, side="left").sum(dtype=np.int64)
    below_or_tied = np.searchsorted(negative_scores, positive_scores, side="right").sum(dtype=np.int64)
    return float((below + below_or_tied) / (2.0 * positive_scores.shape[0] * negative_scores.shape[0]))


def _warn_single_class() -> float:
    warnings.warn(
        "Only one class is present in y_true. ROC AUC score is not defined in that case.",
        UndefinedMetricWarning,
        stacklevel=4,
    )
    return np.nan


def _binary_roc_auc(
    positive: np.ndarray, scores: np.ndarray, weights: np.ndarray | None, max_fpr: float | None
) -> float:
    n_positive = np.count_nonzero(positive)
    if n_positive == 0 or n_positive == positive.shape[0]:
        return _warn_single_class()
    if weights is None and (max_fpr is None or max_fpr == 1):
        return _mann_whitney_auc(positive, scores)
    fps, tps, _ = _counts_at_thresholds(positive, scores, weights)
    if fps[-1] <= 0 or tps[-1] <= 0:  # every sample of one class has zero weight
        _warn_zero_totals(fps, tps)
        if fps[-1] <= 0 and max_fpr is not None and max_fpr != 1:
            raise ValueError(
                "Partial ROC AUC (max_fpr) is undefined: every negative sample has zero weight, so the false "
                "positive rate is undefined. Give some negative samples a non-zero weight."
            )
        return np.nan
    return float(_area_under_roc(fps, tps, max_fpr))


def _warn_no_positives() -> None:
    warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", stacklevel=4)


def _binary_average_precision(positive: np.ndarray, scores: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        n_positive = np.count_nonzero(positive)
        if n_positive == 0:
            _warn_no_positives()
            return 0.0
        # Only thresholds at positive scores gain recall: count everything at or above each of them.
        positive_scores = np.sort(scores[positive])
        negative_scores = np.sort(scores[~positive])
        starts = np.flatnonzero(np.concatenate(([True], positive_scores[1:] != positive_scores[:-1])))
        tps = (n_positive - starts).astype(np.float64)
        fps = negative_scores.shape[0] - np.searchsorted(negative_scores, positive_scores[starts], side="left")
        gained = np.diff(starts, append=n_positive)
        return float(max(np.sum(gained * (tps / (tps + fps))) / n_positive, 0.0))
    fps, tps, _ = _counts_at_thresholds(positive, scores, weights)
    if tps[-1] == 0:
        _warn_no_positives()
        return 0.0
    return float(_average_precision_from_counts(fps, tps))


def _warn_zero_totals(fps: np.ndarray, tps: np.ndarray) -> None:
    if fps[-1] <= 0:
        warnings.warn(
            "No negative samples in y_true, false positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    if tps[-1] <= 0:
        warnings.warn(
            "No positive samples in y_true, true positive value should be meaningless",
            UndefinedMetricWarning,
            stacklevel=3,
        )


# ------------------------------------------------------------------------------------------------------ curves


def roc_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
    drop_intermediate: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Receiver operating characteristic curve; matches ``sklearn.metrics.roc_curve``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary labels; without ``pos_label`` they must be {0, 1} or {-1, 1}.
    y_score : array-like of shape (n_samples,)
        Scores, higher means more likely positive.
    pos_label : int, float, bool or str, default=None
    sample_weight : array-like of shape (n_samples,), default=None
        Zero-weight samples are ignored (they add no threshold).
    drop_intermediate : bool, default=True
        Drop points collinear with their neighbours (the area is unchanged).

    Returns
    -------
    fpr, tpr : ndarray of shape (n_thresholds + 1,), float64
        Rates of predictions with ``score >= thresholds[i]``; both start at 0. NaN (with an
        ``UndefinedMetricWarning``) when y_true has no negatives / no positives.
    thresholds : ndarray of shape (n_thresholds + 1,), float64
        Decreasing distinct scores, preceded by ``inf``.
    """
    check_option("roc_curve", "drop_intermediate", drop_intermediate, [True, False])
    fps, tps, thresholds = binary_counts_at_thresholds(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        corner = (np.diff(fps, 2) != 0) | (np.diff(tps, 2) != 0)
        keep = np.concatenate(([True], corner, [True]))
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.concatenate(([0.0], fps))
    tps = np.concatenate(([0.0], tps))
    thresholds = np.concatenate(([np.inf], thresholds.astype(np.float64)))
    _warn_zero_totals(fps, tps)
    fpr = fps / fps[-1] if fps[-1] > 0 else np.full(fps.shape, np.nan)
    tpr = tps / tps[-1] if tps[-1] > 0 else np.full(tps.shape, np.nan)
    return fpr, tpr, thresholds


def precision_recall_curve(
    y_true: Any,
    y_score: Any,
    *,
    pos_label: Any = None,
    sample_weight: Any = None,
    drop_intermediate: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision-recall pairs at every distinct score; matches ``sklearn.metrics.precision_recall_curve``.

    Parameters are those of :func:`roc_curve`; ``drop_intermediate`` drops thresholds whose recall equals both
    neighbours' (vertical runs keep their two ends).

    Returns
    -------
    precision : ndarray of shape (n_thresholds + 1,), float64
        Precision of ``score >= thresholds[i]`` (0 where nothing is predicted positive); last element 1.
    recall : ndarray of shape (n_thresholds + 1,), float64
        Decreasing; last element 0. All ones (with a ``UserWarning``) when y_true has no positives.
    thresholds : ndarray of shape (n_thresholds,)
        Increasing distinct scores, in y_score's dtype.
    """
    check_option("precision_recall_curve", "drop_intermediate", drop_intermediate, [True, False])
    fps, tps, thresholds = binary_counts_at_thresholds(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and fps.shape[0] > 2:
        recall_changes = (np.diff(tps[:-1]) != 0) | (np.diff(tps[1:]) != 0)
        keep = np.concatenate(([True], recall_changes, [True]))
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    predicted = tps + fps
    precision = np.divide(tps, predicted, out=np.zeros_like(tps), where=predicted != 0)
    if tps[-1] == 0:
        warnings.warn("No positive class found in y_true, recall is set to one for all thresholds.", stacklevel=2)
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    return np.append(precision[::-1], 1.0), np.append(recall[::-1], 0.0), thresholds[::-1]


# ------------------------------------------------------------------------------------- averaging over columns


def _average_over_columns(
    binary_metric,
    rowwise_metric,
    indicator: np.ndarray,
    scores: np.ndarray,
    average: str | None,
    weights: np.ndarray | None,
) -> float | np.ndarray:
    """sklearn's ``_average_binary_score`` for a 0/1 ``indicator`` (n, C) and ``scores`` (n, C).

    ``binary_metric(positive, scores, weights)`` scores one column; ``rowwise_metric(positive, scores)`` scores
    every row of a 2-D batch at once (the 'samples' average, which must not loop over samples).
    """
    if scores.ndim != 2 or scores.shape != indicator.shape:
        raise ValueError(
            f"y_score must have the shape of the label indicator matrix {indicator.shape}; got {scores.shape}."
        )
    positive = indicator.astype(bool)
    if average == "micro":
        repeated = None if weights is None else np.repeat(weights, indicator.shape[1])
        return binary_metric(positive.ravel(), scores.ravel(), repeated)
    if average == "samples":
        per_row = rowwise_metric(positive, scores)
        if weights is not None:
            # A zero-weight row cannot move the average, even when its score is NaN (one class in the row).
            per_row[weights == 0] = 0
        return float(np.average(per_row, weights=weights))
    support = None
    if average == "weighted":
        support = positive.sum(axis=0) if weights is None else weights @ positive
        if np.isclose(support.sum(), 0):
            return 0.0
    per_class = np.array(
        [binary_metric(positive[:, c], scores[:, c], weights) for c in range(indicator.shape[1])], dtype=np.float64
    )
    if average is None:
        return per_class
    if average == "macro":
        return float(np.mean(per_class))
    # A class without support cannot move the average, even when its score is NaN.
    per_class[support == 0] = 0
    return float(np.average(per_class, weights=support))


def _rowwise_roc_auc(max_fpr: float | None):
    def rowwise(positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
        fps, tps = _counts_at_group_ends(positive, scores)
        single_class = (tps[:, -1] == 0) | (fps[:, -1] == 0)
        if single_class.any():
            _warn_single_class()
        with np.errstate(divide="ignore", invalid="ignore"):
            areas = _area_under_roc(fps, tps, max_fpr)
        return np.where(single_class, np.nan, areas)

    return rowwise


def _rowwise_average_precision(positive: np.ndarray, scores: np.ndarray) -> np.ndarray:
    fps, tps = _counts_at_group_ends(positive, scores)
    no_positive = tps[:, -1] == 0
    if no_positive.any():
        _warn_no_positives()
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = _average_precision_from_counts(fps, tps)
    return np.where(no_positive, 0.0, ap)


def _one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    indicator = np.zeros((codes.shape[0], n_classes), dtype=np.int64)
    indicator[np.arange(codes.shape[0]), codes] = 1
    return indicator


def _encode(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Index of each label in the sorted ``classes`` (all labels must be present)."""
    return np.searchsorted(classes, labels)


# ---------------------------------------------------------------------------------------------------- ROC AUC


def roc_auc_score(
    y_true: Any,
    y_score: Any,
    *,
    average: str | None = "macro",
    sample_weight: Any = None,
    max_fpr: float | None = None,
    multi_class: str = "raise",
    labels: Any = None,
) -> float | np.ndarray:
    """Area under the ROC curve; matches ``sklearn.metrics.roc_auc_score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary or multiclass labels, or a multilabel indicator matrix.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary: score of the greater label. Multiclass: probabilities (rows sum to 1) with columns in the order
        of ``labels`` (default: sorted labels of y_true). Multilabel: one score column per label.
    average : {'macro', 'weighted', 'micro', 'samples'} or None, default='macro'
        Ignored for binary targets. Multiclass 'ovr' supports 'macro', 'weighted', 'micro' and None;
        'ovo' supports 'macro' and 'weighted' (prevalence of each pair).
    sample_weight : array-like of shape (n_samples,), default=None
        Not supported with ``multi_class='ovo'``.
    max_fpr : float in (0, 1], default=None
        Return the McClish-standardised partial AUC over FPR in [0, max_fpr] (binary and multilabel only).
    multi_class : {'raise', 'ovr', 'ovo'}, default='raise'
        One-vs-rest, or Hand & Till's one-vs-one average over class pairs.
    labels : array-like of shape (n_classes,), default=None
        Multiclass only: the sorted, unique labels indexing y_score's columns.

    Returns
    -------
    float, or ndarray of shape (n_classes,) when ``average=None``. NaN (with an ``UndefinedMetricWarning``)
    for a binary problem whose y_true holds one class.
    """
    check_option("roc_auc_score", "average", average, ["micro", "macro", "samples", "weighted", None])
    check_option("roc_auc_score", "multi_class", multi_class, ["raise", "ovr", "ovo"])
    if max_fpr is not None and (
        isinstance(max_fpr, bool) or not isinstance(max_fpr, (int, float, np.number)) or not 0 < max_fpr <= 1
    ):
        raise _invalid_max_fpr(max_fpr)
    targets = to_array(y_true, "y_true")
    y_type, present = type_of_target(targets)
    scores = _check_scores(y_score, "y_score")
    weights = _float_weights(sample_weight, scores.shape[0])
    if y_type == "multiclass" or (y_type == "binary" and scores.ndim == 2 and scores.shape[1] > 2):
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError(
                "Partial AUC computation not available in multiclass setting, 'max_fpr' must be set to `None`, "
                f"received `max_fpr={max_fpr}` instead"
            )
        if multi_class == "raise":
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        return _multiclass_roc_auc(_check_1d(targets, "y_true"), scores, labels, multi_class, average, weights)
    if y_type == "binary":
        labels_1d = _check_1d(targets, "y_true")
        scores = _check_1d(scores, "y_score")
        check_consistent_length(labels_1d, scores, weights)
        positive = labels_1d == present[-1]
        return _binary_roc_auc(positive, scores, weights, max_fpr)
    if y_type != "multilabel-indicator":
        raise ValueError(f"{y_type} format is not supported")
    check_consistent_length(targets, scores, weights)
    binary = partial(_binary_roc_auc, max_fpr=max_fpr)
    return _average_over_columns(binary, _rowwise_roc_auc(max_fpr), targets, scores, average, weights)


def _invalid_max_fpr(max_fpr: Any) -> ValueError:
    return InvalidParameterError(
        "The 'max_fpr' parameter of roc_auc_score must be a float in the range (0.0, 1.0] or None. "
        f"Got {max_fpr!r} instead."
    )


def _multiclass_roc_auc(
    y_true: np.ndarray,
    scores: np.ndarray,
    labels: Any,
    multi_class: str,
    average: str | None,
    weights: np.ndarray | None,
) -> float | np.ndarray:
    if scores.ndim != 2:
        raise ValueError(
            "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple classes. "
            f"Got `y_score.shape={scores.shape}`."
        )
    if not np.allclose(1, scores.sum(axis=1)):
        raise ValueError(
            "Target scores need to be probabilities for multiclass roc_auc, i.e. they should sum up to 1.0 "
            "over classes"
        )
    allowed = ("micro", "macro", "weighted", None) if multi_class == "ovr" else ("macro", "weighted", None)
    if average not in allowed:
        raise ValueError(f"average must be one of {allowed} for multiclass problems")
    if average is None and multi_class == "ovo":
        raise NotImplementedError("average=None is not implemented for multi_class='ovo'.")
    if labels is not None:
        given = _check_1d(to_array(labels, "labels"), "labels")
        classes = unique_labels(given)
        if classes.shape[0] != given.shape[0]:
            raise ValueError("Parameter 'labels' must be unique")
        if not np.array_equal(classes, given):
            raise ValueError("Parameter 'labels' must be ordered")
        if classes.shape[0] != scores.shape[1]:
            raise ValueError(
                f"Number of given labels, {classes.shape[0]}, not equal to the number of columns in 'y_score', "
                f"{scores.shape[1]}"
            )
        if not np.isin(y_true, classes).all():
            raise ValueError("'y_true' contains labels not in parameter 'labels'")
    else:
        classes = unique_labels(y_true)
        if classes.shape[0] != scores.shape[1]:
            raise ValueError("Number of classes in y_true not equal to the number of columns in 'y_score'")
    check_consistent_length(y_true, scores, weights)
    codes = _encode(y_true, classes)
    if multi_class == "ovr":
        indicator = _one_hot(codes, classes.shape[0])
        binary = partial(_binary_roc_auc, max_fpr=None)
        return _average_over_columns(binary, _rowwise_roc_auc(None), indicator, scores, average, weights)
    if weights is not None:
        raise ValueError(
            "sample_weight is not supported for multiclass one-vs-one ROC AUC, 'sample_weight' must be None in "
            "this case."
        )
    return _hand_till_auc(codes, scores, average)


def _hand_till_auc(codes: np.ndarray, scores: np.ndarray, average: str) -> float:
    """Hand & Till (2001): mean over present class pairs (a, b) of [AUC(a vs b on column a) +
    AUC(b vs a on column b)] / 2; 'weighted' weighs each pair by its share of the samples."""
    present = np.unique(codes)
    pair_scores, prevalence = [], []
    for a, b in combinations(present.tolist(), 2):
        in_pair = (codes == a) | (codes == b)
        is_a = codes[in_pair] == a
        pair_scores.append(
            (_mann_whitney_auc(is_a, scores[in_pair, a]) + _mann_whitney_auc(~is_a, scores[in_pair, b])) / 2
        )
        prevalence.append(np.count_nonzero(in_pair) / codes.shape[0])
    return float(np.average(pair_scores, weights=prevalence if average == "weighted" else None))


# ---------------------------------------------------------------------------------------------- average precision


def average_precision_score(
    y_true: Any,
    y_score: Any,
    *,
    average: str | None = "macro",
    pos_label: Any = 1,
    sample_weight: Any = None,
) -> float | np.ndarray:
    """Average precision (uninterpolated step integral of the PR curve); matches
    ``sklearn.metrics.average_precision_score``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_classes)
        Binary labels, multiclass labels (scored one-vs-rest against the sorted labels present) or a multilabel
        indicator matrix.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
    average : {'micro', 'samples', 'weighted', 'macro'} or None, default='macro'
        Ignored for binary targets.
    pos_label : int, float, bool or str, default=1
        Binary targets only; must be 1 for multiclass and multilabel targets.
    sample_weight : array-like of shape (n_samples,), default=None

    Returns
    -------
    float, or ndarray of shape (n_classes,) when ``average=None``. 0.0 (with a ``UserWarning``) for a class
    without positive samples.
    """
    check_option("average_precision_score", "average", average, ["micro", "samples", "weighted", "macro", None])
    targets = to_array(y_true, "y_true")
    y_type, present = type_of_target(targets)
    scores = _check_scores(y_score, "y_score")
    weights = _float_weights(sample_weight, scores.shape[0])
    if y_type == "binary":
        labels_1d = _check_1d(targets, "y_true")
        if present.shape[0] == 2 and pos_label not in present.tolist():
            raise ValueError(f"pos_label={pos_label} is not a valid label. It should be one of {present}")
        scores = _check_1d(scores, "y_score")
        check_consistent_length(labels_1d, scores, weights)
        return _binary_average_precision(labels_1d == pos_label, scores, weights)
    if y_type == "multilabel-indicator":
        if pos_label != 1:
            raise ValueError(
                "Parameter pos_label is fixed to 1 for multilabel-indicator y_true. Do not set pos_label or set "
                "pos_label to 1."
            )
        indicator = targets
    elif y_type == "multiclass":
        if pos_label != 1:
            raise ValueError(
                "Parameter pos_label is fixed to 1 for multiclass y_true. Do not set pos_label or set pos_label "
                "to 1."
            )
        labels_1d = _check_1d(targets, "y_true")
        indicator = _one_hot(_encode(labels_1d, present), present.shape[0])
        if scores.shape != indicator.shape:
            raise ValueError(
                "`y_score` needs to be of shape `(n_samples, n_classes)`, since `y_true` contains multiple "
                f"classes. Got `y_score.shape={scores.shape}`."
            )
    else:
        raise ValueError(f"{y_type} format is not supported")
    check_consistent_length(indicator, scores, weights)
    return _average_over_columns(
        _binary_average_precision, _rowwise_average_precision, indicator, scores, average, weights
    )


# ------------------------------------------------------------------------------------------ probabilistic losses


def _check_probabilities(y_proba: Any) -> np.ndarray:
    """Finite floats in [0, 1] (float16/32/64 kept, anything else becomes float64)."""
    proba = _check_scores(y_proba, "y_proba", float_only=True)
    if proba.max() > 1:
        raise ValueError(f"y_prob contains values greater than 1: {proba.max()}")
    if proba.min() < 0:
        raise ValueError(f"y_prob contains values lower than 0: {proba.min()}")
    return proba


def _one_hot_targets(y_true: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    """(indicator (n, C), classes) as sklearn's ``LabelBinarizer`` builds them; two classes give two columns."""
    targets = to_array(y_true, "y_true")
    if targets.ndim == 2 and targets.shape[1] > 1:
        if type_of_target(targets)[0] != "multilabel-indicator":
            raise ValueError("Multioutput target data is not supported with label binarization")
        if labels is not None:
            # (sklearn fails here too, with "The object was not fitted with multilabel input".)
            raise ValueError(
                f"labels cannot be used with a multilabel indicator y_true of shape {targets.shape}: its columns "
                "are the labels, in order. Drop labels=."
            )
        return targets.astype(np.int64), np.arange(targets.shape[1])
    targets = _check_1d(targets, "y_true")
    if labels is not None:
        given = _check_1d(to_array(labels, "labels"), "labels")
        classes = unique_labels(given)
        if classes.shape[0] != given.shape[0]:
            # (sklearn fails here too, with a NumPy broadcasting error.)
            raise ValueError(
                f"labels must list each class once; got {given.tolist()}. Pass the sorted distinct classes, one "
                "per column of y_proba."
            )
        if classes.shape != given.shape or not np.array_equal(classes, given):
            warnings.warn(
                f"Labels passed were {given}. But this function assumes labels are ordered lexicographically. "
                f"Pass the ordered labels={classes.tolist()} and ensure that the columns of y_prob correspond to "
                "this ordering.",
                UserWarning,
                stacklevel=4,
            )
        unique_labels(targets, classes)  # rejects a mix of string and number labels
        undeclared = ~np.isin(targets, classes)
        if undeclared.any():
            raise ValueError(
                f"y_true contains values {set(targets[undeclared].tolist())} not belonging to the passed labels "
                f"{given}."
            )
    else:
        y_type, classes = type_of_target(targets)
        if y_type not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {y_type}. y_true must hold class labels.")
    if classes.shape[0] == 1:
        if labels is None:
            raise ValueError(
                f"y_true contains only one label ({classes[0]}). Please provide the list of all expected class "
                "labels explicitly through the labels argument."
            )
        raise ValueError(f"The labels array needs to contain at least two labels, got {classes}.")
    return _one_hot(_encode(targets, classes), classes.shape[0]), classes


def _multiclass_probabilities(
    y_true: Any, proba: np.ndarray, weights: np.ndarray | None, labels: Any
) -> tuple[np.ndarray, np.ndarray]:
    """(indicator, proba) both (n, C); a 1-D proba is P(greater label) of a binary problem."""
    check_consistent_length(proba, to_array(y_true, "y_true"), weights)
    indicator, classes = _one_hot_targets(y_true, labels)
    if proba.ndim == 1:
        proba = proba[:, None]
    if proba.shape[1] == 1:
        proba = np.concatenate((1 - proba, proba), axis=1)
    eps = np.finfo(proba.dtype).eps
    if not np.isclose(proba.sum(axis=1), 1, rtol=np.sqrt(eps)).all():
        warnings.warn(
            "The y_prob values do not sum to one. Make sure to pass probabilities.", UserWarning, stacklevel=3
        )
    if classes.shape[0] != proba.shape[1]:
        if labels is None:
            raise ValueError(
                f"y_true and y_prob contain different number of classes: {classes.shape[0]} vs {proba.shape[1]}. "
                f"Please provide the true labels explicitly through the labels argument. Classes found in y_true: "
                f"{classes}"
            )
        raise ValueError(
            f"The number of classes in labels is different from that in y_prob. Classes found in labels: {classes}"
        )
    return indicator, proba


def _weighted_mean(values: np.ndarray, weights: np.ndarray | None, normalize: bool = True) -> float:
    if weights is None:
        return float(values.mean() if normalize else values.sum())
    total = np.sum(values * weights)
    if not normalize:
        return float(total)
    if weights.sum() == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(total / weights.sum())


def log_loss(
    y_true: Any,
    y_proba: Any = None,
    *,
    normalize: bool = True,
    sample_weight: Any = None,
    labels: Any = None,
    y_pred: Any = "deprecated",
) -> float:
    """Cross-entropy of predicted probabilities; matches ``sklearn.metrics.log_loss`` (1.9 signature).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or label indicator matrix
    y_proba : array-like of shape (n_samples, n_classes) or (n_samples,)
        Probabilities, columns in sorted label order; a 1-D array is P(greater label). Clipped to
        [eps, 1 - eps] with eps the machine epsilon of its float dtype. Rows not summing to 1 give a UserWarning.
    normalize : bool, default=True
        Mean (True) or sum (False) of the per-sample losses.
    sample_weight : array-like of shape (n_samples,), default=None
    labels : array-like, default=None
        All class labels, when y_true may miss some.
    y_pred : deprecated
        Old name of ``y_proba`` (sklearn 1.9 deprecation, ``FutureWarning``).

    Returns
    -------
    float (natural logarithm).
    """
    if not (isinstance(y_pred, str) and y_pred == "deprecated"):
        if y_proba is not None:
            raise ValueError("Cannot use both `y_pred` and `y_proba`. `y_pred` is deprecated, use `y_proba` instead.")
        warnings.warn(
            "`y_pred` was renamed to `y_proba` in version 1.9 and will be removed in 1.11. Use `y_proba` instead.",
            FutureWarning,
            stacklevel=2,
        )
        y_proba = y_pred
    if y_proba is None:
        raise TypeError("log_loss() missing required argument: 'y_proba'")
    check_option("log_loss", "normalize", normalize, [True, False])
    proba = _check_probabilities(y_proba)
    weights = check_sample_weight(sample_weight, proba.shape[0]) if sample_weight is not None else None
    indicator, proba = _multiclass_probabilities(y_true, proba, weights, labels)
    eps = np.finfo(proba.dtype).eps
    # Clipping keeps log finite, so 0 * log(p) is 0 (xlogy) without special-casing.
    losses = -np.sum(indicator.astype(proba.dtype) * np.log(np.clip(proba, eps, 1 - eps)), axis=1)
    return _weighted_mean(losses, weights, normalize)


def brier_score_loss(
    y_true: Any,
    y_proba: Any,
    *,
    sample_weight: Any = None,
    pos_label: Any = None,
    labels: Any = None,
    scale_by_half: bool | str = "auto",
) -> float:
    """Mean squared error of predicted probabilities; matches ``sklearn.metrics.brier_score_loss``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
    y_proba : array-like of shape (n_samples,) or (n_samples, n_classes)
        1-D: probability of ``pos_label`` (default: 1 for {0, 1}/{-1, 1} labels, else the greater numeric
        label; string labels need ``pos_label``). 2-D: one column per sorted label (or ``labels``).
    sample_weight : array-like of shape (n_samples,), default=None
    pos_label : int, float, bool or str, default=None
    labels : array-like of shape (n_classes,), default=None
    scale_by_half : bool or 'auto', default='auto'
        Halve the score (range [0, 1]); 'auto' halves for one- or two-column y_proba only.

    Returns
    -------
    float: mean over samples of sum over classes of (indicator - proba)^2, possibly halved.
    """
    check_option("brier_score_loss", "scale_by_half", scale_by_half, [True, False, "auto"])
    proba = _check_scores(y_proba, "y_proba", float_only=True)
    weights = check_sample_weight(sample_weight, proba.shape[0]) if sample_weight is not None else None
    if proba.ndim == 1 or proba.shape[1] == 1:
        indicator, proba = _binary_probabilities(y_true, _check_1d(proba, "y_proba"), weights, pos_label)
    else:
        proba = _check_probabilities(proba)
        indicator, proba = _multiclass_probabilities(y_true, proba, weights, labels)
    score = _weighted_mean(np.sum((indicator.astype(proba.dtype) - proba) ** 2, axis=1), weights)
    if scale_by_half == "auto":
        scale_by_half = proba.shape[1] < 3
    return score * 0.5 if scale_by_half else score


def _binary_probabilities(
    y_true: Any, proba: np.ndarray, weights: np.ndarray | None, pos_label: Any
) -> tuple[np.ndarray, np.ndarray]:
    targets = _check_1d(_label_array(y_true), "y_true")
    check_consistent_length(proba, targets, weights)
    y_type, classes = type_of_target(targets)
    if y_type != "binary":
        raise ValueError(
            f"The type of the target inferred from y_true is {y_type} but should be binary according to the shape "
            "of y_prob."
        )
    _check_probabilities(proba)
    try:
        pos_label = _resolve_pos_label(pos_label, classes)
    except ValueError:
        if classes.dtype.kind not in "biuf":
            raise
        pos_label = classes[-1]  # sklearn's backward-compatible default: the greater numeric label
    positive = (targets == pos_label).astype(np.int64)
    return np.stack((1 - positive, positive), axis=1), np.stack((1 - proba, proba), axis=1)
