"""Out-of-fold and test predictions of the fold models, and their fold ensemble.

Each fold model predicts, with the library's :class:`~imbalance_xfmr.data.ProbabilityWriter`, its own held-out
rows (``predict_split='validation'``) and the test set into its folder (:func:`fold_dir`; called by the training
step). :func:`gather_predictions` then assembles, in the layout of :func:`competition.baseline.probability_frame`,
with a fold's prediction the mean of its models' when ``transformer.n_seeds`` > 1:

- ``oof.csv``: id, fold, label, proba_<class>... for every train row, from the model that did not train on it;
- ``test_per_fold.csv``: id, fold, proba_<class>... each fold model's test probabilities, fold by fold;
- ``test.csv``: id, proba_<class>... the fold ensemble (:func:`ensemble`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pytorch_lightning as pl
from scipy.stats import rankdata

from competition.baseline import per_fold_probability_frame, probability_frame
from competition.context import Context
from competition.data import Competition
from competition.decision import MODEL_FILES, PER_FOLD_TEST_FILES, decide
from competition.errors import PipelineError
from competition.folds import run_folds
from competition.rundir import write_csv
from imbalance_xfmr.data import ProbabilityWriter, TextDataModule

FOLDS_DIR = "folds"
FOLD_OOF_FILE = "predictions_oof.csv"
FOLD_TEST_FILE = "predictions_test.csv"
OOF_FILE, TEST_FILE = MODEL_FILES["transformer"]
TEST_PER_FOLD_FILE = PER_FOLD_TEST_FILES["transformer"]


class PredictionError(PipelineError):
    """Fold predictions are missing or do not fit the competition; the message says which step to re-run."""


def fold_dir(run_path: Path, k: int, j: int = 0) -> Path:
    """The folder of fold ``k``'s model with seed index ``j`` (see ``transformer.n_seeds``): its checkpoints, logs
    and predictions. The first seed's is plain ``fold_k``, so a one-seed run has one folder per fold."""
    return run_path / FOLDS_DIR / (f"fold_{k}" if j == 0 else f"fold_{k}_seed_{j}")


def label_codes(n_classes: int) -> list[str]:
    """Label codes ``c0, c1, ...`` (zero-padded so that string order is class order), one per class: what the
    fold models see instead of the competition's labels (see :mod:`competition.train`)."""
    width = len(str(n_classes - 1))
    return [f"c{j:0{width}d}" for j in range(n_classes)]


def predict_with_checkpoint(trainer: pl.Trainer, model: pl.LightningModule, data_args: dict[str, Any],
                            checkpoint: Path, split: Literal["validation", "test"], output: Path) -> None:
    """Write ``checkpoint``'s class probabilities on ``split`` to the CSV ``output`` (row id, one column per class).

    The DataModule is built from the fold's data arguments with ``checkpoint_path`` set, so it takes tokenizer and
    label encoding from the checkpoint and fits nothing; the weights load with ``weights_only=True``.
    """
    writers = [callback for callback in trainer.callbacks if isinstance(callback, ProbabilityWriter)]
    if len(writers) != 1:
        raise PredictionError(f"the fold Trainer has {len(writers)} ProbabilityWriter callbacks, expected one (the "
                              "imbalance-xfmr CLI adds it)")
    writers[0].output_path = str(output)
    writers[0].overwrite = True  # the run folder (RunDir) decides what may be replaced, not the callback
    datamodule = TextDataModule(**{**data_args, "predict_split": split, "checkpoint_path": str(checkpoint)})
    trainer.predict(model, datamodule=datamodule, ckpt_path=str(checkpoint), weights_only=True,
                    return_predictions=False)


def read_fold_predictions(path: Path, n_classes: int) -> pd.DataFrame:
    """A fold's prediction CSV as a frame indexed by row position, one float64 column per class code (n, C)."""
    if not path.is_file():
        raise PredictionError(f"{path} is missing; delete {path.parent / 'done.json'} if it is there and re-run the "
                              "train step (it predicts each fold after fitting it)")
    frame = pd.read_csv(path, keep_default_na=False, index_col=0)
    codes = label_codes(n_classes)
    if list(frame.columns) != codes:
        raise PredictionError(f"{path} has class columns {list(frame.columns)}, expected the label codes {codes}; "
                              f"delete {path.parent} and re-run the train step")
    return frame.astype(np.float64)


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


def gather_predictions(run_path: Path, competition: Competition, fold: np.ndarray,
                       method: Literal["mean", "rank"] = "mean", n_seeds: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Assemble the fold predictions under ``run_path/folds/`` into ``oof.csv``, ``test_per_fold.csv`` and
    ``test.csv``; return (oof (n_train, C), test (n_test, C)) float64. A fold with ``n_seeds`` models predicts the
    mean of their probabilities."""
    n_classes, n_folds = len(competition.classes), int(fold.max()) + 1
    oof = np.zeros((len(fold), n_classes))
    test_per_fold = np.zeros((n_folds, len(competition.test), n_classes))
    for k in range(n_folds):
        expected = np.flatnonzero(fold == k)
        for j in range(n_seeds):
            folder = fold_dir(run_path, k, j)
            held_out = read_fold_predictions(folder / FOLD_OOF_FILE, n_classes)
            if not np.array_equal(np.sort(held_out.index.to_numpy()), expected):
                raise PredictionError(f"{folder / FOLD_OOF_FILE} does not cover fold {k}'s rows of folds.csv; delete "
                                      f"{folder} and re-run the train step")
            oof[held_out.index.to_numpy()] += held_out.to_numpy() / n_seeds
            test = read_fold_predictions(folder / FOLD_TEST_FILE, n_classes)
            if not np.array_equal(test.index.to_numpy(), np.arange(len(competition.test))):
                raise PredictionError(f"{folder / FOLD_TEST_FILE} does not hold one row per test row, in order; "
                                      f"delete {folder} and re-run the train step")
            test_per_fold[k] += test.to_numpy() / n_seeds
    test = ensemble(test_per_fold, method)
    classes = competition.classes
    train_ids, test_ids = competition.train_ids, competition.test_ids
    write_csv(run_path / OOF_FILE, probability_frame(train_ids, oof, classes, fold=fold,
                                                     label=competition.train_labels))
    write_csv(run_path / TEST_PER_FOLD_FILE, per_fold_probability_frame(test_ids, test_per_fold, classes))
    write_csv(run_path / TEST_FILE, probability_frame(test_ids, test, classes))
    return oof, test


def step_predict(ctx: Context) -> None:
    """The ``predict`` step: assemble the fold models' predictions (when the Transformer is enabled), then tune
    every model's decision rule and the blend (:func:`competition.decision.decide`)."""
    if ctx.config.transformer.enabled:
        gather_predictions(ctx.run.path, ctx.competition, run_folds(ctx), ctx.config.submission.ensembling,
                           ctx.config.transformer.n_seeds)
        ctx.run.log(f"predict: wrote {OOF_FILE}, {TEST_FILE} ({ctx.config.submission.ensembling} of the folds) and "
                    f"{TEST_PER_FOLD_FILE}")
    decide(ctx.run.path, ctx.competition, ctx.config, ctx.run.log)
