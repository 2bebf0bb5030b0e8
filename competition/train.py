"""The ``train`` step: fit one Transformer per fold (``transformer.n_seeds`` per fold, each with its own seed).

Each fold model is built by the ``imbalance-xfmr`` CLI from :func:`competition.fold_models.fit_args` and fitted
as ``imbalance-xfmr fit`` would fit it: the library's Trainer configuration writes its checkpoints atomically to the
model's fixed ``checkpoints/`` folder, reseeds every batch and runs deterministically. So:

- a model whose ``done.json`` exists is skipped;
- an interrupted model resumes from the newest readable checkpoint of its folder
  (:func:`imbalance_xfmr.training.readable_checkpoint`: an empty or truncated ``last.ckpt`` is named in a warning
  and passed over) and trains exactly as if it had never stopped;
- ``done.json`` is written once the fit is over; the predict step then predicts with the model.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

from competition.context import Context
from competition.fold_models import build, fit_args, model_seed, torch_threads
from competition.folds import run_folds
from competition.run_folder import FoldResult
from imbalance_xfmr.training import LAST_CHECKPOINT, best_checkpoint, readable_checkpoint


def summary_table(results: Sequence[FoldResult]) -> str:
    """The fold models' training records as a Markdown table."""
    lines = ["| fold | seed | status | train rows | valid rows | epochs | seconds | checkpoint |",
             "|---:|---:|---|---:|---:|---:|---:|---|"]
    lines += [f"| {r.fold} | {r.seed} | {r.status} | {r.train_rows} | {r.valid_rows} | {r.epochs} | "
              f"{r.seconds:.1f} | {r.checkpoint} |" for r in results]
    return "\n".join(lines)


def step_train(ctx: Context) -> None:
    """Fit (or skip, or resume) every fold's models in turn; log a line per model and the summary table."""
    config, run = ctx.config, ctx.run
    if not config.transformer.enabled:
        run.log("train: disabled (transformer.enabled=false)")
        return
    fold = run_folds(ctx)
    run.pin("transformer")
    run.write_fold_tables(ctx.competition, fold)
    n_folds, n_seeds = int(fold.max()) + 1, config.transformer.n_seeds
    results = []
    for k in range(n_folds):
        for j in range(n_seeds):
            name = f"transformer fold {k + 1}/{n_folds}" + (f", seed {j + 1}/{n_seeds}" if n_seeds > 1 else "")
            done = run.read_done(k, j)
            if done is not None:
                results.append(FoldResult(**{**vars(done), "status": "skipped"}))
                run.log(f"{name}: already trained, skipped")
                continue
            start = time.perf_counter()
            seed = model_seed(config.seed, k, j, n_folds)
            paths = run.fold_model_paths(k, j)
            checkpoints = paths["checkpoints"]
            args = fit_args(ctx.plan.lightning, k=k, seed=seed, **paths)
            run.discard_fold_predictions(k, j)  # a model trained again predicts again
            with torch_threads(config.transformer.num_threads):
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    resume = readable_checkpoint(checkpoints)
                for warning in caught:  # an unreadable checkpoint, named: into run.log too
                    run.log(f"{name}: warning: {warning.message}")
                run.log(f"{name}: {f'resuming from {resume.name}' if resume else 'training'} on "
                        f"{int((fold != k).sum())} rows, validating on {int((fold == k).sum())}")
                cli = build(args)
                cli.trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=resume, weights_only=True)
            # transformer.checkpoint=best needs a monitor (checked before any work), so a best checkpoint exists.
            best = best_checkpoint(checkpoints) if config.transformer.checkpoint == "best" else None
            checkpoint = best or checkpoints / LAST_CHECKPOINT
            result = FoldResult(fold=k, seed=seed, status="resumed" if resume else "trained",
                                train_rows=int((fold != k).sum()), valid_rows=int((fold == k).sum()),
                                epochs=int(cli.trainer.current_epoch), seconds=round(time.perf_counter() - start, 1),
                                checkpoint=str(checkpoint.relative_to(paths["folder"])))
            run.write_done(k, j, result)
            results.append(result)
            run.log(f"{name}: done in {result.seconds:.1f} s")
    run.log("transformer folds:\n" + summary_table(results))

