"""Wall time of a whole ``python -m competition run`` with no config on 20,000 short texts, per preset.

The competition is synthetic, made here from the multiclass demo's ticket templates (five queues, the smallest 7%):
each text joins two ticket sentences of its queue, about 20-25 words. It is written to a temporary folder with a
5,000-row test set; then ``python -m competition run --data.dir <it> --preset <preset>`` runs end to end (pretrain,
baseline, fold models, decide, submit, report) and its wall time and the run log's step lines are printed. Run from
the repository root::

    python benchmarks/default_run_time.py --preset fast
    python benchmarks/default_run_time.py --preset default --rows 20000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from competition.demo.make_demo import TICKETS, add_noise, fill, frame, write_competition

COUNTS = {"billing": 0.30, "technical": 0.28, "account": 0.20, "shipping": 0.15, "security": 0.07}


def make_competition(folder: Path, rows: int, test_rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    total = rows + test_rows
    labels = rng.choice(list(COUNTS), size=total, p=list(COUNTS.values()))

    def sentence(label: str) -> str:
        pool = TICKETS[label]
        return add_noise(fill(frame(pool[rng.integers(len(pool))], "ticket", rng), rng), rng, text_speak=False)

    texts = [f"{sentence(label)} {sentence(label)}" for label in labels]
    write_competition(pd.DataFrame({"text": texts, "label": labels}), test_rows, "billing", folder, rng)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=["fast", "default", "best"])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--test-rows", type=int, default=5000)
    parser.add_argument("--keep", type=Path, default=None, help="write the competition and the run here, and keep them")
    args, extra = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        data, output = root / "data", root / f"run_{args.preset}"
        make_competition(data, args.rows, args.test_rows)
        words = pd.read_csv(data / "train.csv")["text"].str.split().str.len()
        print(f"{args.rows} train texts (median {words.median():.0f} words, 90th percentile "
              f"{words.quantile(0.9):.0f}), {args.test_rows} test texts")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "competition", "run", "--data.dir", str(data), "--output", str(output),
                        "--preset", args.preset, *extra], check=True)
        seconds = time.perf_counter() - start
        print(f"preset {args.preset}: whole run {seconds / 60:.1f} min ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
