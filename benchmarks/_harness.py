"""What the benchmark scripts share: the sampler benchmarks' data, case shape, timing and comparison.

Imported as a sibling module (``from _harness import ...``): ``python benchmarks/X.py`` puts ``benchmarks/`` first
on ``sys.path`` (the scripts also insert it themselves). It imports nothing of the library, so each script keeps
its own imports of what it measures. ``benchmarks/metrics.py`` uses :func:`best_time` too.

A sampler case (``benchmarks/sampling.py`` and ``benchmarks/sampling_knn.py`` give them)::

    (name, n_rows, make_ours, make_reference)   # make_* build a fresh, unfitted sampler whose fit_resample(X, y)
                                                # is timed; make_reference=None skips imbalanced-learn for that
                                                # size (too slow to wait for) and prints only our time

``--busy`` (``benchmarks/metrics.py``, ``benchmarks/sampling.py``) times every case a second time inside
:func:`busy_core`: a pure-Python busy loop in another process keeps one core busy while both libraries are
timed, as another job on a 2-core machine would. Threads stay as the libraries set them (OpenMP and BLAS use
every core; the burner takes its share of them), and the environment (``OPENBLAS_CORETYPE`` included) is untouched.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

Case = tuple[str, int, Callable[[], Any], "Callable[[], Any] | None"]

_ONE_RUN_ABOVE_S = 2.0  # a sampler run this slow is timed once: its noise is small next to its length
_MAX_CALLS = 50  # best_time's cap on the calls that min_seconds adds


@contextmanager
def busy_core() -> Iterator[None]:
    """Keep one core busy for the duration of the block: a background process spinning a pure-Python loop.

    The process is started before the block (and given a moment to reach its loop) and killed after it, also when
    the block raises.
    """
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"], stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # past the interpreter's start-up: the loop is spinning when the timing starts
        yield
    finally:
        burner.kill()
        burner.wait()


def load_note() -> str:
    """The 1-minute load average, printed with the figures: other jobs on the machine move them."""
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def size_name(n: int) -> str:
    """``10M``, ``1M``, ``100k``, ``1.5M``: a size as the summary lines print it."""
    for unit, name in ((1_000_000, "M"), (1_000, "k")):
        if n >= unit:
            return f"{n / unit:g}{name}"
    return str(n)


def make_data(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Seed-0 data of the sampler benchmarks: X (n_rows, 32) float32, y (n_rows,) int64 with a 5% minority of 1."""
    rng = np.random.RandomState(0)
    X = rng.randn(n_rows, 32).astype(np.float32)
    y = (rng.rand(n_rows) < 0.05).astype(np.int64)
    return X, y


def best_time(
    func: Callable[[], Any], repeat: int, stop_after: float = math.inf, min_seconds: float = 0.0
) -> tuple[float, Any]:
    """Best wall time in seconds of up to ``repeat`` calls of ``func``, and the last call's result; no further calls
    once a call has taken longer than ``stop_after`` seconds. With ``min_seconds``, calls go on past ``repeat``
    (up to ``_MAX_CALLS``) until that much time has been spent: a call of a few milliseconds is then timed often
    enough for its best to be one that other processes did not interrupt."""
    best, result, spent, calls = math.inf, None, 0.0, 0
    while calls < repeat or (spent < min_seconds and calls < _MAX_CALLS):
        start = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - start
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
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


def print_header(width: int, busy: bool = False) -> None:
    """The column titles of :func:`run_case`'s rows; ``width`` is the name column's."""
    extra = f"{'busy ours':>11}{'busy ref':>10}{'busy x':>8}" if busy else ""
    print(f"{'sampler':<{width}}{'rows':>10}{'ours s':>10}{'imblearn s':>12}{'speed-up':>10}{extra}  identical")


def run_case(
    case: Case, X: np.ndarray, y: np.ndarray, repeat: int, width: int, busy: bool = False
) -> tuple[float, float | None] | None:
    """Time ours and (unless ``make_reference`` is None) imbalanced-learn's sampler on ``X, y`` and print a row.

    With ``busy``, both are timed again inside :func:`busy_core`. Returns the speed-ups ``(quiet, busy or None)``,
    or None when the reference was not run.
    """
    name, n_rows, make_ours, make_reference = case
    ours_time, ours, ours_out = timed(make_ours, X, y, repeat)
    if make_reference is None:
        print(f"{name:<{width}}{n_rows:>10}{ours_time:>10.3f}{'not run':>12}{'':>10}  -", flush=True)
        return None
    reference_time, reference, reference_out = timed(make_reference, X, y, repeat)
    same = identical(ours, reference, ours_out, reference_out)
    speed_up = reference_time / ours_time
    extra, busy_speed_up = "", None
    if busy:
        with busy_core():
            busy_ours_time, ours, ours_out = timed(make_ours, X, y, repeat)
            busy_reference_time, reference, reference_out = timed(make_reference, X, y, repeat)
        same = same and identical(ours, reference, ours_out, reference_out)
        busy_speed_up = busy_reference_time / busy_ours_time
        extra = f"{busy_ours_time:>11.3f}{busy_reference_time:>10.3f}{busy_speed_up:>7.2f}x"
    print(
        f"{name:<{width}}{n_rows:>10}{ours_time:>10.3f}{reference_time:>12.3f}{speed_up:>9.2f}x{extra}  {same}",
        flush=True,
    )
    return speed_up, busy_speed_up
