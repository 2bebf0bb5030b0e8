"""Subword tokenizer for the Transformer classifier: WordPiece or BPE from the `tokenizers` library.

The tokenizer is fitted on the training texts only (never on validation or test texts), saved as one JSON file and
reloaded for prediction. Special tokens have fixed ids: ``[PAD]`` = 0, ``[CLS]`` = 1, ``[UNK]`` = 2, and with
``mask_token=True`` (a tokenizer for masked-language-model pretraining) ``[MASK]`` = 3. Every encoded sequence starts
with ``[CLS]`` (the classifier's pooling token) and holds at most ``max_length`` ids, ``[CLS]`` included.

Encoded texts are ragged: one flat int32 array of token ids plus row offsets (like a CSR matrix), so a corpus costs
4 bytes a token and padding happens per batch (see :mod:`imbalance_xfmr.data.collate`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

PAD_TOKEN, CLS_TOKEN, UNK_TOKEN, MASK_TOKEN = "[PAD]", "[CLS]", "[UNK]", "[MASK]"
SPECIAL_TOKENS = (PAD_TOKEN, CLS_TOKEN, UNK_TOKEN)  # trainers give special tokens the first ids, in this order
ALGORITHMS = ("bpe", "wordpiece")
TRUNCATIONS = ("head", "head_tail")
_FORMAT = "imbalance_xfmr.SubwordTokenizer/1"


class TokenizerFileError(ValueError):
    """A file that :meth:`SubwordTokenizer.load` cannot read as a tokenizer: the message names the file and says
    why (``reason``: not UTF-8 text, not JSON, JSON of something else)."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{str(path)!r} is not a tokenizer JSON (SubwordTokenizer.save): {reason}")
        self.path = str(path)
        self.reason = reason


class EncodedTexts(NamedTuple):
    """Ragged token ids of N texts: row ``i`` is ``token_ids[offsets[i]:offsets[i + 1]]``.

    token_ids: int32 (total_tokens,). offsets: int64 (N + 1,), ``offsets[0] == 0``.
    """

    token_ids: np.ndarray
    offsets: np.ndarray

    @property
    def lengths(self) -> np.ndarray:
        """int64 (N,): tokens per row, [CLS] included."""
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1


class SubwordTokenizer:
    """WordPiece or BPE subword tokenizer with BERT-style normalisation, fitted on training texts.

    Parameters
    ----------
    algorithm : {'bpe', 'wordpiece'}
        Subword model: byte-pair encoding (Sennrich et al.) or WordPiece (BERT), both trained by `tokenizers`.
        BPE training is deterministic. The WordPiece trainer numbers its '##' continuation tokens in hash-map
        order, which changes from run to run, so ids (and merges that tie) can differ between two fits of the
        same texts (huggingface/tokenizers issue #1794); a saved WordPiece tokenizer reloads exactly.
    vocab_size : int
        Largest vocabulary, special tokens included; the fitted vocabulary is smaller when the texts run out of
        subwords worth adding (``vocab_size_`` tells the real size).
    min_frequency : int
        A merge must occur at least this often in the training texts to enter the vocabulary.
    lowercase : bool
        Lowercase (and strip accents) before splitting, like BERT's uncased normaliser.
    mask_token : bool
        Also reserve ``[MASK]`` (id 3, after the other special tokens, whose ids do not move) for masked-language-model
        pretraining. Off, the vocabulary and every id are those of a tokenizer without it.

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
        The fitted tokenizer (no special tokens are added by it; :meth:`encode` prepends [CLS]).
    vocab_size_ : int
        Size of the fitted vocabulary: token ids lie in ``[0, vocab_size_)``.
    """

    pad_token_id = 0
    cls_token_id = 1
    unk_token_id = 2

    def __init__(
        self,
        algorithm: Literal["bpe", "wordpiece"] = "bpe",
        vocab_size: int = 8000,
        min_frequency: int = 2,
        lowercase: bool = True,
        mask_token: bool = False,
    ) -> None:
        self.algorithm = algorithm
        self.vocab_size = vocab_size
        self.min_frequency = min_frequency
        self.lowercase = lowercase
        self.mask_token = mask_token

    @property
    def special_tokens(self) -> tuple[str, ...]:
        """The special tokens in id order: ids ``0 .. n_special - 1``."""
        return (*SPECIAL_TOKENS, MASK_TOKEN) if self.mask_token else SPECIAL_TOKENS

    @property
    def n_special(self) -> int:
        """Number of special tokens (3, or 4 with ``mask_token``); every other id is a subword."""
        return len(self.special_tokens)

    @property
    def mask_token_id(self) -> int | None:
        """Id of ``[MASK]`` (3), or None without ``mask_token``."""
        return self.special_tokens.index(MASK_TOKEN) if self.mask_token else None

    def get_params(self) -> dict:
        return {
            "algorithm": self.algorithm,
            "vocab_size": self.vocab_size,
            "min_frequency": self.min_frequency,
            "lowercase": self.lowercase,
            "mask_token": self.mask_token,
        }

    def fit(self, texts: Sequence[str]) -> SubwordTokenizer:
        """Learn the subword vocabulary from ``texts`` (the training texts only)."""
        self._check_params()
        if len(texts) == 0:
            raise ValueError("SubwordTokenizer.fit got no texts: fit it on the (non-empty) training texts.")
        if self.algorithm == "wordpiece":
            model = models.WordPiece(unk_token=UNK_TOKEN)
            trainer = trainers.WordPieceTrainer
        else:
            model = models.BPE(unk_token=UNK_TOKEN)
            trainer = trainers.BpeTrainer
        tokenizer = Tokenizer(model)
        tokenizer.normalizer = normalizers.BertNormalizer(lowercase=self.lowercase)
        tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tokenizer.train_from_iterator(
            texts,
            trainer(
                vocab_size=self.vocab_size,
                min_frequency=self.min_frequency,
                special_tokens=list(self.special_tokens),
                show_progress=False,
            ),
            length=len(texts),
        )
        self.tokenizer_ = tokenizer
        self.vocab_size_ = tokenizer.get_vocab_size(with_added_tokens=True)
        return self

    def encode(
        self, texts: Sequence[str], max_length: int, truncation: Literal["head", "head_tail"] = "head"
    ) -> EncodedTexts:
        """Token ids of ``texts``, each row ``[CLS]`` followed by at most ``max_length - 1`` subword ids.

        ``truncation='head'`` keeps the first tokens of a long text; ``'head_tail'`` keeps its first quarter and its
        last three quarters of the budget, the split Sun et al. (2019, "How to fine-tune BERT for text
        classification") found best (128 head + 382 tail tokens of 510).
        """
        tokenizer = self._fitted()
        if not isinstance(max_length, (int, np.integer)) or max_length < 2:
            raise ValueError(f"max_length must be an int >= 2 ([CLS] plus one token), got {max_length!r}.")
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}.")
        # encode_batch_fast skips character offsets we never use; the id lists are Rust objects, read once each.
        ids = [encoding.ids for encoding in tokenizer.encode_batch_fast(list(texts), add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        return _truncate_and_prepend_cls(flat, lengths, max_length - 1, truncation, self.cls_token_id)

    def to_json(self) -> str:
        """The fitted tokenizer as one JSON document: our parameters plus the `tokenizers` serialisation."""
        document = {
            "format": _FORMAT,
            "params": self.get_params(),
            "tokenizer": json.loads(self._fitted().to_str()),
        }
        return json.dumps(document, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SubwordTokenizer:
        """Inverse of :meth:`to_json`; a document saved before ``mask_token`` existed loads without ``[MASK]``."""
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError(
                f"Not a saved SubwordTokenizer (expected format {_FORMAT!r}); save one with SubwordTokenizer.save()."
            )
        tokenizer = cls(**document["params"])
        tokenizer.tokenizer_ = Tokenizer.from_str(json.dumps(document["tokenizer"]))
        tokenizer.vocab_size_ = tokenizer.tokenizer_.get_vocab_size(with_added_tokens=True)
        return tokenizer

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> SubwordTokenizer:
        """Read a tokenizer written by :meth:`save`; :class:`TokenizerFileError` (a ValueError naming ``path``) when
        the file is not one, e.g. a binary file (``UnicodeDecodeError`` would name neither the file nor the fault)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise TokenizerFileError(path, f"it is not UTF-8 text (byte {error.object[error.start]:#04x} at "
                                           f"offset {error.start})") from None
        try:
            return cls.from_json(text)
        except json.JSONDecodeError as error:
            raise TokenizerFileError(path, f"it is not JSON ({error})") from None
        except (ValueError, KeyError, TypeError) as error:  # JSON, but not the document to_json() writes
            raise TokenizerFileError(path, f"it is JSON of something else ({type(error).__name__}: {error})") from None

    def _check_params(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}.")
        if not isinstance(self.vocab_size, (int, np.integer)) or self.vocab_size <= self.n_special:
            raise ValueError(
                f"vocab_size must be an int > {self.n_special} (the special tokens), got {self.vocab_size!r}."
            )
        if not isinstance(self.min_frequency, (int, np.integer)) or self.min_frequency < 1:
            raise ValueError(f"min_frequency must be an int >= 1, got {self.min_frequency!r}.")

    def _fitted(self) -> Tokenizer:
        if not hasattr(self, "tokenizer_"):
            raise RuntimeError("This SubwordTokenizer is not fitted yet: call fit(train_texts) or load() first.")
        return self.tokenizer_


def _truncate_and_prepend_cls(
    flat: np.ndarray, lengths: np.ndarray, budget: int, truncation: str, cls_token_id: int
) -> EncodedTexts:
    """Keep at most ``budget`` ids per row (head, or head and tail), then put ``cls_token_id`` first in each row."""
    n_rows = len(lengths)
    head = budget if truncation == "head" else budget // 4
    tail = budget - head
    too_long = lengths > budget
    keep_head = np.where(too_long, head, lengths)  # short rows keep everything as "head"
    keep_tail = np.where(too_long, tail, 0)
    row = np.repeat(np.arange(n_rows), lengths)
    position = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    keep = (position < keep_head[row]) | (position >= (lengths - keep_tail)[row])

    kept_lengths = keep_head + keep_tail + 1  # + [CLS]
    offsets = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(kept_lengths, out=offsets[1:])
    token_ids = np.empty(offsets[-1], dtype=np.int32)
    is_cls = np.zeros(offsets[-1], dtype=bool)
    is_cls[offsets[:-1]] = True
    token_ids[is_cls] = cls_token_id
    token_ids[~is_cls] = flat[keep]
    return EncodedTexts(token_ids, offsets)
