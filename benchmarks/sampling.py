"""Time imbalance_xfmr.sampling against imbalanced-learn in the same run, and check the outputs are identical.

    python benchmarks/sampling.py            # 100,000 and 1,000,000 rows
    python benchmarks/sampling.py --quick    # 10,000 rows, a smoke run
    python benchmarks/sampling.py --rows 300000 --only RandomUnderSampler
    python benchmarks/sampling.py --rows 1000000 --only SMOTE --busy   # and again with the other core busy

Data: float32 X with 32 features, binary y with a 5% minority (seed 0), the same arrays for both libraries.
For each case it prints our time, imbalanced-learn's time (best of ``--repeat`` when a run takes under 2 s,
one run otherwise), the speed-up and whether ``X_res``, ``y_res`` and ``sample_indices_`` are identical. With
``--busy`` every case is timed a second time while a background process keeps one core busy
(``_harness.busy_core``), and the last lines sum up SMOTE: ``SMOTE 1M x 32 vs imblearn: 3.10x (busy: 2.50x)``.

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
from _harness import Case, load_note, make_data, print_header, run_case, size_name  # noqa: E402

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
    parser.add_argument("--busy", action="store_true", help="time every case again with one core kept busy")
    args = parser.parse_args()
    sizes = [10_000] if args.quick else (args.rows or [100_000, 1_000_000])

    print(load_note())
    print_header(36, busy=args.busy)
    summary = []
    for n_rows in sizes:
        X, y = make_data(n_rows)
        for case in cases(n_rows) + sampling_knn.cases(n_rows):
            name, case_rows = case[:2]
            if args.only and not any(name.startswith(prefix) for prefix in args.only):
                continue
            X_case, y_case = (X, y) if case_rows == n_rows else make_data(case_rows)
            speed_ups = run_case(case, X_case, y_case, args.repeat, width=36, busy=args.busy)
            if name == "SMOTE" and speed_ups is not None:
                quiet, busy = speed_ups
                busy_note = "" if busy is None else f" (busy: {busy:.2f}x)"
                summary.append(f"SMOTE {size_name(case_rows)} x {X_case.shape[1]} vs imblearn: {quiet:.2f}x{busy_note}")
    print(load_note())
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
