"""Reading text tables (CSV or Parquet), and the one atomic file writer of the library and the pipeline."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

_PARQUET_SUFFIXES = (".parquet", ".pq")


def read_table(path: str | Path, string_columns: Sequence[str] = ()) -> pd.DataFrame:
    """Read a CSV (optionally compressed) or Parquet file, chosen by its suffix.

    In CSV files only empty cells count as missing: pandas' default would also read the text "NA", "null" or "None"
    (a plausible SMS, or a plausible label) as NaN. The CSV columns named in ``string_columns`` (names absent from
    the file are ignored) are read as str, cell text as written, so that an id ``0001`` or a label ``007`` comes
    back byte for byte instead of as the number 1 or 7; their empty cells are still missing (NaN). The other
    columns keep pandas' type inference. Parquet files keep their stored types.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Data file {str(path)!r} does not exist (working directory: {os.getcwd()}).")
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        return pd.read_parquet(path)
    if isinstance(string_columns, str):
        raise TypeError(
            f"string_columns must be a sequence of column names, got the string {string_columns!r}; "
            f"write [{string_columns!r}] for a single column."
        )
    # pandas skips dtype entries for columns the file does not have, which is what "when present" needs.
    dtypes = {column: str for column in string_columns}
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=dtypes)


def blank_texts(texts: pd.Series) -> np.ndarray:
    """bool (N,): True where a text is missing (NaN, None) or holds nothing but whitespace."""
    return (texts.isna() | texts.astype(str).str.strip().eq("")).to_numpy()


def check_columns(frame: pd.DataFrame, required: Sequence[str], path: str | Path) -> None:
    """Raise a KeyError naming the missing columns, the existing ones and the option to change."""
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise KeyError(
            f"{str(path)!r} has no column(s) {missing}; its columns are {list(frame.columns)}. Rename the columns or "
            "set the DataModule's id_column / text_column / label_column / fold_column to existing ones."
        )


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; on success it is fsynced and renamed onto ``path``.

    A reader (or a process killed mid-write) sees the old file or the whole new one, never a part. On an exception
    the temporary file is removed and ``path`` is left as it was. ``mode`` is ``"w"`` (text, UTF-8, ``\\n`` line
    endings on every platform) or ``"wb"``. The parent folder is created if needed; the file gets the usual
    permissions (umask), not ``tempfile``'s private 0600.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    text_options = {"encoding": "utf-8", "newline": "\n"} if mode == "w" else {}
    try:
        with open(temporary, mode.replace("w", "x"), **text_options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: str | Path, data: bytes) -> None:
    """Atomically write ``data`` to ``path`` (see :func:`atomic_open`)."""
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
    """Atomically write ``frame`` as CSV without its index; float64 values in full (``repr``) precision."""
    with atomic_open(path) as handle:
        frame.to_csv(handle, index=False, lineterminator="\n")
