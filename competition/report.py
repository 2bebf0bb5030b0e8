"""The ``report`` step: every model's out-of-fold scores side by side, as Markdown, a standalone HTML page and
JSON.

The report reads what the other steps left in the run folder and retrains nothing, so ``python -m competition
report`` re-runs it on a finished run. Every model the config makes is reported from its probabilities (out of
fold, per fold on test, ensembled on test), under its decision rule from the decide step (the argmax when there is
none). The class shares each model predicts on test are those of a label submission: the rule applied to each
fold model's test probabilities. Rules tuned on the same out-of-fold rows flatter their model a little; the
summary therefore also shows macro-F1 at the argmax, and, for rules the decide step checked out of sample
(``threshold.robust``), a table sets their in-sample score beside their cross-fitted one.

Every number comes from :mod:`imbalance_xfmr.metrics`. Labels and other text from the data are escaped
(:func:`competition.document.literal`), so any label renders as itself. The run folder receives ``report.md``
(with the PNGs beside it), ``report.html`` (the same content, PNGs embedded) and ``report.json`` (every number);
Markdown and JSON are byte-identical when re-run on the same predictions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from competition import plots
from competition.config import PipelineConfig
from competition.context import Context
from competition.data import Competition
from competition.document import Block, Heading, Image, Paragraph, Table, literal, to_html, to_markdown
from competition.errors import PipelineError
from competition.rules import ArgmaxRule, DecisionRule, StrengthCheck, ThresholdRule
from competition.run_folder import REPORT_METRICS, PretrainResult, RunFolder
from imbalance_xfmr.metrics import (
    BINARY_THRESHOLD_METRICS,
    average_precision_score,
    balanced_accuracy_score,
    classification_report,
    classification_report_imbalanced,
    confusion_matrix,
    f1_score,
    geometric_mean_score,
    matthews_corrcoef,
    precision_recall_curve,
    report_to_markdown,
    roc_auc_score,
    roc_curve,
    tune_threshold,
)

# Binary threshold plot: these curves always, plus the configured metric when tune_threshold knows it.
THRESHOLD_PLOT_METRICS = ("f1", "mcc", "balanced_accuracy")


class ReportError(PipelineError):
    """The run folder holds nothing to report on."""


@dataclass(frozen=True)
class ModelPredictions:
    """One model's probabilities; columns follow the competition's sorted classes."""

    name: str
    fold: np.ndarray  # (n_train,) int64
    oof: np.ndarray  # (n_train, C) float64, out of fold
    test: np.ndarray  # (n_test, C) float64, the fold ensemble
    test_per_fold: np.ndarray  # (K, n_test, C) float64


def load_predictions(run: RunFolder, competition: Competition,
                     models: list[str]) -> tuple[list[ModelPredictions], list[str]]:
    """The ``models`` whose probabilities are in the run folder, and the names of those that have none."""
    found = [ModelPredictions(name, *reversed(run.read_oof(name, competition)), run.read_test(name, competition),
                              run.read_test_per_fold(name, competition))
             for name in models if run.has_probabilities(name)]
    return found, [name for name in models if not run.has_probabilities(name)]


# ---------------------------------------------------------------------------------------------------- scoring


def score(y_true: np.ndarray, y_pred: np.ndarray, proba: np.ndarray, classes: np.ndarray,
          minority: str) -> dict[str, float | None]:
    """The :data:`REPORT_METRICS` of one set of predictions: label metrics of ``y_pred`` and ranking metrics of the
    (n, C) ``proba`` (binary: the minority class's column; multiclass: macro one-vs-rest). A ranking metric is
    None when it is undefined: a class absent from ``y_true``, or multiclass rows that do not sum to 1."""
    minority_column = int(np.flatnonzero(classes == minority)[0])
    present = np.isin(classes, y_true)
    values: dict[str, float | None] = {
        "macro_f1": f1_score(y_true, y_pred, labels=classes, average="macro", zero_division=0),
        "minority_f1": f1_score(y_true, y_pred, labels=[minority], average=None, zero_division=0)[0],
        "balanced_accuracy": balanced_accuracy_score(y_true, y_pred),
        "mcc": matthews_corrcoef(y_true, y_pred),
        "g_mean": geometric_mean_score(y_true, y_pred),
        "pr_auc": None,
        "roc_auc": None,
    }
    if len(classes) == 2 and present.all():
        is_minority = (y_true == minority).astype(np.int64)
        values["pr_auc"] = average_precision_score(is_minority, proba[:, minority_column])
        values["roc_auc"] = roc_auc_score(is_minority, proba[:, minority_column])
    elif present.all() and np.allclose(proba.sum(axis=1), 1.0):
        values["pr_auc"] = average_precision_score(y_true, proba)
        values["roc_auc"] = roc_auc_score(y_true, proba, multi_class="ovr", labels=classes)
    return {name: None if value is None else float(value) for name, value in values.items()}


def _mean_std(rows: list[dict[str, Any]]) -> tuple[dict[str, float | None], dict[str, float | None]]:
    mean, std = {}, {}
    for name in REPORT_METRICS:
        values = np.array([row[name] for row in rows if row[name] is not None], dtype=np.float64)
        mean[name] = float(values.mean()) if len(values) else None
        std[name] = float(values.std(ddof=1)) if len(values) > 1 else None
    return mean, std


def evaluate(model: ModelPredictions, competition: Competition, rule: DecisionRule | None,
             minority: str) -> dict[str, Any]:
    """Everything the report says about one model (``rule``: its decision rule, None for none), as JSON-ready
    values."""
    classes, y_true = competition.classes, competition.train_labels
    tuned = rule is not None
    rule = rule or ArgmaxRule()
    y_pred = rule.predict(model.oof, classes)
    folds = []
    for k in np.unique(model.fold):
        rows = model.fold == k
        folds.append({"fold": int(k), "rows": int(rows.sum()),
                      **score(y_true[rows], y_pred[rows], model.oof[rows], classes, minority)})
    fold_mean, fold_std = _mean_std(folds)
    labels = classes.tolist()
    result = {
        "decision": {"rule": rule.to_json(), "text": rule.describe(),
                     "source": "the decide step" if tuned else "default: the decide step gave it no rule"},
        "overall": score(y_true, y_pred, model.oof, classes, minority),
        "at_argmax": score(y_true, ArgmaxRule().predict(model.oof, classes), model.oof, classes, minority),
        "folds": folds,
        "fold_mean": fold_mean,
        "fold_std": fold_std,
        "classification_report": classification_report(y_true, y_pred, labels=labels, output_dict=True,
                                                       zero_division=0),
        "classification_report_imbalanced": classification_report_imbalanced(y_true, y_pred, labels=labels,
                                                                             output_dict=True, zero_division=0),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "test_predicted_counts": None,
    }
    predicted = rule.predict_per_fold(model.test_per_fold, classes)
    result["test_predicted_counts"] = {label: int((predicted == label).sum()) for label in labels}
    return result


def text_lengths(competition: Competition) -> dict[str, dict[str, np.ndarray]]:
    """``{split: {"words": (n,) int64, "chars": (n,) int64}}`` for train and test (words split on whitespace)."""
    lengths = {}
    for split, texts in (("train", competition.train_texts), ("test", competition.test_texts)):
        series = pd.Series(texts, dtype=object)
        lengths[split] = {"words": series.str.split().str.len().to_numpy(dtype=np.int64),
                          "chars": series.str.len().to_numpy(dtype=np.int64)}
    return lengths


def summarize_data(competition: Competition, lengths: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, Any]:
    """Class counts, imbalance ratio, text-length statistics (from :func:`text_lengths`) of train and test, and
    the data's warnings."""
    labels, counts = competition.classes, competition.class_counts

    def stats(values: np.ndarray) -> dict[str, float]:
        return {"mean": float(values.mean()), "median": float(np.median(values)),
                "p95": float(np.percentile(values, 95)), "max": int(values.max())}
    return {
        "train_rows": int(counts.sum()),
        "test_rows": len(competition.test_texts),
        "class_counts": {str(label): int(count) for label, count in zip(labels, counts)},
        "minority_class": competition.minority_class,
        "majority_class": str(labels[np.argmax(counts)]),
        "warnings": list(competition.warnings),
        "imbalance_ratio": float(counts.max() / counts.min()),
        "lengths": {split: {"texts": len(v["words"]), "words": stats(v["words"]), "chars": stats(v["chars"])}
                    for split, v in lengths.items()},
    }


# ---------------------------------------------------------------------------------------------------- figures


def _ranking_figures(models: list[ModelPredictions], competition: Competition, minority: str) -> list[Image]:
    """PR and ROC curves: binary, one figure each with one curve per model; multiclass, one-vs-rest curves of
    every class, one figure per model and curve kind."""
    classes, y_true = competition.classes, competition.train_labels
    if len(classes) == 2:
        column = int(np.flatnonzero(classes == minority)[0])
        is_minority = (y_true == minority).astype(np.int64)
        pr, roc = {}, {}
        for model in models:
            scores = model.oof[:, column]
            precision, recall, _ = precision_recall_curve(is_minority, scores)
            fpr, tpr, _ = roc_curve(is_minority, scores)
            pr[model.name] = (precision, recall, average_precision_score(is_minority, scores))
            roc[model.name] = (fpr, tpr, roc_auc_score(is_minority, scores))
        return [Image("pr_curves.png", "precision-recall curves",
                      plots.precision_recall_curves(pr, f"OOF precision-recall, positive = {minority}",
                                                    float(is_minority.mean()))),
                Image("roc_curves.png", "ROC curves", plots.roc_curves(roc, f"OOF ROC, positive = {minority}"))]
    images = []
    for model in models:
        pr, roc, prevalence = {}, {}, {}
        for j, label in enumerate(classes):
            is_class = (y_true == label).astype(np.int64)
            precision, recall, _ = precision_recall_curve(is_class, model.oof[:, j])
            fpr, tpr, _ = roc_curve(is_class, model.oof[:, j])
            pr[label] = (precision, recall, average_precision_score(is_class, model.oof[:, j]))
            roc[label] = (fpr, tpr, roc_auc_score(is_class, model.oof[:, j]))
            prevalence[label] = float(is_class.mean())
        images.append(Image(f"pr_curves_{model.name}.png", f"{model.name} one-vs-rest precision-recall curves",
                            plots.precision_recall_curves(pr, f"{model.name}: OOF precision-recall, one-vs-rest",
                                                          prevalence)))
        images.append(Image(f"roc_curves_{model.name}.png", f"{model.name} one-vs-rest ROC curves",
                            plots.roc_curves(roc, f"{model.name}: OOF ROC, one-vs-rest")))
    return images


def _threshold_figure(model: ModelPredictions, competition: Competition, rule: DecisionRule | None,
                      minority: str, configured_metric: str) -> tuple[Image, dict[str, Any]]:
    """Binary only: metrics of ``P(positive) >= t`` against t (from ``tune_threshold``), with the threshold in use
    marked; the positive class is the rule's, else the minority class. Also returns each curve's best point."""
    classes, y_true = competition.classes, competition.train_labels
    positive = rule.positive_class if isinstance(rule, ThresholdRule) else minority
    scores = model.oof[:, int(np.flatnonzero(classes == positive)[0])]
    names = list(THRESHOLD_PLOT_METRICS)
    if configured_metric in BINARY_THRESHOLD_METRICS and configured_metric not in names:
        names.append(configured_metric)
    results = {name: tune_threshold(y_true, scores, metric=name, pos_label=positive) for name in names}
    if isinstance(rule, ThresholdRule):
        chosen, chosen_label = rule.threshold, f"in use: {rule.threshold:.3f}"
    else:
        # Without a rule the labels are the argmax: for two classes, P(positive) above one half (ties aside).
        chosen, chosen_label = 0.5, "in use: argmax (0.5)"
    display = {"f1": f"F1 ({positive})", "f1_macro": "macro-F1", "fbeta": f"F-beta ({positive})",
               "balanced_accuracy": "balanced accuracy", "mcc": "MCC", "gmean": "G-mean", "youden": "Youden's J"}
    thresholds = results[names[0]].thresholds
    png = plots.threshold_curves(thresholds, {display[n]: results[n].scores for n in names}, chosen, chosen_label,
                                 f"{model.name}: OOF metrics against the threshold", f"threshold on P({positive})")
    best = {name: {"threshold": result.threshold, "score": result.score} for name, result in results.items()}
    return (Image(f"threshold_{model.name}.png", f"{model.name}: metrics against the threshold", png),
            {"positive_class": positive, "threshold_in_use": chosen, "best": best})


# -------------------------------------------------------------------------------------------------- the report


def _fmt(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def rank_models(evaluations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Model names by decreasing OOF macro-F1 under their rules (ties keep the order of the models)."""
    return sorted(evaluations, key=lambda name: -evaluations[name]["overall"]["macro_f1"])


def _headline(evaluations: dict[str, dict[str, Any]], missing: list[str], minority: str) -> list[Paragraph]:
    macro = {name: e["overall"]["macro_f1"] for name, e in evaluations.items()}
    ranked = rank_models(evaluations)
    best = ranked[0]
    absent = "" if not missing else (" Not in this run folder: " + ", ".join(
        f"{name} (no probabilities: run its steps)" for name in missing) + ".")
    if len(ranked) == 1:
        lines = [f"Only the **{best}** has out-of-fold predictions here: OOF macro-F1 **{macro[best]:.4f}**.{absent}"]
    else:
        behind = ", ".join(f"{name} {macro[name]:.4f} ({macro[name] - macro[best]:+.4f})" for name in ranked[1:])
        lines = [f"**{best}** has the best out-of-fold macro-F1, **{macro[best]:.4f}**; then {behind}.{absent}"]
    lines.append(f"Minority class {literal(minority)}, F1: " + ", ".join(
        f"{name} {evaluations[name]['overall']['minority_f1']:.4f}" for name in ranked) + ".")
    tuned = [name for name in ranked if evaluations[name]["decision"]["rule"]["kind"] != "argmax"]
    if tuned and len(tuned) < len(ranked):
        lines.append(f"Only {', '.join(tuned)} use{'s' if len(tuned) == 1 else ''} a tuned decision rule; the "
                     "last column, macro-F1 at the argmax, compares all models untuned.")
    if "transformer" in macro and "baseline" in macro:
        gap = macro["transformer"] - macro["baseline"]
        verdict = "beats" if gap > 0 else "does not beat"
        lines.append(f"The transformer alone {verdict} the TF-IDF baseline: {gap:+.4f} macro-F1.")
    return [Paragraph(line) for line in lines]


def _summary_table(evaluations: dict[str, dict[str, Any]], minority: str) -> Table:
    names = [f"{shown} ({literal(minority)})" if m == "minority_f1" else shown for m, shown in REPORT_METRICS.items()]
    header = ["model", "decision rule", *names, "macro-F1 at argmax"]
    rows = [[name, literal(e["decision"]["text"]), *(_fmt(e["overall"][m]) for m in REPORT_METRICS),
             _fmt(e["at_argmax"]["macro_f1"])] for name, e in evaluations.items()]
    return Table(header, rows, numeric=[False, False] + [True] * (len(REPORT_METRICS) + 1))


def _check_blocks(checks: Mapping[str, StrengthCheck], blend: Mapping[str, Any] | None, metric: str) -> list[Block]:
    """The out-of-sample check of each model's rule (``checks``: its :class:`StrengthCheck`) and of the blend
    weight (``blend``: blend.json's record, when its weight was checked)."""
    rows = [[name, _fmt(c.untuned), _fmt(c.in_sample), _fmt(c.cross_fitted[-1]), _fmt(c.score), f"{c.strength:g}"]
            for name, c in checks.items()]
    blocks: list[Block] = [
        Heading("Out-of-sample check of the decision rules"),
        Paragraph(f"Scores are {literal(metric)} on the OOF rows. Cross-fitted: the rule tuned again without each "
                  "fold, applied to that fold at a strength from 0 (the argmax) to 1 (as tuned). The strength in "
                  "use is the best cross-fitted one, or 0 when its gain over the argmax is within bootstrap noise."),
        Table(["model", "argmax", "tuned, in sample", "cross-fitted, full strength", "cross-fitted, in use",
               "strength in use"], rows),
    ]
    if blend is not None and blend["check"] is not None:
        check = blend["check"]
        folds = ", ".join(f"{w:g}" for w in blend["fold_weights"])
        blocks.append(Paragraph(
            f"Blend: Transformer weight {blend['tuned_weight']:g} tuned on all OOF rows ({folds} without each fold); "
            f"cross-fitted {literal(metric)} {_fmt(check.cross_fitted[-1])} at the tuned weight, "
            f"{_fmt(check.untuned)} at equal weights; weight in use **{blend['weight']:g}** (strength "
            f"{check.strength:g})."))
    return blocks


def _data_blocks(data: dict[str, Any], evaluations: dict[str, dict[str, Any]], length_png: bytes) -> list[Block]:
    with_test = [name for name, e in evaluations.items() if e["test_predicted_counts"] is not None]
    total = data["train_rows"]
    rows = []
    for label, count in data["class_counts"].items():
        shares = [f"{evaluations[m]['test_predicted_counts'][label] / data['test_rows']:.1%}" for m in with_test]
        rows.append([literal(label), str(count), f"{count / total:.1%}", *shares])
    lengths = [[split, str(s["texts"]), *(_fmt(s["words"][k], 1) for k in ("mean", "median", "p95")),
                str(s["words"]["max"]), _fmt(s["chars"]["mean"], 1), str(s["chars"]["max"])]
               for split, s in data["lengths"].items()]
    return [
        Heading("Data"),
        Paragraph(f"{data['train_rows']} train rows, {data['test_rows']} test rows, {len(data['class_counts'])} "
                  f"classes; minority {literal(data['minority_class'])}, imbalance ratio (majority / minority) "
                  f"**{data['imbalance_ratio']:.1f} : 1**."
                  + (" The last columns are the class shares each model predicts on test, to compare with the "
                     "train shares." if with_test else "")),
        Table(["class", "train rows", "train share", *(f"test share predicted by {m}" for m in with_test)], rows),
        Table(["split", "texts", "mean words", "median words", "p95 words", "max words", "mean chars",
               "max chars"], lengths),
        Image("text_lengths.png", "text length histogram", length_png),
    ]


def _model_blocks(name: str, e: dict[str, Any], classes: list[str], images: list[Image],
                  curves_heading: str) -> list[Block]:
    header = ["fold", "rows", *REPORT_METRICS.values()]
    rows = [[str(f["fold"]), str(f["rows"]), *(_fmt(f[m]) for m in REPORT_METRICS)] for f in e["folds"]]
    rows.append(["mean", "", *(_fmt(e["fold_mean"][m]) for m in REPORT_METRICS)])
    rows.append(["std", "", *(_fmt(e["fold_std"][m]) for m in REPORT_METRICS)])
    rows.append(["all OOF rows", str(sum(f["rows"] for f in e["folds"])),
                 *(_fmt(e["overall"][m]) for m in REPORT_METRICS)])
    return [
        Heading(f"Model: {name}"),
        Paragraph(f"Decision rule: {literal(e['decision']['text'])} ({e['decision']['source']})."),
        Heading("Per-fold and overall OOF metrics", 3),
        Table(header, rows),
        Heading("classification_report (all OOF rows)", 3),
        Table.from_markdown(report_to_markdown(e["classification_report"], digits=4)),
        Heading("classification_report_imbalanced (all OOF rows)", 3),
        Table.from_markdown(report_to_markdown(e["classification_report_imbalanced"], digits=4)),
        Heading("Confusion matrix (all OOF rows)", 3),
        Image(f"confusion_{name}.png", f"{name} confusion matrices",
              plots.confusion_heatmaps(np.array(e["confusion_matrix"]), classes, name)),
        *([Heading(curves_heading, 3), *images] if images else []),
    ]


def _run_blocks(manifest: Mapping[str, Any], config: PipelineConfig, fold_seed: int, source: str) -> list[Block]:
    git = manifest.get("git") or {}
    commit = git.get("commit", "not a git checkout") + (" (uncommitted changes)" if git.get("dirty") else "")
    rows = [["git commit", commit], ["created", str(manifest.get("created_at"))],
            ["folds", f"{config.folds.n_splits}, seed {fold_seed}"], ["decision metric", config.threshold.metric],
            ["submission", f"{source}, {config.submission.kind}"]]
    rows += [[f"data: {name}", entry["sha256"][:16]] for name, entry in sorted(manifest.get("data", {}).items())]
    rows += [[name, str(version)] for name, version in sorted(manifest.get("packages", {}).items())]
    return [Heading("Run"), Paragraph("Everything else about the run is in `manifest.json` and `run.log`."),
            Table(["setting", "value"], rows, numeric=[False, False])]


def _settings_blocks(run: RunFolder) -> tuple[list[Block], dict[str, Any]]:
    """The fold-model settings derived from the data (with why), and the self-pretraining's losses as a curve."""
    blocks: list[Block] = []
    numbers: dict[str, Any] = {}
    derived = run.manifest.get("derived")
    if derived:
        numbers["derived"] = derived
        blocks += [Heading("Derived settings"),
                   Paragraph(f"No fold-model YAML was given: under the preset {literal(derived['preset'])} these "
                             "settings were derived from the data (each can be set by its key)."),
                   Table(["setting", "why"], [[f"`{setting.strip()}`", literal(why.strip())]
                                              for setting, why in (note.split(":", 1) for note in derived["notes"])],
                         numeric=[False, False])]
    done: list[PretrainResult] = []  # pretraining 0, 1, ... (pretrain.n_seeds), each finished in turn
    while (record := run.read_pretrain_done(len(done))) is not None:
        done.append(record)
    if done:
        lines, runs = {}, []
        for p, record in enumerate(done):
            curve, own = run.read_pretrain_curve(p), {}
            for column, name in (("train/loss", "train (epoch mean)"), ("val/loss", "held-out texts")):
                if curve is not None and column in curve:
                    points = curve[["step", column]].dropna()
                    own[name] = (points["step"].to_numpy(), points[column].to_numpy())
            lines.update({(name if len(done) == 1 else f"seed {p}: {name}"): line for name, line in own.items()})
            runs.append({"steps": record.steps, "epochs": record.epochs, "seconds": record.seconds,
                         **{name: values.tolist() for name, (_, values) in own.items()}})
        numbers["pretraining"] = runs[0] if len(runs) == 1 else {**runs[0], "seeds": runs}
        if len(done) == 1:
            what = (f"{done[0].steps} steps, {done[0].epochs} epochs, {done[0].seconds:.0f} s; every fold model "
                    "started from its weights and its tokenizer.")
        else:
            what = (f"{len(done)} pretrainings, each with its own seed ("
                    + "; ".join(f"{r.steps} steps, {r.epochs} epochs, {r.seconds:.0f} s" for r in done)
                    + f"); fold model j of every fold started from pretraining j mod {len(done)}: its weights and "
                    "its tokenizer.")
        blocks += [Heading("Self-pretraining"),
                   Paragraph(f"Masked-language-model pretraining of the encoder on every train and test text: {what}")]
        if lines:
            blocks.append(Image("pretraining_loss.png", "pretraining loss curve",
                                plots.loss_curves(lines, "Self-pretraining: masked-LM loss")))
    return blocks, numbers


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays converted, NaN and infinities as null."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class Report:
    """A computed report: the document (rendered to Markdown and HTML) and every number (the JSON)."""

    blocks: list[Block]
    numbers: dict[str, Any]
    title: str


def build_report(ctx: Context) -> Report:
    """Read the run folder's probabilities and decision rules and compute the whole report (nothing is written)."""
    run, competition, config = ctx.run, ctx.competition, ctx.config
    models, missing = load_predictions(run, competition, ctx.plan.models)
    if not models:
        raise ReportError(f"{run.path} holds no model's probabilities yet; run the baseline step, or the train and "
                          "predict steps, first")
    decisions = run.read_decisions(competition) if run.has_decisions() else {}
    blend = run.read_blend() if "blend" in decisions and run.has_blend() else None
    lengths = text_lengths(competition)
    data = summarize_data(competition, lengths)
    minority = data["minority_class"]
    classes = competition.classes.tolist()
    evaluations = {m.name: evaluate(m, competition, decisions.get(m.name), minority) for m in models}
    checks = {name: decisions[name].check for name in evaluations
              if name in decisions and decisions[name].check is not None}
    binary = len(classes) == 2
    ranking_images = _ranking_figures(models, competition, minority)
    threshold_images = {}
    for model in models if binary else []:
        image, curve = _threshold_figure(model, competition, decisions.get(model.name), minority,
                                         config.threshold.metric)
        threshold_images[model.name] = image
        evaluations[model.name]["threshold_curve"] = curve
    length_png = plots.length_histogram({split: v["words"] for split, v in lengths.items()})

    title = f"Competition report: {run.path.resolve().name}"
    blocks: list[Block] = [Heading(literal(title), 1), *_headline(evaluations, missing, minority),
                           *(Paragraph(f"**Warning:** {literal(warning)}.") for warning in competition.warnings),
                           _summary_table(evaluations, minority),
                           Paragraph("Out-of-fold (OOF) scores: each train row is predicted by the model of the fold "
                                     "that did not train on it. PR-AUC is average precision "
                                     + (f"of {literal(minority)}" if binary else "(macro, one-vs-rest)")
                                     + "; decision rules tuned on these same rows flatter their model slightly, "
                                       "hence the argmax column"
                                     + (" and the out-of-sample check below." if checks else "."))]
    if any(e["overall"][m] is None for e in evaluations.values() for m in ("pr_auc", "roc_auc")):
        blocks.append(Paragraph("A `–` PR-AUC or ROC-AUC is undefined for those predictions: a class missing "
                                "from the rows scored, or multiclass scores whose rows do not sum to 1."))
    if checks:
        blocks += _check_blocks(checks, blend, config.threshold.metric)
    blocks += _data_blocks(data, evaluations, length_png)
    settings_blocks, settings_numbers = _settings_blocks(run)
    blocks += settings_blocks
    blocks += [Heading("Precision-recall and ROC curves"),
               *(image for image in ranking_images if binary)]
    if not binary:
        blocks.append(Paragraph("Multiclass: one-vs-rest curves of each class, in each model's section."))
    for name, e in evaluations.items():
        own = [image for image in ranking_images if image.file_name.endswith(f"_{name}.png")]
        if name in threshold_images:
            own.insert(0, threshold_images[name])
        blocks += _model_blocks(name, e, classes, own, "Metrics against the threshold" if binary
                                else "One-vs-rest precision-recall and ROC curves")
    blocks += _run_blocks(run.manifest, config, ctx.plan.fold_seed, ctx.plan.source)

    numbers = {
        "run": {"folder": run.path.resolve().name, "git": run.manifest.get("git"),
                "config": run.manifest.get("config"), "data": run.manifest.get("data"),
                "packages": run.manifest.get("packages")},
        "task": "binary" if binary else "multiclass",
        "classes": classes,
        "data": data,
        "models": evaluations,  # each decision's rule holds its out-of-sample check
        "blend_weight": None if blend is None else {**blend, "check": None if blend["check"] is None
                                                    else blend["check"].to_json()},
        "missing_models": missing,
        **settings_numbers,
        "ranking": rank_models(evaluations),
        "figures": sorted(block.file_name for block in blocks if isinstance(block, Image)),
    }
    return Report(blocks, _jsonable(numbers), title)


def step_report(ctx: Context) -> None:
    """Write the report (Markdown, HTML, JSON, PNGs) into the run folder."""
    report = build_report(ctx)
    images = {block.file_name: block.png for block in report.blocks if isinstance(block, Image)}
    folder = ctx.run.write_report(to_markdown(report.blocks), to_html(report.blocks, report.title), report.numbers,
                                  images)
    ctx.run.log(f"report: wrote {folder / 'report.md'}, report.html and report.json")
