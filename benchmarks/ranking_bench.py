"""Time the ranking metrics and threshold tuning of imbalance_xfmr.metrics against scikit-learn, same run.

    python benchmarks/ranking_bench.py               # 10,000,000 binary samples (a few minutes on 2 cores)
    python benchmarks/ranking_bench.py --n 1000000

``cases(n, rng)`` is imported by ``benchmarks/metrics.py``; run alone, this prints the best of ``--repeat``
wall-clock times of ours and the reference, the speed-up, and whether the results agree.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import sklearn.metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_xfmr.metrics import _ranking as ours  # noqa: E402
from imbalance_xfmr.metrics._threshold import tune_threshold  # noqa: E402

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


def _best_time(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def _same(ours_result: Any, ref_result: Any) -> bool:
    if isinstance(ref_result, tuple):
        return len(ours_result) == len(ref_result) and all(map(_same, ours_result, ref_result))
    a, b = np.asarray(ours_result, dtype=np.float64), np.asarray(ref_result, dtype=np.float64)
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-12, atol=1e-14, equal_nan=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="binary samples (default 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per function; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"n = {args.n:,}; numpy {np.__version__}; best of {args.repeat}")
    print(f"{'case':<40} {'ours (s)':>10} {'sklearn (s)':>12} {'speed-up':>9}  same result")
    for name, our_func, ref_func in cases(args.n, np.random.default_rng(args.seed)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            our_time, our_result = _best_time(our_func, args.repeat)
            ref_time, ref_result = _best_time(ref_func, args.repeat)
        same = "yes" if _same(our_result, ref_result) else "NO"
        print(f"{name:<40} {our_time:>10.4f} {ref_time:>12.4f} {ref_time / our_time:>8.1f}x  {same}", flush=True)


if __name__ == "__main__":
    main()
