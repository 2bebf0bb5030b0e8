"""The train step with fold models (or the pretrain step with pretrainings) in parallel worker processes against
one after another, on the same data.

Each measurement is a whole ``python -m competition train`` (``pretrain``) into a fresh run folder (the folds are
made first, outside the timing), alternating sequential and parallel runs; it prints the median wall times, checks
that both wrote the same checkpoints' weights, and ends with ``parallel N vs sequential: X.XXx`` (sequential
time / parallel time). Run from the repository root::

    python benchmarks/parallel_training.py                       # the binary demo's fold models, 2 workers
    python benchmarks/parallel_training.py --config competition/configs/sms_spam_pipeline.yaml \
        --data.dir ../shared/data/sms_spam --repeats 1 --transformer.n_seeds 1
    python benchmarks/parallel_training.py --step pretrain      # two pretrainings of the binary demo, no config

``--step pretrain`` runs without a config (settings derived from the data), with two pretrainings of 2,000 steps
each unless other keys say otherwise (``--pretrain.max_steps``, ``--pretrain.n_seeds``).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

CONFIG = "competition/configs/demo_binary_pipeline.yaml"
DEMO = "competition/demo/binary"


def competition(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "competition", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


PRETRAININGS = ["--pretrain.n_seeds", "2", "--transformer.n_seeds", "2", "--pretrain.max_steps", "2000"]
CHECKPOINTS = {"train": "folds/fold_*/checkpoints/last.ckpt", "pretrain": "pretrain/**/checkpoints/last.ckpt"}


def timed_step(step: str, common: list[str], output: Path, parallel: int) -> float:
    competition("folds", *common, "--output", str(output))
    start = time.perf_counter()
    competition(step, *common, "--output", str(output), "--transformer.parallel", str(parallel))
    return time.perf_counter() - start


def same_weights(a: Path, b: Path, step: str) -> bool:
    checkpoints = sorted(a.glob(CHECKPOINTS[step]))
    if not checkpoints:
        return False
    for checkpoint in checkpoints:
        ours = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
        theirs = torch.load(b / checkpoint.relative_to(a), map_location="cpu", weights_only=True)["state_dict"]
        if ours.keys() != theirs.keys() or not all(torch.equal(ours[k], theirs[k]) for k in ours):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", choices=("train", "pretrain"), default="train")
    parser.add_argument("--config", default=None, help=f"the pipeline config (train: default {CONFIG}; pretrain: "
                                                       "none, the settings derived from the data)")
    parser.add_argument("--data.dir", dest="data_dir", default=None)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    # Any other argument is a pipeline key, passed on (e.g. --transformer.n_seeds 2).
    args, extra = parser.parse_known_args()
    config = args.config or (CONFIG if args.step == "train" else None)
    data_dir = args.data_dir or (None if config else DEMO)  # the demo config names its data; without one, the demo
    common = [*(["--config", config] if config else []), *(["--data.dir", data_dir] if data_dir else []),
              *(PRETRAININGS if args.step == "pretrain" else []), *extra]
    times: dict[int, list[float]] = {1: [], args.workers: []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for parallel in (1, args.workers):
                seconds = timed_step(args.step, common, Path(tmp) / f"p{parallel}_{r}", parallel)
                times[parallel].append(seconds)
                print(f"repeat {r + 1}, parallel {parallel}: {seconds:.1f} s", flush=True)
        identical = same_weights(Path(tmp) / "p1_0", Path(tmp) / f"p{args.workers}_0", args.step)
    sequential, parallel = statistics.median(times[1]), statistics.median(times[args.workers])
    print(f"{args.step} step, median of {args.repeats}: sequential {sequential:.1f} s, {args.workers} workers "
          f"{parallel:.1f} s; {'fold models' if args.step == 'train' else 'pretrainings'} identical: {identical}")
    print(f"parallel {args.workers} vs sequential: {sequential / parallel:.2f}x")


if __name__ == "__main__":
    main()
