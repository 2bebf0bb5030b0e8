"""The ``pretrain`` step: self-pretraining of the fold models' encoder, once per run (``pretrain.n_seeds`` times,
each with its own seed), before the fold models train.

Masked-language-model pretraining (BERT's masking: 15% of the tokens, of those 80% [MASK], 10% a random token, 10%
unchanged; an output layer tied to the token embeddings) on every text of the competition, train and test, without
labels, with one tokenizer fitted for the run on all of them. It is what ``imbalance-xfmr pretrain`` fits from
:func:`competition.fold_models.pretrain_args`: checkpoints are written atomically at epochs' ends, batches are
reseeded, so a killed pretraining resumes from its newest readable checkpoint and ends with the bytes of an unbroken
one. Every fold model then starts from its ``last.ckpt`` (weights and tokenizer); with several pretrainings, fold
model j of every fold starts from pretraining j mod ``pretrain.n_seeds``. Krishna et al. 2022 ("Downstream datasets
make surprisingly good pretraining corpora") found such pretraining on the task's own texts close to pretraining on
Wikipedia-scale corpora; Kaggle's top text solutions do it by hand.
"""

from __future__ import annotations

import time
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from competition.context import Context
from competition.fold_models import build_pretraining, torch_threads
from competition.run_folder import (
    PretrainResult,
    RunFolder,
    checkpoint_intact,
    model_lock,
    read_pretrain_done,
    write_pretrain_done,
)
from competition.workers import run_trainings, workers_for
from imbalance_xfmr.training import readable_checkpoint


@dataclass(frozen=True)
class PretrainTask:
    """One pretraining to fit: everything a worker process needs (picklable)."""

    name: str  # "pretrain", or "pretrain seed 2/3" when there are several
    index: int  # p: its seed index (pretrain.n_seeds)
    args: dict[str, Any]  # the `imbalance-xfmr pretrain` config (competition.fold_models.pretrain_args)
    folder: Path
    checkpoints: Path
    num_threads: int | None


def step_pretrain(ctx: Context) -> None:
    """Pretrain the encoder ``pretrain.n_seeds`` times (skipping a finished pretraining, resuming an interrupted
    one), ``transformer.parallel`` of them at once in worker processes (by default as many as the cores take, as for
    the fold models; the same bytes as one after another), and log the losses."""
    run, pretrainings = ctx.run, ctx.plan.pretrainings
    tasks = []
    for p, args in enumerate(pretrainings):
        name = "pretrain" + (f" seed {p} of {len(pretrainings)}" if len(pretrainings) > 1 else "")
        done = run.read_pretrain_done(p)
        paths = run.pretrain_paths(p)
        if done is not None and not checkpoint_intact(paths["checkpoint"]):
            run.log(f"{name}: its checkpoint {paths['checkpoint']} is missing or damaged; pretraining again")
            run.discard_pretrain_done(p)
            done = None
        if done is not None:
            run.log(f"{name}: already done ({done.steps} steps), skipped")
            continue
        tasks.append(PretrainTask(name, p, args, paths["folder"], paths["checkpoints"],
                                  ctx.config.transformer.num_threads))
    if not tasks:
        return
    run.write_fold_tables(ctx.competition, ctx.folds())  # the texts they read
    texts = len(ctx.competition.train) + len(ctx.competition.test)
    for task in tasks:
        run.log(f"{task.name}: {task.args['trainer']['max_steps']} masked-LM steps on {texts} texts"
                + (f", seed {task.args['seed_everything']}" if task.index > 0 else ""))
    workers, gpus = workers_for(pretrainings[0], ctx.config.transformer.parallel, ctx.config.transformer.num_threads,
                                len(tasks))
    if workers > 1:
        run.log(f"pretrain: {len(tasks)} pretrainings, {workers} at a time (one worker process each)")
    # A `train --only-fold` job lets the other jobs into the folder meanwhile: they wait on each pretraining's own
    # lock, then find it done.
    with run.shared() if ctx.only_fold is not None else nullcontext():
        run_trainings(fit_pretraining, tasks, workers, gpus, lambda task, output: _logged(run, task, *output),
                      "pretrainings")


def pretrainings_done(ctx: Context) -> bool:
    """Whether every pretraining of the run is finished (True without pretraining)."""
    return all(ctx.run.read_pretrain_done(p) is not None and checkpoint_intact(ctx.run.pretrain_paths(p)["checkpoint"])
               for p in range(len(ctx.plan.pretrainings)))


def fit_pretraining(task: PretrainTask) -> tuple[PretrainResult | None, list[str]]:
    """Fit ``task``'s pretraining under its lock, resuming from its newest readable checkpoint, and write its
    ``done.json``; returns (its record, what is worth a log line), or (None, ...) when another job finished it
    meanwhile."""
    start = time.perf_counter()
    messages = []
    with model_lock(task.folder):
        if read_pretrain_done(task.folder) is not None:
            return None, messages
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resume = readable_checkpoint(task.checkpoints)
        messages += [f"warning: {warning.message}" for warning in caught]  # an unreadable checkpoint, named
        if resume is not None:
            messages.append(f"resuming from {resume.name}")
        with torch_threads(task.num_threads):
            cli = build_pretraining(task.args)
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume, weights_only=True)
        result = PretrainResult(status="resumed" if resume else "trained", steps=int(cli.trainer.global_step),
                                epochs=int(cli.trainer.current_epoch), seconds=round(time.perf_counter() - start, 1))
        write_pretrain_done(task.folder, result)
    return result, messages


def _logged(run: RunFolder, task: PretrainTask, result: PretrainResult | None, messages: list[str]) -> None:
    for message in messages:
        run.log(f"{task.name}: {message}")
    if result is None:
        run.log(f"{task.name}: done by another job meanwhile, skipped")
        return
    curve = run.read_pretrain_curve(task.index)
    validation = curve["val/loss"].dropna() if curve is not None and "val/loss" in curve else []
    losses = f", validation loss {validation.iloc[0]:.3f} -> {validation.iloc[-1]:.3f}" if len(validation) else ""
    run.log(f"{task.name}: {result.status} in {result.seconds:.1f} s, {result.steps} steps{losses}")
