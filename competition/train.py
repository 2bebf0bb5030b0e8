"""Train one Transformer per fold with the same Lightning code as ``imbalance-xfmr fit``.

Each fold's DataModule, model and Trainer are built by :class:`imbalance_xfmr.cli.ImbalanceXfmrCLI` from the
``transformer.lightning_config`` YAML (with ``transformer.data`` / ``.model`` / ``.trainer`` merged over it), so a
fold model is exactly what ``imbalance-xfmr fit --config <that yaml> --data.fold_column fold --data.val_fold k``
would train. What the pipeline sets on top:

- The data: ``<run>/folds/train.csv`` (row, text, label, fold) and ``<run>/folds/test.csv`` (row, text), written
  from the validated competition. Labels are stored as codes ``c0, c1, ...`` in the order of
  ``Competition.classes`` and ids as row positions, because the DataModule reads CSVs with type inference: ``"007"``
  or ``"10"`` would come back as numbers and sort differently from the competition's string classes.
- Where things go: fold ``k``'s ``checkpoints/`` (``last.ckpt``, every epoch, and ``best-*.ckpt``, see
  :func:`checkpoint_callbacks`), its predictions and ``done.json`` live in ``<run>/folds/fold_k/``; its logs,
  ``config.yaml``, tokenizer and labels in ``<run>/folds/fold_k/logs/version_<attempt>/``.
- Seeds: with ``transformer.n_seeds`` J > 1 each fold has J models, in ``fold_k`` and ``fold_k_seed_j``
  (j = 1..J-1), whose probabilities :mod:`competition.predict` averages.
- Reproducibility: ``seed_everything`` is ``seed + k`` (``+ j * K`` for seed index j, see :func:`model_seed`);
  ``trainer.deterministic`` defaults to True; and
  :class:`BatchSeed` reseeds torch before every training batch, so a fold resumed from ``last.ckpt`` after a kill
  trains exactly as if it had never stopped (Lightning restores weights, optimizer and schedule, but not RNGs).
- Resume: a fold whose ``done.json`` exists is skipped; otherwise training continues from its ``last.ckpt`` when
  there is one. ``done.json`` is written (atomically) only after the fold's predictions are on disk.
"""

from __future__ import annotations

import copy
import json
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytorch_lightning as pl
import torch
import yaml
from pytorch_lightning.callbacks import ModelCheckpoint

from competition.config import PipelineConfig
from competition.context import Context
from competition.data import Competition
from competition.decision import check_metric, positive_class
from competition.errors import PipelineError
from competition.folds import run_folds
from competition.predict import (
    FOLD_OOF_FILE,
    FOLD_TEST_FILE,
    FOLDS_DIR,
    fold_dir,
    label_codes,
    predict_with_checkpoint,
    read_fold_predictions,
)
from competition.rundir import write_csv, write_json
from competition.submit import check_source
from imbalance_xfmr.cli import ImbalanceXfmrCLI, make_cli
from imbalance_xfmr.metrics import f1_score
from imbalance_xfmr.model.classifier import TextClassifier, every_epoch_checkpoint

TRAIN_TABLE = "train.csv"
TEST_TABLE = "test.csv"
DONE_FILE = "done.json"
FOLD_CONFIG_FILE = "lightning_config.json"
CHECKPOINTS = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"
# Column names of the fold tables the DataModule reads.
ROW, TEXT, LABEL, FOLD = "row", "text", "label", "fold"


class TrainingConfigError(PipelineError):
    """The transformer section cannot train fold models; the message says which key to change."""


def write_fold_tables(run_path: Path, competition: Competition, fold: np.ndarray) -> tuple[Path, Path]:
    """Write the tables the fold DataModules read (see the module docstring); return (train path, test path).

    Rewritten on every call: the bytes depend only on the competition and the folds, so a rerun leaves them equal.
    """
    folder = run_path / FOLDS_DIR
    folder.mkdir(exist_ok=True)
    codes = np.asarray(label_codes(len(competition.classes)), dtype=object)
    train = pd.DataFrame({ROW: np.arange(len(fold)), TEXT: competition.train_texts,
                          LABEL: codes[np.searchsorted(competition.classes, competition.train_labels)], FOLD: fold})
    test = pd.DataFrame({ROW: np.arange(len(competition.test)), TEXT: competition.test_texts})
    paths = folder / TRAIN_TABLE, folder / TEST_TABLE
    write_csv(paths[0], train)
    write_csv(paths[1], test)
    return paths


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, recursively for nested dicts (neither argument is modified)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def user_lightning_config(config: PipelineConfig) -> dict[str, Any]:
    """The transformer YAML with ``transformer.data`` / ``.model`` / ``.trainer`` merged over it (and
    ``trainer.deterministic`` defaulting to True): the part of a fold's config that the user chooses."""
    section = config.transformer
    if section.lightning_config is None:
        raise TrainingConfigError("transformer.lightning_config is not set: point it at an `imbalance-xfmr fit` "
                                  "YAML (e.g. competition/configs/demo_binary.yaml), or set transformer.enabled=false")
    path = Path(section.lightning_config)
    if not path.is_file():
        raise TrainingConfigError(f"transformer.lightning_config {str(path)!r} is not a file (working directory "
                                  f"{Path.cwd()}); give a path to an `imbalance-xfmr fit` YAML")
    base = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    merged = _merge(base, {"data": section.data, "model": section.model, "trainer": section.trainer})
    merged["trainer"].setdefault("deterministic", True)
    return merged


def model_seed(config: PipelineConfig, k: int, j: int, n_folds: int) -> int:
    """The training seed of fold ``k``'s model with seed index ``j``: ``seed + k`` for the first (so that adding
    seeds leaves it as it was), then ``seed + k + j * n_folds``, a different seed for every model of the run."""
    return config.seed + k + j * n_folds


def lightning_config(config: PipelineConfig, k: int, tables: tuple[Path, Path], folder: Path,
                     seed: int) -> dict[str, Any]:
    """The ``imbalance-xfmr`` config (as a dict) of fold ``k``'s model trained with ``seed``:
    :func:`user_lightning_config` and the keys the pipeline owns (data files and columns, fold, seed, output
    folder, logger)."""
    train_table, test_table = tables
    return _merge(user_lightning_config(config), {
        "seed_everything": seed,
        "data": {"train_path": str(train_table), "test_path": str(test_table), "id_column": ROW, "text_column": TEXT,
                 "label_column": LABEL, "fold_column": FOLD, "val_fold": k, "predict_split": "test",
                 "checkpoint_path": None},
        "trainer": {"default_root_dir": str(folder),
                    # logs/version_0, then version_1 after a resume...: each attempt keeps its own metrics.csv.
                    "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger",
                               "init_args": {"save_dir": str(folder), "name": "logs"}}},
        "prediction_writer": {"output_path": str(folder / FOLD_TEST_FILE), "overwrite": True},
    })


def build_cli(args: dict[str, Any]) -> ImbalanceXfmrCLI:
    """DataModule, model and Trainer of ``imbalance-xfmr fit`` for the config ``args``, without running anything."""
    with warnings.catch_warnings():
        # LightningCLI warns that sys.argv (here `python -m competition ...`) is ignored in favour of `args`: intended.
        warnings.filterwarnings("ignore", message="LightningCLI's args parameter")
        # A resumed fold rewrites the same config.yaml.
        return make_cli(args, run=False, save_config_kwargs={"overwrite": True})


class BatchSeed(pl.Callback):
    """Reseed torch from (seed, epoch, batch index) before every training batch.

    Each batch's randomness (dropout) then depends on those three numbers only, so a fold resumed from an
    epoch-end checkpoint trains the remaining epochs bit for bit as an uninterrupted run would (Lightning restores
    weights, optimizer and schedule, not random states, and a resumed fit draws from the global generator in
    other places, e.g. for its sanity-check DataLoader iterators).
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        state = np.random.SeedSequence([self.seed, trainer.current_epoch, batch_idx]).generate_state(1)
        torch.manual_seed(int(state[0]))


def checkpoint_callbacks(model: TextClassifier, folder: Path) -> list[ModelCheckpoint]:
    """The model's checkpoints (``last.ckpt`` every epoch and, with a ``checkpoint_monitor``, the best epoch's
    ``best-*.ckpt``: see :meth:`TextClassifier.configure_callbacks`) written to ``folder``, where a resumed attempt
    finds them, instead of the logger's per-attempt folder.

    The Trainer holds them from now on: the model's ``checkpoint_monitor`` is cleared (which the fold checkpoints
    record) so that ``fit`` does not replace them with fresh ones from ``configure_callbacks``.
    """
    callbacks = model.configure_callbacks() or [every_epoch_checkpoint()]
    for callback in callbacks:
        callback.dirpath = str(folder)
    model.hparams.checkpoint_monitor = None
    return callbacks


@dataclass
class FoldResult:
    """One fold model's line of the summary table (also saved as its ``done.json``)."""

    fold: int
    status: str  # "trained", "resumed" or "skipped" (done in an earlier invocation)
    train_rows: int
    valid_rows: int
    epochs: int
    seconds: float
    oof_f1_macro: float
    checkpoint: str
    seed: int | None = None  # training seed; None in done.json files written before transformer.n_seeds existed


def _checkpoint_to_predict(folder: Path, which: str) -> Path:
    checkpoints = folder / CHECKPOINTS
    if which == "last":
        return checkpoints / LAST_CHECKPOINT
    best = sorted(checkpoints.glob("best-*.ckpt"))
    if len(best) != 1:
        raise TrainingConfigError(f"{checkpoints} holds {len(best)} best-*.ckpt files, expected one (none when "
                                  "model.checkpoint_monitor is null); set transformer.checkpoint=last, or delete "
                                  "the fold folder to retrain it")
    return best[0]


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (None: leave the setting alone), then restore it."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_fold(config: PipelineConfig, competition: Competition, k: int, tables: tuple[Path, Path],
               folder: Path, seed: int) -> FoldResult:
    """Fit a model of fold ``k`` with ``seed`` in ``folder`` (resuming from its ``last.ckpt`` if there is one),
    predict the fold's held-out rows and the test set with the chosen checkpoint, and write ``done.json``."""
    with torch_threads(config.transformer.num_threads):
        return _train_fold(config, competition, k, tables, folder, seed)


def _train_fold(config: PipelineConfig, competition: Competition, k: int, tables: tuple[Path, Path],
                folder: Path, seed: int) -> FoldResult:
    start = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    args = lightning_config(config, k, tables, folder, seed)
    cli = build_cli(args)
    trainer = cli.trainer
    # The pipeline owns checkpointing: the Trainer's default ModelCheckpoint (or one from the YAML) would write
    # more files under logs/ that nothing reads.
    trainer.callbacks = [callback for callback in trainer.callbacks if not isinstance(callback, ModelCheckpoint)]
    trainer.callbacks.extend([*checkpoint_callbacks(cli.model, folder / CHECKPOINTS),
                              BatchSeed(args["seed_everything"])])
    last = folder / CHECKPOINTS / LAST_CHECKPOINT
    resumed = last.is_file()
    trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=str(last) if resumed else None, weights_only=True)

    checkpoint = _checkpoint_to_predict(folder, config.transformer.checkpoint)
    data_args = cli.config.data.as_dict()
    for split, name in (("validation", FOLD_OOF_FILE), ("test", FOLD_TEST_FILE)):
        predict_with_checkpoint(trainer, cli.model, data_args, checkpoint, split, folder / name)
    oof = read_fold_predictions(folder / FOLD_OOF_FILE, len(competition.classes))
    labels = pd.read_csv(tables[0], usecols=[ROW, LABEL], keep_default_na=False).set_index(ROW)[LABEL]
    true_codes = np.searchsorted(label_codes(len(competition.classes)), labels.loc[oof.index].to_numpy())
    result = FoldResult(
        fold=k, status="resumed" if resumed else "trained", train_rows=len(labels) - len(oof), valid_rows=len(oof),
        epochs=int(trainer.current_epoch), seconds=round(time.perf_counter() - start, 1),
        oof_f1_macro=float(f1_score(true_codes, oof.to_numpy().argmax(axis=1), average="macro",
                                    labels=np.arange(len(competition.classes)))),
        checkpoint=str(checkpoint.relative_to(folder)), seed=seed)
    write_json(folder / DONE_FILE, vars(result))
    return result


def check_fold_config(folder: Path, user_config: dict[str, Any]) -> None:
    """Record ``user_config`` in the fold's ``lightning_config.json``, or check it equals the recorded one.

    The run folder's manifest compares the transformer section of the pipeline config, which names the YAML
    file; this catches an edit of the YAML itself, which would otherwise mix models of two configs in one run.
    """
    path = folder / FOLD_CONFIG_FILE
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        write_json(path, user_config)
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved != user_config:
        before, after = _flatten(saved), _flatten(user_config)
        changed = [f"{key}: {before.get(key)!r} -> {after.get(key)!r}" for key in sorted(before.keys() | after.keys())
                   if before.get(key) != after.get(key)]
        raise TrainingConfigError(f"{folder} was trained with another transformer config ({path}): "
                                  f"{'; '.join(changed)}. Use another --output, or --overwrite to start the run again")


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict with dotted keys."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def summary_table(results: Sequence[FoldResult]) -> str:
    """The per-model summary as a Markdown table (argmax macro-F1 on each fold's held-out rows)."""
    lines = ["| fold | seed | status | train rows | valid rows | epochs | seconds | OOF macro-F1 (argmax) "
             "| checkpoint |", "|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    lines += [f"| {r.fold} | {'' if r.seed is None else r.seed} | {r.status} | {r.train_rows} | {r.valid_rows} | "
              f"{r.epochs} | {r.seconds:.1f} | {r.oof_f1_macro:.4f} | {r.checkpoint} |" for r in results]
    return "\n".join(lines)


def train_folds(config: PipelineConfig, competition: Competition, run_path: Path, fold: np.ndarray,
                log: Callable[[str], None]) -> list[FoldResult]:
    """Train (or skip, or resume) every fold's ``transformer.n_seeds`` models in turn; ``fold`` is folds.csv's fold
    of each train row (n_train,).

    ``log`` gets an overall "fold k/K" line before each model and the summary table at the end.
    """
    tables = write_fold_tables(run_path, competition, fold)
    n_folds, n_seeds = int(fold.max()) + 1, config.transformer.n_seeds
    user_config = json.loads(json.dumps(user_lightning_config(config), sort_keys=True))  # as saved in JSON
    results = []
    for k in range(n_folds):
        for j in range(n_seeds):
            folder = fold_dir(run_path, k, j)
            name = f"transformer fold {k + 1}/{n_folds}" + (f", seed {j + 1}/{n_seeds}" if n_seeds > 1 else "")
            check_fold_config(folder, user_config)
            done = folder / DONE_FILE
            if done.is_file():
                result = FoldResult(**{**json.loads(done.read_text(encoding="utf-8")), "status": "skipped"})
                log(f"{name}: already trained ({done}), skipped")
            else:
                resuming = (folder / CHECKPOINTS / LAST_CHECKPOINT).is_file()
                log(f"{name}: {'resuming from last.ckpt' if resuming else 'training'} on {int((fold != k).sum())} "
                    f"rows, validating on {int((fold == k).sum())}")
                result = train_fold(config, competition, k, tables, folder, model_seed(config, k, j, n_folds))
                log(f"{name}: done in {result.seconds:.1f} s, OOF macro-F1 (argmax) {result.oof_f1_macro:.4f}")
            results.append(result)
    log("transformer folds:\n" + summary_table(results))
    return results


def step_train(ctx: Context) -> None:
    """The ``train`` step: :func:`train_folds` on the run's folds.csv (nothing when the Transformer is disabled)."""
    config = ctx.config
    if not config.transformer.enabled:
        ctx.run.log("train: disabled (transformer.enabled=false)")
        return
    if config.transformer.n_seeds < 1:
        raise TrainingConfigError(f"transformer.n_seeds must be a positive integer (models per fold), got "
                                  f"{config.transformer.n_seeds}")
    # Fail now rather than after the last fold.
    check_source(config)
    classes = ctx.competition.classes
    check_metric(config.threshold.metric, len(classes))
    if len(classes) == 2:
        positive_class(classes, ctx.competition.train_labels, config.threshold.positive_class)
    train_folds(config, ctx.competition, ctx.run.path, run_folds(ctx), ctx.run.log)
