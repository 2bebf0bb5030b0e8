"""Benchmark cases for the ranking metrics and threshold tuning, against scikit-learn.

``cases(n, rng)`` is run by ``benchmarks/metrics.py`` (``python benchmarks/metrics.py --only ranking``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sklearn.metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import imbalance_xfmr.metrics as ours  # noqa: E402
from imbalance_xfmr.metrics import tune_threshold  # noqa: E402

Case = tuple[str, Callable[[], Any], Callable[[], Any]]


def _reference_best_f1_threshold(y_true: np.ndarray, y_score: np.ndarray) -> tuple[float, float]:
    """Best F1 threshold with sklearn's own per-threshold counts (largest threshold on ties)."""
    _, fps, fns, tps, thresholds = skm.confusion_matrix_at_thresholds(y_true, y_score)
    f1 = 2 * tps / (2 * tps + fps + fns)
    best = int(np.argmax(f1))
    return float(thresholds[best]), float(f1[best])


def cases(n: int, rng: np.random.Generator) -> list[Case]:
    """Binary cases on ``n`` samples (10% positives, float64 scores rounded to 3 decimals, so many ties) and
    multiclass ROC AUC on ``n // 10`` samples of 5 classes."""
    y_true = (rng.random(n) < 0.1).astype(np.int64)
    y_score = np.round(rng.normal(size=n) + 1.5 * y_true, 3)
    y_proba = 1 / (1 + np.exp(-y_score))
    weights = rng.random(n)
    n_multi = max(n // 10, 10)
    y_multi = rng.choice(5, size=n_multi, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    logits = rng.normal(size=(n_multi, 5)) + np.eye(5)[y_multi]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return [
        ("roc_auc_score", lambda: ours.roc_auc_score(y_true, y_score), lambda: skm.roc_auc_score(y_true, y_score)),
        ("average_precision_score", lambda: ours.average_precision_score(y_true, y_score),
         lambda: skm.average_precision_score(y_true, y_score)),
        ("roc_auc_score(max_fpr=0.1)", lambda: ours.roc_auc_score(y_true, y_score, max_fpr=0.1),
         lambda: skm.roc_auc_score(y_true, y_score, max_fpr=0.1)),
        ("roc_auc_score(sample_weight)", lambda: ours.roc_auc_score(y_true, y_score, sample_weight=weights),
         lambda: skm.roc_auc_score(y_true, y_score, sample_weight=weights)),
        ("roc_curve", lambda: ours.roc_curve(y_true, y_score), lambda: skm.roc_curve(y_true, y_score)),
        ("precision_recall_curve", lambda: ours.precision_recall_curve(y_true, y_score),
         lambda: skm.precision_recall_curve(y_true, y_score)),
        ("log_loss", lambda: ours.log_loss(y_true, y_proba), lambda: skm.log_loss(y_true, y_proba)),
        ("brier_score_loss", lambda: ours.brier_score_loss(y_true, y_proba),
         lambda: skm.brier_score_loss(y_true, y_proba)),
        (f"roc_auc_score(ovr, n={n_multi:,})", lambda: ours.roc_auc_score(y_multi, proba, multi_class="ovr"),
         lambda: skm.roc_auc_score(y_multi, proba, multi_class="ovr")),
        (f"roc_auc_score(ovo, n={n_multi:,})", lambda: ours.roc_auc_score(y_multi, proba, multi_class="ovo"),
         lambda: skm.roc_auc_score(y_multi, proba, multi_class="ovo")),
        ("tune_threshold(f1) vs sklearn counts",
         lambda: (lambda r: (r.threshold, r.score))(tune_threshold(y_true, y_score, metric="f1")),
         lambda: _reference_best_f1_threshold(y_true, y_score)),
    ]
