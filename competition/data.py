"""Load a Kaggle competition folder and reject bad data before any training.

A competition folder holds ``train.csv`` (id, text, label), ``test.csv`` (id, text) and ``sample_submission.csv``
(id and the columns a submission must have). Column names are configurable. Every value is read as a string
(``dtype=str``, no NA guessing), so ids such as ``007`` and labels such as ``1`` round-trip byte for byte into the
submission; an empty cell is a missing value.

Every check raises :class:`CompetitionDataError` (a ``ValueError``) that says what is wrong, where, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from competition.errors import PipelineError

SubmissionKind = Literal["labels", "probabilities"]
FILES = ("train.csv", "test.csv", "sample_submission.csv")
SHOWN = 5  # how many offending values an error message lists


class CompetitionDataError(PipelineError):
    """The competition data or a submission is unusable; the message says why and what to fix."""


@dataclass(frozen=True)
class Competition:
    """A validated competition folder.

    ``train`` and ``test`` keep every column of the CSVs (a group column, for instance) as strings;
    ``classes`` are the sorted distinct train labels, the column order of every probability matrix.
    """

    dir: Path
    train: pd.DataFrame
    test: pd.DataFrame
    sample_submission: pd.DataFrame
    classes: np.ndarray
    id_column: str = "id"
    text_column: str = "text"
    label_column: str = "label"
    warnings: tuple[str, ...] = ()  # what is suspicious but usable (labels that differ only in case or spaces)

    @property
    def files(self) -> dict[str, Path]:
        """The three CSVs by name, for hashing into the run manifest."""
        return {name: self.dir / name for name in FILES}

    @property
    def train_ids(self) -> np.ndarray:
        """Shape (n_train,), dtype object (str), in train.csv order."""
        return self.train[self.id_column].to_numpy(dtype=object)

    @property
    def test_ids(self) -> np.ndarray:
        """Shape (n_test,), dtype object (str), in test.csv order (= sample_submission order)."""
        return self.test[self.id_column].to_numpy(dtype=object)

    @property
    def train_texts(self) -> np.ndarray:
        """Shape (n_train,), dtype object (str)."""
        return self.train[self.text_column].to_numpy(dtype=object)

    @property
    def train_labels(self) -> np.ndarray:
        """Shape (n_train,), dtype object (str)."""
        return self.train[self.label_column].to_numpy(dtype=object)

    @property
    def test_texts(self) -> np.ndarray:
        """Shape (n_test,), dtype object (str), in test.csv order (= sample_submission order)."""
        return self.test[self.text_column].to_numpy(dtype=object)

    @property
    def class_counts(self) -> np.ndarray:
        """Train rows per class, shape (C,) int64, in ``classes`` order."""
        return (self.train_labels[:, None] == self.classes[None, :]).sum(axis=0)

    def groups(self, column: str | None) -> np.ndarray | None:
        """The train rows' values of the group ``column`` (n_train,) object, or None without one."""
        return None if column is None else self.train[column].to_numpy(dtype=object)

    @property
    def minority_class(self) -> str:
        """Train's rarest class; on a tie the later one in ``classes`` order. The one rule for "the minority
        class": the binary threshold's default positive class and the report's minority are this class."""
        counts = self.class_counts
        return str(self.classes[len(counts) - 1 - int(np.argmin(counts[::-1]))])


def _examples(values) -> str:
    values = [v.item() if isinstance(v, np.generic) else v for v in values]
    shown = ", ".join(repr(v) for v in values[:SHOWN])
    return shown + (f", ... ({len(values)} in all)" if len(values) > SHOWN else "")


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except UnicodeDecodeError as err:
        raise CompetitionDataError(_decode_error(path, encoding, err)) from err
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as err:
        raise CompetitionDataError(f"{path} is not a readable CSV file: {err}") from err


def _decode_error(path: Path, encoding: str, err: UnicodeDecodeError) -> str:
    """Which line of ``path`` holds the first byte that ``encoding`` cannot decode, and what to do about it."""
    data = path.read_bytes()
    try:
        data.decode(encoding)
        where = f"({err.reason})"
    except UnicodeDecodeError as first:
        line = data.count(b"\n", 0, first.start) + 1
        column = first.start - (data.rfind(b"\n", 0, first.start) + 1) + 1
        where = f"at line {line}, column {column}: byte 0x{data[first.start]:02x} ({first.reason})"
    return (f"{path} is not valid {encoding} text {where}. Save the file as UTF-8, or give its encoding with "
            "--data.encoding (e.g. latin-1 or cp1252)")


def _label_variants(labels: np.ndarray) -> list[str]:
    """Warnings for train labels that differ only in case or surrounding spaces (``ham``, ``Ham``, ``spam ``):
    probably one class written several ways; each variant stays a class of its own."""
    by_form: dict[str, list[str]] = {}
    for label in np.unique(labels).tolist():
        by_form.setdefault(label.strip().casefold(), []).append(label)
    return [f"train.csv labels {_examples(variants)} differ only in case or surrounding spaces and are "
            f"{len(variants)} separate classes; if they are one class, write it one way in train.csv"
            for variants in by_form.values() if len(variants) > 1]


def _require_columns(frame: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CompetitionDataError(
            f"{path} has no column {', '.join(map(repr, missing))}; its columns are {list(frame.columns)}. "
            "Set the column names in the config (data.id_column, data.text_column, data.label_column).")


def is_missing(column: pd.Series) -> np.ndarray:
    """Boolean mask, shape (len(column),): cells that are blank or hold the text a NaN prints as."""
    return (column.str.strip() == "").to_numpy() | (column.str.lower() == "nan").to_numpy()


def _check_unique(ids: pd.Series, name: str) -> list[str]:
    duplicated = ids[ids.duplicated()].unique()
    return [f"{name} has {len(duplicated)} duplicate id(s): {_examples(duplicated)}"] if len(duplicated) else []


def _check_present(frame: pd.DataFrame, column: str, id_column: str, name: str, what: str,
                   blank_only: bool = False) -> list[str]:
    """Problems of ``frame[column]``'s empty cells; ``blank_only``: only blank ones (a text may be the word "NaN",
    "NA" or "null": the files are read without NaN markers, so an empty cell is the only missing text)."""
    missing = (frame[column].str.strip() == "").to_numpy() if blank_only else is_missing(frame[column])
    if not missing.any():
        return []
    empty = "empty" if blank_only else "empty or NaN"
    return [f"{name} has {int(missing.sum())} {empty} {what} ({column!r}), at ids "
            f"{_examples(frame.loc[missing, id_column])}: remove those rows or fill them in"]


def compare_ids(ids: pd.Series, expected: pd.Series, name: str, expected_name: str) -> list[str]:
    """Problems (empty if none) that keep ``ids`` from being ``expected``: the same ids in the same order."""
    ids_arr, expected_arr = ids.to_numpy(dtype=object), expected.to_numpy(dtype=object)
    if len(ids_arr) == len(expected_arr) and (ids_arr == expected_arr).all():
        return []
    extra = np.setdiff1d(ids_arr, expected_arr)
    absent = np.setdiff1d(expected_arr, ids_arr)
    if len(extra) or len(absent):
        problems = [f"{name} holds {len(ids_arr)} ids and {expected_name} {len(expected_arr)}"]
        if len(extra):
            problems.append(f"{len(extra)} id(s) of {name} are not in {expected_name}: {_examples(extra)}")
        if len(absent):
            problems.append(f"{len(absent)} id(s) of {expected_name} are missing from {name}: {_examples(absent)}")
        return ["; ".join(problems)]
    if len(ids_arr) != len(expected_arr):
        return [f"{name} holds {len(ids_arr)} ids and {expected_name} {len(expected_arr)} (the same ids, repeated)"]
    differ = np.flatnonzero(ids_arr != expected_arr)
    first = differ[0]
    return [f"{name} has the same ids as {expected_name} but in another order: {len(differ)} row(s) differ, "
            f"first at row {first} ({ids_arr[first]!r} vs {expected_arr[first]!r}); the rows must be in "
            f"{expected_name}'s order"]


def _check_sample_values(sample: pd.DataFrame, id_column: str, label_column: str, classes: np.ndarray,
                         kind: SubmissionKind) -> list[str]:
    """The sample submission must have the shape a ``kind`` submission will have."""
    value_columns = [c for c in sample.columns if c != id_column]
    if kind == "labels":
        if value_columns != [label_column]:
            return [f"sample_submission.csv has value columns {value_columns}, but a label submission needs exactly "
                    f"[{label_column!r}]; set submission.kind to 'probabilities' if it asks for probabilities"]
        unknown = np.setdiff1d(sample[label_column].to_numpy(dtype=object), classes)
        if len(unknown):
            return [f"sample_submission.csv holds label(s) {_examples(unknown)} that train.csv never uses "
                    f"(train classes: {list(classes)}); check data.label_column or the files"]
        return []
    if len(value_columns) == 1 and len(classes) > 2:
        return [f"sample_submission.csv has one probability column {value_columns}, but train has {len(classes)} "
                f"classes {list(classes)}: a multiclass probability submission needs one column per class"]
    if len(value_columns) > 1 and sorted(value_columns) != sorted(classes):
        return [f"sample_submission.csv has probability columns {value_columns}, but the train classes are "
                f"{list(classes)}: a probability submission has one column per class (or one for a binary task)"]
    values = sample[value_columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    if np.isnan(values).any():
        return [f"sample_submission.csv has non-numeric values in {value_columns}, but submission.kind is "
                "'probabilities'; set submission.kind to 'labels' if it asks for labels"]
    return []


def load_competition(data_dir: str | Path, id_column: str = "id", text_column: str = "text",
                     label_column: str = "label", submission_kind: SubmissionKind = "labels",
                     encoding: str = "utf-8") -> Competition:
    """Read and validate a competition folder; raise :class:`CompetitionDataError` listing every problem found.

    Checks: the three files exist; the id/text/label columns exist; ids are unique in each file; neither train
    nor test is empty; no text is blank (a text may read "NaN"); no train label is blank or NaN; train has at least
    two classes; test ids equal sample_submission ids (same set, same order); sample_submission has the columns and
    values a ``submission_kind`` submission needs (for labels: only labels seen in train). The files are read as
    ``encoding`` text; a byte that does not decode is reported with its file, line and column. Labels that
    differ only in case or surrounding spaces are accepted with a warning in ``Competition.warnings``.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise CompetitionDataError(f"data.dir {str(data_dir)!r} is not a folder; point --data.dir at the folder "
                                   f"holding {', '.join(FILES)}")
    missing = [name for name in FILES if not (data_dir / name).is_file()]
    if missing:
        present = sorted(p.name for p in data_dir.iterdir())
        raise CompetitionDataError(f"{data_dir} has no {', '.join(missing)} (it holds {present}); a competition "
                                   f"folder needs {', '.join(FILES)}")
    train, test, sample = (_read_csv(data_dir / name, encoding) for name in FILES)
    _require_columns(train, [id_column, text_column, label_column], data_dir / "train.csv")
    _require_columns(test, [id_column, text_column], data_dir / "test.csv")
    _require_columns(sample, [id_column], data_dir / "sample_submission.csv")

    problems: list[str] = []
    for frame, name in [(train, "train.csv"), (test, "test.csv")]:
        if frame.empty:
            problems.append(f"{name} has no rows")
    problems += _check_unique(train[id_column], "train.csv")
    problems += _check_unique(test[id_column], "test.csv")
    problems += _check_unique(sample[id_column], "sample_submission.csv")
    problems += _check_present(train, text_column, id_column, "train.csv", "text(s)", blank_only=True)
    problems += _check_present(test, text_column, id_column, "test.csv", "text(s)", blank_only=True)
    problems += _check_present(train, label_column, id_column, "train.csv", "label(s)")
    labels = train.loc[~is_missing(train[label_column]), label_column]
    classes = np.sort(np.asarray(labels.unique(), dtype=object))
    if len(classes) < 2 and not train.empty:
        problems.append(f"train.csv has a single class {_examples(classes)}: a classifier needs at least two")
    if not test.empty:
        problems += compare_ids(test[id_column], sample[id_column], "test.csv", "sample_submission.csv")
    problems += _check_sample_values(sample, id_column, label_column, classes, submission_kind)
    if problems:
        raise CompetitionDataError(f"{data_dir} is not a usable competition:\n- " + "\n- ".join(problems))
    return Competition(data_dir, train, test, sample, classes, id_column, text_column, label_column,
                       tuple(_label_variants(classes)))


def validate_submission(submission: pd.DataFrame, sample_submission: pd.DataFrame, classes, kind: SubmissionKind,
                        id_column: str = "id") -> None:
    """Raise :class:`CompetitionDataError` unless ``submission`` can be written as ``submission.csv``.

    It must have ``sample_submission``'s columns in the same order, its ids in the same order, no missing value,
    and labels from ``classes`` (``kind='labels'``) or finite probabilities in [0, 1] (``kind='probabilities'``).
    """
    if kind not in ("labels", "probabilities"):
        raise ValueError(f"kind must be 'labels' or 'probabilities', got {kind!r}")
    if list(submission.columns) != list(sample_submission.columns):
        raise CompetitionDataError(f"submission columns {list(submission.columns)} differ from sample_submission's "
                                   f"{list(sample_submission.columns)}")
    problems = compare_ids(submission[id_column].astype(str), sample_submission[id_column].astype(str),
                           "the submission", "sample_submission.csv")
    values = submission.drop(columns=[id_column])
    if values.isna().to_numpy().any():
        problems.append(f"the submission has {int(values.isna().to_numpy().sum())} missing value(s)")
    elif kind == "labels":
        unknown = np.setdiff1d(values.to_numpy(dtype=object).astype(str).ravel(), np.asarray(classes).astype(str))
        if len(unknown):
            problems.append(f"the submission holds label(s) {_examples(unknown)} that are not classes "
                            f"{np.asarray(classes).tolist()}")
    else:
        numbers = values.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(numbers) | (numbers < 0) | (numbers > 1)
        if bad.any():
            problems.append(f"the submission has {int(bad.sum())} value(s) that are not probabilities in [0, 1]: "
                            f"{_examples(values.to_numpy(dtype=object)[bad])}")
    if problems:
        raise CompetitionDataError("the submission does not match sample_submission.csv:\n- " + "\n- ".join(problems))
