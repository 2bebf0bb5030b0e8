"""The competition metrics a run can be scored by: one table, looked up by name.

Like scikit-learn's ``get_scorer`` names, but each entry scores ``(y_true, y)`` directly (no estimator) for our
task kinds: 'binary' and 'multiclass' (1-D labels), 'multilabel' ((n_samples, n_labels) 0/1 indicator). ``y`` is
predicted labels for ``needs='labels'`` metrics and probabilities for ``needs='proba'`` ones:

* binary: P(positive class) of shape (n_samples,), or (n_samples, 2) probabilities (column 1 is the positive
  class, the greater label);
* multiclass: (n_samples, n_classes), columns in sorted label order (or the order of ``labels``);
* multilabel: (n_samples, n_labels), one P(label) column per label.

Every entry is the scikit-learn 1.9 function of the same meaning, computed by ``imbalance_xfmr.metrics``:
``f1`` is ``f1_score`` (average 'binary', pos_label=1, as the ``'f1'`` scorer); ``roc_auc`` is the positive
class's AUC (binary), one-vs-rest macro AUC (multiclass) or the column-wise mean AUC (multilabel);
``average_precision`` likewise; ``log_loss`` is ``log_loss`` (binary, multiclass) or the column-wise mean of the
binary log losses (multilabel, Kaggle's "mean column-wise log loss"); ``quadratic_weighted_kappa`` is
``cohen_kappa_score(weights='quadratic')``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._classification import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
)
from ._ranking import average_precision_score, log_loss, roc_auc_score
from ._validation import to_array, type_of_target

TASKS = ("binary", "multiclass", "multilabel")
SUBMISSION_KINDS = ("labels", "proba")
_ALL_TASKS = frozenset(TASKS)
_SINGLE_LABEL = frozenset({"binary", "multiclass"})

# (y_true, y, task, labels) -> float
ScoreFunction = Callable[[Any, Any, str, Any], float]


@dataclass(frozen=True)
class Metric:
    """One competition metric.

    Attributes
    ----------
    name : str
        The registry name (``METRIC_NAMES``).
    needs : {'labels', 'proba'}
        Whether :meth:`score` takes predicted labels or predicted probabilities.
    greater_is_better : bool
        False for losses (``log_loss``): model selection minimises them.
    tasks : frozenset of {'binary', 'multiclass', 'multilabel'}
        The task kinds the metric is defined for.
    function : callable
        ``function(y_true, y, task, labels) -> float``; use :meth:`score`, which checks the task first.
    """

    name: str
    needs: str
    greater_is_better: bool
    tasks: frozenset[str]
    function: ScoreFunction = field(repr=False)

    def supports(self, task: str) -> bool:
        return _check_task(task) in self.tasks

    def score(self, y_true: Any, y: Any, *, task: str | None = None, labels: Any = None) -> float:
        """The metric of ``y`` (labels or probabilities, see ``needs``) against ``y_true``.

        ``task`` defaults to the one :func:`infer_task` reads off the arrays. ``labels`` (all class labels, sorted)
        is passed where it defines the encoding: the columns of ``y`` for ``log_loss`` and multiclass
        ``roc_auc``, the ordinal levels of ``quadratic_weighted_kappa`` (a level nobody used still counts).
        Raises ValueError when the metric is not defined for the task.
        """
        task = infer_task(y_true, y) if task is None else _check_task(task)
        if task not in self.tasks:
            supported = ", ".join(t for t in TASKS if t in self.tasks)
            raise ValueError(
                f"Metric {self.name!r} is not defined for {task} targets (it supports: {supported}). Pick one of "
                f"{sorted(names_for(task))} for a {task} task."
            )
        return float(self.function(y_true, y, task, labels))


# ------------------------------------------------------------------------------------------ task-aware scorers


def _positive_scores(y: Any, task: str) -> Any:
    """Binary probabilities as P(positive): column 1 of a (n, 2) matrix, a (n, 1) column flattened."""
    if task != "binary":
        return y
    scores = to_array(y, "y")
    if scores.ndim == 2 and scores.shape[1] in (1, 2):
        return scores[:, -1]
    return scores


def _roc_auc(y_true: Any, y: Any, task: str, labels: Any) -> float:
    if task == "multiclass":
        return roc_auc_score(y_true, y, multi_class="ovr", average="macro", labels=labels)
    return roc_auc_score(y_true, _positive_scores(y, task), average="macro")


def _average_precision(y_true: Any, y: Any, task: str, labels: Any) -> float:
    return average_precision_score(y_true, _positive_scores(y, task), average="macro")


def _log_loss(y_true: Any, y: Any, task: str, labels: Any) -> float:
    if task != "multilabel":
        return log_loss(y_true, y, labels=labels)
    # sklearn's log_loss of an indicator sums -log p over the positive labels only; a multilabel competition's
    # log loss is each column's binary log loss (positives and negatives), averaged over the columns.
    indicator, proba = to_array(y_true, "y_true"), to_array(y, "y")
    if proba.shape != indicator.shape:
        raise ValueError(
            f"Multilabel log_loss needs one probability column per label: y_true has shape {indicator.shape}, "
            f"y has shape {proba.shape}."
        )
    return float(np.mean([log_loss(indicator[:, j], proba[:, j], labels=[0, 1]) for j in range(proba.shape[1])]))


def _labels_metric(function: Callable[..., float], **kwargs: Any) -> ScoreFunction:
    return lambda y_true, y, task, labels: function(y_true, y, **kwargs)


def _kappa(y_true: Any, y: Any, task: str, labels: Any) -> float:
    return cohen_kappa_score(y_true, y, weights="quadratic", labels=labels)


_REGISTRY: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", "labels", True, _ALL_TASKS, _labels_metric(accuracy_score)),
        Metric("f1", "labels", True, frozenset({"binary"}), _labels_metric(f1_score)),
        Metric("f1_macro", "labels", True, _ALL_TASKS, _labels_metric(f1_score, average="macro")),
        Metric("f1_micro", "labels", True, _ALL_TASKS, _labels_metric(f1_score, average="micro")),
        Metric("f1_weighted", "labels", True, _ALL_TASKS, _labels_metric(f1_score, average="weighted")),
        Metric("mcc", "labels", True, _SINGLE_LABEL, _labels_metric(matthews_corrcoef)),
        Metric("balanced_accuracy", "labels", True, _SINGLE_LABEL, _labels_metric(balanced_accuracy_score)),
        Metric("roc_auc", "proba", True, _ALL_TASKS, _roc_auc),
        Metric("average_precision", "proba", True, _ALL_TASKS, _average_precision),
        Metric("log_loss", "proba", False, _ALL_TASKS, _log_loss),
        Metric("quadratic_weighted_kappa", "labels", True, _SINGLE_LABEL, _kappa),
    )
}

METRIC_NAMES: tuple[str, ...] = tuple(_REGISTRY)

# The metric a run is scored by when the competition names none: labels are scored by macro F1 (every class
# counts, whatever its size); probabilities by the loss or ranking metric Kaggle uses for that kind of task.
_DEFAULTS = {
    ("binary", "labels"): "f1_macro",
    ("multiclass", "labels"): "f1_macro",
    ("multilabel", "labels"): "f1_macro",
    ("binary", "proba"): "roc_auc",
    ("multiclass", "proba"): "log_loss",
    ("multilabel", "proba"): "roc_auc",
}


# ------------------------------------------------------------------------------------------------- lookups


def _unknown(kind: str, value: Any, valid: tuple[str, ...]) -> ValueError:
    close = difflib.get_close_matches(str(value), valid, n=1) if isinstance(value, str) else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {value!r}.{hint} Valid {kind}s: {', '.join(valid)}.")


def _check_task(task: Any) -> str:
    if task not in TASKS:
        raise _unknown("task", task, TASKS)
    return task


def get_metric(name: str, task: str | None = None) -> Metric:
    """The registered :class:`Metric` called ``name`` (one of ``METRIC_NAMES``).

    With ``task``, also checks that the metric is defined for it. Raises ValueError for an unknown name (listing
    the valid ones, with the closest as a suggestion) or an unsupported task.
    """
    if name not in _REGISTRY:
        raise _unknown("metric", name, METRIC_NAMES)
    metric = _REGISTRY[name]
    if task is not None and not metric.supports(task):
        raise ValueError(
            f"Metric {name!r} is not defined for {task} targets. Metrics for a {task} task: "
            f"{', '.join(names_for(task))}."
        )
    return metric


def names_for(task: str, needs: str | None = None) -> tuple[str, ...]:
    """Names of the metrics defined for ``task``, optionally only those taking ``needs`` ('labels'/'proba')."""
    _check_task(task)
    if needs is not None and needs not in SUBMISSION_KINDS:
        raise _unknown("submission kind", needs, SUBMISSION_KINDS)
    return tuple(
        name for name, metric in _REGISTRY.items() if task in metric.tasks and needs in (None, metric.needs)
    )


def default_metric(task: str, submission_kind: str) -> Metric:
    """The metric a ``task`` ('binary', 'multiclass', 'multilabel') is scored by when the competition names none,
    given what its submission holds (``submission_kind``: 'labels' or 'proba')."""
    _check_task(task)
    if submission_kind not in SUBMISSION_KINDS:
        raise _unknown("submission kind", submission_kind, SUBMISSION_KINDS)
    return _REGISTRY[_DEFAULTS[task, submission_kind]]


def infer_task(y_true: Any, y: Any = None) -> str:
    """The task kind of ``y_true``: 'multilabel' for a 2-D 0/1 indicator, 'multiclass' when it and the predicted
    labels ``y`` hold more than two classes together or ``y`` has more than two probability columns, else
    'binary'. Pass ``task`` to :meth:`Metric.score` where a fold may miss classes."""
    targets = to_array(y_true, "y_true")
    if targets.ndim == 2 and targets.shape[1] > 1:
        y_type = type_of_target(targets)[0]
        if y_type != "multilabel-indicator":
            raise ValueError(
                f"A 2-D y_true must be a multilabel indicator (one 0/1 column per label); got {y_type} values."
            )
        return "multilabel"
    if targets.ndim == 2:
        targets = targets[:, 0]
    y_type, classes = type_of_target(targets)
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"y_true must hold class labels; got {y_type} values.")
    if classes.shape[0] > 2:
        return "multiclass"
    if y is not None:
        predictions = to_array(y, "y")
        if predictions.ndim == 2 and predictions.shape[1] > 2:
            return "multiclass"
        if predictions.ndim == 1:
            # Predicted labels may hold a class this y_true lacks (probabilities are 'continuous': skipped).
            pred_type, pred_classes = type_of_target(predictions, "y")
            if pred_type in ("binary", "multiclass") and len(set(classes.tolist()) | set(pred_classes.tolist())) > 2:
                return "multiclass"
    return "binary"
