"""The run folder's layout: the name of every file and folder a run writes, the column names of the pipeline's own
tables, and where each training lives. One place, so that no other module spells a file name; the reading and
writing of what these names hold is :mod:`competition.run_folder`'s.

Layout, in the order the steps write it::

    manifest.json, run.log          the run: config, versions, data hashes, history; the log of every step
    folds.csv                       folds:    id, fold
    baseline_oof.csv                baseline: id, fold, label, proba_<class>...  (out of fold)
    baseline_test_per_fold.csv                id, fold, proba_<class>...  (each fold model on test, fold 0 first)
    baseline_test.csv                         id, proba_<class>...  (the fold ensemble)
    folds/train.csv, folds/test.csv train:    the tables the fold models read (id, text, label, fold / id, text)
    pretrain/                       pretrain: checkpoints/ (last.ckpt: the encoder and the run's tokenizer),
                                              logs/version_<attempt>/metrics.csv (the loss curve), done.json;
                                              seed_<p>/ likewise, pretraining p's (pretrain.n_seeds > 1)
    folds/fold_<k>[_seed_<j>]/                one fold model: checkpoints/, logs/, done.json (train),
                                              predictions_oof.csv and predictions_test.csv (predict)
    oof.csv, test_per_fold.csv, test.csv      predict: the Transformer's, laid out like the baseline's
    decision.json, blend.json                 decide: {model: rule}; the blend's weight and its grid
    blend_oof.csv, blend_test_per_fold.csv, blend_test.csv
    submission.csv                  submit
    report/                         report: report.md, report.html, report.json, PNGs
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from imbalance_xfmr.training import LAST_CHECKPOINT

Model = Literal["transformer", "baseline", "blend"]
MODELS: tuple[Model, ...] = ("transformer", "baseline", "blend")
# model -> the step that writes its probability files
WRITTEN_BY: dict[str, str] = {"transformer": "predict", "baseline": "baseline", "blend": "decide"}
_PREFIX = {"transformer": "", "baseline": "baseline_", "blend": "blend_"}

MANIFEST = "manifest.json"
LOG = "run.log"
LOCK = ".lock"
FORMAT = "imbalance-xfmr run folder"
FOLDS = "folds.csv"
FOLD_MODELS = "folds"
PRETRAIN = "pretrain"
FOLD_TRAIN_TABLE, FOLD_TEST_TABLE = "train.csv", "test.csv"
CHECKPOINTS = "checkpoints"
LOGS = "logs"  # a fold model's logger name: its logs go to <fold model>/logs/version_<attempt>/
DONE = "done.json"
FIT_CONFIG = "fit_config.yaml"  # a distributed fold model's `imbalance-xfmr fit` config, run as a command
FOLD_PREDICTIONS = {"validation": "predictions_oof.csv", "test": "predictions_test.csv"}
DECISIONS = "decision.json"
BLEND = "blend.json"
SUBMISSION = "submission.csv"
REPORT = "report"
REPORT_FILES = ("report.md", "report.html", "report.json")  # and the PNGs the manifest's report_images names
# Column names of the fold tables (the pipeline's own files, whatever the competition calls its columns).
ID, TEXT, LABEL, FOLD = "id", "text", "label", "fold"
# Distribution names whose versions the manifest records (python is added from the interpreter).
PACKAGES = ("torch", "pytorch-lightning", "scikit-learn", "imbalanced-learn", "numpy", "pandas", "tokenizers",
            "jsonargparse", "imbalance-xfmr")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def probability_files(model: str) -> dict[str, str]:
    """``{"oof": ..., "test_per_fold": ..., "test": ...}``: the file names of ``model``'s probabilities."""
    prefix = _PREFIX[model]
    return {"oof": f"{prefix}oof.csv", "test_per_fold": f"{prefix}test_per_fold.csv", "test": f"{prefix}test.csv"}


def fold_model_paths(run_path: str | Path, k: int = 0, j: int = 0) -> dict[str, Any]:
    """Where fold ``k``'s model with seed index ``j`` lives in the run folder ``run_path``: ``"tables"`` (the train
    and test tables the fold models read), ``"folder"``, ``"checkpoints"`` and ``"logs"`` (the logger's name inside
    the folder); also for checking a config before the folder is opened."""
    folds = Path(run_path) / FOLD_MODELS
    folder = folds / (f"fold_{k}" if j == 0 else f"fold_{k}_seed_{j}")
    return {"tables": (folds / FOLD_TRAIN_TABLE, folds / FOLD_TEST_TABLE), "folder": folder,
            "checkpoints": folder / CHECKPOINTS, "logs": LOGS}


def pretrain_paths(run_path: str | Path, p: int = 0) -> dict[str, Any]:
    """Where the run's self-pretraining with seed index ``p`` (``pretrain.n_seeds``) lives in the run folder
    ``run_path``: ``"tables"`` (the texts it reads: the fold models' tables), ``"folder"``, ``"checkpoints"``,
    ``"logs"`` (the logger's name) and ``"checkpoint"`` (``last.ckpt``, what the fold models start from and take
    their tokenizer from). The first's folder is ``pretrain``, the others' ``pretrain/seed_<p>``."""
    folder = Path(run_path) / PRETRAIN
    if p > 0:
        folder = folder / f"seed_{p}"
    return {"tables": fold_model_paths(run_path)["tables"], "folder": folder, "checkpoints": folder / CHECKPOINTS,
            "logs": LOGS, "checkpoint": folder / CHECKPOINTS / LAST_CHECKPOINT}


# Every top-level name this layout writes: what --overwrite may delete (the lock stays: it is held meanwhile).
LAYOUT = (MANIFEST, LOG, FOLDS, FOLD_MODELS, PRETRAIN, DECISIONS, BLEND, SUBMISSION, REPORT,
          *(name for model in MODELS for name in probability_files(model).values()))


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
