"""Time imbalance_xfmr.sampling against imbalanced-learn in the same run, and check the outputs are identical.

    python benchmarks/sampling.py            # 100,000 and 1,000,000 rows
    python benchmarks/sampling.py --quick    # 10,000 rows, a smoke run
    python benchmarks/sampling.py --rows 300000 --only RandomUnderSampler

Data: float32 X with 32 features, binary y with a 5% minority (seed 0), the same arrays for both libraries.
For each case it prints our time, imbalanced-learn's time (best of ``--repeat`` when a run takes under 2 s,
one run otherwise), the speed-up and whether ``X_res``, ``y_res`` and ``sample_indices_`` are identical.

Case shape (``benchmarks/sampling_knn.py`` provides more cases with it, included when that module exists)::

    def cases(n_rows: int) -> list[tuple[str, int, Callable[[], sampler], Callable[[], sampler] | None]]
        # (name, n_rows, make_ours, make_reference): make_* build a fresh, unfitted sampler whose
        # fit_resample(X, y) is timed; make_reference=None skips imbalanced-learn for that size
        # (too slow to wait for) and prints only our time.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from imblearn.over_sampling import RandomOverSampler as ReferenceRandomOverSampler
from imblearn.under_sampling import RandomUnderSampler as ReferenceRandomUnderSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from imbalance_xfmr.sampling import RandomOverSampler, RandomUnderSampler

Case = tuple[str, int, Callable[[], Any], "Callable[[], Any] | None"]


def cases(n_rows: int) -> list[Case]:
    """The random samplers at every size."""
    return [
        (
            "RandomUnderSampler",
            n_rows,
            lambda: RandomUnderSampler(random_state=0),
            lambda: ReferenceRandomUnderSampler(random_state=0),
        ),
        (
            "RandomOverSampler",
            n_rows,
            lambda: RandomOverSampler(random_state=0),
            lambda: ReferenceRandomOverSampler(random_state=0),
        ),
        (
            "RandomOverSampler(shrinkage=1)",
            n_rows,
            lambda: RandomOverSampler(random_state=0, shrinkage=1.0),
            lambda: ReferenceRandomOverSampler(random_state=0, shrinkage=1.0),
        ),
    ]


def make_data(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(n_rows, 32).astype(np.float32)
    y = (rng.rand(n_rows) < 0.05).astype(np.int64)
    return X, y


def timed(make_sampler: Callable[[], Any], X: np.ndarray, y: np.ndarray, repeat: int) -> tuple[float, Any, Any]:
    """Best wall time of fit_resample, the last fitted sampler and its output."""
    best, runs = float("inf"), 0
    while runs < repeat:
        sampler = make_sampler()
        start = time.perf_counter()
        output = sampler.fit_resample(X, y)
        best = min(best, time.perf_counter() - start)
        runs += 1
        if best > 2.0:
            break
    return best, sampler, output


def identical(ours: Any, reference: Any, ours_out: Any, reference_out: Any) -> bool:
    same = all(np.array_equal(a, b) for a, b in zip(ours_out, reference_out))
    if hasattr(reference, "sample_indices_"):
        same = same and np.array_equal(ours.sample_indices_, reference.sample_indices_)
    return same


def all_cases(n_rows: int) -> list[Case]:
    found = list(cases(n_rows))
    if importlib.util.find_spec("sampling_knn") is not None:
        import sampling_knn

        found += sampling_knn.cases(n_rows)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows only")
    parser.add_argument("--rows", type=int, nargs="*", help="sizes to run (default 100000 1000000)")
    parser.add_argument("--only", nargs="*", help="case names to run (prefix match)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [10_000] if args.quick else (args.rows or [100_000, 1_000_000])

    print(f"{'sampler':<36}{'rows':>10}{'ours s':>10}{'imblearn s':>12}{'speed-up':>10}  identical")
    for n_rows in sizes:
        X, y = make_data(n_rows)
        for name, case_rows, make_ours, make_reference in all_cases(n_rows):
            if args.only and not any(name.startswith(prefix) for prefix in args.only):
                continue
            X_case, y_case = (X, y) if case_rows == n_rows else make_data(case_rows)
            ours_time, ours, ours_out = timed(make_ours, X_case, y_case, args.repeat)
            if make_reference is None:
                print(f"{name:<36}{case_rows:>10}{ours_time:>10.3f}{'not run':>12}{'':>10}  -", flush=True)
                continue
            ref_time, reference, reference_out = timed(make_reference, X_case, y_case, args.repeat)
            same = identical(ours, reference, ours_out, reference_out)
            print(
                f"{name:<36}{case_rows:>10}{ours_time:>10.3f}{ref_time:>12.3f}{ref_time / ours_time:>9.1f}x  {same}",
                flush=True,
            )


if __name__ == "__main__":
    main()
