"""The ``train`` step: fit one Transformer per fold (``transformer.n_seeds`` per fold, each with its own seed).

Each fold model is built by the ``imbalance-xfmr`` CLI from :func:`competition.fold_models.fit_args` and fitted
as ``imbalance-xfmr fit`` would fit it: the library's Trainer configuration writes its checkpoints atomically to the
model's fixed ``checkpoints/`` folder, reseeds every batch and runs deterministically. So:

- a model whose ``done.json`` exists is skipped;
- an interrupted model resumes from the newest readable checkpoint of its folder
  (:func:`imbalance_xfmr.training.readable_checkpoint`: an empty or truncated ``last.ckpt`` is named in a warning
  and passed over) and trains exactly as if it had never stopped;
- ``done.json`` is written once the fit is over; the predict step then predicts with the model.

Fold models are independent, so ``transformer.parallel`` of them train at once, each in a worker process of its
own (``concurrent.futures`` with ``spawn``; one GPU per worker when the fold models train on GPUs), with the same
results, byte for byte, as one after another. ``python -m competition train --only-fold K [--only-seed J]`` trains
one fold's models alone, so a cluster scheduler can spread the folds over machines that share the run folder;
each model is trained under its own lock (:func:`competition.run_folder.model_lock`), and a later ``run`` skips
what the jobs finished and gathers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import filelock
import torch

from competition.context import Context
from competition.errors import PipelineError
from competition.fold_models import build, is_distributed, torch_threads
from competition.run_folder import (
    FoldResult,
    RunFolder,
    discard_fold_predictions,
    model_lock,
    read_done,
    write_done,
    write_fit_config,
)
from competition.workers import run_trainings, workers_for
from imbalance_xfmr.training import LAST_CHECKPOINT, best_checkpoint, readable_checkpoint

class TrainingError(PipelineError):
    """Fold models could not all be trained; the message says how to resume."""


@dataclass(frozen=True)
class ModelTask:
    """One fold model to fit: everything a worker process needs (picklable)."""

    name: str  # "transformer fold 2 of 5", with the seed index when there are several
    fold: int
    seed: int
    args: dict[str, Any]  # the `imbalance-xfmr` config (competition.fold_models.fit_args)
    folder: Path
    checkpoints: Path
    checkpoint: str  # transformer.checkpoint: "last" or "best"
    num_threads: int | None
    train_rows: int
    valid_rows: int


def fit_model(task: ModelTask) -> tuple[FoldResult, list[str]]:
    """Fit ``task``'s model under its lock (resuming from its newest readable checkpoint), write its ``done.json``
    and return (its record, what is worth a log line). A model another job finished meanwhile is skipped."""
    start = time.perf_counter()
    lock, messages = model_lock(task.folder), []
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        lock.acquire()  # another job is training this model: wait for it, then find it done
        messages.append("waited for another job that was training it")
    try:
        done = read_done(task.folder)
        if done is not None:
            return replace(done, status="skipped"), messages
        discard_fold_predictions(task.folder)  # a model trained again predicts again
        with torch_threads(task.num_threads):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                resume = readable_checkpoint(task.checkpoints)
            messages += [f"warning: {warning.message}" for warning in caught]  # an unreadable checkpoint, named
            if is_distributed(task.args):
                epochs = _fit_as_command(task, resume)
            else:
                cli = build(task.args)
                cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume, weights_only=True)
                epochs = int(cli.trainer.current_epoch)
        # transformer.checkpoint=best needs a monitor (checked before any work), so a best checkpoint exists.
        best = best_checkpoint(task.checkpoints) if task.checkpoint == "best" else None
        checkpoint = best or task.checkpoints / LAST_CHECKPOINT
        result = FoldResult(fold=task.fold, seed=task.seed, status="resumed" if resume else "trained",
                            train_rows=task.train_rows, valid_rows=task.valid_rows,
                            epochs=epochs, seconds=round(time.perf_counter() - start, 1),
                            checkpoint=str(checkpoint.relative_to(task.folder)))
        write_done(task.folder, result)
    finally:
        lock.release()
    if resume is not None:
        messages.append(f"resumed from {resume.name}")
    return result, messages


def _fit_as_command(task: ModelTask, resume: Path | None) -> int:
    """Fit a distributed (DDP) fold model as ``imbalance-xfmr fit --config <its fit_config.yaml>``: Lightning's
    launcher then starts the other ranks from that command line. Returns the epochs trained."""
    config = write_fit_config(task.folder, task.args)
    command = [sys.executable, "-m", "imbalance_xfmr.cli", "fit", "--config", str(config),
               *(["--ckpt_path", str(resume)] if resume else [])]
    env = dict(os.environ)
    if task.num_threads is not None:
        env["OMP_NUM_THREADS"] = str(task.num_threads)  # each rank's torch threads
    finished = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if finished.returncode != 0:
        tail = "\n".join(finished.stdout.strip().splitlines()[-15:])
        raise TrainingError(f"{task.name}: the distributed fit `{' '.join(command)}` failed (exit status "
                            f"{finished.returncode}); its last lines:\n{tail}")
    last = torch.load(task.checkpoints / LAST_CHECKPOINT, map_location="cpu", weights_only=True)
    return int(last["epoch"]) + 1


def summary_table(results: Sequence[FoldResult]) -> str:
    """The fold models' training records as a Markdown table."""
    lines = ["| fold | seed | status | train rows | valid rows | epochs | seconds | checkpoint |",
             "|---:|---:|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r.fold} | {r.seed} | {r.status} | {r.train_rows} | {r.valid_rows} | {r.epochs} | "
              f"{r.seconds:.1f} | {r.checkpoint} |" for r in sorted(results, key=lambda r: (r.fold, r.seed))]
    return "\n".join(lines)


def fold_models_done(ctx: Context) -> bool:
    """Whether every fold model of the run is trained and can still give its predictions."""
    return all((done := ctx.run.read_done(k, j)) is not None and ctx.run.lost_fold_model(k, j, done) is None
               for k in range(ctx.config.folds.n_splits) for j in range(ctx.config.transformer.n_seeds))


def step_train(ctx: Context) -> None:
    """Fit (or skip, or resume) the fold models (all, or ``--only-fold``'s), in parallel workers or in this
    process; log a line per model and the summary table."""
    config, run = ctx.config, ctx.run
    fold = ctx.folds()
    run.write_fold_tables(ctx.competition, fold)
    n_folds, n_seeds = config.folds.n_splits, config.transformer.n_seeds
    results, tasks = [], []
    for k in range(n_folds) if ctx.only_fold is None else [ctx.only_fold]:
        for j in range(n_seeds) if ctx.only_seed is None else [ctx.only_seed]:
            name = f"transformer fold {k} of {n_folds}" + (f", seed {j} of {n_seeds}" if n_seeds > 1 else "")
            done = run.read_done(k, j)
            lost = None if done is None else run.lost_fold_model(k, j, done)
            if lost is not None:
                run.log(f"{name}: {lost} and it has no predictions; training it again")
                run.discard_done(k, j)
                done = None
            if done is not None:
                results.append(replace(done, status="skipped"))
                run.log(f"{name}: already trained, skipped")
                continue
            seed, args = ctx.plan.fold_model(k, j)
            paths = run.fold_model_paths(k, j)
            tasks.append(ModelTask(name, k, seed, args, paths["folder"], paths["checkpoints"],
                                   config.transformer.checkpoint,
                                   config.transformer.num_threads, int((fold != k).sum()), int((fold == k).sum())))
    workers, gpus = workers_for(ctx.plan.lightning, config.transformer.parallel, config.transformer.num_threads,
                                len(tasks))
    if tasks:
        run.log(f"train: {len(tasks)} fold model(s) to fit, {workers} at a time"
                + (" (one worker process each)" if workers > 1 else ""))
    # A job for some folds lets other jobs into the folder while it trains (each model has its own lock).
    with run.shared() if ctx.only_fold is not None else nullcontext():
        for task in tasks:
            run.log(f"{task.name}: {task.train_rows} training rows, {task.valid_rows} validation rows", detail=True)
        results += run_trainings(fit_model, tasks, workers, gpus, lambda task, output: _logged(run, task, *output),
                                 "fold models")
    run.log("transformer folds:\n" + summary_table(results), detail=True)


def _logged(run: RunFolder, task: ModelTask, result: FoldResult, messages: list[str]) -> FoldResult:
    for message in messages:
        run.log(f"{task.name}: {message}")
    run.log(f"{task.name}: {result.status} in {result.seconds:.1f} s" if result.status != "skipped"
            else f"{task.name}: trained by another job meanwhile, skipped")
    return result

