"""What the library's DataModules share: a subword tokenizer (fitted, read from a file, or a pretrained checkpoint
folder's own) kept in the DataModule's checkpointed state, dynamically padded datasets, a seeded per-epoch shuffle
with length bucketing, and the loaders.

:class:`~imbalance_xfmr.data.TextDataModule` (labelled texts, for the classifier) and
:class:`~imbalance_xfmr.data.PretrainDataModule` (unlabelled texts, for masked-language-model pretraining) are both
:class:`TokenizedDataModule` s; :func:`read_tokenizer` reads a tokenizer from a ``SubwordTokenizer.save`` (or
``PretrainedTokenizer.save``) JSON or an ``imbalance-xfmr pretrain`` checkpoint (their ``tokenizer_path``). The
tokenizer JSON in the state says which class wrote it (:func:`tokenizer_from_json`), so a checkpoint restores a
:class:`~imbalance_xfmr.data.PretrainedTokenizer` without its folder.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from imbalance_xfmr.sampling.torch_sampler import ResamplingSampler

from .collate import PaddedTextDataset, identity_collate
from .io import write_text
from .pretrained_tokenizer import PretrainedTokenizer, is_pretrained_tokenizer_json
from .tokenizer import ALGORITHMS, TRUNCATIONS, SubwordTokenizer

AnyTokenizer = SubwordTokenizer | PretrainedTokenizer

PRETRAINING_STATE_KEY = "PretrainDataModule"
"""Where a pretraining checkpoint holds its DataModule's state (Lightning files it under the class's qualname)."""


def checkpoint_state(path: str, key: str, option: str) -> dict:
    """The DataModule state ``key`` of the Lightning checkpoint ``path`` (loaded with ``weights_only=True``, as
    LightningCLI itself reads hyper-parameters); ``option`` (e.g. ``checkpoint_path``) names it in the errors."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"{option} {path!r} does not exist.")
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if key not in checkpoint:
        raise KeyError(
            f"Checkpoint {path!r} holds no {key} state (its tokenizer): it was not written by a run with {key}. "
            f"Give a checkpoint that was, or leave {option} unset to fit the tokenizer anew."
        )
    return checkpoint[key]


def tokenizer_from_json(text: str) -> AnyTokenizer:
    """The tokenizer of a ``to_json()`` document: a :class:`~imbalance_xfmr.data.PretrainedTokenizer`'s when it
    begins as that class writes it, else a :class:`SubwordTokenizer`'s (whose ``from_json`` raises ValueError for
    anything else)."""
    if is_pretrained_tokenizer_json(text):
        return PretrainedTokenizer.from_json(text)
    return SubwordTokenizer.from_json(text)


def read_tokenizer(path: str) -> AnyTokenizer:
    """The fitted tokenizer in ``path``: a JSON written by :meth:`SubwordTokenizer.save` or
    :meth:`PretrainedTokenizer.save <imbalance_xfmr.data.PretrainedTokenizer.save>`, or a checkpoint written by
    ``imbalance-xfmr pretrain`` (the tokenizer of its :class:`~imbalance_xfmr.data.PretrainDataModule` state)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"tokenizer_path {path!r} does not exist.")
    if zipfile.is_zipfile(path):  # torch.save writes zip archives; a tokenizer JSON is text
        return tokenizer_from_json(checkpoint_state(path, PRETRAINING_STATE_KEY, "tokenizer_path")["tokenizer"])
    with open(path, "rb") as file:
        start = file.read(64).decode("utf-8", errors="replace")
    if is_pretrained_tokenizer_json(start):
        return PretrainedTokenizer.load(path)
    return SubwordTokenizer.load(path)  # its TokenizerFileError says what is wrong with any other file


class TokenizedDataModule(pl.LightningDataModule):
    """A LightningDataModule serving texts encoded by a subword tokenizer kept in its ``state_dict``.

    Subclasses fit the tokenizer in ``_fitted_tokenizer`` (with :meth:`_tokenizer_for`) and build their splits'
    datasets with :meth:`_encoded_dataset`. The parameters are those of
    :class:`~imbalance_xfmr.data.TextDataModule` of the same names; ``tokenizer_path`` replaces fitting by
    :func:`read_tokenizer`, ``pretrained_tokenizer`` (a checkpoint folder) by
    :meth:`PretrainedTokenizer.from_pretrained <imbalance_xfmr.data.PretrainedTokenizer.from_pretrained>` (then
    ``tokenizer``, ``max_vocab_size``, ``min_frequency`` and ``lowercase`` are unused; at most one of the two).
    """

    def __init__(
        self,
        *,
        tokenizer: Literal["bpe", "wordpiece"],
        max_vocab_size: int,
        min_frequency: int,
        lowercase: bool,
        max_length: int,
        truncation: Literal["head", "head_tail"],
        batch_size: int,
        eval_batch_size: int | None,
        length_bucketing: bool,
        bucket_batches: int,
        num_workers: int,
        tokenizer_path: str | None,
        pretrained_tokenizer: str | None,
    ) -> None:
        super().__init__()
        self.tokenizer = tokenizer
        self.max_vocab_size = max_vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.max_length = max_length
        self.truncation = truncation
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.length_bucketing = length_bucketing
        self.bucket_batches = bucket_batches
        self.num_workers = num_workers
        self.tokenizer_path = tokenizer_path
        self.pretrained_tokenizer = pretrained_tokenizer
        self._tokenizer: AnyTokenizer | None = None
        self._tokenizer_json: tuple[AnyTokenizer, str] | None = None  # (tokenizer, its to_json()), see state_dict
        self._datasets: dict[str, PaddedTextDataset] = {}

    # ----------------------------------------------------------------------------------------------------------------
    # What the model needs (linked by the CLI at instantiation)

    @property
    def vocab_size(self) -> int:
        """Size of the fitted vocabulary: token ids lie in ``[0, vocab_size)``."""
        return self._fitted_tokenizer().vocab_size_

    @property
    def pad_token_id(self) -> int:
        """The tokenizer's ``[PAD]`` id (0 for a fitted one; a checkpoint's own, e.g. RoBERTa's 1)."""
        return self._fitted_tokenizer().pad_token_id

    @property
    def cls_token_id(self) -> int:
        """The tokenizer's ``[CLS]`` id, first in every row (1 for a fitted one; a checkpoint's own, e.g. BERT's
        101)."""
        return self._fitted_tokenizer().cls_token_id

    @property
    def fitted_tokenizer(self) -> AnyTokenizer:
        """The fitted tokenizer (or the one read from ``tokenizer_path`` or ``pretrained_tokenizer``, or restored from
        a checkpoint)."""
        return self._fitted_tokenizer()

    def _fitted_tokenizer(self) -> AnyTokenizer:
        raise NotImplementedError

    # ----------------------------------------------------------------------------------------------------------------
    # State: the tokenizer, in every checkpoint

    def state_dict(self) -> dict:
        """The fitted tokenizer (JSON); Lightning stores this in each checkpoint."""
        return {"tokenizer": self._tokenizer_as_json()}

    def _tokenizer_as_json(self) -> str:
        """``to_json()`` of the fitted tokenizer, serialised once per tokenizer (every checkpoint stores it)."""
        tokenizer = self._fitted_tokenizer()
        if self._tokenizer_json is None or self._tokenizer_json[0] is not tokenizer:
            self._tokenizer_json = (tokenizer, tokenizer.to_json())
        return self._tokenizer_json[1]

    def load_state_dict(self, state_dict: dict) -> None:
        if self._tokenizer is not None and self.state_dict() != state_dict:
            self._datasets.clear()  # encoded with another vocabulary (or label order)
        self._tokenizer = tokenizer_from_json(state_dict["tokenizer"])

    def _tokenizer_for(self, texts: Sequence[str], mask_token: bool = False) -> AnyTokenizer:
        """The tokenizer of ``tokenizer_path`` or of the checkpoint folder ``pretrained_tokenizer``, or a new one
        (with ``[MASK]`` if ``mask_token``) fitted on ``texts``."""
        if self.tokenizer_path is not None:
            return read_tokenizer(self.tokenizer_path)
        if self.pretrained_tokenizer is not None:
            return PretrainedTokenizer.from_pretrained(self.pretrained_tokenizer)
        tokenizer = SubwordTokenizer(self.tokenizer, self.max_vocab_size, self.min_frequency, self.lowercase,
                                     mask_token=mask_token)
        return tokenizer.fit(texts)

    def _write_artifacts(self, trainer: pl.Trainer) -> None:
        """``tokenizer.json`` and the :meth:`_artifacts` into the Trainer's ``log_dir`` (from rank 0), when it has a
        logger: without one, Lightning's ``log_dir`` is ``default_root_dir``, by default the working directory,
        whose own ``tokenizer.json`` (a common name) must not be replaced. The checkpoints hold both anyway."""
        log_dir = trainer.log_dir  # every rank must ask: it is broadcast from rank 0
        if log_dir is None or not trainer.loggers or not trainer.is_global_zero:
            return
        write_text(Path(log_dir, "tokenizer.json"), self._fitted_tokenizer().to_json())
        for name, text in self._artifacts().items():
            write_text(Path(log_dir, name), text)

    def _artifacts(self) -> dict[str, str]:
        """Further files (name -> text) that ``fit`` writes beside ``tokenizer.json``."""
        return {}

    # ----------------------------------------------------------------------------------------------------------------
    # Datasets and loaders

    def _encoded_dataset(self, texts: Sequence[str], labels: np.ndarray | None = None) -> PaddedTextDataset:
        encoded = self._fitted_tokenizer().encode(texts, self.max_length, self.truncation)
        return PaddedTextDataset(encoded, labels, self.pad_token_id)

    def _eval_loader(self, dataset: PaddedTextDataset) -> DataLoader:
        # Sorted by length, evaluation batches pad little; predictions carry `index` to restore the row order.
        order = torch.argsort(dataset.lengths, descending=True, stable=True).tolist() if self.length_bucketing else None
        return self._loader(dataset, sampler=order, batch_size=self.eval_batch_size or self.batch_size)

    def _sampler(self, dataset: PaddedTextDataset, labels: np.ndarray, strategy: Any, kind: str) -> ResamplingSampler:
        """The per-epoch draw of ``dataset``'s rows (``labels``, ``strategy`` and ``kind`` as
        :class:`ResamplingSampler` takes them), length-bucketed if configured. Even a plain shuffle is drawn from
        (seed, epoch) alone, not from torch's global generator, so a fit resumed from a checkpoint sees the batches
        an uninterrupted one would."""
        bucketing = {"lengths": dataset.lengths, "batch_size": self.batch_size} if self.length_bucketing else {}
        return ResamplingSampler(
            labels,
            strategy,
            kind=kind,
            seed=torch.initial_seed() % 2**32,  # the global seed after seed_everything: runs repeat
            bucket_batches=self.bucket_batches,
            **bucketing,
        )

    def _loader(self, dataset: PaddedTextDataset, **batching) -> DataLoader:
        return DataLoader(
            dataset,
            collate_fn=identity_collate,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self._pin_memory(),
            **batching,
        )

    def _pin_memory(self) -> bool:
        """Batches in page-locked memory when they go to a CUDA device, so that Lightning's copy to it (``.to(device,
        non_blocking=True)``) is asynchronous: when the Trainer runs on CUDA, or, without a Trainer, when CUDA is
        available. Pinning changes no value."""
        trainer = self.trainer
        if trainer is None:
            return torch.cuda.is_available()
        try:
            return trainer.strategy.root_device.type == "cuda"
        except (AttributeError, RuntimeError):  # a strategy without a device yet
            return torch.cuda.is_available()

    def _check_tokenizer_and_batching_params(self) -> None:
        for name, allowed in (("tokenizer", ALGORITHMS), ("truncation", TRUNCATIONS)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}.")
        for name in ("batch_size", "max_vocab_size", "max_length", "bucket_batches"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}.")
        if self.max_length < 2:  # checked here, not first when the texts are encoded after the data is read
            raise ValueError(f"max_length must be at least 2 ([CLS] plus one token), got {self.max_length}.")
        if self.pretrained_tokenizer is not None:
            if self.tokenizer_path is not None:
                raise ValueError(f"tokenizer_path {self.tokenizer_path!r} and pretrained_tokenizer "
                                 f"{self.pretrained_tokenizer!r} both give the tokenizer: set one of them (a "
                                 "pretraining of the folder's encoder used the folder's tokenizer).")
            if self.max_length < 3:
                raise ValueError(f"max_length must be at least 3 with pretrained_tokenizer ([CLS], one token, [SEP]), "
                                 f"got {self.max_length}.")
        if self.eval_batch_size is not None and (not isinstance(self.eval_batch_size, int) or self.eval_batch_size < 1):
            raise ValueError(f"eval_batch_size must be a positive int or None, got {self.eval_batch_size!r}.")
