"""Time imbalance_xfmr.metrics against scikit-learn / imbalanced-learn in the same run and print the ratios.

    python benchmarks/metrics.py                 # 10,000,000 samples, 5 classes (about a minute)
    python benchmarks/metrics.py --n 1000000     # smaller
    python benchmarks/metrics.py --only ranking  # or: classification
    python benchmarks/metrics.py --case confusion_matrix --busy   # one case, then again with the other core busy

Each case runs ours and the reference on the same synthetic labels, checks that the results agree, and
reports the best of ``--repeat`` wall-clock times (more calls for a function that takes milliseconds: at least
half a second of them, at most 50). Ranking cases (binary scores) come from
``benchmarks/ranking_bench.py``. With ``--busy`` every case is timed a second time while a background process keeps
one core busy (``_harness.busy_core``); the last line sums up confusion_matrix:
``confusion_matrix 10M vs sklearn: 30.1x (busy: 28.0x)``.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import imblearn.metrics as imb
import numpy as np
import sklearn.metrics as skm

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import imbalance_xfmr.metrics as ours  # noqa: E402
import ranking_bench  # noqa: E402
from _harness import best_time, busy_core, load_note, size_name  # noqa: E402
from metrics_reference import assert_same_value  # noqa: E402

Case = tuple[str, Callable[[], Any], Callable[[], Any]]

# A function is called at least ``--repeat`` times and, when calls are short, until this long has been spent (at
# most 50 calls): the best of many few-millisecond calls is one no other process interrupted.
_MIN_SECONDS = 0.5


def classification_cases(n: int, rng: np.random.Generator) -> list[Case]:
    """Five classes with a 5% minority; predictions right 70% of the time."""
    y_true = rng.choice(5, size=n, p=[0.4, 0.25, 0.2, 0.1, 0.05])
    y_pred = np.where(rng.random(n) < 0.7, y_true, rng.integers(0, 5, n))
    return [
        ("confusion_matrix", lambda: ours.confusion_matrix(y_true, y_pred),
         lambda: skm.confusion_matrix(y_true, y_pred)),
        ("precision_recall_fscore_support(macro)",
         lambda: ours.precision_recall_fscore_support(y_true, y_pred, average="macro"),
         lambda: skm.precision_recall_fscore_support(y_true, y_pred, average="macro")),
        ("matthews_corrcoef", lambda: ours.matthews_corrcoef(y_true, y_pred),
         lambda: skm.matthews_corrcoef(y_true, y_pred)),
        ("classification_report", lambda: ours.classification_report(y_true, y_pred, digits=4),
         lambda: skm.classification_report(y_true, y_pred, digits=4)),
        ("classification_report_imbalanced",
         lambda: ours.classification_report_imbalanced(y_true, y_pred, digits=4),
         lambda: imb.classification_report_imbalanced(y_true, y_pred, digits=4)),
        ("balanced_accuracy_score", lambda: ours.balanced_accuracy_score(y_true, y_pred),
         lambda: skm.balanced_accuracy_score(y_true, y_pred)),
        ("f1_score(strings, macro)", *_string_case(rng, min(n, 1_000_000))),
    ]


def _string_case(rng: np.random.Generator, n: int) -> tuple[Callable[[], Any], Callable[[], Any]]:
    names = np.array(["ham", "spam", "promo", "phish", "other"], dtype=object)
    y_true, y_pred = names[rng.integers(0, 5, n)], names[rng.integers(0, 5, n)]
    return (lambda: ours.f1_score(y_true, y_pred, average="macro"),
            lambda: skm.f1_score(y_true, y_pred, average="macro"))


def _time_pair(our_func: Callable[[], Any], ref_func: Callable[[], Any], repeat: int) -> tuple[float, Any, float, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        our_time, our_result = best_time(our_func, repeat, min_seconds=_MIN_SECONDS)
        ref_time, ref_result = best_time(ref_func, repeat, min_seconds=_MIN_SECONDS)
    return our_time, our_result, ref_time, ref_result


def run(cases: list[Case], repeat: int, busy: bool = False) -> dict[str, tuple[float, float | None]]:
    """Time and print every case (again inside ``busy_core`` with ``busy``); returns {name: (speed-up, busy one)}."""
    extra = f" {'busy ours':>10} {'busy ref':>10} {'busy x':>8}" if busy else ""
    print(f"{'case':<42} {'ours (s)':>10} {'reference (s)':>14} {'speed-up':>9}{extra}  same result")
    speed_ups: dict[str, tuple[float, float | None]] = {}
    for name, our_func, ref_func in cases:
        our_time, our_result, ref_time, ref_result = _time_pair(our_func, ref_func, repeat)
        try:
            assert_same_value(our_result, ref_result)
            same = "yes"
        except AssertionError as error:
            same = f"NO: {str(error).splitlines()[0]}"
        extra, busy_speed_up = "", None
        if busy:
            with busy_core():
                busy_ours, _, busy_ref, _ = _time_pair(our_func, ref_func, repeat)
            busy_speed_up = busy_ref / busy_ours
            extra = f" {busy_ours:>10.4f} {busy_ref:>10.4f} {busy_speed_up:>7.1f}x"
        speed_ups[name] = (ref_time / our_time, busy_speed_up)
        print(f"{name:<42} {our_time:>10.4f} {ref_time:>14.4f} {ref_time / our_time:>8.1f}x{extra}  {same}", flush=True)
    return speed_ups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="samples per case (default 10,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per function; the best is kept")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", choices=["classification", "ranking"], default=None,
                        help="run one group of cases (default: both)")
    parser.add_argument("--case", nargs="*", help="case names to run (prefix match)")
    parser.add_argument("--busy", action="store_true", help="time every case again with one core kept busy")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"n = {args.n:,}; numpy {np.__version__}; best of {args.repeat}; {load_note()}")
    cases = [] if args.only == "ranking" else classification_cases(args.n, rng)
    if args.only != "classification":
        cases += ranking_bench.cases(args.n, rng)
    if args.case:
        cases = [case for case in cases if any(case[0].startswith(prefix) for prefix in args.case)]
    speed_ups = run(cases, args.repeat, busy=args.busy)
    print(load_note())
    if "confusion_matrix" in speed_ups:
        quiet, busy = speed_ups["confusion_matrix"]
        busy_note = "" if busy is None else f" (busy: {busy:.1f}x)"
        print(f"confusion_matrix {size_name(args.n)} vs sklearn: {quiet:.1f}x{busy_note}")


if __name__ == "__main__":
    main()
