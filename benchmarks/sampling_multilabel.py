"""Time the multilabel samplers and the iterative-stratification splitter on Jigsaw-like labels.

    python benchmarks/sampling_multilabel.py              # 160,000 rows (Jigsaw's training set size)
    python benchmarks/sampling_multilabel.py --quick      # 20,000 rows, a smoke run
    python benchmarks/sampling_multilabel.py --rows 500000

Data (seed 0): float32 X with 32 features; Y with Jigsaw's six label rates (toxic 9.6%, severe_toxic 1.0%, obscene
5.3%, threat 0.3%, insult 4.9%, identity_hate 0.9%), the five others drawn among the toxic rows so the labels
co-occur as Jigsaw's do.

MLROS, MLRUS and MLSMOTE have no maintained reference (imbalanced-learn has no multilabel sampler; its MLSMOTE pull
request #1213 was never merged): only our times are printed, with the MeanIR before and after. The splitter is timed
against ``iterstrat.ml_stratifiers.MultilabelStratifiedKFold`` (PyPI iterative-stratification) when it is installed,
in the same run, and its folds are compared (identical expected); best of ``--repeat`` runs, one run for a reference
run over 2 s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import best_time, load_note  # noqa: E402

from imbalance_xfmr.model_selection import MultilabelStratifiedKFold  # noqa: E402
from imbalance_xfmr.sampling import MLROS, MLRUS, MLSMOTE, mean_imbalance_ratio  # noqa: E402

LABEL_RATES = np.array([0.096, 0.010, 0.053, 0.003, 0.049, 0.009])
_ONE_RUN_ABOVE_S = 2.0


def make_jigsaw_like(n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """X (n_rows, 32) float32 and Y (n_rows, 6) int8 with Jigsaw's label rates, the labels nested in 'toxic'."""
    rng = np.random.RandomState(0)
    X = rng.randn(n_rows, 32).astype(np.float32)
    toxic = rng.rand(n_rows) < LABEL_RATES[0]
    Y = (toxic[:, None] & (rng.rand(n_rows, 6) < LABEL_RATES / LABEL_RATES[0])).astype(np.int8)
    return X, Y


def time_samplers(X: np.ndarray, Y: np.ndarray, repeat: int) -> None:
    print(f"{'sampler':<34}{'rows in':>10}{'rows out':>10}{'ours s':>10}{'MeanIR in':>11}{'MeanIR out':>12}")
    for name, make in [
        ("MLROS(percentage=0.1)", lambda: MLROS(percentage=0.1, random_state=0)),
        ("MLRUS(percentage=0.1)", lambda: MLRUS(percentage=0.1, random_state=0)),
        ("MLSMOTE(k_neighbors=5)", lambda: MLSMOTE(random_state=0)),
    ]:
        seconds, (_, Y_res) = best_time(lambda: make().fit_resample(X, Y), repeat, stop_after=_ONE_RUN_ABOVE_S)
        print(
            f"{name:<34}{len(Y):>10}{len(Y_res):>10}{seconds:>10.3f}"
            f"{mean_imbalance_ratio(Y):>11.2f}{mean_imbalance_ratio(Y_res):>12.2f}",
            flush=True,
        )


def time_splitter(Y: np.ndarray, repeat: int) -> None:
    def ours() -> list[np.ndarray]:
        splitter = MultilabelStratifiedKFold(5, shuffle=True, random_state=0)
        return [test for _, test in splitter.split(None, Y)]

    ours_time, ours_folds = best_time(ours, repeat, stop_after=_ONE_RUN_ABOVE_S)
    try:
        from iterstrat.ml_stratifiers import MultilabelStratifiedKFold as ReferenceSplitter
    except ImportError:
        print(f"MultilabelStratifiedKFold(5)  ours {ours_time:.3f} s; iterstrat not installed")
        return

    def reference() -> list[np.ndarray]:
        splitter = ReferenceSplitter(5, shuffle=True, random_state=0)
        return [test for _, test in splitter.split(Y, Y)]

    reference_time, reference_folds = best_time(reference, repeat, stop_after=_ONE_RUN_ABOVE_S)
    same = all(np.array_equal(a, b) for a, b in zip(ours_folds, reference_folds))
    print(
        f"MultilabelStratifiedKFold(5, shuffle=True)  rows {len(Y)}  ours {ours_time:.3f} s  "
        f"iterstrat {reference_time:.3f} s  speed-up {reference_time / ours_time:.1f}x  identical folds: {same}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows only")
    parser.add_argument("--rows", type=int, default=160_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    X, Y = make_jigsaw_like(20_000 if args.quick else args.rows)
    print(load_note())
    time_samplers(X, Y, args.repeat)
    time_splitter(Y, args.repeat)
    print(load_note())


if __name__ == "__main__":
    main()
