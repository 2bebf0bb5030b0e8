"""The tokenizer of a pretrained checkpoint folder (Hugging Face's layout), read with the `tokenizers` library.

A pretrained encoder only understands its own vocabulary, so texts for a checkpoint loaded by
:mod:`imbalance_xfmr.model.hf_checkpoint` are tokenized with :class:`PretrainedTokenizer`, built from the first of
these the folder holds:

- ``tokenizer.json``: a saved fast tokenizer, used as it is (its own truncation and padding settings are switched
  off: :meth:`PretrainedTokenizer.encode` does both jobs);
- ``vocab.txt``: BERT's WordPiece, normalised as ``tokenizer_config.json`` says (``do_lower_case``, default True;
  ``strip_accents``, default: as lowercasing; ``tokenize_chinese_chars``, default True), as transformers'
  ``BertTokenizerFast`` builds it;
- ``vocab.json`` + ``merges.txt``: RoBERTa's byte-level BPE (``add_prefix_space`` from ``tokenizer_config.json``,
  default False).

Special tokens come from ``tokenizer_config.json`` or ``special_tokens_map.json`` when they name them, else from the
vocabulary: ``[CLS] [SEP] [PAD] [UNK] [MASK]`` (BERT) or ``<s> </s> <pad> <unk> <mask>`` (RoBERTa). A
sentence-transformers folder whose Transformer module sits in a subfolder (``modules.json``) is read from there.

It has :class:`~imbalance_xfmr.data.tokenizer.SubwordTokenizer`'s interface where that makes sense (``fit``,
``encode`` -> :class:`~imbalance_xfmr.data.tokenizer.EncodedTexts`, ``vocab_size_``, ``pad_token_id``,
``cls_token_id``, ``mask_token_id``, ``to_json`` / ``from_json``, ``save`` / ``load``); its special-token ids are
the checkpoint's, so they are instance attributes here, and each encoded row is ``[CLS] tokens [SEP]``, as the
checkpoint was pretrained on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import Any, Literal

import numpy as np
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers

from .tokenizer import TRUNCATIONS, EncodedTexts, _truncate_and_prepend_cls

SPECIAL_TOKEN_ROLES = ("cls", "sep", "pad", "unk", "mask")
_REQUIRED_ROLES = ("cls", "sep", "pad")
_BERT_SPECIAL_TOKENS = {"cls": "[CLS]", "sep": "[SEP]", "pad": "[PAD]", "unk": "[UNK]", "mask": "[MASK]"}
_ROBERTA_SPECIAL_TOKENS = {"cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>", "mask": "<mask>"}
_FORMAT = "imbalance_xfmr.PretrainedTokenizer/1"
_JSON_START = '{"format": ' + json.dumps(_FORMAT)
"""How every :meth:`PretrainedTokenizer.to_json` document begins (its first key is the format)."""


def is_pretrained_tokenizer_json(start: str) -> bool:
    """Whether the text ``start`` (a document, or at least its first 60 characters) begins as
    :meth:`PretrainedTokenizer.to_json` writes it: how a saved tokenizer tells its class without being parsed."""
    return start.startswith(_JSON_START)


class PretrainedTokenizer:
    """A checkpoint's own tokenizer: ``[CLS]`` + subword ids + ``[SEP]`` per text, truncated to ``max_length``.

    Build it with :meth:`from_pretrained` (a checkpoint folder) or :meth:`load` (a file :meth:`save` wrote).

    Parameters
    ----------
    tokenizer : tokenizers.Tokenizer
        The subword tokenizer; :meth:`encode` asks it for no special tokens, truncation or padding.
    special_tokens : dict
        Role -> token string for the roles ``cls``, ``sep``, ``pad`` (required) and ``unk``, ``mask`` (optional,
        None when the vocabulary has none); each must be in ``tokenizer``'s vocabulary.

    Attributes
    ----------
    tokenizer_ : tokenizers.Tokenizer
        ``tokenizer`` (the name :class:`~imbalance_xfmr.data.tokenizer.SubwordTokenizer` gives its fitted one).
    vocab_size_ : int
        Size of the vocabulary, added tokens included: token ids lie in ``[0, vocab_size_)``.
    cls_token_id, sep_token_id, pad_token_id : int
        Ids of the special tokens; ``unk_token_id`` and ``mask_token_id`` are None when there is no such token.
    n_special : int
        0: unlike :class:`~imbalance_xfmr.data.tokenizer.SubwordTokenizer`'s, a checkpoint's special tokens are not
        the first ids of its vocabulary (BERT's ``[CLS]`` is 101); :attr:`special_token_ids` lists them.
    """

    n_special = 0

    def __init__(self, tokenizer: Tokenizer, special_tokens: dict[str, str | None]) -> None:
        self.tokenizer_ = tokenizer
        self.special_tokens = {role: special_tokens.get(role) for role in SPECIAL_TOKEN_ROLES}
        for role, token in self.special_tokens.items():
            token_id = None if token is None else tokenizer.token_to_id(token)
            if token_id is None and (token is not None or role in _REQUIRED_ROLES):
                raise ValueError(f"The {role} token {token!r} is not in the tokenizer's vocabulary; name the "
                                 f"checkpoint's own {role}_token in its tokenizer_config.json.")
            setattr(self, f"{role}_token_id", token_id)
        self.vocab_size_ = tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def special_token_ids(self) -> list[int]:
        """Sorted ids of every special token: those of the roles, and any other token the tokenizer marks special
        (e.g. one a ``tokenizer.json`` adds). Masked-language-model pretraining never masks them."""
        ids = {getattr(self, f"{role}_token_id") for role in SPECIAL_TOKEN_ROLES} - {None}
        ids |= {token_id for token_id, token in self.tokenizer_.get_added_tokens_decoder().items() if token.special}
        return sorted(ids)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> PretrainedTokenizer:
        """The tokenizer of the checkpoint ``folder`` (module docstring). Raises FileNotFoundError when ``folder``
        is not a local folder (nothing is downloaded) or holds no tokenizer files, ValueError for unreadable ones."""
        path = _tokenizer_folder(folder)
        settings = _read_json(path / "tokenizer_config.json")
        if (path / "tokenizer.json").is_file():
            tokenizer = _read_tokenizer_json(path / "tokenizer.json")
        elif (path / "vocab.txt").is_file():
            tokenizer = _wordpiece(path / "vocab.txt", settings)
        elif (path / "vocab.json").is_file() and (path / "merges.txt").is_file():
            tokenizer = _byte_level_bpe(path / "vocab.json", path / "merges.txt", settings)
        else:
            raise FileNotFoundError(f"{path} holds no tokenizer: expected tokenizer.json, vocab.txt (BERT WordPiece) "
                                    "or vocab.json + merges.txt (RoBERTa byte-level BPE).")
        special_tokens = _special_tokens(tokenizer, {**_read_json(path / "special_tokens_map.json"), **settings}, path)
        if not (path / "tokenizer.json").is_file():
            # As transformers does, special tokens are matched in the raw text before normalisation (a saved
            # tokenizer.json lists them already).
            tokenizer.add_special_tokens([AddedToken(token, special=True, normalized=False)
                                          for token in special_tokens.values() if token is not None])
        return cls(tokenizer, special_tokens)

    def fit(self, texts: Sequence[str] | None = None) -> PretrainedTokenizer:
        """Nothing to learn: the vocabulary is the checkpoint's. Accepts the training texts, and returns self, so a
        DataModule can fit either tokenizer the same way."""
        return self

    def encode(
        self, texts: Sequence[str], max_length: int, truncation: Literal["head", "head_tail"] = "head"
    ) -> EncodedTexts:
        """Token ids of ``texts``, each row ``[CLS]``, at most ``max_length - 2`` subword ids, ``[SEP]``.

        ``truncation='head'`` keeps the first tokens of a long text (transformers' ``truncation=True``, the same
        ids); ``'head_tail'`` keeps its first quarter and its last three quarters of the budget, as
        :meth:`SubwordTokenizer.encode <imbalance_xfmr.data.tokenizer.SubwordTokenizer.encode>` does.
        """
        if not isinstance(max_length, (int, np.integer)) or isinstance(max_length, bool) or max_length < 3:
            raise ValueError(f"max_length must be an int >= 3 ([CLS], one token, [SEP]), got {max_length!r}.")
        if truncation not in TRUNCATIONS:
            raise ValueError(f"truncation must be one of {TRUNCATIONS}, got {truncation!r}.")
        ids = [encoding.ids for encoding in self.tokenizer_.encode_batch_fast(list(texts), add_special_tokens=False)]
        lengths = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(lengths.sum()))
        with_cls = _truncate_and_prepend_cls(flat, lengths, max_length - 2, truncation, self.cls_token_id)
        # [SEP] goes before each row's end offset; every later row shifts by one per [SEP] inserted before it.
        token_ids = np.insert(with_cls.token_ids, with_cls.offsets[1:], np.int32(self.sep_token_id))
        offsets = with_cls.offsets + np.arange(len(with_cls.offsets), dtype=np.int64)
        return EncodedTexts(token_ids, offsets)

    def to_json(self) -> str:
        """The tokenizer as one JSON document: its special tokens plus the `tokenizers` serialisation."""
        document = {
            "format": _FORMAT,
            "special_tokens": self.special_tokens,
            "tokenizer": json.loads(self.tokenizer_.to_str()),
        }
        return json.dumps(document, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PretrainedTokenizer:
        """Inverse of :meth:`to_json`."""
        document = json.loads(text)
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError(f"Not a saved PretrainedTokenizer (expected format {_FORMAT!r}); save one with "
                             "PretrainedTokenizer.save().")
        return cls(Tokenizer.from_str(json.dumps(document["tokenizer"])), document["special_tokens"])

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (UTF-8)."""
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> PretrainedTokenizer:
        """Read a tokenizer written by :meth:`save` (for a checkpoint folder, use :meth:`from_pretrained`)."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------------
# Reading the folder


def _tokenizer_folder(folder: str | Path) -> Path:
    """``folder``, or the subfolder of a sentence-transformers Transformer module (``modules.json``)."""
    path = Path(folder)
    if not path.is_dir():
        raise FileNotFoundError(f"{str(folder)!r} is not a folder. Give a local checkpoint folder; nothing is "
                                "downloaded, so for a Hugging Face Hub name download it first (e.g. `hf download "
                                "NAME --local-dir DIR`) and give DIR.")
    modules = _read_json(path / "modules.json", default=[])
    for module in modules if isinstance(modules, list) else []:
        if isinstance(module, dict) and str(module.get("type", "")).endswith(".Transformer"):
            return path / module.get("path", "")
    return path


def _read_json(path: Path, default: Any = None) -> Any:
    """The JSON document at ``path``; ``default`` (an empty dict unless given) when there is no such file."""
    if not path.is_file():
        return {} if default is None else default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON ({error}).") from None


def _read_tokenizer_json(path: Path) -> Tokenizer:
    try:
        tokenizer = Tokenizer.from_file(str(path))
    except Exception as error:  # the Rust side raises a bare Exception for any unreadable file
        raise ValueError(f"{path} is not a tokenizers file ({error}).") from None
    tokenizer.no_truncation()  # encode() truncates and adds the special tokens itself
    tokenizer.no_padding()
    return tokenizer


def _wordpiece(vocab_file: Path, settings: dict) -> Tokenizer:
    """BERT's WordPiece tokenizer from ``vocab.txt`` (one token a line, id = line number)."""
    lowercase = settings.get("do_lower_case", True)
    unk_token = _token_text(settings.get("unk_token")) or _BERT_SPECIAL_TOKENS["unk"]
    tokenizer = Tokenizer(models.WordPiece(models.WordPiece.read_file(str(vocab_file)), unk_token=unk_token))
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=settings.get("tokenize_chinese_chars", True),
        strip_accents=settings.get("strip_accents"),  # None: strip when lowercasing
        lowercase=lowercase,
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _byte_level_bpe(vocab_file: Path, merges_file: Path, settings: dict) -> Tokenizer:
    """RoBERTa's byte-level BPE tokenizer from ``vocab.json`` and ``merges.txt``."""
    add_prefix_space = settings.get("add_prefix_space", False)
    tokenizer = Tokenizer(models.BPE.from_file(str(vocab_file), str(merges_file)))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def _special_tokens(tokenizer: Tokenizer, settings: dict, folder: Path) -> dict[str, str | None]:
    """Role -> token: what ``settings`` (tokenizer_config.json over special_tokens_map.json) names, the rest
    from the BERT or RoBERTa names that the vocabulary holds."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    if _BERT_SPECIAL_TOKENS["cls"] in vocab:
        defaults = _BERT_SPECIAL_TOKENS
    elif _ROBERTA_SPECIAL_TOKENS["cls"] in vocab:
        defaults = _ROBERTA_SPECIAL_TOKENS
    else:
        defaults = dict.fromkeys(SPECIAL_TOKEN_ROLES)
    tokens = {role: _token_text(settings.get(f"{role}_token")) or defaults[role] for role in SPECIAL_TOKEN_ROLES}
    missing = [role for role in _REQUIRED_ROLES if tokens[role] is None]
    if missing:
        raise ValueError(f"{folder}: cannot tell the {', '.join(missing)} token(s): the vocabulary has neither "
                         "[CLS] nor <s>; name them (cls_token, sep_token, pad_token) in tokenizer_config.json.")
    return {role: token if token is None or token in vocab or role in _REQUIRED_ROLES else None
            for role, token in tokens.items()}


def _token_text(entry: str | dict | None) -> str | None:
    """A special token as tokenizer_config.json gives it: a string, or an AddedToken dict with ``content``."""
    return entry.get("content") if isinstance(entry, dict) else entry
