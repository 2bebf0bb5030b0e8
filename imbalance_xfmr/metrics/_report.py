"""Text reports: scikit-learn's ``classification_report``, imbalanced-learn's ``classification_report_imbalanced``
(character for character), and a Markdown rendering of either report's dictionary.

Both reports count the labels once (``_validation.check_targets``) and derive every row from those counts,
where the references re-validate and re-count the labels for each row.
"""

from __future__ import annotations

import re

import warnings
from typing import Any

import numpy as np

from ._classification import per_label_counts, prf_from_counts, set_wise_counts
from ._imbalanced import sens_spec_from_counts
from ._multilabel import IndicatorTargets
from ._validation import check_targets, check_zero_division, to_array

_HEADERS = ["precision", "recall", "f1-score", "support"]
_IMBALANCED_HEADERS = ["pre", "rec", "spe", "f1", "geo", "iba", "sup"]


def classification_report(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    target_names: Any = None,
    sample_weight: Any = None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: Any = "warn",
) -> str | dict:
    """Per-class precision, recall, F1 and support with accuracy/macro/weighted averages.

    Same text and dictionary as ``sklearn.metrics.classification_report``; for multilabel-indicator targets one
    row per label column and micro/macro/weighted/samples averages.
    """
    check_zero_division("classification_report", zero_division)
    targets, weights = check_targets(y_true, y_pred, sample_weight, multilabel=True)
    multilabel = isinstance(targets, IndicatorTargets)
    labels_given = labels is not None
    if labels_given:
        labels = to_array(labels, "labels")
    else:
        labels = np.arange(targets.n_labels) if multilabel else targets.classes
    micro_is_accuracy = not multilabel and (
        not labels_given or set(labels.tolist()) >= set(targets.classes.tolist())
    )
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(
                f"labels size, {len(labels)}, does not match size of target_names, {len(target_names)}",
                stacklevel=2,
            )
        else:
            raise ValueError(
                f"Number of classes, {len(labels)}, does not match size of target_names, "
                f"{len(target_names)}. Try specifying the labels parameter"
            )
    if target_names is None:
        target_names = [f"{label}" for label in labels.tolist()]

    per_label = set_wise_counts(targets, labels, weights)

    def prf(average: str | None) -> tuple[Any, Any, Any, Any]:
        samplewise = average == "samples"
        tp, fp, fn, _ = set_wise_counts(targets, labels, weights, samplewise=True) if samplewise else per_label
        return prf_from_counts(
            tp, tp + fp, tp + fn, average=average, zero_division=zero_division, sample_weight=weights
        )

    precision, recall, f1, support = prf(None)
    rows = list(zip(target_names, precision, recall, f1, support))
    total_support = np.sum(support)
    averages = []
    for average in ("micro", "macro", "weighted") + (("samples",) if multilabel else ()):
        heading = "accuracy" if average == "micro" and micro_is_accuracy else f"{average} avg"
        averages.append((heading, *prf(average)[:3], total_support))

    if output_dict:
        report: dict = {
            name: dict(zip(_HEADERS, [float(v) for v in values])) for name, *values in rows
        }
        for heading, *values in averages:
            report[heading] = dict(zip(_HEADERS, [float(v) for v in values]))
        if "accuracy" in report:
            report["accuracy"] = report["accuracy"]["precision"]
        return report

    width = max(max(len(name) for name in target_names), len("weighted avg"), digits)
    text = ("{:>{width}s} " + " {:>9}" * 4).format("", *_HEADERS, width=width) + "\n\n"
    row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
    for row in rows:
        text += row_fmt.format(*row, width=width, digits=digits)
    text += "\n"
    for heading, *values in averages:
        if heading == "accuracy":
            accuracy_fmt = "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}" + " {:>9}\n"
            text += accuracy_fmt.format(heading, "", "", *values[2:], width=width, digits=digits)
        else:
            text += row_fmt.format(heading, *values, width=width, digits=digits)
    return text


def classification_report_imbalanced(
    y_true: Any,
    y_pred: Any,
    *,
    labels: Any = None,
    target_names: Any = None,
    sample_weight: Any = None,
    digits: int = 2,
    alpha: float = 0.1,
    output_dict: bool = False,
    zero_division: Any = "warn",
) -> str | dict:
    """Per-class precision, recall, specificity, F1, geometric mean, index balanced accuracy and support.

    Same text and dictionary as ``imblearn.metrics.classification_report_imbalanced`` (whose specificity
    counts true negatives without sample weights; see ``sensitivity_specificity_support``).
    """
    check_zero_division("classification_report_imbalanced", zero_division)
    targets, weights = check_targets(y_true, y_pred, sample_weight)
    labels = targets.classes if labels is None else to_array(labels, "labels")
    if target_names is None:
        target_names = [f"{label}" for label in labels.tolist()]

    tp, fp, fn, _ = per_label_counts(targets, labels, weights)
    pred, true = tp + fp, tp + fn
    precision, recall, f1, support = prf_from_counts(tp, pred, true, zero_division=zero_division)
    # The reference asks for specificity three times with different warn_for sets; one call per set keeps
    # its warnings.
    _, specificity, _ = sens_spec_from_counts(tp, pred, true, targets.n_samples, warn_for=("specificity",))
    sensitivity, specificity_g, _ = sens_spec_from_counts(
        tp, pred, true, targets.n_samples, warn_for=("specificity", "specificity")
    )
    geometric_mean = np.sqrt(sensitivity * specificity_g)
    sensitivity_i, specificity_i, _ = sens_spec_from_counts(tp, pred, true, targets.n_samples)
    iba = (1.0 + alpha * (sensitivity_i - specificity_i)) * np.power(geometric_mean, 2)

    width = max(max(len(name) for name in target_names), len("avg / total"), digits)
    fmt = f"%{width}s  " + " ".join(["% 9s"] * len(_IMBALANCED_HEADERS)) + "\n"
    text = fmt % tuple([""] + _IMBALANCED_HEADERS) + "\n"
    columns = [precision, recall, specificity, f1, geometric_mean, iba]
    report: dict = {}
    for i in range(len(labels)):
        scores = [column[i] for column in columns]
        values = [target_names[i]] + [f"{value:0.{digits}f}" for value in scores] + [f"{support[i]}"]
        text += fmt % tuple(values)
        report[target_names[i]] = dict(zip(_IMBALANCED_HEADERS, scores + [support[i]]))
    text += "\n"
    averages = [np.average(column, weights=support) for column in columns]
    total = np.sum(support)
    text += fmt % tuple(["avg / total"] + [f"{value:0.{digits}f}" for value in averages] + [f"{total}"])
    for name, value in zip(_IMBALANCED_HEADERS, averages):
        report[f"avg_{name}"] = value
    report["total_support"] = total
    return report if output_dict else text


_MARKDOWN_SPECIAL = re.compile(r"[\\`*_\[\]<>|~]")


def report_to_markdown(report: dict, digits: int = 3) -> str:
    """Render the ``output_dict=True`` result of either report as a Markdown table.

    One row per class and per average, in the report's order; sklearn's scalar 'accuracy' becomes a row with
    only the F1 column filled (as in its text report), imblearn's 'avg_*'/'total_support' an "avg / total" row.
    Class names are backslash-escaped where Markdown would read them as markup (``|``, ``*``, ``_``...), so any
    label renders as itself.
    """
    headers = next((list(values) for values in report.values() if isinstance(values, dict)), None)
    if headers is None:
        raise ValueError("report_to_markdown expects the dictionary of a report made with output_dict=True.")

    def cell(value: Any) -> str:
        if isinstance(value, (int, np.integer)) or (isinstance(value, float) and value.is_integer() and value > 1):
            return f"{int(value)}"
        return f"{float(value):.{digits}f}"

    def row(name: str, values: dict) -> str:
        name = _MARKDOWN_SPECIAL.sub(r"\\\g<0>", str(name)).replace("\n", " ")
        return f"| {name} | " + " | ".join(cell(values[h]) if h in values else "" for h in headers) + " |"

    lines = ["| | " + " | ".join(headers) + " |", "|---|" + "---:|" * len(headers)]
    averaged = {}
    for name, values in report.items():
        if isinstance(values, dict):
            lines.append(row(name, values))
        elif name == "accuracy":
            lines.append(row(name, {"f1-score": values}))
        elif name.startswith("avg_"):
            averaged[name[len("avg_"):]] = values
        elif name == "total_support":
            averaged["sup"] = values
    if averaged:
        lines.append(row("avg / total", averaged))
    return "\n".join(lines) + "\n"
