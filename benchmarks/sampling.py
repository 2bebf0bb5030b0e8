"""Time imbalance_xfmr.sampling against imbalanced-learn in the same run, and check the outputs are identical.

    python benchmarks/sampling.py            # 100,000 and 1,000,000 rows
    python benchmarks/sampling.py --quick    # 10,000 rows, a smoke run
    python benchmarks/sampling.py --rows 300000 --only RandomUnderSampler

Data: float32 X with 32 features, binary y with a 5% minority (seed 0), the same arrays for both libraries.
For each case it prints our time, imbalanced-learn's time (best of ``--repeat`` when a run takes under 2 s,
one run otherwise), the speed-up and whether ``X_res``, ``y_res`` and ``sample_indices_`` are identical.

The kNN samplers' cases come from ``benchmarks/sampling_knn.py``; the data, the case shape, timing and comparison
from ``benchmarks/_harness.py``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imblearn.over_sampling import RandomOverSampler as ReferenceRandomOverSampler
from imblearn.under_sampling import RandomUnderSampler as ReferenceRandomUnderSampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sampling_knn  # noqa: E402
from _harness import Case, make_data, print_header, run_case  # noqa: E402

from imbalance_xfmr.sampling import RandomOverSampler, RandomUnderSampler  # noqa: E402


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows only")
    parser.add_argument("--rows", type=int, nargs="*", help="sizes to run (default 100000 1000000)")
    parser.add_argument("--only", nargs="*", help="case names to run (prefix match)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [10_000] if args.quick else (args.rows or [100_000, 1_000_000])

    print_header(36)
    for n_rows in sizes:
        X, y = make_data(n_rows)
        for case in cases(n_rows) + sampling_knn.cases(n_rows):
            name, case_rows = case[:2]
            if args.only and not any(name.startswith(prefix) for prefix in args.only):
                continue
            X_case, y_case = (X, y) if case_rows == n_rows else make_data(case_rows)
            run_case(case, X_case, y_case, args.repeat, width=36)


if __name__ == "__main__":
    main()
