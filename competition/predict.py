"""The ``predict`` step: each fold model predicts its held-out rows and the test rows, and the run's Transformer
probabilities are assembled from them.

Each trained fold model (``done.json``) predicts as ``imbalance-xfmr predict`` would, from its chosen checkpoint
(:func:`competition.fold_models.predict_args`: the tokenizer and labels come from the checkpoint, the weights load
with ``weights_only=True``); a model whose predictions are there is not run again. Then, with a fold's prediction
the mean of its models' when ``transformer.n_seeds`` > 1:

- out of fold: every train row from the fold model that did not train on it;
- per fold on test: each fold's test probabilities, fold by fold;
- test: the fold ensemble (:func:`ensemble`, ``submission.ensembling``).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy.stats import rankdata

from competition.context import Context
from competition.errors import PipelineError
from competition.fold_models import build, predict_args, saved_encoder_config, torch_threads
from imbalance_xfmr.metrics import f1_score


class PredictionError(PipelineError):
    """A fold model cannot predict yet; the message says which step to run."""


def ensemble(per_fold: np.ndarray, method: Literal["mean", "rank"] = "mean") -> np.ndarray:
    """Combine the fold models' test probabilities, shape (K, n, C), into one (n, C) float64 matrix.

    ``mean``: the mean of the probabilities. ``rank``: for each class, the mean over folds of each row's
    normalised rank ((average rank) / n), mapped back onto the probability scale through the quantiles of the
    pooled fold probabilities of that class, then each row divided by its sum. The ordering of each column is
    that of the rank average (immune to one fold's miscalibrated scale), while the values stay comparable to
    out-of-fold probabilities, so a threshold tuned on those still applies.
    """
    per_fold = np.asarray(per_fold, dtype=np.float64)
    if per_fold.ndim != 3:
        raise ValueError(f"per_fold must have shape (n_folds, n_rows, n_classes), got {per_fold.shape}")
    if method == "mean":
        return per_fold.mean(axis=0)
    if method != "rank":
        raise ValueError(f"method must be 'mean' or 'rank', got {method!r}")
    _, n_rows, n_classes = per_fold.shape
    mean_rank = (rankdata(per_fold, axis=1) / n_rows).mean(axis=0)  # (n, C) in (0, 1]
    pooled = np.sort(per_fold.transpose(2, 0, 1).reshape(n_classes, -1), axis=1)  # (C, K*n)
    # The value at quantile q of the pooled sample, by the same interpolation as np.quantile (linear).
    position = mean_rank.T * (pooled.shape[1] - 1)  # (C, n)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, pooled.shape[1] - 1)
    rows = np.arange(n_classes)[:, None]
    mapped = pooled[rows, below] + (position - below) * (pooled[rows, above] - pooled[rows, below])  # (C, n)
    totals = mapped.sum(axis=0)
    return np.divide(mapped, totals, out=np.full_like(mapped, 1.0 / n_classes), where=totals > 0).T


def predictions_done(ctx: Context) -> bool:
    """Whether the Transformer's probabilities are in the run folder, and every fold model's predictions they are
    made of (a fold model trained again has discarded its own)."""
    return ctx.run.has_probabilities("transformer") and all(
        ctx.run.fold_prediction_file(k, j, split).is_file() for k in range(ctx.config.folds.n_splits)
        for j in range(ctx.config.transformer.n_seeds) for split in ("validation", "test"))


def step_predict(ctx: Context) -> None:
    """Predict with every fold model that has not predicted yet, then write the Transformer's out-of-fold,
    per-fold test and ensembled test probabilities; log each model's out-of-fold macro-F1 at the argmax."""
    config, run, competition = ctx.config, ctx.run, ctx.competition
    fold = ctx.folds()
    classes, n_folds, n_seeds = competition.classes, config.folds.n_splits, config.transformer.n_seeds
    oof = np.zeros((len(fold), len(classes)))
    test_per_fold = np.zeros((n_folds, len(competition.test), len(classes)))
    lines = ["| fold | seed | OOF macro-F1 (argmax) |", "|---:|---:|---:|"]
    for k in range(n_folds):
        held_out = np.flatnonzero(fold == k)
        for j in range(n_seeds):
            done = run.read_done(k, j)
            if done is None:
                raise PredictionError(f"fold {k}'s model (seed index {j}) is not trained; run the train step first")
            folder = run.fold_model_dir(k, j)
            outputs = {split: run.fold_prediction_file(k, j, split) for split in ("validation", "test")}
            if not all(path.is_file() for path in outputs.values()):
                _, fit = ctx.plan.fold_model(k, j)
                checkpoint = folder / done.checkpoint
                encoder_config = saved_encoder_config(checkpoint)
                with torch_threads(config.transformer.num_threads):
                    for split, output in outputs.items():
                        cli = build(predict_args(fit, checkpoint, split, output, encoder_config))
                        cli.trainer.predict(cli.model, datamodule=cli.datamodule, ckpt_path=str(checkpoint),
                                            weights_only=True, return_predictions=False)
            model_oof = run.read_fold_predictions(k, j, "validation", competition, competition.train_ids[held_out])
            oof[held_out] += model_oof / n_seeds
            test_per_fold[k] += run.read_fold_predictions(k, j, "test", competition, competition.test_ids) / n_seeds
            score = f1_score(competition.train_labels[held_out], classes[model_oof.argmax(axis=1)], average="macro",
                             labels=classes)
            lines.append(f"| {k} | {done.seed} | {score:.4f} |")
    run.write_probabilities("transformer", competition, fold, oof, test_per_fold,
                            ensemble(test_per_fold, config.submission.ensembling))
    run.log("predict: fold models' out-of-fold scores:\n" + "\n".join(lines), detail=True)
    run.log(f"predict: wrote the Transformer's out-of-fold and test probabilities ({config.submission.ensembling} "
            "of the folds on test)")
