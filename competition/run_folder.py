"""The run folder: its layout, its lock and manifest, and the typed read and write of every artifact in it.

``--output DIR`` is the run folder, laid out as :mod:`competition.layout` says. This module is the only one that
parses a file in it; every other module asks :class:`RunFolder` for an artifact by what it is (the folds, a model's
out-of-fold probabilities, the decision rules...).

Every file is written atomically (:mod:`imbalance_xfmr.data.io`). Every reader checks that what it reads fits the
competition and raises :class:`RunFolderError` naming the step to re-run.

Reopening: :meth:`RunFolder.open` takes an exclusive lock (a second run into the same folder is refused, naming
the holder), then reopens a folder only when every artifact group already produced (folds, baseline, Transformer)
was produced under the config and data the current run would use for it (its *pin*); a step pins its group just
before it writes the group's first file, so a folder pins only what it actually holds. ``--overwrite`` deletes the
files of this layout, never anything else, and only in a folder whose manifest is one of ours.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import filelock
import numpy as np
import pandas as pd
import torch
import yaml

from competition.data import Competition, compare_ids
from competition.errors import PipelineError
from competition.layout import (
    BLEND,
    CHECKPOINTS,
    DECISIONS,
    DONE,
    FIT_CONFIG,
    FOLD,
    FOLDS,
    FOLD_MODELS,
    FOLD_PREDICTIONS,
    FOLD_TEST_TABLE,
    FOLD_TRAIN_TABLE,
    FORMAT,
    ID,
    LABEL,
    LAYOUT,
    LOCK,
    LOG,
    LOGS,
    MANIFEST,
    MODELS,
    PACKAGES,
    PRETRAIN,
    PROJECT_ROOT,
    REPORT,
    REPORT_FILES,
    SUBMISSION,
    TEXT,
    WRITTEN_BY,
    fold_model_paths,
    pretrain_paths,
    probability_files,
)
from competition.progress import echo
from competition.rules import DecisionRule, StrengthCheck
from imbalance_xfmr.data.io import write_bytes, write_csv, write_json, write_text

# The scores report.json holds for every model (its "overall" and per-fold tables), in column order, with their
# display names: written by the report step, read by `compare`.
REPORT_METRICS = {
    "macro_f1": "macro-F1",
    "minority_f1": "minority F1",
    "pr_auc": "PR-AUC",
    "roc_auc": "ROC-AUC",
    "balanced_accuracy": "balanced acc.",
    "mcc": "MCC",
    "g_mean": "G-mean",
}


class RunFolderError(PipelineError):
    """The run folder cannot be used as asked, or an artifact in it is missing or does not fit the competition;
    the message says which flag, folder or step to use instead."""


def _missing(path: Path, step: str) -> RunFolderError:
    return RunFolderError(f"{path} is missing; run the {step} step (or `run`), which writes it")


def _unfit(path: Path, problem: str, step: str) -> RunFolderError:
    return RunFolderError(f"{path} does not fit this competition ({problem}); re-run the {step} step")


@dataclass
class FoldResult:
    """One fold model's training record: its ``done.json`` (written by the train step once the fit is over)."""

    fold: int
    seed: int
    status: str  # "trained", "resumed" (from a checkpoint of an earlier attempt) or "skipped" (done before)
    train_rows: int
    valid_rows: int
    epochs: int
    seconds: float
    checkpoint: str  # the checkpoint that predicts, relative to the fold model's folder


@dataclass(frozen=True)
class PretrainResult:
    """The self-pretraining's record: its ``done.json`` (written by the pretrain step once the fit is over)."""

    status: str  # "trained", "resumed" or "skipped", as for FoldResult
    steps: int
    epochs: int
    seconds: float


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when one is not installed), and python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_kind() -> str:
    """What a run's float results depend on besides the package versions: the instruction set torch's CPU kernels
    use (``AVX512``, ``AVX2``, ...), the CPU's model, and a short hash of its instruction-set flags, from Linux's
    /proc/cpuinfo (elsewhere ``platform.processor()``, and the hash of no flags). Runs on two CPUs of one kind give
    the same bytes; on two kinds, probabilities that differ in their last digits, or more after long trainings."""
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text(errors="replace").splitlines() if cpuinfo.exists() else []
    fields: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break  # the first processor's fields
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    model = fields.get("model name") or platform.processor() or platform.machine()
    flags = hashlib.sha256(" ".join(sorted(fields.get("flags", "").split())).encode()).hexdigest()[:12]
    return f"{torch.backends.cpu.get_cpu_capability()}, {model}, flags {flags}"


def git_state(root: str | Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` for the git checkout holding ``root``, or None outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return None


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one dict with dotted keys (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``); an empty mapping is
    kept as a value."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    """``value`` as JSON stores it (tuples become lists, paths strings), so saved and new values compare equal."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _is_ours(manifest: Any) -> bool:
    return isinstance(manifest, dict) and (manifest.get("format") == FORMAT
                                           or {"config", "data", "history"} <= set(manifest))


def _read_manifest(path: Path, advice: str) -> dict[str, Any]:
    """The run manifest at ``path``; :class:`RunFolderError` ending in ``advice`` when it is missing, unreadable or
    not an imbalance-xfmr run's."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunFolderError(f"{path} is missing or unreadable ({err}); {advice}") from err
    if not _is_ours(manifest):
        raise RunFolderError(f"{path} is not the manifest of an imbalance-xfmr run, so {path.parent} is not a run "
                             f"folder; {advice}")
    return manifest


class RunFolder:
    """An open, locked run folder. Use :meth:`open`, then ``with run:`` around the work: the manifest records the
    outcome of this invocation and the lock is released."""

    def __init__(self, path: Path, manifest: dict[str, Any], pins: Mapping[str, Any], lock: filelock.BaseFileLock):
        self.path = path
        self.manifest = manifest
        self._pins = pins
        self._lock = lock

    # ------------------------------------------------------------------------------------ opening and the manifest

    @classmethod
    def open(cls, path: str | Path, config: Mapping[str, Any], data: Mapping[str, Mapping[str, str]],
             pins: Mapping[str, Any], *, command: str, overwrite: bool = False, wait: float = 0) -> "RunFolder":
        """Lock and open the run folder ``path`` (created if needed) for ``command``.

        ``config`` is the resolved config (JSON-able) and ``data`` the input files (name -> ``{"path", "sha256"}``),
        both recorded in the manifest; ``pins`` maps each artifact group the run may produce
        (``"folds"``, ``"baseline"``, ``"transformer"``) to the config and data it depends on. A group the folder
        already holds must have the same pin, else :class:`RunFolderError` lists the differences, unless
        ``overwrite``, which deletes this layout's files (and nothing else) first. ``wait``: seconds to wait for
        the lock of another run (0: refuse at once), for jobs that share the folder (see :meth:`shared`).
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--output {str(path)!r} is a file, not a folder; choose another --output")
        manifest_path = path / MANIFEST
        if path.is_dir() and not manifest_path.exists() and any(p.name != LOCK for p in path.iterdir()):
            raise RunFolderError(f"--output {path} is not empty and holds no {MANIFEST}, so it is not a run folder; "
                                 "choose a new or empty folder for --output")
        try:
            path.mkdir(parents=True, exist_ok=True)
            lock = filelock.FileLock(str(path / LOCK))
            try:
                lock.acquire(timeout=0)
            except filelock.Timeout:
                if wait <= 0:
                    raise
                # A job that shares the folder waits for the others' set-up; it says so rather than hang silently.
                print(f"{path} is in use by another run ({cls._holder(manifest_path)}); waiting up to {wait:g} s for "
                      "it", file=sys.stderr, flush=True)
                lock.acquire(timeout=wait)
        except filelock.Timeout:
            raise RunFolderError(f"{path} is in use by another run ({cls._holder(manifest_path)}); wait for it to "
                                 "finish, or choose another --output") from None
        except OSError as err:
            raise RunFolderError(f"cannot write to --output {str(path)!r} ({err.strerror or err}); choose a folder "
                                 "you can write to") from err
        try:
            return cls._open_locked(path, config, data, pins, command, overwrite, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def for_reading(cls, path: str | Path) -> "RunFolder":
        """A read-only view of the finished run folder ``path``, without its lock: for scripts that only read
        (scoring runs against a solution); nothing may be written through it."""
        path = Path(path)
        manifest = _read_manifest(path / MANIFEST, f"is {path} a run folder?")
        return cls(path, manifest, manifest.get("pins") or {}, lock=None)

    @staticmethod
    def _holder(manifest_path: Path) -> str:
        try:
            entry = json.loads(manifest_path.read_text(encoding="utf-8"))["history"][-1]
            return (f"`{entry['command']}` started {entry['started_at']} by process {entry.get('pid')} on "
                    f"{entry.get('host')}")
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            return "its manifest does not say which"

    @classmethod
    def _open_locked(cls, path: Path, config: Mapping[str, Any], data: Mapping[str, Mapping[str, str]],
                     pins: Mapping[str, Any], command: str, overwrite: bool,
                     lock: filelock.BaseFileLock) -> "RunFolder":
        pins, data = _plain(dict(pins)), _plain(dict(data))
        manifest_path = path / MANIFEST
        entry = {"id": uuid.uuid4().hex, "command": command, "started_at": _now(), "finished_at": None,
                 "status": "running", "pid": os.getpid(), "host": socket.gethostname()}
        saved = None
        if manifest_path.is_file():
            saved = _read_manifest(manifest_path, "choose another --output (--overwrite deletes only run folders), "
                                                  "or delete that folder yourself")
            differences = cls._differences(saved.get("pins") or {}, pins)
            if differences and not overwrite:
                raise RunFolderError(
                    f"{path} holds outputs made with a different config or data:\n- " + "\n- ".join(differences)
                    + "\nChoose another --output, or pass --overwrite to delete that run's files and start again.")
            if differences:
                cls._delete_layout(path, saved)
                saved = None
        try:
            if saved is None:
                manifest = {"format": FORMAT, "created_at": _now(), "pins": {}, "history": []}
            else:
                manifest = {**saved, "format": FORMAT, "pins": saved.get("pins") or {}}
            manifest.update({"config": _plain(dict(config)), "data": data, "packages": package_versions(),
                             "git": git_state(), "platform": platform.platform(), "cpu": cpu_kind()})
            manifest.setdefault("history", []).append(entry)
            run = cls(path, manifest, pins, lock)
            run.save_manifest()
        except OSError as err:
            raise RunFolderError(f"cannot write to --output {str(path)!r} ({err.strerror or err}); choose a folder "
                                 "you can write to") from err
        return run

    @staticmethod
    def _differences(saved_pins: Mapping[str, Any], pins: Mapping[str, Any]) -> list[str]:
        """What differs, per key, between the pins of the groups already produced and this run's."""
        differences = []
        for group in sorted(saved_pins.keys() & pins.keys()):
            before, after = flatten(saved_pins[group]), flatten(pins[group])
            differences += [f"{group}: {key}: {before.get(key)!r} -> {after.get(key)!r}"
                            for key in sorted(before.keys() | after.keys()) if before.get(key) != after.get(key)]
        return differences

    @staticmethod
    def _delete_layout(path: Path, manifest: Mapping[str, Any]) -> None:
        """Delete what this layout writes in the run folder ``path`` (whose saved manifest is ``manifest``), and
        nothing else: a folder of the layout (``folds/``, ``pretrain/``, ``report/``) loses the run's files only
        and is removed when that leaves it empty, so a user's ``report/my_notes.md`` stays."""
        report = [*REPORT_FILES, *(manifest.get("report_images") or [])]
        owned = {FOLD_MODELS: [FOLD_TRAIN_TABLE, FOLD_TEST_TABLE, "fold_*"],
                 PRETRAIN: [CHECKPOINTS, LOGS, DONE, LOCK, "seed_*"], REPORT: report}
        for name in LAYOUT:
            target = path / name
            if name in owned and target.is_dir():
                for pattern in owned[name]:
                    for item in target.glob(pattern):
                        shutil.rmtree(item) if item.is_dir() else item.unlink()
                if not any(target.iterdir()):
                    target.rmdir()
            elif target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()

    def record(self, key: str, value: Any) -> None:
        """Record ``value`` (JSON-able) under ``key`` in the manifest, e.g. the settings derived from the data."""
        self.manifest[key] = _plain(value)
        self.save_manifest()

    def pin(self, group: str) -> None:
        """Record that the folder now holds ``group``'s artifacts, made under this run's pin for it; called by a
        step just before it writes the group's first file."""
        if self.manifest["pins"].get(group) != self._pins[group]:
            self.manifest["pins"][group] = self._pins[group]
            self.save_manifest()

    def save_manifest(self) -> None:
        """Write the manifest, keeping what other invocations sharing the folder recorded meanwhile (their
        history entries and pins; see :meth:`shared`). Called with the lock held."""
        try:
            on_disk = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            on_disk = None
        if _is_ours(on_disk) and on_disk.get("created_at") == self.manifest.get("created_at"):
            mine = self.manifest["history"][-1]  # this invocation's entry; the others are as the disk has them
            others = [entry for entry in on_disk.get("history", []) if entry.get("id") != mine["id"]]
            self.manifest["history"] = sorted([*others, mine], key=lambda entry: entry["started_at"])
            self.manifest["pins"] = {**(on_disk.get("pins") or {}), **self.manifest["pins"]}
        write_json(self.path / MANIFEST, self.manifest)

    @contextmanager
    def shared(self) -> Iterator[None]:
        """Release the run lock for the block, so that other jobs (``train --only-fold``) can open the folder
        and train other fold models meanwhile; each fold model is guarded by its own lock
        (:func:`model_lock`). The lock is taken again, waiting as long as it takes, when the block ends."""
        self._lock.release()
        try:
            yield
        finally:
            self._lock.acquire(timeout=-1)

    def log(self, message: str, detail: bool = False) -> None:
        """Append ``message``, timestamped, to the folder's ``run.log``, and print it to stderr (above the progress
        bar) unless it is a ``detail``: what the log keeps but a person watching the run need not read (a fold's
        timing, a table the report shows)."""
        if not detail:
            echo(message)
        with open(self.path / LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{_now()} {message}\n")

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            entry = self.manifest["history"][-1]
            entry["finished_at"] = _now()
            entry["status"] = "ok" if exc_type is None else f"failed: {exc_type.__name__}: {exc}"
            self.save_manifest()
        finally:
            self._lock.release()

    # ------------------------------------------------------------------------------------------------ the folds

    def has_folds(self) -> bool:
        return (self.path / FOLDS).is_file()

    def write_folds(self, competition: Competition, fold: np.ndarray) -> None:
        """``folds.csv``: one row per train row, in train order: id, fold (``fold``: (n_train,) int)."""
        write_csv(self.path / FOLDS, pd.DataFrame({ID: competition.train_ids, FOLD: np.asarray(fold, np.int64)}))

    def read_folds(self, competition: Competition, n_splits: int) -> np.ndarray:
        """``folds.csv``'s fold of each train row, shape (n_train,) int64, checked to split exactly the
        competition's train rows into folds ``0 .. n_splits - 1``."""
        path = self.path / FOLDS
        if not path.is_file():
            raise _missing(path, "folds")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if list(frame.columns) != [ID, FOLD]:
            raise _unfit(path, f"columns {list(frame.columns)}, expected {[ID, FOLD]}", "folds")
        problems = compare_ids(frame[ID], competition.train[competition.id_column], FOLDS, "train.csv")
        if problems:
            raise RunFolderError(f"{path} was made for other data: {problems[0]}. Use another --output")
        fold = pd.to_numeric(frame[FOLD], errors="coerce")
        if fold.isna().any() or set(fold.unique()) != set(range(n_splits)):
            raise RunFolderError(f"{path} has fold numbers {sorted(frame[FOLD].unique())[:10]}, but "
                                 f"folds.n_splits={n_splits} needs exactly 0..{n_splits - 1}; use another --output")
        return fold.to_numpy(dtype=np.int64)

    # ------------------------------------------------------------------------------------------ the fold models

    def write_fold_tables(self, competition: Competition, fold: np.ndarray) -> tuple[Path, Path]:
        """The tables the fold models' DataModules read (the competition's ids, texts and labels as they are, and
        each train row's fold); return (train table, test table). The bytes depend only on the competition and the
        folds, so rewriting them on a rerun leaves them equal."""
        paths = fold_model_paths(self.path)["tables"]
        train = pd.DataFrame({ID: competition.train_ids, TEXT: competition.train_texts,
                              LABEL: competition.train_labels, FOLD: fold})
        test = pd.DataFrame({ID: competition.test_ids, TEXT: competition.test_texts})
        write_csv(paths[0], train)
        write_csv(paths[1], test)
        return paths

    def pretrain_paths(self, p: int = 0) -> dict[str, Any]:
        """:func:`pretrain_paths` in this run folder."""
        return pretrain_paths(self.path, p)

    def read_pretrain_done(self, p: int = 0) -> PretrainResult | None:
        """Pretraining ``p``'s ``done.json`` (None while it is not finished)."""
        return read_pretrain_done(self.pretrain_paths(p)["folder"])

    def read_pretrain_curve(self, p: int = 0) -> pd.DataFrame | None:
        """Pretraining ``p``'s losses, one row per logged step: ``step``, ``epoch``, ``train/loss`` (epoch means),
        ``val/loss``, ``val/accuracy`` where logged, over every attempt (a resumed one continues the steps); None
        without logs."""
        logs = self.pretrain_paths(p)["folder"] / LOGS
        frames = [pd.read_csv(path) for path in sorted(logs.glob("version_*/metrics.csv"),
                                                        key=lambda p: int(p.parent.name.split("_")[1]))]
        if not frames:
            return None
        curve = pd.concat(frames, ignore_index=True)
        return curve.groupby("step", as_index=False).last() if "step" in curve else None

    def fold_model_paths(self, k: int, j: int = 0) -> dict[str, Any]:
        """:func:`fold_model_paths` in this run folder (what :func:`competition.fold_models.fit_args` takes)."""
        return fold_model_paths(self.path, k, j)

    def fold_model_dir(self, k: int, j: int = 0) -> Path:
        """The folder of fold ``k``'s model with seed index ``j`` (``transformer.n_seeds``): checkpoints, logs,
        done marker, predictions. The first seed's is plain ``fold_k``."""
        return fold_model_paths(self.path, k, j)["folder"]

    def read_done(self, k: int, j: int = 0) -> FoldResult | None:
        """The fold model's ``done.json`` (None while it is not trained)."""
        return read_done(self.fold_model_dir(k, j))

    def lost_fold_model(self, k: int, j: int, done: FoldResult) -> str | None:
        """Why the trained fold model ``(k, j)`` can no longer give its predictions (its checkpoint is missing or
        damaged and its predictions are not both there), or None when it can."""
        if all(self.fold_prediction_file(k, j, split).is_file() for split in FOLD_PREDICTIONS):
            return None
        checkpoint = self.fold_model_dir(k, j) / done.checkpoint
        return None if checkpoint_intact(checkpoint) else f"its checkpoint {checkpoint} is missing or damaged"

    def discard_done(self, k: int, j: int = 0) -> None:
        """Mark the fold model ``(k, j)`` as not trained (it will be trained again)."""
        (self.fold_model_dir(k, j) / DONE).unlink(missing_ok=True)

    def discard_pretrain_done(self, p: int = 0) -> None:
        """Mark pretraining ``p`` as not finished (it will be trained again)."""
        (self.pretrain_paths(p)["folder"] / DONE).unlink(missing_ok=True)

    def fold_prediction_file(self, k: int, j: int, split: Literal["validation", "test"]) -> Path:
        """Where the fold model writes its probabilities of ``split`` (its held-out rows, or the test rows)."""
        return self.fold_model_dir(k, j) / FOLD_PREDICTIONS[split]

    def read_fold_predictions(self, k: int, j: int, split: Literal["validation", "test"],
                              competition: Competition, ids: np.ndarray) -> np.ndarray:
        """A fold model's probabilities (n, C) float64, rows in the order of ``ids`` (the ids it must cover:
        its fold's train ids, or the test ids), columns in ``competition.classes`` order."""
        path = self.fold_prediction_file(k, j, split)
        if not path.is_file():
            raise _missing(path, "predict")
        frame = pd.read_csv(path, dtype={ID: str}, keep_default_na=False)
        classes = [str(c) for c in competition.classes]
        if list(frame.columns) != [ID, *classes]:
            raise _unfit(path, f"columns {list(frame.columns)}, expected {[ID, *classes]}", "predict")
        frame = frame.set_index(ID)
        if len(frame) != len(ids) or not frame.index.is_unique or not frame.index.isin(ids).all():
            raise _unfit(path, f"it does not hold exactly the {len(ids)} rows it must predict", "predict")
        return frame.loc[ids].to_numpy(dtype=np.float64)

    # ------------------------------------------------------------------------------------- model probabilities

    def has_probabilities(self, model: str) -> bool:
        """Whether ``model``'s three probability files are all there."""
        return all((self.path / name).is_file() for name in probability_files(model).values())

    def write_probabilities(self, model: str, competition: Competition, fold: np.ndarray, oof: np.ndarray,
                            test_per_fold: np.ndarray, test: np.ndarray) -> None:
        """``model``'s out-of-fold (n_train, C), per-fold test (K, n_test, C) and ensembled test (n_test, C)
        probabilities, columns in ``competition.classes`` order."""
        files = probability_files(model)
        classes, n_folds = competition.classes, len(test_per_fold)
        write_csv(self.path / files["oof"], _probability_frame(
            {ID: competition.train_ids, FOLD: fold, LABEL: competition.train_labels}, oof, classes))
        write_csv(self.path / files["test_per_fold"], _probability_frame(
            {ID: np.tile(competition.test_ids, n_folds), FOLD: np.repeat(np.arange(n_folds), len(competition.test))},
            test_per_fold.reshape(-1, len(classes)), classes))
        write_csv(self.path / files["test"], _probability_frame({ID: competition.test_ids}, test, classes))

    def read_oof(self, model: str, competition: Competition) -> tuple[np.ndarray, np.ndarray]:
        """``model``'s out-of-fold probabilities (n_train, C) float64 and their fold column (n_train,) int64."""
        path = self.path / probability_files(model)["oof"]
        frame = self._read_probability_frame(path, competition, model, [ID, FOLD, LABEL])
        problems = compare_ids(frame[ID], competition.train[competition.id_column], path.name, "train.csv")
        if problems:
            raise _unfit(path, problems[0], WRITTEN_BY[model])
        if (frame[LABEL].to_numpy(dtype=object) != competition.train_labels).any():
            raise _unfit(path, "its labels differ from train.csv's", WRITTEN_BY[model])
        fold = pd.to_numeric(frame[FOLD], errors="coerce")
        if fold.isna().any():
            raise _unfit(path, "a fold that is not a number", WRITTEN_BY[model])
        return self._values(frame, competition, path, model), fold.to_numpy(dtype=np.int64)

    def read_test(self, model: str, competition: Competition) -> np.ndarray:
        """``model``'s ensembled test probabilities (n_test, C) float64, in test.csv's order."""
        path = self.path / probability_files(model)["test"]
        frame = self._read_probability_frame(path, competition, model, [ID])
        problems = compare_ids(frame[ID], competition.test[competition.id_column], path.name, "test.csv")
        if problems:
            raise _unfit(path, problems[0], WRITTEN_BY[model])
        return self._values(frame, competition, path, model)

    def read_test_per_fold(self, model: str, competition: Competition) -> np.ndarray:
        """Each fold model's test probabilities (K, n_test, C) float64: fold 0 first, test.csv's order within."""
        path = self.path / probability_files(model)["test_per_fold"]
        frame = self._read_probability_frame(path, competition, model, [ID, FOLD])
        test_ids = competition.test_ids
        n_folds = len(frame) // max(len(test_ids), 1)
        fold_ok = np.array_equal(frame[FOLD].to_numpy(), np.repeat(np.arange(n_folds), len(test_ids)).astype(str))
        ids_ok = np.array_equal(frame[ID].to_numpy(dtype=object), np.tile(test_ids, n_folds))
        if n_folds == 0 or not (fold_ok and ids_ok):
            raise _unfit(path, "it does not hold test.csv's ids once per fold, fold 0 first, in test.csv's order",
                         WRITTEN_BY[model])
        return self._values(frame, competition, path, model).reshape(n_folds, len(test_ids), -1)

    @staticmethod
    def _read_probability_frame(path: Path, competition: Competition, model: str,
                                leading: Sequence[str]) -> pd.DataFrame:
        if not path.is_file():
            raise _missing(path, WRITTEN_BY[model])
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        expected = [*leading, *_probability_columns(competition.classes)]
        if list(frame.columns) != expected:
            raise _unfit(path, f"columns {list(frame.columns)}, expected {expected}", WRITTEN_BY[model])
        return frame

    @staticmethod
    def _values(frame: pd.DataFrame, competition: Competition, path: Path, model: str) -> np.ndarray:
        values = frame[_probability_columns(competition.classes)].apply(pd.to_numeric, errors="coerce")
        values = values.to_numpy(dtype=np.float64)
        if not (np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()):
            raise _unfit(path, "probabilities outside [0, 1] or NaN", WRITTEN_BY[model])
        return values

    # ------------------------------------------------------------------------------------ decisions and blend

    def write_decisions(self, rules: Mapping[str, DecisionRule]) -> None:
        """``decision.json``: ``{model: rule}`` (see :class:`competition.rules.DecisionRule`)."""
        write_json(self.path / DECISIONS, {model: rule.to_json() for model, rule in rules.items()})

    def has_decisions(self) -> bool:
        return (self.path / DECISIONS).is_file()

    def read_decisions(self, competition: Competition) -> dict[str, DecisionRule]:
        """``decision.json``'s rules, each checked against the competition's classes."""
        path = self.path / DECISIONS
        if not path.is_file():
            raise _missing(path, "decide")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(saved, dict) or not set(saved) <= set(MODELS):
                raise ValueError(f"expected an object with keys among {list(MODELS)}")
            return {model: DecisionRule.from_json(rule, competition.classes) for model, rule in saved.items()}
        except ValueError as err:
            raise _unfit(path, str(err), "decide") from err

    def write_blend(self, blend: Mapping[str, Any]) -> None:
        """``blend.json``: the Transformer's weight, the metric and the score at every grid weight; under
        ``threshold.robust`` also the weight's out-of-sample check (see :func:`competition.decide.checked_blend`)."""
        write_json(self.path / BLEND, dict(blend))

    def has_blend(self) -> bool:
        return (self.path / BLEND).is_file()

    def read_blend(self) -> dict[str, Any]:
        """``blend.json``'s record, its ``check`` (None when the weight was not checked) a
        :class:`competition.rules.StrengthCheck`; a check comes with the ``tuned_weight`` and ``fold_weights`` it
        checked."""
        path = self.path / BLEND
        if not path.is_file():
            raise _missing(path, "decide")
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(saved, dict) or not _weights([saved.get("weight")]):
                raise ValueError("expected an object with a weight in [0, 1]")
            if saved.get("check") is None:
                return {**saved, "check": None}
            if not (_weights([saved.get("tuned_weight")]) and isinstance(saved.get("fold_weights"), list)
                    and _weights(saved["fold_weights"])):
                raise ValueError("a checked weight needs a tuned_weight and fold_weights in [0, 1]")
            return {**saved, "check": StrengthCheck.from_json(saved["check"])}
        except ValueError as err:
            raise _unfit(path, str(err), "decide") from err

    # ------------------------------------------------------------------------------------ submission and report

    def write_submission(self, submission: pd.DataFrame) -> Path:
        """Write ``submission.csv`` (validated by the caller against sample_submission.csv); return its path."""
        path = self.path / SUBMISSION
        write_csv(path, submission)
        return path

    def write_report(self, markdown: str, html: str, numbers: Mapping[str, Any], images: Mapping[str, bytes]) -> Path:
        """``report/``: report.md (with the PNGs ``images`` beside it), report.html, report.json; PNGs of an
        earlier report that this one no longer draws are removed. Returns the folder."""
        folder = self.path / REPORT
        folder.mkdir(exist_ok=True)
        for stale in self.manifest.get("report_images") or []:
            if stale not in images:
                (folder / stale).unlink(missing_ok=True)
        # The manifest names the report's pictures first, so that --overwrite finds every file the run wrote there.
        self.record("report_images", sorted(images))
        for name, png in images.items():
            write_bytes(folder / name, png)
        markdown_file, html_file, numbers_file = REPORT_FILES
        write_text(folder / markdown_file, markdown)
        write_text(folder / html_file, html)
        write_json(folder / numbers_file, numbers)
        return folder


def read_done(folder: str | Path) -> FoldResult | None:
    """The ``done.json`` of the fold model in ``folder`` (None while it is not trained). Module-level, like
    :func:`write_done` and :func:`model_lock`, for the worker processes that train fold models in parallel."""
    return _read_record(Path(folder) / DONE, FoldResult, "train")


def read_pretrain_done(folder: str | Path) -> PretrainResult | None:
    """The ``done.json`` of the pretraining in ``folder`` (:func:`pretrain_paths`), None while it is not finished."""
    return _read_record(Path(folder) / DONE, PretrainResult, "pretrain")


def checkpoint_intact(path: str | Path) -> bool:
    """Whether the checkpoint file at ``path`` is there and whole (torch's zip format: a truncated file has lost
    the zip's central directory at its end)."""
    return Path(path).is_file() and zipfile.is_zipfile(path)


def write_pretrain_done(folder: str | Path, result: PretrainResult) -> None:
    write_json(Path(folder) / DONE, asdict(result))


def _read_record(path: Path, record: type, step: str) -> Any:
    """The ``done.json`` at ``path`` as a ``record`` (FoldResult, PretrainResult); None when there is none."""
    if not path.is_file():
        return None
    try:
        return record(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as err:
        raise RunFolderError(f"{path} is unreadable ({err}); delete it and re-run the {step} step") from err


def write_done(folder: str | Path, result: FoldResult) -> None:
    """Mark the fold model in ``folder`` as trained (written once its fit is over)."""
    write_json(Path(folder) / DONE, asdict(result))


def write_fit_config(folder: str | Path, args: Mapping[str, Any]) -> Path:
    """Write the fold model's ``imbalance-xfmr fit`` config ``args`` as YAML into its ``folder``; return the path
    (a distributed fit runs it as a command: DDP launches one process per device from a command line)."""
    path = Path(folder) / FIT_CONFIG
    write_text(path, yaml.safe_dump(dict(args), sort_keys=False))
    return path


def discard_fold_predictions(folder: str | Path) -> None:
    """Remove the predictions of the fold model in ``folder`` (it is being trained again: they would be stale)."""
    for name in FOLD_PREDICTIONS.values():
        (Path(folder) / name).unlink(missing_ok=True)


def model_lock(folder: str | Path) -> filelock.BaseFileLock:
    """The lock of the fold model in ``folder``: held by whoever trains it (a worker process, a ``train
    --only-fold`` job), so that two never train one model at once."""
    Path(folder).mkdir(parents=True, exist_ok=True)
    return filelock.FileLock(str(Path(folder) / LOCK))


def _weights(values: list[Any]) -> bool:
    """Whether ``values`` are all blend weights: numbers in [0, 1]."""
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in values)


def _probability_columns(classes: Sequence[Any]) -> list[str]:
    return [f"proba_{name}" for name in classes]


def _probability_frame(leading: Mapping[str, Any], proba: np.ndarray, classes: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(dict(leading))
    for j, column in enumerate(_probability_columns(classes)):
        frame[column] = proba[:, j]
    return frame


def read_report_numbers(path: str | Path) -> Any:
    """The ``report.json`` of the run folder ``path`` (None when it has none; ValueError when it is not JSON). It
    needs no lock: ``compare`` reads finished runs."""
    report = Path(path) / REPORT / REPORT_FILES[2]
    return json.loads(report.read_text(encoding="utf-8")) if report.is_file() else None


def is_run_folder(path: str | Path) -> bool:
    """Whether ``path`` holds a run folder's manifest (``compare`` refuses to write into one)."""
    return (Path(path) / MANIFEST).exists()
