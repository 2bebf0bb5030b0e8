"""Self-pretraining: the encoder trained as a masked language model on the task's own (unlabelled) texts.

BERT's objective (Devlin et al., 2019, section 3.1): :func:`mask_tokens` selects 15% of the real, non-special tokens
of each batch; of those, 80% are replaced by ``[MASK]``, 10% by a random token and 10% are left as they are, and
the model predicts the original token at every selected position. :class:`MaskedLanguageModel` trains the library's
:class:`~imbalance_xfmr.model.encoder.TransformerClassifier` (built without a classification head) so, under the
hyper-parameter names and defaults of :class:`~imbalance_xfmr.model.classifier.TextClassifier`, with BERT's MLM head
(Linear, GELU, LayerNorm, then a projection onto the vocabulary tied to the token embeddings).

``imbalance-xfmr pretrain`` (:mod:`imbalance_xfmr.cli`) trains it on a
:class:`~imbalance_xfmr.data.PretrainDataModule`; a ``TextClassifier(init_from=<that last.ckpt>)`` then starts its
encoder from the checkpoint (:func:`load_pretrained_encoder`), with the pretraining tokenizer
(``TextDataModule(tokenizer_path=<the same checkpoint>)``).

Logged once an epoch: ``train/loss`` (mean cross-entropy over the epoch's masked tokens), ``val/loss`` and
``val/accuracy`` (the share of masked validation tokens predicted exactly). Training masks come from torch's global
generator, which :class:`~imbalance_xfmr.training.BatchSeed` reseeds before every training batch, so a resumed
pretraining draws the masks an uninterrupted one would. Validation masks come from a generator seeded with the batch
index: every epoch scores the same masked tokens, so ``val/loss`` is comparable from epoch to epoch (and a
``checkpoints.monitor`` on it picks a better model, not a luckier mask), and validation draws nothing from the
global generator.

Continued pretraining of a pretrained checkpoint (task-adaptive pretraining, Gururangan et al., 2020):
``MaskedLanguageModel(pretrained=DIR)`` takes its encoder, architecture and weights, from a Hugging Face checkpoint
folder (:mod:`~imbalance_xfmr.model.hf_checkpoint`) and masks with its tokenizer's special tokens
(``special_token_ids``); a ``TextClassifier(init_from=<that last.ckpt>)`` then starts from it.

An encoder that comes from a checkpoint has its :class:`~imbalance_xfmr.model.encoder.EncoderConfig` saved as a
plain dict, the hyper-parameter ``encoder_config``, so a Lightning checkpoint of the model rebuilds it without the
folder. :func:`checkpoint_encoder` is that rule, shared by both LightningModules: where the encoder's configuration
comes from, and which encoder arguments may be given beside it.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .encoder import Activation, EncoderConfig, Positional, TransformerClassifier
from .epoch_mean import EpochMean
from .hf_checkpoint import read_hf_checkpoint
from .optimization import Decay, check_optimization_args, configure_adamw

IGNORE_INDEX = -100
"""``targets`` value of the positions :func:`mask_tokens` did not select (``F.cross_entropy``'s ignore_index)."""

MASK_SHARE, RANDOM_SHARE = 0.8, 0.1
"""Of the selected tokens, the share replaced by [MASK] and the share replaced by a random token (BERT's 80/10/10;
the rest keep their id)."""

PRETRAINING_METRICS = ("val/loss", "val/accuracy")
"""What :class:`MaskedLanguageModel` logs once per validation epoch (what ``checkpoints.monitor`` may name)."""

_HEAD_PREFIX = "mlm_head."
_ENCODER_PREFIX = "model."
_POOLER_PREFIX = "model.pooler."
_ARCHITECTURE = ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "activation", "norm_first", "positional")
"""Encoder hyper-parameters a pretrained encoder and the classifier it initialises must share (``max_length`` too
for learned positions, whose table has one row per position)."""

ENCODER_ARGUMENTS = ("d_model", "n_heads", "n_layers", "d_ff", "activation", "norm_first", "positional")
"""The encoder arguments of TextClassifier and MaskedLanguageModel that a checkpoint's encoder decides: beside one,
each must be left at its default or equal the checkpoint's value (:func:`checkpoint_encoder`)."""

_FINE_TUNING_FIELDS = ("num_classes", "pooling", "pooler", "dropout", "attention_dropout", "activation_dropout")
"""EncoderConfig fields that fine-tuning may change: an encoder initialised from a pretraining must match the
pretraining's encoder in every other one."""


def mask_tokens(
    input_ids: Tensor,
    attention_mask: Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    n_special: int,
    probability: float = 0.15,
    generator: torch.Generator | None = None,
    special_token_ids: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """BERT's masking of a batch: input_ids (B, T) int64, attention_mask (B, T) bool, True at real tokens ->
    (inputs (B, T) int64, targets (B, T) int64).

    Every real token whose id is not special (ids ``0 .. n_special - 1``, and the ids of ``special_token_ids``, an
    int64 tensor (S,), for a pretrained tokenizer whose special tokens are scattered over its vocabulary) is
    selected with ``probability``, independently. A selected token becomes ``mask_token_id`` with probability 0.8,
    a uniformly drawn id in ``[n_special, vocab_size)`` with probability 0.1 (possibly its own; with
    ``special_token_ids`` possibly a special one, as Hugging Face's ``DataCollatorForLanguageModeling`` draws), and
    stays as it is otherwise. ``targets`` holds the original id at the selected positions and :data:`IGNORE_INDEX`
    (-100) everywhere else. Draws three (B, T) tensors from ``generator`` (default: torch's global generator on the
    batch's device): the selection, the 80/10/10 choice, the random ids.
    """
    if not 0.0 < probability <= 1.0:
        raise ValueError(f"probability must be in (0, 1], got {probability!r}.")
    if not n_special < vocab_size:
        raise ValueError(f"vocab_size ({vocab_size}) must exceed n_special ({n_special}): no token to predict.")
    shape, device = input_ids.shape, input_ids.device
    eligible = attention_mask & (input_ids >= n_special)
    if special_token_ids is not None:
        eligible &= ~torch.isin(input_ids, special_token_ids)
    selected = eligible & (torch.rand(shape, generator=generator, device=device) < probability)
    action = torch.rand(shape, generator=generator, device=device)
    random_ids = torch.randint(n_special, vocab_size, shape, generator=generator, device=device)
    inputs = torch.where(selected & (action < MASK_SHARE), mask_token_id, input_ids)
    inputs = torch.where(selected & (action >= MASK_SHARE) & (action < MASK_SHARE + RANDOM_SHARE), random_ids, inputs)
    targets = torch.where(selected, input_ids, IGNORE_INDEX)
    return inputs, targets


class MaskedLanguageModelHead(nn.Module):
    """BERT's MLM head: hidden states (N, D) -> vocabulary logits (N, V): Linear(D, E), GELU, LayerNorm, then the
    ``decoder`` Linear(E, V) whose weight IS ``embedding.weight`` (V, E) (tied: one parameter, trained by both
    ends), with a bias of its own. E = D but for ELECTRA's narrower embeddings (``d_model``: D, default E), whose
    generator head projects down to E the same way."""

    def __init__(self, embedding: nn.Embedding, layer_norm_eps: float = 1e-5, d_model: int | None = None) -> None:
        super().__init__()
        vocab_size, width = embedding.weight.shape
        self.dense = nn.Linear(width if d_model is None else d_model, width)
        self.norm = nn.LayerNorm(width, eps=layer_norm_eps)
        # Built on the meta device: its (V, E) weight is replaced by the embedding's, so is never initialised.
        self.decoder = nn.Linear(width, vocab_size, device="meta")
        self.decoder.weight = embedding.weight
        self.decoder.bias = nn.Parameter(torch.zeros(vocab_size, device=embedding.weight.device))
        nn.init.normal_(self.dense.weight, std=0.02)  # the encoder's own initialisation
        nn.init.zeros_(self.dense.bias)

    def forward(self, hidden: Tensor) -> Tensor:
        return self.decoder(self.norm(F.gelu(self.dense(hidden))))


class MaskedLanguageModel(pl.LightningModule):
    """The encoder of :class:`~imbalance_xfmr.model.classifier.TextClassifier` pretrained as a masked language
    model (module docstring).

    Args:
        vocab_size, mask_token_id, n_special: the tokenizer's vocabulary size, ``[MASK]`` id and number of special
            tokens (ids ``0 .. n_special - 1``; linked from :class:`~imbalance_xfmr.data.PretrainDataModule` by the
            CLI).
        max_length, d_model, n_heads, n_layers, d_ff, dropout, activation, norm_first, positional, pad_token_id: the
            encoder, with TextClassifier's names and defaults (see
            :class:`~imbalance_xfmr.model.encoder.EncoderConfig`).
        mask_probability: share of the real, non-special tokens selected for prediction.
        lr, weight_decay, betas, warmup_fraction, decay, min_lr_ratio: AdamW and its schedule, as TextClassifier's
            (:mod:`imbalance_xfmr.model.optimization`).
        pretrained: a Hugging Face checkpoint folder (BERT, DistilBERT, RoBERTa, ELECTRA, MiniLM, a
            sentence-transformers folder; :mod:`~imbalance_xfmr.model.hf_checkpoint`) whose encoder, architecture and
            weights, is pretrained further (task-adaptive pretraining); the MLM head is new. The encoder arguments
            are then the checkpoint's: leave them at their defaults (:func:`checkpoint_encoder`). Only read here: a
            checkpoint of this model holds the weights and (``encoder_config``) the architecture.
        encoder_config: the :class:`~imbalance_xfmr.model.encoder.EncoderConfig` of an encoder from a checkpoint, as
            a dict: set by the model itself from ``pretrained`` and saved with its hyper-parameters, so that its
            Lightning checkpoint rebuilds the encoder without the folder (give ``pretrained=None`` then).
        special_token_ids: the ids of every special token, never masked, for a tokenizer whose special tokens are
            not the ids below ``n_special`` (a checkpoint's: ``n_special`` is then 0; linked from the DataModule).
            None: those ids.

    ``self.model`` is a :class:`~imbalance_xfmr.model.encoder.TransformerClassifier` without a head: its
    ``state_dict`` keys are a TextClassifier's ``model.*`` keys but ``head.*``. ``self.mlm_head`` is the
    :class:`MaskedLanguageModelHead`, tied to ``self.model.token_embedding``.
    """

    def __init__(
        self,
        vocab_size: int,
        mask_token_id: int,
        n_special: int,
        max_length: int = 512,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 512,
        dropout: float = 0.1,
        activation: Activation = "gelu",
        norm_first: bool = True,
        positional: Positional = "sinusoidal",
        pad_token_id: int = 0,
        mask_probability: float = 0.15,
        lr: float = 3e-4,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        warmup_fraction: float = 0.1,
        decay: Decay = "cosine",
        min_lr_ratio: float = 0.0,
        pretrained: str | None = None,
        encoder_config: dict[str, Any] | None = None,
        special_token_ids: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        check_optimization_args(lr=lr, weight_decay=weight_decay, warmup_fraction=warmup_fraction, decay=decay,
                                min_lr_ratio=min_lr_ratio)
        if not 0.0 < mask_probability <= 1.0:
            raise ValueError(f"mask_probability must be in (0, 1], got {mask_probability!r}.")
        _check_special_tokens(vocab_size, mask_token_id, n_special, special_token_ids)
        arguments = dict(vocab_size=vocab_size, num_classes=None, max_length=max_length, d_model=d_model,
                         n_heads=n_heads, n_layers=n_layers, d_ff=d_ff, dropout=dropout, activation=activation,
                         norm_first=norm_first, positional=positional, pad_token_id=pad_token_id)
        from_checkpoint = checkpoint_encoder(arguments, pretrained=pretrained, encoder_config=encoder_config)
        if from_checkpoint is None:
            self.model = TransformerClassifier(EncoderConfig(**arguments))  # num_classes=None: no head
        else:
            self.model = from_checkpoint.build()
            # Plain types only: the checkpoint loads with weights_only=True and rebuilds this encoder from it.
            self.save_hyperparameters({"encoder_config": dataclasses.asdict(from_checkpoint.config)})
        config = self.model.config
        self.mlm_head = MaskedLanguageModelHead(self.model.token_embedding, config.layer_norm_eps, config.d_model)
        special_ids = None if special_token_ids is None else torch.tensor(special_token_ids, dtype=torch.long)
        self.register_buffer("special_ids", special_ids, persistent=False)  # (S,), follows the device
        self._train_loss = EpochMean()
        self._val_loss = EpochMean()
        self._val_accuracy = EpochMean()

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """input_ids (B, T), attention_mask (B, T) bool -> vocabulary logits (B, T, V) at every position."""
        return self.mlm_head(self.model.hidden_states(input_ids, attention_mask))

    def _masked_loss(self, batch: dict[str, Tensor], generator: torch.Generator | None) -> tuple[Tensor, Tensor,
                                                                                                   Tensor]:
        """Mask the batch and predict the selected tokens: (the mean cross-entropy over them, a scalar (0 when none
        is selected); their logits (N, V); their original ids (N,))."""
        hparams = self.hparams
        attention_mask = batch["attention_mask"]
        inputs, targets = mask_tokens(batch["input_ids"], attention_mask, mask_token_id=hparams.mask_token_id,
                                      vocab_size=hparams.vocab_size, n_special=hparams.n_special,
                                      probability=hparams.mask_probability, generator=generator,
                                      special_token_ids=self.special_ids)
        hidden = self.model.hidden_states(inputs, attention_mask)  # (B, T, D)
        selected = targets != IGNORE_INDEX
        labels = targets[selected]  # (N,)
        # Only the selected positions reach the vocabulary projection, by far the largest matrix product.
        logits = self.mlm_head(hidden[selected])  # (N, V)
        loss = F.cross_entropy(logits, labels, reduction="sum") / max(len(labels), 1)
        return loss, logits, labels

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        loss, _, labels = self._masked_loss(batch, generator=None)
        self._train_loss.update(loss, len(labels))
        return loss

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        generator = torch.Generator(device=batch["input_ids"].device).manual_seed(batch_idx)
        loss, logits, labels = self._masked_loss(batch, generator)
        n = len(labels)
        self._val_loss.update(loss, n)
        self._val_accuracy.update((logits.argmax(dim=-1) == labels).sum() / max(n, 1), n)

    def on_train_epoch_start(self) -> None:
        self._train_loss.reset()

    def on_train_epoch_end(self) -> None:
        if not self._train_loss.empty:
            self.log("train/loss", self._train_loss.compute(), on_epoch=True, prog_bar=True, batch_size=1)
            self._train_loss.reset()

    def on_validation_epoch_start(self) -> None:
        self._val_loss.reset()
        self._val_accuracy.reset()

    def on_validation_epoch_end(self) -> None:
        if self._val_loss.empty:
            return
        # sync_dist: under DDP each rank holds its shard's mean (a no-op in one process).
        self.log("val/loss", self._val_loss.compute(), on_epoch=True, prog_bar=True, batch_size=1, sync_dist=True)
        self.log("val/accuracy", self._val_accuracy.compute(), on_epoch=True, batch_size=1, sync_dist=True)
        self._val_loss.reset()
        self._val_accuracy.reset()

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW (no weight decay on biases and layer norms) and a per-step warmup-then-decay schedule."""
        return configure_adamw(self)


def _check_special_tokens(vocab_size: int, mask_token_id: int, n_special: int,
                          special_token_ids: list[int] | None) -> None:
    if special_token_ids is None:
        if not 0 <= mask_token_id < n_special < vocab_size:
            raise ValueError(f"Need 0 <= mask_token_id < n_special < vocab_size (the special tokens come first, then "
                             f"at least one subword), got {mask_token_id}, {n_special}, {vocab_size}.")
        return
    if not 0 <= n_special < vocab_size or mask_token_id not in special_token_ids or not all(
            0 <= token_id < vocab_size for token_id in special_token_ids):
        raise ValueError(f"Need mask_token_id among special_token_ids, every one of them in [0, vocab_size) and "
                         f"0 <= n_special < vocab_size, got mask_token_id={mask_token_id}, special_token_ids="
                         f"{special_token_ids}, n_special={n_special}, vocab_size={vocab_size}.")


# ----------------------------------------------------------------------------------------------------------
# Encoders from checkpoints


@dataclass(frozen=True)
class CheckpointEncoder:
    """An encoder whose configuration comes from a checkpoint (see :func:`checkpoint_encoder`)."""

    config: EncoderConfig
    weights: dict[str, Tensor] | None
    """The checkpoint folder's tensors (a ``state_dict`` without ``head.*``); None: the weights come later (from
    ``init_from``, or from the Lightning checkpoint being loaded)."""
    source: str
    """Where the configuration comes from, for messages: ``pretrained 'DIR'``, ``encoder_config`` or
    ``init_from '...'``."""

    def build(self) -> TransformerClassifier:
        """The encoder (with a new, randomly initialised head when ``config.num_classes`` is set), weights loaded."""
        model = TransformerClassifier(self.config)
        if self.weights is not None:
            model.load_state_dict(self.weights, strict=False)  # every key but head.*, checked by read_hf_checkpoint
        return model


_DEFAULTS = {field.name: field.default for field in dataclasses.fields(EncoderConfig)}
"""EncoderConfig's defaults, which are TextClassifier's and MaskedLanguageModel's for the arguments of the same
names."""


def checkpoint_encoder(
    arguments: dict[str, Any],
    *,
    pretrained: str | None,
    encoder_config: dict[str, Any] | None,
    pretraining: dict | None = None,
    init_from: str | None = None,
) -> CheckpointEncoder | None:
    """The encoder configuration that a checkpoint decides, or None when none does (the encoder arguments then
    build it, as before checkpoints existed).

    In this order: ``encoder_config`` (an :class:`EncoderConfig` as a dict, which a model saves so that its own
    checkpoint rebuilds the encoder); ``pretrained`` (a Hugging Face checkpoint folder, read with
    :func:`~imbalance_xfmr.model.hf_checkpoint.read_hf_checkpoint`: configuration and weights); the
    ``encoder_config`` saved in ``pretraining`` (the loaded ``init_from`` checkpoint of a ``MaskedLanguageModel``
    that was itself started from a folder). ``pretrained`` and ``encoder_config`` together are an error: the second
    stands for the first once its weights are in a checkpoint, so giving both is ambiguous.

    ``arguments`` are the model's encoder arguments (``vocab_size``, ``num_classes``, ``max_length``, those of
    :data:`ENCODER_ARGUMENTS`, ``dropout``, ``pad_token_id``, and ``pooling`` for a classifier). Beside a checkpoint's
    encoder each of :data:`ENCODER_ARGUMENTS` must be left at its default or equal the checkpoint's value;
    ``max_length`` (the longest sequence) must be at its default or at most the checkpoint's positions;
    ``vocab_size`` (the tokenizer's) at most its token embeddings and ``pad_token_id`` its own. ``num_classes``
    replaces the checkpoint's head; a ``dropout`` other than the default 0.1 replaces its hidden and attention
    dropout rates; a ``pooling`` other than the default ``'cls'`` replaces its pooling (and drops BERT's pooler),
    while ``'cls'`` keeps the checkpoint's own. Raises one ValueError naming the argument, the checkpoint and what
    to write instead.
    """
    if pretrained is not None and encoder_config is not None:
        raise ValueError(f"pretrained={pretrained!r} and encoder_config were both given: encoder_config rebuilds a "
                         "pretrained encoder from a checkpoint that holds its weights; give pretrained=None with it "
                         "(e.g. TextClassifier.load_from_checkpoint(path, pretrained=None)), or leave encoder_config "
                         "out to read the folder.")
    pooling = arguments.get("pooling", _DEFAULTS["pooling"])
    new_pooling = None if pooling == _DEFAULTS["pooling"] else pooling
    weights = None
    if encoder_config is not None:
        config, source = _config_from_dict(encoder_config, "encoder_config"), "encoder_config"
    elif pretrained is not None:
        config, weights = read_hf_checkpoint(pretrained, arguments["num_classes"], pooling=new_pooling)
        source = f"pretrained {str(pretrained)!r}"
    elif pretraining is not None and pretraining.get("hyper_parameters", {}).get("encoder_config") is not None:
        source = f"init_from {str(init_from)!r}"
        config = _config_from_dict(pretraining["hyper_parameters"]["encoder_config"], source)
    else:
        return None
    config = dataclasses.replace(config, num_classes=arguments["num_classes"])
    if new_pooling is not None:
        config = dataclasses.replace(config, pooling=new_pooling, pooler=False)  # BERT's pooler reads [CLS] only
    if arguments["dropout"] != _DEFAULTS["dropout"]:
        config = dataclasses.replace(config, dropout=arguments["dropout"], attention_dropout=arguments["dropout"])
    _check_arguments_fit(arguments, config, source)
    return CheckpointEncoder(config, weights, source)


def _config_from_dict(values: dict[str, Any], source: str) -> EncoderConfig:
    try:
        return EncoderConfig(**values)
    except TypeError as error:  # a key EncoderConfig does not have, or one it needs missing
        raise ValueError(f"{source} is not an EncoderConfig written as a dict ({error}).") from None
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None


def _check_arguments_fit(arguments: dict[str, Any], config: EncoderConfig, source: str) -> None:
    """ValueError naming the first encoder argument that contradicts the checkpoint's ``config``
    (:func:`checkpoint_encoder`'s rules)."""
    for name in ENCODER_ARGUMENTS:
        value, theirs = arguments[name], getattr(config, name)
        if value != _DEFAULTS[name] and value != theirs:
            raise ValueError(f"{name}={value!r} conflicts with the encoder of {source}, whose {name} is {theirs!r}: "
                             f"the architecture comes from the checkpoint, so leave {name} at its default "
                             f"({_DEFAULTS[name]!r}) or set it to {theirs!r}.")
    max_length = arguments["max_length"]
    if max_length != _DEFAULTS["max_length"] and max_length > config.max_length:
        raise ValueError(f"max_length={max_length} exceeds the {config.max_length} positions of the encoder of "
                         f"{source}: set max_length (data.max_length on the command line) to at most "
                         f"{config.max_length}.")
    if arguments["vocab_size"] > config.vocab_size:
        raise ValueError(f"vocab_size={arguments['vocab_size']} (the tokenizer's) exceeds the {config.vocab_size} "
                         f"token embeddings of the encoder of {source}: the tokenizer is not the checkpoint's; use "
                         "its own (data.pretrained_tokenizer, which model.pretrained sets on the command line).")
    if arguments["pad_token_id"] != config.pad_token_id:
        raise ValueError(f"pad_token_id={arguments['pad_token_id']} (the tokenizer's) is not the pad_token_id "
                         f"{config.pad_token_id} of the encoder of {source}: use the checkpoint's own tokenizer, "
                         "whose pad_token_id it is.")


def read_pretraining_checkpoint(path: str | Path) -> dict:
    """The ``imbalance-xfmr pretrain`` checkpoint ``path`` (``init_from``), loaded with ``weights_only=True`` on the
    CPU. Raises FileNotFoundError for a missing file and a one-line ValueError when the file is not a pretraining
    checkpoint."""
    where = f"init_from {str(path)!r}"
    if not Path(path).is_file():
        raise FileNotFoundError(f"{where} does not exist: give the last.ckpt that `imbalance-xfmr pretrain` wrote.")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, OSError, EOFError, ValueError) as error:  # what torch.load raises
        lines = str(error).strip().splitlines()
        why = f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
        raise ValueError(f"{where} is not a readable checkpoint (truncated or corrupt: {why}); give the last.ckpt "
                         "that `imbalance-xfmr pretrain` wrote.") from None
    state = checkpoint.get("state_dict", {}) if isinstance(checkpoint, dict) else {}
    if not any(key.startswith(_HEAD_PREFIX) for key in state):
        raise ValueError(f"{where} is not a pretraining checkpoint: it holds no masked-language-model head "
                         f"({_HEAD_PREFIX}*); give the last.ckpt that `imbalance-xfmr pretrain` wrote.")
    return checkpoint


def load_pretrained_encoder(model: TransformerClassifier, path: str | Path, checkpoint: dict | None = None) -> None:
    """Copy the encoder weights of the pretraining checkpoint ``path`` (``imbalance-xfmr pretrain``'s; ``checkpoint``:
    it, already read by :func:`read_pretraining_checkpoint`) into every parameter of ``model`` but its head, in
    place. BERT's pooler, which pretraining does not train, is left out when ``model`` has none.

    Raises FileNotFoundError for a missing file and a one-line ValueError when the file is not a pretraining
    checkpoint or its encoder does not fit ``model``, naming the hyper-parameter (``d_model is 64 in the checkpoint,
    128 here``) or the tensor. A pretraining started from a checkpoint folder saved its whole encoder configuration
    (``encoder_config``): every field of it but those fine-tuning may change must then be ``model``'s.
    """
    where = f"init_from {str(path)!r}"
    checkpoint = read_pretraining_checkpoint(path) if checkpoint is None else checkpoint
    hparams = checkpoint.get("hyper_parameters", {})
    config = model.config
    saved_config = hparams.get("encoder_config")
    if saved_config is not None:
        for name in (field.name for field in dataclasses.fields(EncoderConfig)):
            if name not in _FINE_TUNING_FIELDS and saved_config.get(name) != getattr(config, name):
                raise ValueError(f"{where}: {name} is {saved_config.get(name)!r} in the checkpoint's encoder, "
                                 f"{getattr(config, name)!r} here; leave model.pretrained out (the encoder then comes "
                                 "from init_from), or give the folder the pretraining started from.")
    else:
        for name in _ARCHITECTURE + (("max_length",) if config.positional == "learned" else ()):
            if name in hparams and hparams[name] != getattr(config, name):
                advice = (f"; the classifier must use the pretraining tokenizer: set data.tokenizer_path to "
                          f"{str(path)!r}" if name == "vocab_size" else f"; set model.{name} to {hparams[name]!r}")
                raise ValueError(f"{where}: {name} is {hparams[name]!r} in the checkpoint, {getattr(config, name)!r} "
                                 f"here{advice}.")
    encoder = {key[len(_ENCODER_PREFIX):]: value for key, value in checkpoint["state_dict"].items()
               if key.startswith(_ENCODER_PREFIX) and not (model.pooler is None and key.startswith(_POOLER_PREFIX))}
    expected = {key: value for key, value in model.state_dict().items() if not key.startswith("head.")}
    for key in sorted(expected.keys() | encoder.keys()):
        if key not in encoder or key not in expected or encoder[key].shape != expected[key].shape:
            found = tuple(encoder[key].shape) if key in encoder else "missing"
            wanted = tuple(expected[key].shape) if key in expected else "missing"
            raise ValueError(f"{where}: encoder tensor {key} is {found} in the checkpoint, {wanted} here; the "
                             "encoder hyper-parameters must be the pretraining's.")
    model.load_state_dict(encoder, strict=False)  # everything but head.*, checked above
