"""The decision rule of each model, tuned on its out-of-fold probabilities, and the Transformer + baseline blend.

A rule turns an (n, C) probability matrix into labels:

- binary tasks: ``{"kind": "threshold", "positive_class": c, "threshold": t, "metric": m, "score": s}``, predict c
  when P(c) >= t; t is tuned by :func:`imbalance_xfmr.metrics.tune_threshold` over every distinct score (the largest
  of the best thresholds on a tie);
- multiclass tasks: ``{"kind": "class_offsets", "offsets": [...], "metric": m, "score": s}``, predict
  ``argmax(log P + offsets)``, tuned by :func:`imbalance_xfmr.metrics.tune_class_offsets`.

``score`` is the metric on the out-of-fold rows the rule was tuned on (optimistic by a little).

Rules are tuned on single-model probabilities (each out-of-fold row comes from ONE fold model), so they are applied
to single-model probabilities: :func:`predict_labels_per_fold` adjusts each fold model's test probabilities by the
rule, averages the adjusted probabilities over the folds and decides on that average. Applying the rule to the
fold-averaged test probabilities instead over-corrects: an average of K models is less confident than any one of
them (on TREC, mean top probability 0.83 against 0.91 per model), and offsets tuned to push single models off
their majority class then push the average too far (the Transformer's test macro-F1 fell from 0.844 at the argmax
to 0.814 under its tuned rule, and rose to 0.840 with the per-fold decision).

The blend is ``w * transformer + (1 - w) * baseline`` with ``w`` on the grid :data:`BLEND_WEIGHTS`, chosen (with
its own tuned rule) to maximise the metric out of fold; its fold-k test probabilities are ``w * T_k + (1 - w) *
B_k`` (both models use folds.csv, so their fold k is the same). :func:`decide` writes ``decision.json`` (one rule
per available model: ``{"transformer": rule, "baseline": rule, "blend": rule}``), ``blend.json`` (the weight and
the score at every grid weight), ``blend_oof.csv`` and ``blend_test.csv``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from competition.baseline import probability_frame
from competition.config import PipelineConfig
from competition.data import Competition, compare_ids
from competition.errors import PipelineError
from competition.rundir import write_csv, write_json
from imbalance_xfmr.metrics import apply_class_offsets, tune_class_offsets, tune_threshold

DECISION_FILE = "decision.json"
BLEND_FILE = "blend.json"
BINARY_METRICS = ("f1_macro", "balanced_accuracy", "f1", "mcc", "gmean", "youden")
MULTICLASS_METRICS = ("f1_macro", "balanced_accuracy")
BLEND_WEIGHTS = np.round(np.linspace(0.0, 1.0, 21), 2)  # weight of the Transformer, step 0.05
# model -> (out-of-fold file, test file) in the run folder; the baseline's are written by the baseline step.
MODEL_FILES = {
    "transformer": ("oof.csv", "test.csv"),
    "baseline": ("baseline_oof.csv", "baseline_test.csv"),
    "blend": ("blend_oof.csv", "blend_test.csv"),
}
# model -> each fold model's test probabilities (id, fold, proba_<class>...; fold by fold, test.csv's order within a
# fold) and the step that writes them. The blend's are computed from both with blend.json's weight.
PER_FOLD_TEST_FILES = {"transformer": "test_per_fold.csv", "baseline": "baseline_test_per_fold.csv"}
PER_FOLD_STEPS = {"transformer": "predict", "baseline": "baseline"}


class DecisionError(PipelineError):
    """A decision rule, the blend or the submitted model cannot be had as configured; the message says what to
    change."""


def read_probabilities(path: Path, competition: Competition,
                       split: Literal["train", "test"]) -> tuple[np.ndarray, np.ndarray | None]:
    """A probability file of the run folder as (probabilities (n, C) float64 in ``competition.classes`` order,
    its fold column (n,) int64 or None), checked to cover ``split``'s ids in order."""
    if not path.is_file():
        raise DecisionError(f"{path} is missing; re-run the step that writes it")
    frame = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    columns = [f"proba_{name}" for name in competition.classes]
    missing = [c for c in ["id", *columns] if c not in frame.columns]
    rows = competition.train if split == "train" else competition.test
    problems = [] if missing else compare_ids(frame["id"], rows[competition.id_column], path.name, f"{split}.csv")
    if missing or problems:
        raise DecisionError(f"{path} does not fit this competition "
                            f"({f'no column(s) {missing}' if missing else problems[0]}); re-run the step that "
                            "wrote it")
    fold = frame["fold"].to_numpy(dtype=np.int64) if "fold" in frame.columns else None
    return frame[columns].to_numpy(dtype=np.float64), fold


def check_metric(metric: str, n_classes: int) -> None:
    """Raise :class:`DecisionError` unless ``metric`` can be tuned for a task with ``n_classes`` classes."""
    allowed = BINARY_METRICS if n_classes == 2 else MULTICLASS_METRICS
    if metric not in allowed:
        task = "binary" if n_classes == 2 else f"{n_classes}-class"
        raise DecisionError(f"threshold.metric {metric!r} cannot be tuned for this {task} task; choose one of "
                            f"{list(allowed)}")


def positive_class(classes: np.ndarray, labels: np.ndarray, configured: str | None) -> str:
    """The binary task's positive class: ``configured`` (checked against ``classes``) or train's minority class
    (the later one in ``classes`` order on a tie)."""
    if configured is not None:
        if configured not in classes.tolist():
            raise DecisionError(f"threshold.positive_class {configured!r} is not a class of train.csv "
                                f"{classes.tolist()}")
        return configured
    counts = (labels[:, None] == classes[None, :]).sum(axis=0)
    return str(classes[len(classes) - 1 - int(np.argmin(counts[::-1]))])


def tune_rule(labels: np.ndarray, proba: np.ndarray, classes: np.ndarray, metric: str,
              positive: str | None = None) -> dict[str, Any]:
    """The decision rule (see the module docstring) maximising ``metric`` on (``labels`` (n,), ``proba`` (n, C)),
    columns in ``classes`` order; ``positive`` is the binary task's positive class."""
    check_metric(metric, len(classes))
    labels = np.asarray(labels, dtype=object)
    if len(classes) == 2:
        column = int(np.flatnonzero(classes == positive)[0])
        result = tune_threshold((labels == positive).astype(np.int64), proba[:, column], metric=metric)
        return {"kind": "threshold", "positive_class": str(positive), "threshold": result.threshold,
                "metric": metric, "score": result.score}
    codes = np.searchsorted(classes, labels)
    result = tune_class_offsets(codes, proba, metric=metric, labels=np.arange(len(classes)))
    return {"kind": "class_offsets", "offsets": [float(v) for v in result.offsets], "metric": metric,
            "score": float(result.score)}


def predict_labels(proba: np.ndarray, classes: np.ndarray, rule: Mapping[str, Any] | None) -> np.ndarray:
    """Labels (n,) object from one model's probabilities (n, C), columns in ``classes`` order, under a rule of
    :func:`tune_rule` (None: the argmax, the first class on ties). A threshold rule predicts its positive class when
    that class's probability is >= the threshold. For the K fold models' test probabilities use
    :func:`predict_labels_per_fold`."""
    if rule is None:
        return classes[np.argmax(proba, axis=1)]
    if rule["kind"] == "threshold":
        column = int(np.flatnonzero(classes == rule["positive_class"])[0])
        return np.where(proba[:, column] >= rule["threshold"], classes[column], classes[1 - column])
    return classes[apply_class_offsets(proba, np.asarray(rule["offsets"], dtype=np.float64))]


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


def predict_labels_per_fold(per_fold: np.ndarray, classes: np.ndarray,
                            rule: Mapping[str, Any] | None) -> np.ndarray:
    """Labels (n,) object from K fold models' probabilities ``per_fold`` (K, n, C) float, columns in ``classes``
    order: each model's probabilities adjusted by the rule, averaged over the K models, then decided.

    - ``class_offsets``: ``adjusted_k = softmax(log p_k + offsets)`` (the log of :func:`predict_labels`); the label
      is the argmax of ``mean_k adjusted_k``, exact ties broken by the larger ``mean_k (log p_k + offsets)``, then
      by the lower index.
    - ``threshold`` t on class c: ``adjusted_k = sigmoid(logit(p_k[c]) - logit(t))``, the probability of c
      re-centred so that t maps to 1/2; predict c iff ``mean_k adjusted_k >= 1/2`` (computed as
      ``sum_k tanh(z_k / 2) >= 0``, the same condition, which keeps the sign of tiny ``z_k``).
    - None: the argmax of the mean probabilities (the first class on ties).

    With K = 1 the labels equal ``predict_labels(per_fold[0], classes, rule)`` exactly, ties and probabilities of
    0 and 1 included. Raises ValueError for a wrong shape, probabilities outside [0, 1] or NaN, or a rule whose
    threshold is not a probability or whose offsets are not C finite numbers.
    """
    per_fold = np.asarray(per_fold, dtype=np.float64)
    if per_fold.ndim != 3 or per_fold.shape[0] == 0 or per_fold.shape[2] != len(classes):
        raise ValueError(f"per_fold must have shape (n_folds >= 1, n_rows, {len(classes)}), one column per class; "
                         f"got {per_fold.shape}")
    if not (np.isfinite(per_fold).all() and (per_fold >= 0).all() and (per_fold <= 1).all()):
        raise ValueError("per_fold must hold probabilities in [0, 1]; it holds NaN, infinity or values outside "
                         "[0, 1]")
    if rule is None:
        return classes[np.argmax(per_fold.mean(axis=0), axis=1)]
    if rule["kind"] == "threshold":
        threshold = float(rule["threshold"])
        if not 0 <= threshold <= 1:
            raise ValueError(f"the rule's threshold {threshold!r} is not a probability in [0, 1]; tune the rule "
                             "again (delete decision.json and re-run the predict step)")
        column = int(np.flatnonzero(classes == rule["positive_class"])[0])
        positive = _positive_margin(per_fold[:, :, column], threshold).sum(axis=0) >= 0
        return np.where(positive, classes[column], classes[1 - column])
    offsets = np.asarray(rule["offsets"], dtype=np.float64)
    if offsets.shape != (len(classes),) or not np.isfinite(offsets).all():
        raise ValueError(f"the rule's offsets must be {len(classes)} finite numbers, one per class; got "
                         f"{rule['offsets']!r}")
    # The log of imbalance_xfmr.metrics.apply_class_offsets: a zero probability becomes log(tiny), finite.
    shifted = np.log(np.maximum(per_fold, np.finfo(np.float64).tiny)) + offsets  # (K, n, C)
    adjusted = np.exp(shifted - shifted.max(axis=2, keepdims=True))
    adjusted = (adjusted / adjusted.sum(axis=2, keepdims=True)).mean(axis=0)
    # exp rounds nearly equal log-scores to equal probabilities; the log-scores decide between those, which makes
    # K = 1 exactly argmax(log p + offsets).
    tied_best = adjusted == adjusted.max(axis=1, keepdims=True)
    return classes[np.argmax(np.where(tied_best, shifted.mean(axis=0), -np.inf), axis=1)]


def per_fold_test_inputs(model: str) -> list[str]:
    """The run-folder files :func:`read_test_per_fold` reads for ``model``."""
    return [*PER_FOLD_TEST_FILES.values(), BLEND_FILE] if model == "blend" else [PER_FOLD_TEST_FILES[model]]


def read_test_per_fold(run_path: Path, competition: Competition, model: str) -> np.ndarray:
    """``model``'s per-fold test probabilities (K, n_test, C) float64 in ``competition.classes`` order, from
    :data:`PER_FOLD_TEST_FILES` (the blend's: ``w * T_k + (1 - w) * B_k`` with ``blend.json``'s weight).

    Raises :class:`DecisionError` naming the step to re-run when a file is missing or does not fit the competition.
    """
    if model == "blend":
        path = run_path / BLEND_FILE
        if not path.is_file():
            raise DecisionError(f"{path} is missing, so the blend's test predictions cannot be made; re-run the "
                                "predict step")
        weight = float(json.loads(path.read_text(encoding="utf-8"))["weight"])
        transformer, baseline = (read_test_per_fold(run_path, competition, name) for name in ("transformer",
                                                                                                "baseline"))
        if transformer.shape != baseline.shape:
            raise DecisionError(f"{PER_FOLD_TEST_FILES['transformer']} holds {len(transformer)} folds and "
                                f"{PER_FOLD_TEST_FILES['baseline']} {len(baseline)}: they come from different "
                                "folds.csv; re-run the baseline and predict steps")
        return weight * transformer + (1 - weight) * baseline
    path = run_path / PER_FOLD_TEST_FILES[model]
    step = PER_FOLD_STEPS[model]
    if not path.is_file():
        raise DecisionError(f"{path} is missing (a run folder from before label submissions were decided fold by "
                            f"fold?); re-run the {step} step, which writes it")
    frame = pd.read_csv(path, dtype={"id": str}, keep_default_na=False)
    columns = [f"proba_{name}" for name in competition.classes]
    missing = [c for c in ["id", "fold", *columns] if c not in frame.columns]
    if missing:
        raise DecisionError(f"{path} lacks column(s) {missing}; re-run the {step} step")
    test_ids = competition.test_ids
    n_folds = len(frame) // max(len(test_ids), 1)
    fold_ok = np.array_equal(frame["fold"].to_numpy(), np.repeat(np.arange(n_folds), len(test_ids)))
    ids_ok = np.array_equal(frame["id"].to_numpy(dtype=object), np.tile(test_ids, n_folds))
    if n_folds == 0 or not (fold_ok and ids_ok):
        raise DecisionError(f"{path} does not hold test.csv's ids once per fold, fold 0 first, in test.csv's "
                            f"order; re-run the {step} step")
    proba = frame[columns].to_numpy(dtype=np.float64)
    if not (np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1).all()):
        raise DecisionError(f"{path} holds probabilities outside [0, 1] or NaN; re-run the {step} step")
    return proba.reshape(n_folds, len(test_ids), len(columns))


def tune_blend(labels: np.ndarray, transformer: np.ndarray, baseline: np.ndarray, classes: np.ndarray, metric: str,
               positive: str | None = None) -> dict[str, Any]:
    """The Transformer weight ``w`` of :data:`BLEND_WEIGHTS` whose blend, with its own tuned rule, scores best.

    Returns ``{"weight": w, "metric": m, "score": s, "weights": [...], "scores": [...], "rule": rule}``; on a tie the
    smaller weight wins (the simpler model's share grows).
    """
    rules = [tune_rule(labels, w * transformer + (1 - w) * baseline, classes, metric, positive)
             for w in BLEND_WEIGHTS]
    scores = np.array([rule["score"] for rule in rules])
    best = int(np.argmax(scores))
    return {"weight": float(BLEND_WEIGHTS[best]), "metric": metric, "score": float(scores[best]),
            "weights": BLEND_WEIGHTS.tolist(), "scores": scores.tolist(), "rule": rules[best]}


def decide(run_path: Path, competition: Competition, config: PipelineConfig,
           log: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """Tune every available model's rule and the blend on the OOF files in ``run_path``; write the files named in
    the module docstring and return ``{model: rule}``."""
    classes, labels = competition.classes, competition.train_labels
    metric = config.threshold.metric
    check_metric(metric, len(classes))
    positive = positive_class(classes, labels, config.threshold.positive_class) if len(classes) == 2 else None
    oof, test = {}, {}
    for model in ("transformer", "baseline"):
        oof_file, test_file = MODEL_FILES[model]
        if (run_path / oof_file).is_file():
            oof[model], folds = read_probabilities(run_path / oof_file, competition, "train")
            test[model], _ = read_probabilities(run_path / test_file, competition, "test")
    if not oof:
        raise DecisionError(f"{run_path} holds no out-of-fold predictions ({MODEL_FILES['transformer'][0]} or "
                            f"{MODEL_FILES['baseline'][0]}): run the train and predict steps, or the baseline step")
    rules = {model: tune_rule(labels, proba, classes, metric, positive) for model, proba in oof.items()}
    if len(oof) == 2:
        blend = tune_blend(labels, oof["transformer"], oof["baseline"], classes, metric, positive)
        w = blend["weight"]
        rules["blend"] = blend["rule"]
        blend_oof_file, blend_test_file = MODEL_FILES["blend"]
        write_csv(run_path / blend_oof_file, probability_frame(
            competition.train_ids, w * oof["transformer"] + (1 - w) * oof["baseline"], classes, fold=folds,
            label=labels))
        write_csv(run_path / blend_test_file, probability_frame(
            competition.test_ids, w * test["transformer"] + (1 - w) * test["baseline"], classes))
        write_json(run_path / BLEND_FILE, blend)
        log(f"blend: transformer weight {w:.2f}, OOF {metric} {blend['score']:.4f}")
    write_json(run_path / DECISION_FILE, rules)
    for model, rule in rules.items():
        log(f"decision: {model}: OOF {metric} {rule['score']:.4f} with "
            + (f"P({rule['positive_class']}) >= {rule['threshold']:.4f}" if rule["kind"] == "threshold"
               else "class offsets " + ", ".join(f"{v:+.3f}" for v in rule["offsets"])))
    return rules


def load_decisions(run_path: Path, competition: Competition, config: PipelineConfig,
                   log: Callable[[str], None] = print) -> dict[str, dict[str, Any]]:
    """``decision.json``'s rules when they were tuned for the configured metric (and positive class); otherwise,
    or without the file, tune them again with :func:`decide`."""
    path = run_path / DECISION_FILE
    if path.is_file():
        rules = json.loads(path.read_text(encoding="utf-8"))
        positive = (positive_class(competition.classes, competition.train_labels, config.threshold.positive_class)
                    if len(competition.classes) == 2 else None)
        if all(rule.get("metric") == config.threshold.metric and rule.get("positive_class") == positive
               for rule in rules.values()):
            return rules
        log(f"decision: {DECISION_FILE} was tuned for another metric or positive class; tuning again")
    return decide(run_path, competition, config, log)
