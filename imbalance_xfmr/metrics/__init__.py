"""Classification metrics for imbalanced problems, hand-written and fast.

Drop-in replacements for scikit-learn 1.9's and imbalanced-learn 0.14's functions of the same names
(signatures, defaults, return types, warnings and errors), plus threshold tuning for out-of-fold
predictions, streaming (torchmetrics) versions for Lightning validation loops, and the registry of competition
metrics a run can be scored by (``get_metric``, ``METRIC_NAMES``, ``default_metric``).
"""

from ._classification import (
    accuracy_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    hamming_loss,
    jaccard_score,
    matthews_corrcoef,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
)
from ._imbalanced import (
    geometric_mean_score,
    make_index_balanced_accuracy,
    sensitivity_score,
    sensitivity_specificity_support,
    specificity_score,
)
from ._ranking import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from ._scoring import (
    METRIC_NAMES,
    SUBMISSION_KINDS,
    TASKS,
    Metric,
    default_metric,
    get_metric,
    infer_task,
    names_for,
)
from ._report import classification_report, classification_report_imbalanced, report_to_markdown
from ._threshold import (
    BINARY_THRESHOLD_METRICS,
    MULTICLASS_THRESHOLD_METRICS,
    OffsetResult,
    ThresholdResult,
    apply_class_offsets,
    tune_class_offsets,
    tune_threshold,
)
from ._validation import InvalidParameterError

__all__ = [
    "METRIC_NAMES",
    "SUBMISSION_KINDS",
    "TASKS",
    "Metric",
    "default_metric",
    "get_metric",
    "infer_task",
    "names_for",
    "BINARY_THRESHOLD_METRICS",
    "MULTICLASS_THRESHOLD_METRICS",
    "InvalidParameterError",
    "OffsetResult",
    "ThresholdResult",
    "apply_class_offsets",
    "average_precision_score",
    "brier_score_loss",
    "log_loss",
    "precision_recall_curve",
    "roc_auc_score",
    "roc_curve",
    "tune_class_offsets",
    "tune_threshold",
    "accuracy_score",
    "balanced_accuracy_score",
    "classification_report",
    "classification_report_imbalanced",
    "cohen_kappa_score",
    "confusion_matrix",
    "f1_score",
    "fbeta_score",
    "geometric_mean_score",
    "hamming_loss",
    "jaccard_score",
    "make_index_balanced_accuracy",
    "matthews_corrcoef",
    "multilabel_confusion_matrix",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "report_to_markdown",
    "sensitivity_score",
    "sensitivity_specificity_support",
    "specificity_score",
]

_STREAMING = ("StreamingBinaryRanking", "StreamingConfusionMatrix")
__all__ += list(_STREAMING)


def __getattr__(name: str):
    # The streaming metrics need torch; importing it lazily keeps `f1_score` & co. a NumPy-only import.
    if name in _STREAMING:
        from . import _streaming

        return getattr(_streaming, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
