"""Decision rules: how one model's (n, C) class probabilities become labels. Each rule tunes, saves, loads,
validates and applies itself.

- :class:`ThresholdRule` (binary tasks): predict ``positive_class`` when its probability is >= ``threshold``, the
  threshold tuned by :func:`imbalance_xfmr.metrics.tune_threshold` over every distinct score (the largest of the
  best thresholds on a tie).
- :class:`ClassOffsetsRule` (any task): predict ``argmax(log P + offsets)``, the offsets tuned by
  :func:`imbalance_xfmr.metrics.tune_class_offsets`.
- :class:`ArgmaxRule`: the untuned argmax (the first class on ties), what a model without a rule predicts.

``score`` is the metric on the out-of-fold rows the rule was tuned on (optimistic by a little).

Rules are tuned on single-model probabilities (each out-of-fold row comes from ONE fold model), so they are applied
to single-model probabilities: :meth:`DecisionRule.predict_per_fold` adjusts each fold model's test probabilities
by the rule, averages the adjusted probabilities over the folds and decides on that average. Applying the rule to
the fold-averaged test probabilities instead over-corrects: an average of K models is less confident than any one
of them (on TREC, mean top probability 0.83 against 0.91 per model), and offsets tuned to push single models off
their majority class then push the average too far (the Transformer's test macro-F1 fell from 0.844 at the argmax
to 0.814 under its tuned rule, and rose to 0.840 with the per-fold decision).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


def _check_per_fold(per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
    per_fold = np.asarray(per_fold, dtype=np.float64)
    if per_fold.ndim != 3 or per_fold.shape[0] == 0 or per_fold.shape[2] != len(classes):
        raise ValueError(f"per_fold must have shape (n_folds >= 1, n_rows, {len(classes)}), one column per class; "
                         f"got {per_fold.shape}")
    if not (np.isfinite(per_fold).all() and (per_fold >= 0).all() and (per_fold <= 1).all()):
        raise ValueError("per_fold must hold probabilities in [0, 1]; it holds NaN, infinity or values outside "
                         "[0, 1]")
    return per_fold


@dataclass(frozen=True)
class DecisionRule:
    """A tuned (or untuned) way from probabilities to labels; see the module docstring."""

    metric: str | None = None
    score: float | None = None
    kind: ClassVar[str]

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels (n,) object from one model's probabilities (n, C), columns in ``classes`` order."""
        raise NotImplementedError

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Labels (n,) object from K fold models' probabilities (K, n, C): each model's probabilities adjusted by
        the rule, averaged over the K models, then decided. With K = 1 exactly :meth:`predict` (ties and
        probabilities of 0 and 1 included). Raises ValueError for a wrong shape or values outside [0, 1]."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def from_json(saved: Any, classes: np.ndarray) -> "DecisionRule":
        """The rule that :meth:`to_json` wrote, checked against the task's ``classes``; ValueError says what does
        not fit."""
        if not isinstance(saved, Mapping) or not isinstance(saved.get("kind"), str) or saved["kind"] not in _KINDS:
            raise ValueError(f"expected a rule with kind one of {list(_KINDS)}, got {saved!r}")
        metric, score = saved.get("metric"), saved.get("score")
        if saved["kind"] == "argmax":
            return ArgmaxRule()
        if saved["kind"] == "threshold":
            threshold = saved.get("threshold")
            if (len(classes) != 2 or saved.get("positive_class") not in classes.tolist()
                    or isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                    or not 0 <= threshold <= 1):
                raise ValueError(f"a threshold rule needs a binary task, a positive_class among {classes.tolist()} "
                                 f"and a threshold in [0, 1], got {dict(saved)!r}")
            return ThresholdRule(metric, score, str(saved["positive_class"]), float(threshold))
        offsets = saved.get("offsets")
        numbers = isinstance(offsets, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                   for v in offsets)
        offsets = np.asarray(offsets if numbers else [], dtype=np.float64)
        if offsets.shape != (len(classes),) or not np.isfinite(offsets).all():
            raise ValueError(f"class_offsets needs {len(classes)} finite offsets (one per class in "
                             f"{classes.tolist()}), got {dict(saved)!r}")
        return ClassOffsetsRule(metric, score, tuple(float(v) for v in offsets))

    def _tuned(self) -> str:
        return f" (tuned for {self.metric})" if self.metric else ""


@dataclass(frozen=True)
class ArgmaxRule(DecisionRule):
    kind: ClassVar[str] = "argmax"

    def predict(self, proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return classes[np.argmax(proba, axis=1)]

    def predict_per_fold(self, per_fold: np.ndarray, classes: np.ndarray) -> np.ndarray:
        return classes[np.argmax(_check_per_fold(per_fold, classes).mean(axis=0), axis=1)]

    def describe(self) -> str:
        return "argmax"

    def to_json(self) -> dict[str, Any]:
        return {"kind": "argmax"}


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

    def describe(self) -> str:
        return f"P({self.positive_class}) >= {self.threshold:.4f}{self._tuned()}"

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "positive_class": self.positive_class, "threshold": self.threshold,
                "metric": self.metric, "score": self.score}


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

    def describe(self) -> str:
        return "argmax with class offsets " + ", ".join(f"{v:+.2f}" for v in self.offsets) + self._tuned()

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "offsets": list(self.offsets), "metric": self.metric, "score": self.score}


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
