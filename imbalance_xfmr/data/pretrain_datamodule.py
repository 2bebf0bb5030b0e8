"""LightningDataModule of unlabelled texts for masked-language-model pretraining (``imbalance-xfmr pretrain``).

The texts of ``train_path`` and, when given, ``test_path`` (CSV or Parquet, only ``text_column`` is read; labels,
if any, are ignored) are the corpus: self-pretraining learns the task's own language from every text it has,
test texts included, since no label is used. Blank or missing texts are dropped with a warning. A ``val_fraction``
of the texts, drawn from ``split_seed``, is held out for ``val/loss``; the tokenizer (with the ``[MASK]`` token) is
fitted on all of them, so the classifier that starts from the pretrained encoder can use the same tokenizer
(``TextDataModule(tokenizer_path=<the pretraining checkpoint>)``). With ``pretrained_tokenizer`` (a checkpoint
folder, for continued pretraining of its encoder: ``imbalance-xfmr pretrain --model.pretrained DIR``) the folder's
own tokenizer is used instead, as it is, and its special tokens, wherever they lie in its vocabulary, are never
masked (``special_token_ids``).

Batches are those of :mod:`imbalance_xfmr.data.collate` without labels (``input_ids``, ``attention_mask``,
``index``), shuffled per epoch from (seed, epoch) alone and optionally length-bucketed, as in
:class:`~imbalance_xfmr.data.TextDataModule`; the tokenizer is in the DataModule's ``state_dict``, so every
pretraining checkpoint holds it.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pytorch_lightning.utilities import rank_zero_warn
from torch.utils.data import DataLoader

from .collate import PaddedTextDataset
from .io import blank_texts, check_columns, read_table
from .pretrained_tokenizer import PretrainedTokenizer
from .tokenized import AnyTokenizer, TokenizedDataModule

_SPLITS_OF_STAGE = {"fit": ("train", "validation"), "validate": ("validation",)}


class PretrainDataModule(TokenizedDataModule):
    """Unlabelled texts, a held-out validation share, and a tokenizer with ``[MASK]`` fitted on all of them.

    Parameters
    ----------
    train_path : str
        Table (CSV or Parquet) with the ``text_column``.
    test_path : str or None
        A second table whose texts join the corpus (e.g. the competition's test texts).
    text_column : str
        Column of the texts in both tables.
    val_fraction : float
        Share of the texts held out for validation, in [0, 1); 0: no validation (no ``val/loss``).
    split_seed : int
        Seed of the held-out draw.
    tokenizer, max_vocab_size, min_frequency, lowercase, max_length, truncation, batch_size, eval_batch_size,
    length_bucketing, bucket_batches, num_workers :
        As in :class:`~imbalance_xfmr.data.TextDataModule`.
    tokenizer_path : str or None
        A fitted tokenizer with ``[MASK]`` (a :meth:`SubwordTokenizer.save` JSON, or a pretraining checkpoint) to use
        instead of fitting one.
    pretrained_tokenizer : str or None
        A pretrained checkpoint folder whose own tokenizer (:class:`~imbalance_xfmr.data.PretrainedTokenizer`, with a
        mask token) to use instead of fitting one; not with ``tokenizer_path``.
    """

    def __init__(
        self,
        train_path: str,
        test_path: str | None = None,
        text_column: str = "text",
        val_fraction: float = 0.05,
        split_seed: int = 0,
        tokenizer: Literal["bpe", "wordpiece"] = "bpe",
        max_vocab_size: int = 8000,
        min_frequency: int = 2,
        lowercase: bool = True,
        max_length: int = 128,
        truncation: Literal["head", "head_tail"] = "head",
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        length_bucketing: bool = False,
        bucket_batches: int = 50,
        num_workers: int = 0,
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
        self.text_column = text_column
        self.val_fraction = val_fraction
        self.split_seed = split_seed
        self._check_tokenizer_and_batching_params()
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}.")
        self._corpus: np.ndarray | None = None
        self._splits: dict[str, np.ndarray] | None = None

    # ----------------------------------------------------------------------------------------------------------------
    # What the model needs (linked by the CLI at instantiation)

    @property
    def mask_token_id(self) -> int:
        """Id of ``[MASK]``."""
        return self._fitted_tokenizer().mask_token_id

    @property
    def n_special(self) -> int:
        """Number of special tokens at the start of the vocabulary: ids ``0 .. n_special - 1``, never masked (0 for a
        checkpoint's tokenizer, whose special tokens lie anywhere: :attr:`special_token_ids`)."""
        return self._fitted_tokenizer().n_special

    @property
    def special_token_ids(self) -> list[int] | None:
        """The ids of every special token, never masked, for a checkpoint's tokenizer; None for a fitted one, whose
        special tokens are the ids below ``n_special``."""
        tokenizer = self._fitted_tokenizer()
        return tokenizer.special_token_ids if isinstance(tokenizer, PretrainedTokenizer) else None

    # ----------------------------------------------------------------------------------------------------------------
    # Lightning hooks

    def setup(self, stage: str) -> None:
        if stage not in _SPLITS_OF_STAGE:
            raise ValueError(f"PretrainDataModule serves fit and validate, not {stage!r}: it has no labels.")
        for split in _SPLITS_OF_STAGE[stage]:
            self._dataset(split)
        if stage == "fit" and self.trainer is not None:
            self._write_artifacts(self.trainer)

    def train_dataloader(self) -> DataLoader:
        dataset = self._dataset("train")
        # Unlabelled rows are one class that is not resampled: a seeded per-epoch shuffle.
        sampler = self._sampler(dataset, np.zeros(len(dataset), dtype=np.int64), None, "under")
        return self._loader(dataset, sampler=sampler, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader | list:
        if len(self._split()["validation"]) == 0:
            return []  # val_fraction=0: Lightning runs no validation
        return self._eval_loader(self._dataset("validation"))

    # ----------------------------------------------------------------------------------------------------------------
    # Texts, split, tokenizer

    def _fitted_tokenizer(self) -> AnyTokenizer:
        if self._tokenizer is None:
            tokenizer = self._tokenizer_for(self._texts().tolist(), mask_token=True)
            if tokenizer.mask_token_id is None and self.pretrained_tokenizer is not None:
                raise ValueError(f"pretrained_tokenizer {self.pretrained_tokenizer!r} has no mask token, which "
                                 "masked-language-model pretraining needs: name it (mask_token) in the folder's "
                                 "tokenizer_config.json, or pretrain another checkpoint.")
            if tokenizer.mask_token_id is None:
                raise ValueError(f"tokenizer_path {self.tokenizer_path!r} has no [MASK] token, which pretraining "
                                 "needs: give a pretraining checkpoint, or leave tokenizer_path unset to fit one.")
            self._tokenizer = tokenizer
        return self._tokenizer

    def _texts(self) -> np.ndarray:
        """Every non-blank text of ``train_path`` then ``test_path``, an object array of str (N,)."""
        if self._corpus is None:
            texts = np.concatenate([self._texts_of(path) for path in (self.train_path, self.test_path) if path])
            if len(texts) == 0:
                raise ValueError(f"{self.train_path!r} (and test_path) hold no non-blank text to pretrain on.")
            self._corpus = texts
        return self._corpus

    def _split(self) -> dict[str, np.ndarray]:
        """The texts of ``train`` and ``validation`` (object arrays of str), each in file order."""
        if self._splits is None:
            texts = self._texts()
            n_validation = math.ceil(self.val_fraction * len(texts))
            if n_validation == len(texts):
                raise ValueError(f"val_fraction={self.val_fraction} leaves no training text of the {len(texts)}.")
            held_out = np.zeros(len(texts), dtype=bool)
            held_out[np.random.default_rng(self.split_seed).permutation(len(texts))[:n_validation]] = True
            self._splits = {"train": texts[~held_out], "validation": texts[held_out]}
        return self._splits

    def _texts_of(self, path: str) -> np.ndarray:
        frame = read_table(path, [self.text_column])
        check_columns(frame, [self.text_column], path)
        texts = frame[self.text_column]
        blank = blank_texts(texts)
        if blank.any():
            rank_zero_warn(f"{blank.sum()} row(s) of {path!r} have a missing or blank {self.text_column!r}: dropped.")
        return texts[~blank].astype(str).to_numpy(dtype=object)

    def _dataset(self, split: Literal["train", "validation"]) -> PaddedTextDataset:
        if split not in self._datasets:
            self._datasets[split] = self._encoded_dataset(self._split()[split].tolist())
        return self._datasets[split]
