"""Confusion-matrix metrics with scikit-learn 1.9's names, signatures, defaults, warnings and errors.

Every function reduces ``(y_true, y_pred)`` once to a C x C confusion matrix (see ``_validation.check_targets``)
and computes its score from counts. The count functions (``prf_from_counts`` and friends) are shared with the
streaming metrics, so an epoch-end score equals the NumPy function on the concatenated epoch.

Multilabel-indicator targets (two (n_samples, n_labels) 0/1 matrices) are accepted where scikit-learn accepts them:
``multilabel_confusion_matrix``, the precision/recall/F family, ``jaccard_score``, ``accuracy_score`` (subset
accuracy) and ``hamming_loss``; their counts come from ``_multilabel.IndicatorTargets``.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ._multilabel import IndicatorTargets
from ._validation import (
    InvalidParameterError,
    Targets,
    check_option,
    check_targets,
    check_zero_division,
    to_array,
)

_AVERAGES = (None, "micro", "macro", "weighted", "samples", "binary")


# ----------------------------------------------------------------------------------------------------------------
# Counts -> scores (shared with the streaming metrics)


def warn_undefined(average: str | None, modifier: str, msg_start: str, result_size: int) -> None:
    """sklearn's ``_warn_prf``: the UndefinedMetricWarning text for a 0/0 score."""
    axis0, axis1 = ("label", "sample") if average == "samples" else ("sample", "label")
    where = "due to" if result_size == 1 else f"in {axis1}s with"
    warnings.warn(
        f"{msg_start} ill-defined and being set to 0.0 {where} no {modifier} {axis0}s. "
        "Use `zero_division` parameter to control this behavior.",
        UndefinedMetricWarning,
        stacklevel=3,
    )


def safe_divide(
    numerator: np.ndarray,
    denominator: np.ndarray,
    metric: str,
    modifier: str,
    average: str | None,
    warn_for: Any,
    zero_division: Any = "warn",
) -> np.ndarray:
    """Element-wise ``numerator / denominator`` with 0/0 set by ``zero_division`` (sklearn's ``_prf_divide``)."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    mask = denominator == 0
    result = numerator / np.where(mask, 1.0, denominator)
    if not mask.any():
        return result
    result[mask] = check_zero_division("precision_recall_fscore_support", zero_division)
    if isinstance(zero_division, str) and zero_division == "warn" and metric in warn_for:
        warn_undefined(average, modifier, f"{metric.capitalize()} is", result.shape[0])
    return result


def nan_average(values: np.ndarray, weights: np.ndarray | None = None) -> float:
    """Weighted mean ignoring NaN; weights summing to zero are ignored (sklearn's ``_nanaverage``)."""
    if values.shape[0] == 0:
        return np.nan
    keep = ~np.isnan(values)
    if not keep.any():
        return np.nan
    if weights is None:
        return float(np.mean(values[keep]))
    weights = np.asarray(weights, dtype=np.float64)[keep]
    if weights.sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights))


def label_counts(cm: np.ndarray, total: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One-vs-rest counts per class of a C x C confusion matrix: (tp, fp, fn, tn), each of shape (C,)."""
    tp = np.diagonal(cm).copy()
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    return tp, fp, fn, total - tp - fp - fn


def prf_from_counts(
    tp: np.ndarray,
    pred: np.ndarray,
    true: np.ndarray,
    *,
    beta: float = 1.0,
    average: str | None = None,
    warn_for: Any = ("precision", "recall", "f-score"),
    zero_division: Any = "warn",
    sample_weight: np.ndarray | None = None,
) -> tuple[Any, Any, Any, Any]:
    """Precision, recall, F-beta and support from per-label counts, as ``precision_recall_fscore_support``.

    ``tp``, ``pred`` (predicted count) and ``true`` (support) have shape (L,), or (n_samples,) per sample for
    ``average='samples'`` (then averaged with ``sample_weight``); ``average`` is None, 'micro', 'macro',
    'weighted', 'samples' or 'binary' (the caller has already reduced the labels to the positive one).
    """
    if average == "micro":
        tp, pred, true = tp.sum(keepdims=True), pred.sum(keepdims=True), true.sum(keepdims=True)
    precision = safe_divide(tp, pred, "precision", "predicted", average, warn_for, zero_division)
    recall = safe_divide(tp, true, "recall", "true", average, warn_for, zero_division)
    if np.isposinf(beta):
        f_score = recall
    elif beta == 0:
        f_score = precision
    else:
        beta2 = beta**2
        denominator = beta2 * np.asarray(true, dtype=np.float64) + np.asarray(pred, dtype=np.float64)
        f_score = safe_divide(
            (1 + beta2) * np.asarray(tp, dtype=np.float64),
            denominator,
            "f-score",
            "true nor predicted",
            average,
            warn_for,
            zero_division,
        )
    if average is None:
        return precision, recall, f_score, true
    weights = true if average == "weighted" else sample_weight if average == "samples" else None
    return nan_average(precision, weights), nan_average(recall, weights), nan_average(f_score, weights), None


def matthews_from_cm(cm: np.ndarray) -> float:
    """Multiclass Matthews correlation coefficient (Gorodkin's R_K) of a confusion matrix."""
    t_sum = cm.sum(axis=1, dtype=np.float64)
    p_sum = cm.sum(axis=0, dtype=np.float64)
    n_correct = np.trace(cm, dtype=np.float64)
    n_samples = p_sum.sum()
    cov_ytyp = n_correct * n_samples - np.dot(t_sum, p_sum)
    cov_ypyp = n_samples**2 - np.dot(p_sum, p_sum)
    cov_ytyt = n_samples**2 - np.dot(t_sum, t_sum)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ypyp * cov_ytyt))


def balanced_accuracy_from_cm(cm: np.ndarray, adjusted: bool = False) -> float:
    """Mean recall over the classes that occur in y_true (rows with a non-zero sum)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.diagonal(cm) / cm.sum(axis=1)
    if np.isnan(per_class).any():
        warnings.warn("y_pred contains classes not in y_true", stacklevel=3)
        per_class = per_class[~np.isnan(per_class)]
    score = per_class.mean()
    if adjusted:
        chance = 1 / per_class.shape[0]
        score = (score - chance) / (1 - chance)
    return float(score)


def kappa_from_cm(cm: np.ndarray, weights: str | None = None, replace_undefined_by: float = np.nan) -> float:
    """Cohen's kappa of a confusion matrix, unweighted or with linear/quadratic disagreement weights."""
    cm = cm.astype(np.float64)
    n_classes = cm.shape[0]
    sum0, sum1 = cm.sum(axis=0), cm.sum(axis=1)
    total = sum0.sum()
    if total == 0:
        warnings.warn(
            "`y2` contains no labels that are present in both `y1` and `labels`.`cohen_kappa_score` is "
            "undefined and set to the value defined by the `replace_undefined_by` param, which is set to "
            f"{replace_undefined_by}.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return replace_undefined_by
    expected = np.outer(sum0, sum1) / total
    if weights is None:
        w_mat = 1.0 - np.eye(n_classes)
    else:
        grid = np.zeros((n_classes, n_classes)) + np.arange(n_classes)
        w_mat = np.abs(grid - grid.T) if weights == "linear" else (grid - grid.T) ** 2
    denominator = np.sum(w_mat * expected)
    if denominator == 0:
        warnings.warn(
            "`y1`, `y2` and `labels` have only one label in common. `cohen_kappa_score` is undefined and "
            "set to the value defined by the the `replace_undefined_by` param, which is set to "
            f"{replace_undefined_by}.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return replace_undefined_by
    return float(1 - np.sum(w_mat * cm) / denominator)


# ----------------------------------------------------------------------------------------------------------------
# Label handling shared by the array functions


def _labels_array(labels: Any) -> np.ndarray | None:
    return None if labels is None else to_array(labels, "labels")


def _check_pos_label(func: str, pos_label: Any) -> None:
    if pos_label is not None and not isinstance(pos_label, (numbers.Real, str, bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'pos_label' parameter of {func} must be an instance of 'numbers.Real', an instance of "
            f"'str', an instance of 'bool' or None. Got {pos_label!r} instead."
        )


def set_wise_labels(
    targets: Targets | IndicatorTargets, average: str | None, labels: Any, pos_label: Any
) -> np.ndarray | None:
    """The labels a set-wise metric scores (sklearn's ``_check_set_wise_labels``), after its checks."""
    if average == "binary":
        if targets.y_type != "binary":
            options = [None, "micro", "macro", "weighted"]
            if targets.y_type == "multilabel-indicator":
                options.append("samples")
            raise ValueError(
                f"Target is {targets.y_type} but average='binary'. Please choose another average "
                f"setting, one of {options!r}."
            )
        if targets.label_positions(np.array([pos_label]))[0] < 0 and targets.classes.shape[0] >= 2:
            raise ValueError(
                f"pos_label={pos_label} is not a valid label. It should be one of {targets.classes}"
            )
        return np.array([pos_label])
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got "
            f"{average!r}). You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    return _labels_array(labels)


def per_label_counts(
    targets: Targets, labels: np.ndarray | None, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tp, fp, fn, tn) for each of ``labels`` (all present classes when None); absent labels count zero."""
    if sample_weight is not None:
        total = sample_weight.sum()
        tp, pred, true = targets.weighted_sums
        fp, fn = pred - tp, true - tp
        tn = total - tp - fp - fn
    else:
        total = targets.n_samples
        cm = targets.cm if np.trace(targets.cm) else targets.cm.astype(np.float64)
        # (sklearn's counts come out float64 when no prediction is correct, from its zero-filled fallback;
        # supports then print as "1.0", so the dtype is part of the contract.)
        tp, fp, fn, tn = label_counts(cm, total)
    if labels is None:
        return tp, fp, fn, tn
    positions = targets.label_positions(labels)
    absent = positions < 0

    def pick(values: np.ndarray, fill: Any) -> np.ndarray:
        picked = values[positions]
        picked[absent] = fill
        return picked

    return pick(tp, 0), pick(fp, 0), pick(fn, 0), pick(tn, total)


def set_wise_counts(
    targets: Targets | IndicatorTargets,
    labels: np.ndarray | None,
    sample_weight: np.ndarray | None,
    samplewise: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(tp, fp, fn, tn) per label, or per sample (``samplewise``, multilabel only), as the rows of
    ``multilabel_confusion_matrix``: the counts every set-wise metric starts from."""
    if isinstance(targets, IndicatorTargets):
        return targets.counts(labels, sample_weight, samplewise)
    if samplewise:
        raise ValueError("Samplewise metrics are not available outside of multilabel classification.")
    return per_label_counts(targets, labels, sample_weight)


def _warn_if_single_label(cm: np.ndarray) -> None:
    """sklearn warns whenever a confusion matrix it builds (also inside other metrics) is 1 x 1."""
    if cm.shape == (1, 1):
        warnings.warn(
            "A single label was found in 'y_true' and 'y_pred'. For the confusion matrix to have the "
            "correct shape, use the 'labels' parameter to pass all known labels.",
            UserWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------------------------------------------------
# Public functions (scikit-learn 1.9)


def confusion_matrix(
    y_true: Any, y_pred: Any, *, labels: Any = None, sample_weight: Any = None, normalize: str | None = None
) -> np.ndarray:
    """Confusion matrix ``C[i, j]``: samples of true label i predicted as label j.

    Same as ``sklearn.metrics.confusion_matrix``. Returns int64 (n_labels, n_labels) counts, or float64 when
    ``sample_weight`` is float or ``normalize`` is 'true' (rows), 'pred' (columns) or 'all'.
    """
    check_option("confusion_matrix", "normalize", normalize, ("true", "pred", "all", None))
    targets, _ = check_targets(y_true, y_pred, sample_weight)
    labels = _labels_array(labels)
    if labels is not None:
        if labels.size == 0:
            raise ValueError("'labels' should contain at least one label.")
        _reject_repeated_labels(labels)
        positions = targets.label_positions(labels)
        if not targets.in_true[positions[positions >= 0]].any():
            raise ValueError("At least one label specified must be in y_true")
    cm = targets.select(labels)
    with np.errstate(all="ignore"):
        if normalize == "true":
            cm = cm / cm.sum(axis=1, keepdims=True)
        elif normalize == "pred":
            cm = cm / cm.sum(axis=0, keepdims=True)
        elif normalize == "all":
            cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    _warn_if_single_label(cm)
    return cm


def _reject_repeated_labels(labels: np.ndarray) -> None:
    """A confusion matrix needs each label once: sklearn silently leaves a repeated label's first row and
    column empty, which changes kappa and every score read off the matrix."""
    values = labels.tolist()
    if len(set(values)) != len(values):
        repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
        raise ValueError(f"labels must list each label once; {repeated} appear more than once in {values}.")


def multilabel_confusion_matrix(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, labels: Any = None, samplewise: bool = False
) -> np.ndarray:
    """One-vs-rest 2x2 matrices ``[[tn, fp], [fn, tp]]`` per label, shape (n_labels, 2, 2); as
    ``sklearn.metrics.multilabel_confusion_matrix``.

    Binary and multiclass targets: one matrix per sorted label (or per ``labels``, absent ones counting zero).
    Multilabel-indicator targets ((n_samples, n_labels) 0/1 arrays): one per column, ``labels`` being column
    indices; ``samplewise=True`` gives one per sample, shape (n_samples, 2, 2). int64 counts, float64 with float
    weights (and, per label, with any weights).
    """
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    tp, fp, fn, tn = set_wise_counts(targets, _labels_array(labels), weights, samplewise)
    return np.stack([tn, fp, fn, tp], axis=1).reshape(-1, 2, 2)


def accuracy_score(y_true: Any, y_pred: Any, *, normalize: bool = True, sample_weight: Any = None) -> float:
    """Fraction (or, with ``normalize=False``, weighted count) of exact matches; as sklearn's.

    For multilabel-indicator targets this is subset accuracy: a sample counts when its whole row matches.
    """
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    if isinstance(targets, IndicatorTargets):
        match = targets.exact_match()
        correct = match.sum() if weights is None else np.dot(match, weights)
    else:
        correct = np.trace(targets.cm)
    if not normalize:
        return float(correct)
    total = targets.n_samples if weights is None else weights.sum()
    if total == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(correct / total)


def balanced_accuracy_score(
    y_true: Any, y_pred: Any, *, sample_weight: Any = None, adjusted: bool = False
) -> float:
    """Mean per-class recall (chance-adjusted with ``adjusted=True``); as sklearn's."""
    targets, _ = check_targets(y_true, y_pred, sample_weight)
    _warn_if_single_label(targets.cm)
    return balanced_accuracy_from_cm(targets.cm, adjusted)


def precision_recall_fscore_support(
    y_true: Any,
    y_pred: Any,
    *,
    beta: float = 1.0,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = None,
    warn_for: Any = ("precision", "recall", "f-score"),
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> tuple[Any, Any, Any, Any]:
    """Per-label or averaged precision, recall, F-beta and support; as sklearn's.

    ``y_true``/``y_pred``: 1-D labels, or (n_samples, n_labels) 0/1 multilabel indicators (then ``labels`` are
    column indices and ``average='samples'`` averages per-sample scores, weighted by ``sample_weight``).
    Returns arrays of shape (n_labels,) (support: int64, float64 with weights) when ``average`` is None,
    else three floats and None.
    """
    func = "precision_recall_fscore_support"
    check_option(func, "average", average, _AVERAGES)
    _check_pos_label(func, pos_label)
    if not isinstance(beta, numbers.Real) or isinstance(beta, bool) or not beta >= 0:
        raise InvalidParameterError(
            f"The 'beta' parameter of {func} must be a float in the range [0.0, inf). Got {beta!r} instead."
        )
    check_zero_division(func, zero_division)
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    labels = set_wise_labels(targets, average, labels, pos_label)
    tp, fp, fn, _ = set_wise_counts(targets, labels, weights, samplewise=average == "samples")
    return prf_from_counts(
        tp, tp + fp, tp + fn, beta=beta, average=average, warn_for=warn_for, zero_division=zero_division,
        sample_weight=weights,
    )


def fbeta_score(
    y_true: Any,
    y_pred: Any,
    *,
    beta: float,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """F-beta score; as ``sklearn.metrics.fbeta_score``."""
    return precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label, average=average,
        warn_for=("f-score",), sample_weight=sample_weight, zero_division=zero_division,
    )[2]


def f1_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """F1 score; as ``sklearn.metrics.f1_score``."""
    return fbeta_score(
        y_true, y_pred, beta=1, labels=labels, pos_label=pos_label, average=average,
        sample_weight=sample_weight, zero_division=zero_division,
    )


def precision_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """Precision tp / (tp + fp); as ``sklearn.metrics.precision_score``."""
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("precision",), sample_weight=sample_weight, zero_division=zero_division,
    )[0]


def recall_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """Recall tp / (tp + fn); as ``sklearn.metrics.recall_score``."""
    return precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("recall",), sample_weight=sample_weight, zero_division=zero_division,
    )[1]


def matthews_corrcoef(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Matthews correlation coefficient (multiclass R_K); as ``sklearn.metrics.matthews_corrcoef``."""
    targets, _ = check_targets(y_true, y_pred, sample_weight)
    _warn_if_single_label(targets.cm)
    return matthews_from_cm(targets.cm)


def cohen_kappa_score(
    y1: Any,
    y2: Any,
    *,
    labels: Any = None,
    weights: str | None = None,
    sample_weight: Any = None,
    replace_undefined_by: float = np.nan,
) -> float:
    """Cohen's kappa between two annotators; as ``sklearn.metrics.cohen_kappa_score``."""
    check_option("cohen_kappa_score", "weights", weights, ("linear", "quadratic", None))
    if not (
        isinstance(replace_undefined_by, numbers.Real)
        and (np.isnan(replace_undefined_by) or -1 <= replace_undefined_by <= 1)
    ):
        raise InvalidParameterError(
            "The 'replace_undefined_by' parameter of cohen_kappa_score must be a float in the range "
            f"[-1.0, 1.0] or nan. Got {replace_undefined_by!r} instead."
        )
    try:
        cm = confusion_matrix(y1, y2, labels=labels, sample_weight=sample_weight)
    except ValueError as error:
        if "At least one label specified must be in y_true" in str(error):
            raise ValueError(
                "At least one label in `labels` must be present in `y1` (even though `cohen_kappa_score` "
                "is otherwise agnostic to the order of `y1` and `y2`)."
            ) from error
        raise
    return kappa_from_cm(cm, weights, replace_undefined_by)


def jaccard_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
    zero_division: Any = "warn",
) -> Any:
    """Jaccard index tp / (tp + fp + fn) of the predicted and true label sets; as ``sklearn.metrics.jaccard_score``.

    ``average`` as in :func:`precision_recall_fscore_support` ('samples': per-sample index of multilabel rows,
    weighted by ``sample_weight``). ``zero_division`` ('warn', 0 or 1; unlike the F family, not nan) is the score
    of an empty union. Returns a float, or an ndarray of shape (n_labels,) float64 when ``average`` is None.
    """
    func = "jaccard_score"
    check_option(func, "average", average, _AVERAGES)
    _check_pos_label(func, pos_label)
    if not (isinstance(zero_division, str) and zero_division == "warn") and zero_division not in (0, 1):
        raise InvalidParameterError(
            f"The 'zero_division' parameter of {func} must be a float among {{0, 1}} or a str among "
            f"{{'warn'}}. Got {zero_division!r} instead."
        )
    if not isinstance(zero_division, str):
        zero_division = float(zero_division)  # sklearn takes True/False as 1/0 here
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    labels = set_wise_labels(targets, average, labels, pos_label)
    tp, fp, fn, _ = set_wise_counts(targets, labels, weights, samplewise=average == "samples")
    intersection, union = tp, tp + fp + fn
    if average == "micro":
        intersection, union = intersection.sum(keepdims=True), union.sum(keepdims=True)
    scores = safe_divide(
        intersection, union, "jaccard", "true or predicted", average, ("jaccard",), zero_division
    )
    if average is None:
        return scores
    average_weights = None
    if average == "weighted":
        support = tp + fn
        # No label has support: every score is a zero division (already warned about), averaged unweighted.
        average_weights = support if support.any() else None
    elif average == "samples":
        average_weights = weights
    # Unlike precision/recall (nan_average), sklearn's plain average: an empty label list gives nan.
    return float(np.average(scores, weights=average_weights))


def hamming_loss(y_true: Any, y_pred: Any, *, sample_weight: Any = None) -> float:
    """Fraction of wrong labels; as ``sklearn.metrics.hamming_loss``.

    Binary/multiclass: the (weighted) fraction of misclassified samples. Multilabel indicators: the (weighted)
    fraction of wrong entries of the (n_samples, n_labels) matrix, the weights being per sample.
    """
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    if isinstance(targets, IndicatorTargets):
        differences = targets.differences()
        wrong = differences.sum() if weights is None else np.dot(differences, weights)
        mean_weight = 1.0 if weights is None else np.mean(weights)
        return float(wrong / (targets.n_samples * targets.n_labels * mean_weight))
    cm = targets.cm
    # The off-diagonal sum, not total - trace: exactly 0 when every (float-weighted) sample is right.
    wrong = cm.sum(where=~np.eye(cm.shape[0], dtype=bool))
    total = targets.n_samples if weights is None else weights.sum()
    if total == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(wrong / total)
