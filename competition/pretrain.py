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
from typing import Any

from competition.context import Context
from competition.fold_models import build_pretraining, torch_threads
from competition.folds import run_folds
from competition.run_folder import PretrainResult, model_lock
from imbalance_xfmr.training import readable_checkpoint


def step_pretrain(ctx: Context) -> None:
    """Pretrain the encoder ``pretrain.n_seeds`` times (skipping a finished pretraining, resuming an interrupted
    one) and log the losses."""
    run, pretrainings = ctx.run, ctx.plan.pretrainings
    if not pretrainings:
        run.log("pretrain: off (pretrain.enabled=false, or the Transformer is disabled)")
        return
    for p, args in enumerate(pretrainings):
        name = "pretrain" + (f" seed {p + 1}/{len(pretrainings)}" if len(pretrainings) > 1 else "")
        done = run.read_pretrain_done(p)
        if done is not None:
            run.log(f"{name}: already done ({done.steps} steps), skipped")
            continue
        run.pin("pretrain")
        run.write_fold_tables(ctx.competition, run_folds(ctx))  # the texts it reads
        start = time.perf_counter()
        # A `train --only-fold` job lets the other jobs into the folder meanwhile: they wait on the pretraining's
        # own lock, then find it done.
        with run.shared() if ctx.only_fold is not None else nullcontext():
            result = _pretrain_locked(ctx, name, p, args, start)
        if result is None:
            run.log(f"{name}: done by another job meanwhile, skipped")
            continue
        curve = run.read_pretrain_curve(p)
        validation = curve["val/loss"].dropna() if curve is not None and "val/loss" in curve else []
        losses = f", validation loss {validation.iloc[0]:.3f} -> {validation.iloc[-1]:.3f}" if len(validation) else ""
        run.log(f"{name}: {result.status} in {result.seconds:.1f} s, {result.steps} steps{losses}")


def pretrainings_done(ctx: Context) -> bool:
    """Whether every pretraining of the run is finished (True without pretraining)."""
    return all(ctx.run.read_pretrain_done(p) is not None for p in range(len(ctx.plan.pretrainings)))


def _pretrain_locked(ctx: Context, name: str, p: int, args: dict[str, Any], start: float) -> PretrainResult | None:
    """Fit pretraining ``p`` under its lock, resuming from its newest readable checkpoint; None when another job
    finished it meanwhile."""
    run, paths = ctx.run, ctx.run.pretrain_paths(p)
    with model_lock(paths["folder"]):
        if run.read_pretrain_done(p) is not None:
            return None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resume = readable_checkpoint(paths["checkpoints"])
        for warning in caught:
            run.log(f"{name}: warning: {warning.message}")
        run.log(f"{name}: {args['trainer']['max_steps']} masked-LM steps on "
                f"{len(ctx.competition.train) + len(ctx.competition.test)} texts"
                + (f", seed {args['seed_everything']}" if p > 0 else "")
                + (f", resuming from {resume.name}" if resume else ""))
        with torch_threads(ctx.config.transformer.num_threads):
            cli = build_pretraining(args)
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume, weights_only=True)
        result = PretrainResult(status="resumed" if resume else "trained", steps=int(cli.trainer.global_step),
                                epochs=int(cli.trainer.current_epoch), seconds=round(time.perf_counter() - start, 1))
        run.write_pretrain_done(result, p)
    return result
