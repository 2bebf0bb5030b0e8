"""LightningDataModule for a labelled text table (CSV or Parquet): validation split, tokenizer, batches.

What it does, in order:

1. Reads ``train_path`` and checks it before any training: the id/text/label (and fold) columns exist, no label is
   missing, texts are not missing or empty (or the ``empty_texts`` policy says what to do, with a warning), there
   are at least two classes.
2. Splits train/validation: stratified by label from ``split_seed`` (``val_fraction`` of the rows), or the rows whose
   ``fold_column`` equals ``val_fold``. Validation labels never seen in training are an error.
3. Encodes labels (sorted original values -> 0..C-1) and fits the subword tokenizer on the *training split's* texts
   only; validation and test texts never shape the vocabulary. Or, with ``tokenizer_path``, uses a fitted tokenizer
   (e.g. the one an ``imbalance-xfmr pretrain`` checkpoint holds, for a classifier started from its weights); or,
   with ``pretrained_tokenizer``, a pretrained checkpoint folder's own tokenizer (for a classifier fine-tuned from
   that checkpoint).
4. Serves dynamically padded batches (:mod:`imbalance_xfmr.data.collate`), optionally length-bucketed and resampled
   per epoch for class imbalance.

``vocab_size``, ``num_classes``, ``class_counts`` and ``classes`` are computed on first access, so the CLI can link
them into the model when it instantiates it, before the Trainer exists.

Saving and reloading the fitted state: the tokenizer and the label encoding are part of the DataModule's
``state_dict``, which Lightning stores in every checkpoint; on ``fit`` they are also written as ``tokenizer.json`` and
``labels.json`` into the Trainer's ``log_dir`` (when it has a logger). Give ``checkpoint_path`` (the
``imbalance-xfmr`` CLI does it from ``--ckpt_path``) and the DataModule takes tokenizer and labels from that
checkpoint instead of refitting: prediction never fits anything, neither on the training file nor on test texts.
When ``train_path`` is there, its label column is read to check that the checkpoint was trained for these classes
(a checkpoint of another task is an error, not a prediction with the other task's classes); prediction from the
checkpoint alone (no training file) skips that check.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pytorch_lightning.utilities import rank_zero_warn
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader

from imbalance_xfmr.sampling.torch_sampler import (
    ClassBalancedBatchSampler,
    ResamplingSampler,
)

from .collate import PaddedTextDataset
from .io import blank_texts, check_columns, read_table
from .tokenized import AnyTokenizer, TokenizedDataModule, checkpoint_state

RESAMPLINGS = ("none", "random_under", "random_over", "class_balanced")
EMPTY_TEXT_POLICIES = ("error", "drop", "keep")
PREDICT_SPLITS = ("test", "validation")
_SHOWN_ROWS = 5  # rows quoted in an error message
_SPLITS_OF_STAGE = {"fit": ("train", "validation"), "validate": ("validation",), "test": ("test",),
                    "predict": ("predict",)}


def _shown(values: list, limit: int = 10) -> str:
    """``values`` as a list literal, the first ``limit`` of them and a count of the rest."""
    if len(values) <= limit:
        return repr(list(values))
    return f"{list(values[:limit])!r} and {len(values) - limit} more"


class TextDataModule(TokenizedDataModule):
    """Text classification data from CSV or Parquet files, with the tokenizer fitted on the training split.

    Parameters
    ----------
    train_path : str
        Labelled table (CSV or Parquet) holding the text and label columns (and ``fold_column`` if used).
    test_path : str or None
        Table for ``predict`` (id and text columns) and ``test`` (which also needs the label column).
    id_column, text_column, label_column : str
        Column names. Labels may be strings or integers; ``classes`` lists them in encoded order (sorted). In CSV
        files these three columns are read as text, exactly as written: an id ``0001`` stays ``"0001"`` in the
        predictions and a label ``007`` stays the class ``"007"``; so CSV labels ``0``/``1`` are the classes
        ``"0"``/``"1"``. Parquet columns keep their stored types.
    val_fraction : float
        Share of the rows held out for validation by a split stratified on the label (ignored with ``fold_column``).
    split_seed : int
        Seed of the stratified split, separate from the training seed so that one split serves many models.
    fold_column, val_fold :
        Explicit split instead: rows whose ``fold_column`` equals ``val_fold`` are the validation set. The fold
        column keeps pandas' type inference (fold numbers stay numbers, matching an int ``val_fold``), also when it
        is the id or label column.
    tokenizer : {'bpe', 'wordpiece'}
        Subword algorithm. BPE training in `tokenizers` is deterministic; its WordPiece trainer numbers its
        continuation tokens in hash-map order, so a WordPiece vocabulary can differ from run to run.
    max_vocab_size : int
        Largest vocabulary; ``vocab_size`` reports the fitted size.
    min_frequency, lowercase :
        Passed to :class:`~imbalance_xfmr.data.tokenizer.SubwordTokenizer`.
    max_length : int
        Longest sequence in tokens, [CLS] included.
    truncation : {'head', 'head_tail'}
        Which tokens of a longer text to keep (see :meth:`SubwordTokenizer.encode`).
    empty_texts : {'error', 'drop', 'keep'}
        Policy for missing or blank texts. 'error' (default) stops with the offending rows; 'drop' removes such
        labelled rows but keeps unlabelled prediction rows (every test id needs a prediction); 'keep' keeps all of
        them as a lone [CLS]. 'drop' and 'keep' warn with the count.
    resampling : {'none', 'random_under', 'random_over', 'class_balanced'}
        Per-epoch resampling of the training rows, redrawn every epoch (seeded by the global seed plus the epoch)
        by :mod:`imbalance_xfmr.sampling.torch_sampler`: 'random_under' keeps a random subset of the targeted
        classes, 'random_over' adds random duplicates, 'class_balanced' over-samples and gives every batch the
        same class mix. Under DDP the samplers shard themselves; 'class_balanced' needs
        ``Trainer(use_distributed_sampler=False)``.
    sampling_strategy : float, str or dict
        imbalanced-learn's ``sampling_strategy`` for the resampling ('auto': under-sample every class to the
        minority's count, or over-sample to the majority's); dict keys are original label values. When the labels
        are strings (always so for CSV) a key matches the label ``str(key)``, so ``{0: 100}`` written in YAML
        targets the CSV label ``0``.
    batch_size : int
        Training batch size; ``eval_batch_size`` (default: the same) for validation, test and prediction.
    length_bucketing : bool
        Batch rows of similar length together (training: within pools of ``bucket_batches`` batches; evaluation:
        sorted by length), so that dynamic padding wastes little.
    num_workers : int
        DataLoader worker processes.
    predict_split : {'test', 'validation'}
        Rows ``predict`` scores: the test file, or the validation split (out-of-fold predictions).
    checkpoint_path : str or None
        A checkpoint written by a ``fit`` with this DataModule: its tokenizer and label encoding are used as they
        are, nothing is refitted. Its classes must be the labels of ``train_path`` when that file exists
        (ValueError otherwise: the checkpoint was trained for another task).
    tokenizer_path : str or None
        A fitted tokenizer to use instead of fitting one (``tokenizer``, ``max_vocab_size``, ``min_frequency`` and
        ``lowercase`` are then unused): a JSON written by :meth:`SubwordTokenizer.save`, or a checkpoint written by
        ``imbalance-xfmr pretrain`` (the tokenizer its encoder was pretrained with). Classes and class counts still
        come from the training split. ``checkpoint_path`` takes precedence.
    pretrained_tokenizer : str or None
        A pretrained checkpoint folder (Hugging Face's layout) whose own tokenizer
        (:class:`~imbalance_xfmr.data.PretrainedTokenizer`: ``[CLS] tokens [SEP]``, at most ``max_length`` ids, at
        least 3) encodes the texts, for the classifier fine-tuned from that checkpoint (``imbalance-xfmr fit
        --model.pretrained DIR`` sets it to DIR); the tokenizer is stored in every checkpoint, so ``predict`` does
        not read the folder. Not with ``tokenizer_path``; ``checkpoint_path`` takes precedence. ``max_length`` must
        not exceed the checkpoint's positions: the model says so when it is built (``TextClassifier(pretrained=...)``
        raises a ValueError naming the limit), since the positions are the encoder's, not the tokenizer's.
    """

    def __init__(
        self,
        train_path: str,
        test_path: str | None = None,
        id_column: str = "id",
        text_column: str = "text",
        label_column: str = "label",
        val_fraction: float = 0.2,
        split_seed: int = 0,
        fold_column: str | None = None,
        val_fold: int | str | None = None,
        tokenizer: Literal["bpe", "wordpiece"] = "bpe",
        max_vocab_size: int = 8000,
        min_frequency: int = 2,
        lowercase: bool = True,
        max_length: int = 128,
        truncation: Literal["head", "head_tail"] = "head",
        empty_texts: Literal["error", "drop", "keep"] = "error",
        resampling: Literal["none", "random_under", "random_over", "class_balanced"] = "none",
        sampling_strategy: float | str | dict = "auto",
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        length_bucketing: bool = False,
        bucket_batches: int = 50,
        num_workers: int = 0,
        predict_split: Literal["test", "validation"] = "test",
        checkpoint_path: str | None = None,
        tokenizer_path: str | None = None,
        pretrained_tokenizer: str | None = None,
    ) -> None:
        super().__init__(
            tokenizer=tokenizer,
            max_vocab_size=max_vocab_size,
            min_frequency=min_frequency,
            lowercase=lowercase,
            max_length=max_length,
            truncation=truncation,
            batch_size=batch_size,
            eval_batch_size=eval_batch_size,
            length_bucketing=length_bucketing,
            bucket_batches=bucket_batches,
            num_workers=num_workers,
            tokenizer_path=tokenizer_path,
            pretrained_tokenizer=pretrained_tokenizer,
        )
        self.train_path = train_path
        self.test_path = test_path
        self.id_column = id_column
        self.text_column = text_column
        self.label_column = label_column
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self.fold_column = fold_column
        self.val_fold = val_fold
        self.empty_texts = empty_texts
        self.resampling = resampling
        self.sampling_strategy = sampling_strategy
        self.predict_split = predict_split
        self.checkpoint_path = checkpoint_path
        self._check_params()

        self._classes: list | None = None
        self._class_counts: list[int] | None = None
        self._splits: tuple[pd.DataFrame, pd.DataFrame] | None = None
        self._predict_frame: pd.DataFrame | None = None

    # ----------------------------------------------------------------------------------------------------------------
    # What the model needs (linked by the CLI at instantiation)

    @property
    def classes(self) -> list:
        """Original label values in encoded order: class ``i`` is ``classes[i]``."""
        self._fitted_tokenizer()
        return list(self._classes)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def class_counts(self) -> list[int]:
        """Training-split rows per class, in encoded order (before any resampling)."""
        self._fitted_tokenizer()
        return list(self._class_counts)

    @property
    def predict_ids(self) -> np.ndarray:
        """Ids of the prediction rows, in row order (batches' ``index`` points into this)."""
        return self._prediction_rows()[self.id_column].to_numpy()

    # ----------------------------------------------------------------------------------------------------------------
    # Lightning hooks

    def setup(self, stage: str) -> None:
        # Everything that can be wrong with the data is found here, before the first step.
        for split in _SPLITS_OF_STAGE[stage]:
            self._dataset(split)
        if stage == "fit":
            self._epoch_sampler(self._datasets["train"])  # a bad sampling_strategy fails now, not mid-fit
            if self.trainer is not None:
                self._write_artifacts(self.trainer)

    def train_dataloader(self) -> DataLoader:
        dataset = self._dataset("train")
        sampler = self._epoch_sampler(dataset)
        if self.resampling == "class_balanced":
            return self._loader(dataset, batch_sampler=ClassBalancedBatchSampler(sampler, self.batch_size))
        return self._loader(dataset, sampler=sampler, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("validation"))

    def test_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("test"))

    def predict_dataloader(self) -> DataLoader:
        return self._eval_loader(self._dataset("predict"))

    def state_dict(self) -> dict:
        """The fitted tokenizer (JSON) and label encoding; Lightning stores this in each checkpoint."""
        return {**super().state_dict(), "classes": self.classes, "class_counts": self.class_counts}

    def load_state_dict(self, state_dict: dict) -> None:
        super().load_state_dict(state_dict)
        self._classes = list(state_dict["classes"])
        self._class_counts = [int(count) for count in state_dict["class_counts"]]

    # ----------------------------------------------------------------------------------------------------------------
    # Fitting

    def _fitted_tokenizer(self) -> AnyTokenizer:
        if self._tokenizer is None:
            if self.checkpoint_path is not None:
                state = checkpoint_state(self.checkpoint_path, type(self).__qualname__, "checkpoint_path")
                self.load_state_dict(state)
                self._check_checkpoint_classes()
            else:
                train, _ = self._labelled_splits()
                classes, counts = np.unique(train[self.label_column].to_numpy(), return_counts=True)
                self._tokenizer = self._tokenizer_for(train[self.text_column].tolist())
                self._classes = classes.tolist()
                self._class_counts = counts.tolist()
        return self._tokenizer

    def _check_checkpoint_classes(self) -> None:
        """ValueError when the classes restored from ``checkpoint_path`` are not the labels of ``train_path`` (when
        that file is there): the checkpoint's model was trained for another task, and would score every row with
        its own classes. Only the label column is compared (and the rows ``empty_texts='drop'`` drops left out);
        nothing is refitted."""
        path = self.train_path
        if not Path(path).is_file():
            return  # predicting from the checkpoint alone: nothing to compare it with
        frame = read_table(path, self._string_columns())
        check_columns(frame, [self.label_column], path)
        labels = frame[self.label_column]
        if self.empty_texts == "drop" and self.text_column in frame.columns:
            labels = labels[~blank_texts(frame[self.text_column])]
        present = sorted(labels.dropna().unique().tolist(), key=str)
        # Compared as text: a Parquet file's int labels are the CSV's "0", "1" of the same task.
        if sorted(map(str, present)) != sorted(map(str, self._classes)):
            raise ValueError(
                f"checkpoint_path {self.checkpoint_path!r} holds a model of {len(self._classes)} classes "
                f"{_shown(self._classes)}, but train_path {path!r} has {len(present)} classes {_shown(present)} in "
                f"column {self.label_column!r}: the checkpoint was trained for another task. Give the checkpoint of a "
                "model trained on this data, or the data config it was trained with."
            )

    def _artifacts(self) -> dict[str, str]:
        labels = {"label_column": self.label_column, "classes": self.classes, "class_counts": self.class_counts}
        return {"labels.json": json.dumps(labels, indent=2, ensure_ascii=False) + "\n"}

    # ----------------------------------------------------------------------------------------------------------------
    # Reading and checking the tables

    def _labelled_splits(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(train, validation) rows of ``train_path``, checked; validation labels are known training classes."""
        if self._splits is None:
            path = self.train_path
            frame = read_table(path, self._string_columns())
            required = [self.text_column, self.label_column] + ([self.fold_column] if self.fold_column else [])
            check_columns(frame, required, path)
            self._check_labels_present(frame, path)
            frame = self._apply_empty_text_policy(frame, path, labelled=True)
            labels = frame[self.label_column]
            if labels.nunique() < 2:
                raise ValueError(
                    f"{path!r} has a single class ({labels.iloc[0]!r}) in column {self.label_column!r}: a "
                    "classifier needs at least two. Check label_column and the file."
                )
            in_validation = self._validation_mask(frame, path)
            train, validation = frame[~in_validation], frame[in_validation]
            unseen = sorted(set(validation[self.label_column]) - set(train[self.label_column]), key=str)
            if unseen:
                raise ValueError(
                    f"Validation rows (fold {self.val_fold!r} of {self.fold_column!r}) have labels never seen in "
                    f"training: {unseen}. The model cannot predict them: make the folds stratified by label."
                )
            if train[self.label_column].nunique() < 2:
                raise ValueError(f"The training split of {path!r} has a single class; it needs at least two.")
            self._splits = (train.reset_index(drop=True), validation.reset_index(drop=True))
        return self._splits

    def _validation_mask(self, frame: pd.DataFrame, path: str) -> np.ndarray:
        if self.fold_column is not None:
            in_validation = (frame[self.fold_column] == self.val_fold).to_numpy()
            if not in_validation.any():
                folds = sorted(frame[self.fold_column].dropna().unique().tolist(), key=str)
                raise ValueError(
                    f"No row of {path!r} has {self.fold_column} == {self.val_fold!r}; the folds are {folds}. "
                    "Set val_fold to one of them."
                )
            if in_validation.all():
                raise ValueError(f"Every row of {path!r} is in fold {self.val_fold!r}: nothing is left to train on.")
            return in_validation
        labels = frame[self.label_column].to_numpy()
        classes, counts = np.unique(labels, return_counts=True)
        if counts.min() < 2:
            raise ValueError(
                f"Class {classes[counts.argmin()]!r} has a single row in {path!r}; a stratified split needs at least "
                "two rows per class. Add rows, remove the class, or give an explicit fold_column."
            )
        n_validation = math.ceil(self.val_fraction * len(labels))  # how train_test_split rounds
        if n_validation < len(classes) or len(labels) - n_validation < len(classes):
            raise ValueError(
                f"val_fraction={self.val_fraction} leaves {n_validation} validation and "
                f"{len(labels) - n_validation} training rows of {path!r}: each needs at least one row per class "
                f"({len(classes)} classes). Change val_fraction or add rows."
            )
        _, validation_rows = train_test_split(
            np.arange(len(labels)), test_size=self.val_fraction, stratify=labels, random_state=self.split_seed
        )
        in_validation = np.zeros(len(labels), dtype=bool)
        in_validation[validation_rows] = True
        return in_validation

    def _test_rows(self) -> pd.DataFrame:
        """Labelled rows of ``test_path`` for ``trainer.test``."""
        if self.test_path is None:
            raise ValueError("`test` needs data: set test_path to a labelled table.")
        frame = read_table(self.test_path, self._string_columns())
        check_columns(frame, [self.text_column, self.label_column], self.test_path)
        self._check_labels_present(frame, self.test_path)
        return self._apply_empty_text_policy(frame, self.test_path, labelled=True).reset_index(drop=True)

    def _prediction_rows(self) -> pd.DataFrame:
        """Rows ``predict`` scores: the test table, or the validation split (for out-of-fold predictions)."""
        if self._predict_frame is None:
            if self.predict_split == "validation":
                frame = self._labelled_splits()[1]
                check_columns(frame, [self.id_column], self.train_path)
            else:
                if self.test_path is None:
                    raise ValueError("`predict` needs data: set test_path (a table with id and text columns).")
                frame = read_table(self.test_path, self._string_columns())
                check_columns(frame, [self.id_column, self.text_column], self.test_path)
                frame = self._apply_empty_text_policy(frame, self.test_path, labelled=False)
            self._predict_frame = frame.reset_index(drop=True)
        return self._predict_frame

    def _string_columns(self) -> list[str]:
        """Columns read as text from CSV: ids and labels round-trip byte for byte; fold numbers stay numbers."""
        columns = (self.id_column, self.text_column, self.label_column)
        return [column for column in columns if column != self.fold_column]

    def _check_labels_present(self, frame: pd.DataFrame, path: str) -> None:
        missing = frame[self.label_column].isna().to_numpy()
        if missing.any():
            raise ValueError(
                f"{missing.sum()} row(s) of {path!r} have no label in column {self.label_column!r} "
                f"({self._describe_rows(frame, missing)}). Fill or remove them."
            )

    def _apply_empty_text_policy(self, frame: pd.DataFrame, path: str, labelled: bool) -> pd.DataFrame:
        """Texts as str; missing or blank ones handled by ``empty_texts``."""
        text = frame[self.text_column]
        empty = blank_texts(text)
        frame = frame.assign(**{self.text_column: text.fillna("").astype(str)})
        if not empty.any():
            return frame
        where = f"{empty.sum()} row(s) of {path!r} have a missing or blank {self.text_column!r}"
        if self.empty_texts == "error":
            raise ValueError(
                f"{where} ({self._describe_rows(frame, empty)}). Fix the data, or set empty_texts to 'drop' "
                "(labelled rows are dropped) or 'keep' (they are read as a lone [CLS])."
            )
        if self.empty_texts == "drop" and labelled:
            rank_zero_warn(f"{where}: dropped (empty_texts='drop').")
            return frame[~empty]
        rank_zero_warn(f"{where}: kept as a lone [CLS] token (empty_texts={self.empty_texts!r}).")
        return frame

    def _describe_rows(self, frame: pd.DataFrame, mask: np.ndarray) -> str:
        if self.id_column in frame.columns:
            return f"{self.id_column} {frame.loc[mask, self.id_column].head(_SHOWN_ROWS).tolist()}"
        return f"row positions {np.flatnonzero(mask)[:_SHOWN_ROWS].tolist()}"

    # ----------------------------------------------------------------------------------------------------------------
    # Datasets and loaders

    def _dataset(self, split: Literal["train", "validation", "test", "predict"]) -> PaddedTextDataset:
        if split not in self._datasets:
            if split == "predict":
                frame, labels = self._prediction_rows(), None
            else:
                if split == "test":
                    frame = self._test_rows()
                else:
                    frame = self._labelled_splits()[split == "validation"]
                labels = self._encode_labels(frame[self.label_column])
            self._datasets[split] = self._encoded_dataset(frame[self.text_column].tolist(), labels)
        return self._datasets[split]

    def _encode_labels(self, labels: pd.Series) -> np.ndarray:
        codes = labels.map({label: code for code, label in enumerate(self.classes)})
        if codes.isna().any():
            unknown = sorted(set(labels[codes.isna()]), key=str)
            raise ValueError(
                f"Labels {unknown} are not among the training classes {self.classes}: the model cannot score them."
            )
        return codes.to_numpy(dtype=np.int64)

    def _epoch_sampler(self, dataset: PaddedTextDataset) -> ResamplingSampler:
        """The per-epoch draw of training rows, resampled and length-bucketed as configured (see ``_sampler``)."""
        labels = self._labelled_splits()[0][self.label_column].to_numpy()
        if self.resampling == "none":
            # An under-sample that keeps every row of every class is a plain per-epoch shuffle, which the
            # sampler can then bucket by length.
            classes, counts = np.unique(labels, return_counts=True)
            kind, strategy = "under", dict(zip(classes.tolist(), counts.tolist()))
        else:
            kind = "under" if self.resampling == "random_under" else "over"
            strategy = self._strategy_for_labels(labels)
        return self._sampler(dataset, labels, strategy, kind)

    def _strategy_for_labels(self, labels: np.ndarray) -> float | str | dict:
        """``sampling_strategy`` with dict keys matched to string labels by ``str(key)``.

        CSV labels are read as text, while YAML reads ``{0: 100}`` with an int key: without this the key would
        name no class.
        """
        strategy = self.sampling_strategy
        if not isinstance(strategy, dict) or not isinstance(labels[0], str):
            return strategy
        matched = {str(key): count for key, count in strategy.items()}
        if len(matched) < len(strategy):
            raise ValueError(
                f"sampling_strategy={strategy!r} names a class twice: the labels are strings, so a key matches the "
                "label str(key). Give each class once."
            )
        return matched

    def _check_params(self) -> None:
        self._check_tokenizer_and_batching_params()
        choices = {
            "empty_texts": EMPTY_TEXT_POLICIES,
            "resampling": RESAMPLINGS,
            "predict_split": PREDICT_SPLITS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        if not 0.0 < self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must lie strictly between 0 and 1, got {self.val_fraction!r}.")
        if self.resampling == "none" and self.sampling_strategy != "auto":
            raise ValueError(
                f"sampling_strategy={self.sampling_strategy!r} needs a resampling: set resampling to 'random_under', "
                "'random_over' or 'class_balanced', or leave sampling_strategy at 'auto'."
            )
        if (self.fold_column is None) != (self.val_fold is None):
            raise ValueError("fold_column and val_fold go together: give both (explicit split) or neither.")
