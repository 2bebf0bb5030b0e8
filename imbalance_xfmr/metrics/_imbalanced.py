"""imbalanced-learn 0.14's metrics: sensitivity, specificity, geometric mean and the index balanced accuracy.

Same names, signatures, defaults, warnings and errors as ``imblearn.metrics``; computed from the joint label
histogram of ``_validation.check_targets``.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from inspect import signature
from typing import Any, Callable

import numpy as np

from ._classification import per_label_counts, safe_divide
from ._validation import InvalidParameterError, Targets, check_option, check_targets, to_array

_AVERAGES = (None, "binary", "micro", "macro", "weighted", "samples")


def _check_pos_label(func: str, pos_label: Any) -> None:
    if pos_label is not None and not isinstance(pos_label, (str, numbers.Integral)):
        raise InvalidParameterError(
            f"The 'pos_label' parameter of {func} must be an instance of 'str', an instance of "
            f"'int' or None. Got {pos_label!r} instead."
        )


def _imblearn_labels(targets: Targets, labels: Any, average: str | None, pos_label: Any) -> np.ndarray | None:
    """The labels scored, after imblearn's checks; an empty array means imblearn's early (0, 0, 0) return."""
    if average == "binary":
        if targets.y_type != "binary":
            raise ValueError(
                f"Target is {targets.y_type} but average='binary'. Please choose another average setting."
            )
        if targets.label_positions(np.array([pos_label]))[0] < 0:
            if targets.classes.shape[0] < 2:
                return np.array([])
            raise ValueError(f"pos_label={pos_label!r} is not a valid label: {targets.classes!r}")
        return np.array([pos_label])
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average != 'binary' (got "
            f"{average!r}). You may use labels=[pos_label] to specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    return None if labels is None else to_array(labels, "labels")


def sensitivity_specificity_support(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = None,
    warn_for: Any = ("sensitivity", "specificity"),
    sample_weight: Any = None,
) -> tuple[Any, Any, Any]:
    """Per-label or averaged sensitivity (recall), specificity (tn / (tn + fp)) and support.

    Same as ``imblearn.metrics.sensitivity_specificity_support``, including one of its conventions: true
    negatives are ``n_samples - (predicted + true - tp)`` with the *unweighted* sample count even when
    ``sample_weight`` is given, so that scores agree with imbalanced-learn's.
    """
    func = "sensitivity_specificity_support"
    check_option(func, "average", average, _AVERAGES)
    _check_pos_label(func, pos_label)
    targets, weights = check_targets(y_true, y_pred, sample_weight)
    labels = _imblearn_labels(targets, labels, average, pos_label)
    if labels is not None and labels.size == 0:
        return (0.0, 0.0, 0)
    if average == "samples":
        raise ValueError(
            "Sample-based precision, recall, fscore is not meaningful outside multilabel classification. "
            "See the accuracy_score instead."
        )
    tp, fp, fn, _ = per_label_counts(targets, labels, weights)
    sensitivity, specificity, support = sens_spec_from_counts(
        tp, tp + fp, tp + fn, targets.n_samples, average=average, warn_for=warn_for
    )
    if average is None and weights is None:
        support = support.astype(np.int64)
    return sensitivity, specificity, support


def sens_spec_from_counts(
    tp: np.ndarray,
    pred: np.ndarray,
    true: np.ndarray,
    n_samples: int,
    *,
    average: str | None = None,
    warn_for: Any = ("sensitivity", "specificity"),
) -> tuple[Any, Any, Any]:
    """Sensitivity, specificity and support from per-label counts (shape (L,)), averaged as imblearn does."""
    tp, pred, true = (np.asarray(a, dtype=np.float64) for a in (tp, pred, true))
    tn = n_samples - (pred + true - tp)
    if average == "micro":
        tp, pred, true, tn = (a.sum(keepdims=True) for a in (tp, pred, true, tn))
    with np.errstate(divide="ignore", invalid="ignore"):
        specificity = safe_divide(tn, tn + pred - tp, "specificity", "predicted", average, warn_for)
        sensitivity = safe_divide(tp, true, "sensitivity", "true", average, warn_for)
    if average is None:
        return sensitivity, specificity, true
    weights = true if average == "weighted" else None
    if weights is not None and weights.sum() == 0:
        return 0, 0, None
    return np.average(sensitivity, weights=weights), np.average(specificity, weights=weights), None


def sensitivity_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
) -> Any:
    """Sensitivity (recall) tp / (tp + fn); as ``imblearn.metrics.sensitivity_score``."""
    return sensitivity_specificity_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("sensitivity",), sample_weight=sample_weight,
    )[0]


def specificity_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "binary",
    sample_weight: Any = None,
) -> Any:
    """Specificity tn / (tn + fp); as ``imblearn.metrics.specificity_score``."""
    return sensitivity_specificity_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("specificity",), sample_weight=sample_weight,
    )[1]


def geometric_mean_score(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    pos_label: Any = 1,
    average: str | None = "multiclass",
    sample_weight: Any = None,
    correction: float = 0.0,
) -> Any:
    """Geometric mean of per-class recalls ('multiclass'), or sqrt(sensitivity * specificity) otherwise.

    Same as ``imblearn.metrics.geometric_mean_score``; with 'multiclass', recalls of 0 are replaced by
    ``correction`` before the mean.
    """
    func = "geometric_mean_score"
    check_option(func, "average", average, _AVERAGES + ("multiclass",))
    _check_pos_label(func, pos_label)
    if not isinstance(correction, numbers.Real) or not correction >= 0:
        raise InvalidParameterError(
            f"The 'correction' parameter of {func} must be a float in the range [0.0, inf). "
            f"Got {correction!r} instead."
        )
    if average != "multiclass":
        sensitivity, specificity, _ = sensitivity_specificity_support(
            y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
            warn_for=("specificity", "specificity"), sample_weight=sample_weight,
        )
        return np.sqrt(sensitivity * specificity)
    targets, weights = check_targets(y_true, y_pred, sample_weight)
    tp, _, fn, _ = per_label_counts(targets, None if labels is None else to_array(labels, "labels"), weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = safe_divide(tp, tp + fn, "recall", "true", None, "recall")
    recall[recall == 0] = correction
    with np.errstate(divide="ignore"):
        return np.exp(np.mean(np.log(recall)))


def make_index_balanced_accuracy(*, alpha: float = 0.1, squared: bool = True) -> Callable:
    """Decorator turning a scoring function into its index balanced accuracy (García et al.).

    ``IBA = (1 + alpha * (sensitivity - specificity)) * score`` (``score**2`` when ``squared``); same as
    ``imblearn.metrics.make_index_balanced_accuracy``.
    """
    if not isinstance(alpha, numbers.Real):
        raise InvalidParameterError(
            f"The 'alpha' parameter of make_index_balanced_accuracy must be an instance of 'float'. "
            f"Got {alpha!r} instead."
        )
    if not isinstance(squared, (bool, np.bool_)):
        raise InvalidParameterError(
            f"The 'squared' parameter of make_index_balanced_accuracy must be an instance of 'bool' or "
            f"an instance of 'numpy.bool'. Got {squared!r} instead."
        )
    sens_spec_params = set(signature(sensitivity_specificity_support).parameters)

    def decorate(scoring_func: Callable) -> Callable:
        @functools.wraps(scoring_func)
        def compute_score(*args: Any, **kwargs: Any) -> Any:
            scoring_signature = signature(scoring_func)
            if {"y_score", "y_prob", "y2"} & set(scoring_signature.parameters):
                raise AttributeError(
                    f"The function {scoring_func.__name__} has an unsupported attribute. Only metrics "
                    "taking `y_pred` are supported."
                )
            bound = scoring_signature.bind(*args, **kwargs)
            bound.apply_defaults()
            score = scoring_func(*bound.args, **bound.kwargs)
            if squared:
                score = np.power(score, 2)
            shared = {k: v for k, v in bound.arguments.items() if k in sens_spec_params}
            if scoring_func.__name__ == "geometric_mean_score":
                if shared.get("average") == "multiclass":
                    shared["average"] = "macro"
            elif scoring_func.__name__ in ("accuracy_score", "jaccard_score"):
                shared["average"] = "binary"
            sensitivity, specificity, _ = sensitivity_specificity_support(**shared)
            return (1.0 + alpha * (sensitivity - specificity)) * score

        return compute_score

    return decorate
