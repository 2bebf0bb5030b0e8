"""The ``pretrain`` step: self-pretraining of the fold models' encoder, once per run, before the fold models train.

Masked-language-model pretraining (BERT's masking: 15% of the tokens, of those 80% [MASK], 10% a random token, 10%
unchanged; an output layer tied to the token embeddings) on every text of the competition, train and test, without
labels, with one tokenizer fitted for the run on all of them. It is what ``imbalance-xfmr pretrain`` fits from
:func:`competition.fold_models.pretrain_args`: checkpoints are written atomically every epoch, batches are reseeded,
so a killed pretraining resumes from its newest readable checkpoint and ends with the bytes of an unbroken one.
Every fold model then starts from its ``last.ckpt`` (weights and tokenizer). Krishna et al. 2022 ("Downstream
datasets make surprisingly good pretraining corpora") found such pretraining on the task's own texts close to
pretraining on Wikipedia-scale corpora; Kaggle's top text solutions do it by hand.
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
    """Pretrain the encoder (or skip a finished pretraining, or resume an interrupted one) and log the losses."""
    run, args = ctx.run, ctx.plan.pretraining
    if args is None:
        run.log("pretrain: off (pretrain.enabled=false, or the Transformer is disabled)")
        return
    done = run.read_pretrain_done()
    if done is not None:
        run.log(f"pretrain: already done ({done.steps} steps), skipped")
        return
    run.pin("pretrain")
    run.write_fold_tables(ctx.competition, run_folds(ctx))  # the texts it reads
    start = time.perf_counter()
    # A `train --only-fold` job lets the other jobs into the folder meanwhile: they wait on the pretraining's own
    # lock, then find it done.
    with run.shared() if ctx.only_fold is not None else nullcontext():
        result = _pretrain_locked(ctx, args, start)
    if result is None:
        run.log("pretrain: done by another job meanwhile, skipped")
        return
    curve = run.read_pretrain_curve()
    validation = curve["val/loss"].dropna() if curve is not None and "val/loss" in curve else []
    losses = f", validation loss {validation.iloc[0]:.3f} -> {validation.iloc[-1]:.3f}" if len(validation) else ""
    run.log(f"pretrain: {result.status} in {result.seconds:.1f} s, {result.steps} steps{losses}")


def _pretrain_locked(ctx: Context, args: dict[str, Any], start: float) -> PretrainResult | None:
    """Fit the pretraining under its lock, resuming from its newest readable checkpoint; None when another job
    finished it meanwhile."""
    run, paths = ctx.run, ctx.run.pretrain_paths()
    with model_lock(paths["folder"]):
        if run.read_pretrain_done() is not None:
            return None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            resume = readable_checkpoint(paths["checkpoints"])
        for warning in caught:
            run.log(f"pretrain: warning: {warning.message}")
        run.log(f"pretrain: {args['trainer']['max_steps']} masked-LM steps on "
                f"{len(ctx.competition.train) + len(ctx.competition.test)} texts"
                + (f", resuming from {resume.name}" if resume else ""))
        with torch_threads(ctx.config.transformer.num_threads):
            cli = build_pretraining(args)
            cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume, weights_only=True)
        result = PretrainResult(status="resumed" if resume else "trained", steps=int(cli.trainer.global_step),
                                epochs=int(cli.trainer.current_epoch), seconds=round(time.perf_counter() - start, 1))
        run.write_pretrain_done(result)
    return result
