"""Reading text tables (CSV or Parquet) and writing CSV files atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pandas as pd

_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file, chosen by its suffix.

    In CSV files only empty cells count as missing: pandas' default would also read the text "NA", "null" or "None"
    (a plausible SMS, or a plausible label) as NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Data file {str(path)!r} does not exist (working directory: {os.getcwd()}).")
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return pd.read_parquet(path)
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def check_columns(frame: pd.DataFrame, required: Sequence[str], path: str | Path) -> None:
    """Raise a KeyError naming the missing columns, the existing ones and the option to change."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise KeyError(
            f"{str(path)!r} has no column(s) {missing}; its columns are {list(frame.columns)}. Rename the columns or "
            "set the DataModule's id_column / text_column / label_column / fold_column to existing ones."
        )


@contextmanager
def _atomic_open(path: str | Path, newline: str | None = None) -> Iterator[TextIO]:
    """A text stream on a temporary file beside ``path`` that replaces ``path`` only once fully written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o644)  # mkstemp makes it private; a results file is as readable as any other
        with os.fdopen(handle, "w", newline=newline, encoding="utf-8") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` to ``path`` as CSV so that readers see the old file or the whole new one, never a part."""
    with _atomic_open(path, newline="") as stream:
        frame.to_csv(stream, index=False)


def write_text_atomic(text: str, path: str | Path) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, like :func:`write_csv_atomic`."""
    with _atomic_open(path) as stream:
        stream.write(text)
