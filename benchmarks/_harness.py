"""What the benchmark scripts share: the sampler benchmarks' data, case shape, timing and comparison.

Imported as a sibling module (``from _harness import ...``): ``python benchmarks/X.py`` puts ``benchmarks/`` first
on ``sys.path`` (the scripts also insert it themselves). It imports nothing of the library, so each script keeps
its own imports of what it measures. ``benchmarks/metrics.py`` uses :func:`best_time` too.

A sampler case (``benchmarks/sampling.py`` and ``benchmarks/sampling_knn.py`` give them)::

    (name, n_rows, make_ours, make_reference)   # make_* build a fresh, unfitted sampler whose fit_resample(X, y)
                                                # is timed; make_reference=None skips imbalanced-learn for that
                                                # size (too slow to wait for) and prints only our time
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Case = tuple[str, int, Callable[[], Any], "Callable[[], Any] | None"]

_ONE_RUN_ABOVE_S = 2.0  # a sampler run this slow is timed once: its noise is small next to its length


def make_data(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed-0 data of the sampler benchmarks: X (n_rows, 32) float32, y (n_rows,) int64 with a 5% minority of 1."""
    rng = np.random.RandomState(0)
    X = rng.randn(n_rows, 32).astype(np.float32)
    y = (rng.rand(n_rows) < 0.05).astype(np.int64)
    return X, y


def best_time(func: Callable[[], Any], repeat: int, stop_after: float = math.inf) -> tuple[float, Any]:
    """Best wall time in seconds of up to ``repeat`` calls of ``func``, and the last call's result; no further calls
    once a call has taken longer than ``stop_after`` seconds."""
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
        if best > stop_after:
            break
    return best, result


def timed(make_sampler: Callable[[], Any], X: np.ndarray, y: np.ndarray, repeat: int) -> tuple[float, Any, Any]:
    """Best wall time of ``make_sampler().fit_resample(X, y)`` (best of ``repeat``, one run when a run takes over
    2 s), the last fitted sampler and its output. Building the sampler is timed too: it only stores parameters."""

    def fit_resample() -> tuple[Any, Any]:
        sampler = make_sampler()
        return sampler, sampler.fit_resample(X, y)

    seconds, (sampler, output) = best_time(fit_resample, repeat, stop_after=_ONE_RUN_ABOVE_S)
    return seconds, sampler, output


def identical(ours: Any, reference: Any, ours_out: Any, reference_out: Any) -> bool:
    """Whether both fitted samplers returned the same arrays (and, when the reference has one, the same
    ``sample_indices_``)."""
    same = all(np.array_equal(a, b) for a, b in zip(ours_out, reference_out))
    if hasattr(reference, "sample_indices_"):
        same = same and np.array_equal(ours.sample_indices_, reference.sample_indices_)
    return same


def print_header(width: int) -> None:
    """The column titles of :func:`run_case`'s rows; ``width`` is the name column's."""
    print(f"{'sampler':<{width}}{'rows':>10}{'ours s':>10}{'imblearn s':>12}{'speed-up':>10}  identical")


def run_case(case: Case, X: np.ndarray, y: np.ndarray, repeat: int, width: int) -> None:
    """Time ours and (unless ``make_reference`` is None) imbalanced-learn's sampler on ``X, y`` and print a row."""
    name, n_rows, make_ours, make_reference = case
    ours_time, ours, ours_out = timed(make_ours, X, y, repeat)
    if make_reference is None:
        print(f"{name:<{width}}{n_rows:>10}{ours_time:>10.3f}{'not run':>12}{'':>10}  -", flush=True)
        return
    reference_time, reference, reference_out = timed(make_reference, X, y, repeat)
    same = identical(ours, reference, ours_out, reference_out)
    speed_up = reference_time / ours_time
    print(f"{name:<{width}}{n_rows:>10}{ours_time:>10.3f}{reference_time:>12.3f}{speed_up:>9.1f}x  {same}", flush=True)
