"""The decision rule of each model, tuned on its out-of-fold probabilities, and the Transformer + baseline blend.

A rule turns an (n, C) probability matrix into labels:

- binary tasks: ``{"kind": "threshold", "positive_class": c, "threshold": t, "metric": m, "score": s}``, predict c
  when P(c) >= t; t is tuned by :func:`imbalance_xfmr.metrics.tune_threshold` over every distinct score (the largest
  of the best thresholds on a tie);
- multiclass tasks: ``{"kind": "class_offsets", "offsets": [...], "metric": m, "score": s}``, predict
  ``argmax(log P + offsets)``, tuned by :func:`imbalance_xfmr.metrics.tune_class_offsets`.

``score`` is the metric on the out-of-fold rows the rule was tuned on (optimistic by a little).

The blend is ``w * transformer + (1 - w) * baseline`` with ``w`` on the grid :data:`BLEND_WEIGHTS`, chosen (with
its own tuned rule) to maximise the metric out of fold. :func:`decide` writes ``decision.json`` (one rule per
available model: ``{"transformer": rule, "baseline": rule, "blend": rule}``), ``blend.json`` (the weight and the
score at every grid weight), ``blend_oof.csv`` and ``blend_test.csv``.
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
    """Labels (n,) object from probabilities (n, C), columns in ``classes`` order, under a rule of :func:`tune_rule`
    (None: the argmax, the first class on ties). A threshold rule predicts its positive class when that class's
    probability is >= the threshold."""
    if rule is None:
        return classes[np.argmax(proba, axis=1)]
    if rule["kind"] == "threshold":
        column = int(np.flatnonzero(classes == rule["positive_class"])[0])
        return np.where(proba[:, column] >= rule["threshold"], classes[column], classes[1 - column])
    return classes[apply_class_offsets(proba, np.asarray(rule["offsets"], dtype=np.float64))]


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
