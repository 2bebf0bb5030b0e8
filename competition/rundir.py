"""Run folders: one per run, never silently reused, written atomically, described by ``manifest.json``.

``--output DIR`` is the run folder. :meth:`RunDir.open` creates it, or reopens it when it holds a run whose
outputs the current config would reproduce (same ``fixed_keys`` of the config, same data files): that is how a
killed run resumes and how ``report`` or ``submit`` re-run on a finished one. A folder holding another run is
refused unless the caller asks to overwrite it; a non-empty folder that is not a run folder is always refused.

Every file goes through :func:`atomic_open` (a temporary file in the same folder, then ``os.replace``), so a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import pandas as pd

from competition.errors import PipelineError

MANIFEST = "manifest.json"
LOG = "run.log"
# Distribution names whose versions the manifest records (python is added from the interpreter).
PACKAGES = ("torch", "pytorch-lightning", "scikit-learn", "imbalanced-learn", "numpy", "pandas", "tokenizers",
            "jsonargparse", "imbalance-xfmr")
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class RunFolderError(PipelineError):
    """The run folder cannot be used as asked; the message says why and which flag or folder to use instead."""


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file next to ``path`` for writing; on success it replaces ``path`` in one step.

    On an exception the temporary file is removed and ``path`` is left as it was. ``mode`` is ``"w"`` (text,
    UTF-8, ``\\n`` line endings on every platform) or ``"wb"``.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    # Not tempfile.mkstemp: its 0600 mode would stick to the final file; "x" creates with the usual umask.
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    text_options = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
    try:
        with open(tmp, mode.replace("w", "x"), **text_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path``."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def write_text(path: str | Path, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""
    with atomic_open(path) as handle:
        handle.write(text)


def write_json(path: str | Path, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON with sorted keys and a final newline (stable bytes)."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n")


def write_csv(path: str | Path, frame: pd.DataFrame) -> None:
    """Atomically write ``frame`` without its index; float64 values are written in full (``repr``) precision."""
    with atomic_open(path) as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")


def sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on (None when one is not installed), and python's."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(root: str | Path = PROJECT_ROOT) -> dict[str, Any] | None:
    """``{"commit": sha, "dirty": bool}`` for the git checkout holding ``root``, or None outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                              timeout=30).stdout.strip()
    try:
        return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _plain(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config as JSON would store it (tuples become lists, paths strings), so saved and new compare equal."""
    return json.loads(json.dumps(config, sort_keys=True, default=str))


class RunDir:
    """An open run folder. Use :meth:`open`, then ``with run:`` around the work, so the manifest records the
    outcome and the end time of this invocation."""

    def __init__(self, path: Path, manifest: dict[str, Any]) -> None:
        self.path = path
        self.manifest = manifest

    @classmethod
    def open(cls, path: str | Path, config: Mapping[str, Any], data_files: Mapping[str, str | Path], *,
             command: str, fixed_keys: Sequence[str] | None = None, overwrite: bool = False) -> "RunDir":
        """Create the run folder ``path``, or reopen it for a run it already holds.

        ``config`` is the resolved config (JSON-able); ``data_files`` maps names to the input files whose SHA-256
        the manifest records; ``command`` names this invocation (``"run"``, ``"report"``...). The folder is
        reopened when its manifest has the same values for ``fixed_keys`` (default: every key of ``config``)
        and the same data hashes: the config keys that do not change the outputs already there (report or
        submission settings, say) may differ. Otherwise :class:`RunFolderError`, unless ``overwrite``, which
        deletes that run first.
        """
        path = Path(path)
        config = _plain(config)
        keys = list(config) if fixed_keys is None else list(fixed_keys)
        data = {name: {"path": str(Path(file).resolve()), "sha256": sha256(file)}
                for name, file in sorted(data_files.items())}
        manifest_path = path / MANIFEST
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--output {str(path)!r} is a file, not a folder; choose another --output")
        if manifest_path.is_file():
            try:
                saved = json.loads(manifest_path.read_text(encoding="utf-8"))
                saved_config, saved_data = saved["config"], saved["data"]
            except (json.JSONDecodeError, KeyError) as err:
                raise RunFolderError(f"{manifest_path} is unreadable ({err!r}); choose another --output or delete "
                                     "that folder") from err
            differences = [f"{key}: {saved_config.get(key)!r} -> {config.get(key)!r}"
                           for key in keys if saved_config.get(key) != config.get(key)]
            differences += [f"data file {name} changed (sha256 {saved_data.get(name, {}).get('sha256')} -> "
                            f"{entry['sha256']})" for name, entry in data.items()
                            if saved_data.get(name, {}).get("sha256") != entry["sha256"]]
            if not differences:
                saved["config"] = config
                saved.setdefault("history", []).append({"command": command, "started_at": _now(), "finished_at": None,
                                         "status": "running"})
                run = cls(path, saved)
                run.save_manifest()
                return run
            if not overwrite:
                raise RunFolderError(
                    f"{path} holds another run, made with a different config or data:\n- " + "\n- ".join(differences)
                    + "\nChoose another --output, or pass --overwrite to delete that run and start again.")
            shutil.rmtree(path)
        elif path.is_dir() and any(path.iterdir()):
            raise RunFolderError(f"{path} is not empty and holds no {MANIFEST}, so it is not a run folder; "
                                 "choose a new or empty folder for --output")
        path.mkdir(parents=True, exist_ok=True)
        manifest = {"created_at": _now(), "config": config, "data": data, "packages": package_versions(),
                    "git": git_state(), "platform": platform.platform(),
                    "history": [{"command": command, "started_at": _now(), "finished_at": None,
                                 "status": "running"}]}
        run = cls(path, manifest)
        run.save_manifest()
        return run

    def save_manifest(self) -> None:
        write_json(self.path / MANIFEST, self.manifest)

    def log(self, message: str) -> None:
        """Print ``message`` to stderr and append it, timestamped, to the folder's ``run.log``."""
        print(message, file=sys.stderr, flush=True)
        with open(self.path / LOG, "a", encoding="utf-8") as handle:
            handle.write(f"{_now()} {message}\n")

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        entry = self.manifest["history"][-1]
        entry["finished_at"] = _now()
        entry["status"] = "ok" if exc_type is None else f"failed: {exc_type.__name__}: {exc}"
        self.save_manifest()
