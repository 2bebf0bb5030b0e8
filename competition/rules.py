"""Decision rules: how one model's (n, C) class probabilities become labels. Each rule tunes, saves, loads,
validates and applies itself.

- :class:`ThresholdRule` (binary tasks): predict ``positive_class`` when its probability is >= ``threshold``, the
  threshold tuned by :func:`imbalance_xfmr.metrics.tune_threshold` over every distinct score (the largest of the
  best thresholds on a tie).
- :class:`ClassOffsetsRule` (any task): predict ``argmax(log P + offsets)``, the offsets tuned by
  :func:`imbalance_xfmr.metrics.tune_class_offsets`.
- :class:`ArgmaxRule`: the untuned argmax (the first class on ties), what a model without a rule predicts.

``score`` is the metric on the out-of-fold rows the rule was tuned on (optimistic by a little). A rule may carry
the :class:`StrengthCheck` that chose it (``threshold.robust``): :meth:`DecisionRule.shrunk` scales a tuned rule
toward the argmax, and the decide step keeps the strength whose cross-fitted score holds up out of sample.
:func:`metric_scores` scores labels by the metric the rules are tuned for, the same formulas as the tuners'.

Rules are tuned on single-model probabilities (each out-of-fold row comes from ONE fold model), so they are applied
to single-model probabilities: :meth:`DecisionRule.predict_per_fold` adjusts each fold model's test probabilities
by the rule, averages the adjusted probabilities over the folds and decides on that average. Applying the rule to
the fold-averaged test probabilities instead over-corrects: an average of K models is less confident than any one
of them (on TREC, mean top probability 0.83 against 0.91 per model), and offsets tuned to push single models off
their majority class then push the average too far (the Transformer's test macro-F1 fell from 0.844 at the argmax
to 0.814 under its tuned rule, and rose to 0.840 with the per-fold decision).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from imbalance_xfmr.metrics import (
    BINARY_THRESHOLD_METRICS,
    MULTICLASS_THRESHOLD_METRICS,
    apply_class_offsets,
    tune_class_offsets,
    tune_threshold,
)


def threshold_metrics(n_classes: int) -> tuple[str, ...]:
    """The metrics a rule can be tuned for on a task with ``n_classes`` classes (the library's lists)."""
    return BINARY_THRESHOLD_METRICS if n_classes == 2 else MULTICLASS_THRESHOLD_METRICS


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator`` elementwise, 0 where the denominator is 0 (the tuners' undefined ratios)."""
    numerator, denominator = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    return np.divide(numerator, denominator, out=np.zeros(numerator.shape), where=denominator != 0)


def confusion_score(confusion: np.ndarray, metric: str, positive_column: int | None = None) -> np.ndarray:
    """``metric`` (one of :func:`threshold_metrics`) of confusion matrices (..., C, C), rows the true class and
    columns the predicted one: shape (...). The binary-only metrics score the class of ``positive_column``.
    Written like :func:`imbalance_xfmr.metrics.tune_threshold`'s and ``tune_class_offsets``' curves (undefined
    ratios count as 0), so a tuned rule's predictions score its ``score``; ``fbeta`` is F1 (the rules tune it with
    beta = 1)."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1)  # (..., C)
    support, predicted = confusion.sum(axis=-1), confusion.sum(axis=-2)
    if metric == "f1_macro":
        return _ratio(2 * tp, support + predicted).mean(axis=-1)
    recall = _ratio(tp, support)
    if metric == "balanced_accuracy":  # mean recall over the classes present
        return _ratio(recall.sum(axis=-1), (support > 0).sum(axis=-1))
    p, n = positive_column, 1 - positive_column
    if metric in ("f1", "fbeta"):
        return _ratio(2 * tp[..., p], support[..., p] + predicted[..., p])
    if metric == "mcc":
        fp, fn = predicted[..., p] - tp[..., p], support[..., p] - tp[..., p]
        return _ratio(tp[..., p] * tp[..., n] - fp * fn, np.sqrt(predicted[..., p] * predicted[..., n])
                      * np.sqrt(support[..., p] * support[..., n]))
    if metric == "gmean":
        return np.sqrt(recall[..., p] * recall[..., n])
    if metric == "youden":
        return recall[..., p] + recall[..., n] - 1
    raise ValueError(f"no decision rule is tuned for the metric {metric!r}")


def metric_scores(labels: np.ndarray, predicted: np.ndarray, classes: np.ndarray, metric: str,
                  positive: str | None = None, weights: np.ndarray | None = None) -> np.ndarray:
    """``metric`` of S label vectors ``predicted`` (S, n) against ``labels`` (n,), labels among the sorted
    ``classes`` (``positive``: the binary metrics' class), under B row weightings ``weights`` (B, n) (e.g. bootstrap
    draw counts; None: each row once, B = 1): shape (B, S)."""
    n_classes = len(classes)
    weights = np.ones((1, len(labels))) if weights is None else np.asarray(weights, dtype=np.float64)
    true = np.searchsorted(classes, np.asarray(labels, dtype=object))
    cells = true * n_classes + np.searchsorted(classes, np.asarray(predicted, dtype=object))  # (S, n)
    # Weighting b's confusion cells are bins b * C^2 ... (b + 1) * C^2 - 1 of one bincount per label vector.
    first_bin = np.arange(len(weights))[:, None] * n_classes**2
    confusions = np.stack([np.bincount((first_bin + row).ravel(), weights=weights.ravel(),
                                       minlength=len(weights) * n_classes**2) for row in cells])  # (S, B * C^2)
    confusions = confusions.reshape(len(cells), len(weights), n_classes, n_classes).swapaxes(0, 1)
    positive_column = None if positive is None else int(np.flatnonzero(classes == positive)[0])
    return confusion_score(confusions, metric, positive_column)


def _check_per_fold(per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
    per_fold = np.asarray(per_fold, dtype=np.float64)
    if per_fold.ndim != 3 or per_fold.shape[0] == 0 or per_fold.shape[2] != len(classes):
        raise ValueError(f"per_fold must have shape (n_folds >= 1, n_rows, {len(classes)}), one column per class; "
                         f"got {per_fold.shape}")
    if not (np.isfinite(per_fold).all() and (per_fold >= 0).all() and (per_fold <= 1).all()):
        raise ValueError("per_fold must hold probabilities in [0, 1]; it holds NaN, infinity or values outside "
                         "[0, 1]")
    return per_fold


def _finite_numbers(values: Any) -> bool:
    return isinstance(values, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                            and math.isfinite(v) for v in values)


def share_of_tuning(strength: float) -> str:
    """A strength in words: how much of a tuning (offsets, a threshold's move, a blend weight's move away from 1/2)
    a rule keeps; 0 is the plain argmax (or equal weights), 1 the tuning as found."""
    return {0.0: "none of the tuning", 1.0: "all of the tuning"}.get(float(strength), f"{strength:.0%} of the tuning")


@dataclass(frozen=True)
class StrengthCheck:
    """The out-of-sample check of something tuned out of fold (a rule, the blend weight), made by the decide step.

    The tuning is redone with each fold held out, scaled to each of ``strengths`` (S,) (0: untuned, the argmax or
    equal weights; 1: as tuned) and applied to the held-out fold: ``cross_fitted`` (S,) is the metric of those
    held-out predictions over all rows at each strength (at strength 0 the untuned choice's OOF score), ``noise``
    (S,) the bootstrap standard deviation of each strength's gain over strength 0. ``strength`` is the strength in
    use: the best one, unless its gain is within its noise, then 0. ``in_sample`` is the full-strength tuning's
    score on the rows it was tuned on (all OOF rows).
    """

    strengths: tuple[float, ...]
    cross_fitted: tuple[float, ...]
    noise: tuple[float, ...]
    strength: float
    in_sample: float

    @property
    def untuned(self) -> float:
        """The cross-fitted score at strength 0: the argmax's (equal weights') OOF score."""
        return self.cross_fitted[0]

    @property
    def score(self) -> float:
        """The cross-fitted score at the strength in use."""
        return self.cross_fitted[self.strengths.index(self.strength)]

    def to_json(self) -> dict[str, Any]:
        return {"strengths": list(self.strengths), "cross_fitted": list(self.cross_fitted),
                "noise": list(self.noise), "strength": self.strength, "in_sample": self.in_sample}

    @staticmethod
    def from_json(saved: Any) -> StrengthCheck:
        """The check that :meth:`to_json` wrote; ValueError says what does not fit."""
        fields = ("strengths", "cross_fitted", "noise")
        if not (isinstance(saved, Mapping) and all(_finite_numbers(saved.get(name)) for name in fields)
                and len({len(saved[name]) for name in fields}) == 1 and saved["strengths"][:1] == [0]
                and saved.get("strength") in saved["strengths"] and _finite_numbers([saved.get("in_sample")])):
            raise ValueError("a check needs strengths starting at 0, a cross_fitted score and a noise value per "
                             f"strength, a strength among them and an in_sample score; got {saved!r}")
        return StrengthCheck(*(tuple(float(v) for v in saved[name]) for name in fields), float(saved["strength"]),
                             float(saved["in_sample"]))


@dataclass(frozen=True)
class DecisionRule:
    """A tuned (or untuned) way from probabilities to labels; see the module docstring."""

    metric: str | None = None
    score: float | None = None
    check: StrengthCheck | None = field(default=None, kw_only=True)  # the check that chose its strength
    kind: ClassVar[str]

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels (n,) object from one model's probabilities (n, C), columns in ``classes`` order."""
        raise NotImplementedError

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels (n,) object from K fold models' probabilities (K, n, C): each model's probabilities adjusted by
        the rule, averaged over the K models, then decided. With K = 1 exactly :meth:`predict` (ties and
        probabilities of 0 and 1 included). Raises ValueError for a wrong shape or values outside [0, 1]."""
        raise NotImplementedError

    def shrunk(self, strength: float) -> DecisionRule:
        """This rule's tuning at ``strength`` in [0, 1]: itself at 1, :class:`ArgmaxRule` at 0 (its predictions
        exactly the argmax), in between the offsets scaled, or the threshold moved toward 1/2 in logit space. A
        shrunk rule keeps the metric; its score and check are for the caller to measure."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def from_json(saved: Any, classes: np.ndarray) -> DecisionRule:
        """The rule that :meth:`to_json` wrote, checked against the task's ``classes``; ValueError says what does
        not fit."""
        if not isinstance(saved, Mapping) or not isinstance(saved.get("kind"), str) or saved["kind"] not in _KINDS:
            raise ValueError(f"expected a rule with kind one of {list(_KINDS)}, got {saved!r}")
        metric, score = saved.get("metric"), saved.get("score")
        check = None if saved.get("check") is None else StrengthCheck.from_json(saved["check"])
        if saved["kind"] == "argmax":
            return ArgmaxRule(metric, score, check=check)
        if saved["kind"] == "threshold":
            threshold = saved.get("threshold")
            if (len(classes) != 2 or saved.get("positive_class") not in classes.tolist()
                    or isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                    or not 0 <= threshold <= 1):
                raise ValueError(f"a threshold rule needs a binary task, a positive_class among {classes.tolist()} "
                                 f"and a threshold in [0, 1], got {dict(saved)!r}")
            return ThresholdRule(metric, score, str(saved["positive_class"]), float(threshold), check=check)
        offsets = saved.get("offsets")
        numbers = isinstance(offsets, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in offsets)
        offsets = np.asarray(offsets if numbers else [], dtype=np.float64)
        if offsets.shape != (len(classes),) or not np.isfinite(offsets).all():
            raise ValueError(f"class_offsets needs {len(classes)} finite offsets (one per class in "
                             f"{classes.tolist()}), got {dict(saved)!r}")
        return ClassOffsetsRule(metric, score, tuple(float(v) for v in offsets), check=check)

    def _saved(self, **parameters: Any) -> dict[str, Any]:
        """:meth:`to_json`'s object: the kind, the rule's ``parameters``, metric, score and check (when it has
        one)."""
        saved = {"kind": self.kind, **parameters, "metric": self.metric, "score": self.score}
        return saved if self.check is None else {**saved, "check": self.check.to_json()}

    def _tuned(self) -> str:
        if not self.metric:
            return ""
        kept = "" if self.check is None else f", {share_of_tuning(self.check.strength)} kept"
        return f" (tuned for {self.metric}{kept})"


@dataclass(frozen=True)
class ArgmaxRule(DecisionRule):
    kind: ClassVar[str] = "argmax"

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return classes[np.argmax(proba, axis=1)]

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return classes[np.argmax(_check_per_fold(per_fold, classes).mean(axis=0), axis=1)]

    def shrunk(self, strength: float) -> DecisionRule:
        return self

    def describe(self) -> str:
        return "argmax" + self._tuned()

    def to_json(self) -> dict[str, Any]:
        # The untuned argmax (a model the decide step gave no rule) is just its kind.
        return {"kind": self.kind} if self.metric is None else self._saved()


def _positive_margin(p: np.ndarray, threshold: float) -> np.ndarray:
    """``tanh(z / 2) = 2 * sigmoid(z) - 1`` with ``z = logit(p) - logit(threshold)``, elementwise, in [-1, 1].

    ``z`` is computed as ``log1p(d / t) + log1p(d / (1 - p))`` with ``d = p - t``: both terms carry the exact sign
    of ``p - t`` (a rounded difference is 0 only for equal numbers), so the margin is >= 0 exactly when p >= t,
    also at p or t in {0, 1} (z = +-inf, margin +-1; p == t gives 0). Two logits subtracted would round distinct
    nearby probabilities to equal logits, and ``sigmoid(z)`` rounds every tiny z to exactly 1/2.
    """
    d = p - threshold
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.log1p(d / threshold) + np.log1p(d / (1 - p))
    return np.tanh(np.where(d == 0, 0.0, z) / 2)


@dataclass(frozen=True)
class ThresholdRule(DecisionRule):
    positive_class: str = ""
    threshold: float = 0.5
    kind: ClassVar[str] = "threshold"

    def _column(self, classes: np.ndarray) -> int:
        return int(np.flatnonzero(classes == self.positive_class)[0])

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        column = self._column(classes)
        return np.where(proba[:, column] >= self.threshold, classes[column], classes[1 - column])

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """``adjusted_k = sigmoid(logit(p_k[c]) - logit(t))``, the probability of c re-centred so that t maps to
        1/2; predict c iff ``mean_k adjusted_k >= 1/2``, computed as ``sum_k tanh(z_k / 2) >= 0`` (the same
        condition, which keeps the sign of tiny ``z_k``)."""
        per_fold = _check_per_fold(per_fold, classes)
        column = self._column(classes)
        positive = _positive_margin(per_fold[:, :, column], self.threshold).sum(axis=0) >= 0
        return np.where(positive, classes[column], classes[1 - column])

    def shrunk(self, strength: float) -> DecisionRule:
        """Threshold ``sigmoid(strength * logit(t))`` (a threshold of 0 or 1, an infinite logit, stays where it
        is); at strength 0 the argmax, which also settles P = 1/2 ties and rows not summing to 1 like the
        argmax."""
        if strength == 0:
            return ArgmaxRule(self.metric)
        if strength == 1:
            return self
        with np.errstate(divide="ignore"):
            logit = np.log(self.threshold) - np.log1p(-self.threshold)
        return ThresholdRule(self.metric, None, self.positive_class, float(1 / (1 + np.exp(-strength * logit))))

    def describe(self) -> str:
        return f"P({self.positive_class}) >= {self.threshold:.4f}{self._tuned()}"

    def to_json(self) -> dict[str, Any]:
        return self._saved(positive_class=self.positive_class, threshold=self.threshold)


@dataclass(frozen=True)
class ClassOffsetsRule(DecisionRule):
    offsets: tuple[float, ...] = ()
    kind: ClassVar[str] = "class_offsets"

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return classes[apply_class_offsets(proba, np.asarray(self.offsets, dtype=np.float64))]

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """``adjusted_k = softmax(log p_k + offsets)``; the label is the argmax of ``mean_k adjusted_k``, exact ties
        broken by the larger ``mean_k (log p_k + offsets)``, then by the lower index."""
        per_fold = _check_per_fold(per_fold, classes)
        # The log of imbalance_xfmr.metrics.apply_class_offsets: a zero probability becomes log(tiny), finite.
        shifted = np.log(np.maximum(per_fold, np.finfo(np.float64).tiny)) + np.asarray(self.offsets)  # (K, n, C)
        adjusted = np.exp(shifted - shifted.max(axis=2, keepdims=True))
        adjusted = (adjusted / adjusted.sum(axis=2, keepdims=True)).mean(axis=0)
        # exp rounds nearly equal log-scores to equal probabilities; the log-scores decide between those, which
        # makes K = 1 exactly argmax(log p + offsets).
        tied_best = adjusted == adjusted.max(axis=1, keepdims=True)
        return classes[np.argmax(np.where(tied_best, shifted.mean(axis=0), -np.inf), axis=1)]

    def shrunk(self, strength: float) -> DecisionRule:
        """Offsets ``strength * offsets``; at strength 0 the argmax (offsets of 0 would still tie probabilities
        that the log rounds together)."""
        if strength == 0:
            return ArgmaxRule(self.metric)
        if strength == 1:
            return self
        return ClassOffsetsRule(self.metric, None, tuple(strength * v for v in self.offsets))

    def describe(self) -> str:
        return "argmax with class offsets " + ", ".join(f"{v:+.2f}" for v in self.offsets) + self._tuned()

    def to_json(self) -> dict[str, Any]:
        return self._saved(offsets=list(self.offsets))


_KINDS = {rule.kind: rule for rule in (ArgmaxRule, ThresholdRule, ClassOffsetsRule)}


def tune_rule(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, metric: str,
              positive: str | None = None) -> DecisionRule:
    """The rule maximising ``metric`` on (``labels`` (n,), ``proba`` (n, C), columns in ``classes`` order): a
    threshold on ``positive``'s probability for binary tasks, class offsets otherwise. ``metric`` must be one of
    :func:`threshold_metrics` (checked before any work by the pipeline's config validation)."""
    labels = np.asarray(labels, dtype=object)
    if len(classes) == 2:
        column = int(np.flatnonzero(classes == positive)[0])
        result = tune_threshold((labels == positive).astype(np.int64), proba[:, column], metric=metric)
        return ThresholdRule(metric, result.score, str(positive), result.threshold)
    codes = np.searchsorted(classes, labels)
    result = tune_class_offsets(codes, proba, metric=metric, labels=np.arange(len(classes)))
    return ClassOffsetsRule(metric, float(result.score), tuple(float(v) for v in result.offsets))
