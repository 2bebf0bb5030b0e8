"""Time the kNN samplers against imbalanced-learn in the same run, and check the outputs are identical.

    python benchmarks/sampling_knn.py            # SMOTE at 1M rows, TomekLinks at 100k (and ours alone at 1M),
                                                 # EditedNearestNeighbours at 100k
    python benchmarks/sampling_knn.py --quick    # 10,000 rows, a smoke run

``cases(n_rows)`` gives the cases for one data size in the shape ``benchmarks/_harness.py`` documents
(``(name, n_rows, make_ours, make_reference or None)``); ``benchmarks/sampling.py`` includes them in its own runs.
Data, timing and comparison come from ``benchmarks/_harness.py``: float32 X with 32 features, binary y with a 5%
minority.

imbalanced-learn's TomekLinks asks every row for its nearest neighbour (quadratic: about half an hour at 1M rows
on 2 cores), so at 1M rows only ours runs. EditedNearestNeighbours needs the neighbours of every majority row in
both implementations (quadratic either way), so it runs up to 100k rows only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from imblearn.over_sampling import SMOTE as ReferenceSMOTE
from imblearn.under_sampling import EditedNearestNeighbours as ReferenceEditedNearestNeighbours
from imblearn.under_sampling import TomekLinks as ReferenceTomekLinks

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import Case, make_data, print_header, run_case  # noqa: E402

from imbalance_xfmr.sampling._enn import EditedNearestNeighbours  # noqa: E402
from imbalance_xfmr.sampling._smote import SMOTE  # noqa: E402
from imbalance_xfmr.sampling._tomek import TomekLinks  # noqa: E402

# Sizes above which imbalanced-learn's quadratic TomekLinks, and both quadratic ENNs, are not run.
_TOMEK_REFERENCE_MAX_ROWS = 100_000
_ENN_MAX_ROWS = 100_000


def cases(n_rows: int) -> list[Case]:
    """SMOTE and TomekLinks at every size (imbalanced-learn's Tomek up to 100k rows), ENN up to 100k rows."""
    found: list[Case] = [
        ("SMOTE", n_rows, lambda: SMOTE(random_state=0), lambda: ReferenceSMOTE(random_state=0)),
        (
            "TomekLinks",
            n_rows,
            TomekLinks,
            ReferenceTomekLinks if n_rows <= _TOMEK_REFERENCE_MAX_ROWS else None,
        ),
    ]
    if n_rows <= _ENN_MAX_ROWS:
        found.append(("EditedNearestNeighbours", n_rows, EditedNearestNeighbours, ReferenceEditedNearestNeighbours))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows only")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        plan = [(10_000, name) for name in ("SMOTE", "TomekLinks", "EditedNearestNeighbours")]
    else:
        plan = [(1_000_000, "SMOTE"), (100_000, "TomekLinks"), (1_000_000, "TomekLinks"),
                (100_000, "EditedNearestNeighbours")]

    print_header(28)
    for n_rows, wanted in plan:
        X, y = make_data(n_rows)
        for case in cases(n_rows):
            if case[0] == wanted:
                run_case(case, X, y, args.repeat, width=28)

if __name__ == "__main__":
    main()
