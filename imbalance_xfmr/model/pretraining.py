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
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .encoder import Activation, EncoderConfig, Positional, TransformerClassifier
from .epoch_mean import EpochMean
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
_ARCHITECTURE = ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "activation", "norm_first", "positional")
"""Encoder hyper-parameters a pretrained encoder and the classifier it initialises must share (``max_length`` too
for learned positions, whose table has one row per position)."""


def mask_tokens(
    input_ids: Tensor,
    attention_mask: Tensor,
    *,
    mask_token_id: int,
    vocab_size: int,
    n_special: int,
    probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """BERT's masking of a batch: input_ids (B, T) int64, attention_mask (B, T) bool, True at real tokens ->
    (inputs (B, T) int64, targets (B, T) int64).

    Every real token whose id is not special (ids ``0 .. n_special - 1`` are the special tokens) is selected with
    ``probability``, independently. A selected token becomes ``mask_token_id`` with probability 0.8, a uniformly
    drawn non-special id in ``[n_special, vocab_size)`` with probability 0.1 (possibly its own), and stays as it
    is otherwise. ``targets`` holds the original id at the selected positions and :data:`IGNORE_INDEX` (-100)
    everywhere else. Draws three (B, T) tensors from ``generator`` (default: torch's global generator on the
    batch's device): the selection, the 80/10/10 choice, the random ids.
    """
    if not 0.0 < probability <= 1.0:
        raise ValueError(f"probability must be in (0, 1], got {probability!r}.")
    if not n_special < vocab_size:
        raise ValueError(f"vocab_size ({vocab_size}) must exceed n_special ({n_special}): no token to predict.")
    shape, device = input_ids.shape, input_ids.device
    eligible = attention_mask & (input_ids >= n_special)
    selected = eligible & (torch.rand(shape, generator=generator, device=device) < probability)
    action = torch.rand(shape, generator=generator, device=device)
    random_ids = torch.randint(n_special, vocab_size, shape, generator=generator, device=device)
    inputs = torch.where(selected & (action < MASK_SHARE), mask_token_id, input_ids)
    inputs = torch.where(selected & (action >= MASK_SHARE) & (action < MASK_SHARE + RANDOM_SHARE), random_ids, inputs)
    targets = torch.where(selected, input_ids, IGNORE_INDEX)
    return inputs, targets


class MaskedLanguageModelHead(nn.Module):
    """BERT's MLM head: hidden states (N, D) -> vocabulary logits (N, V): Linear(D, D), GELU, LayerNorm, then the
    ``decoder`` Linear(D, V) whose weight IS ``embedding.weight`` (tied: one (V, D) parameter, trained by both
    ends), with a bias of its own."""

    def __init__(self, embedding: nn.Embedding, layer_norm_eps: float = 1e-5) -> None:
        super().__init__()
        vocab_size, d_model = embedding.weight.shape
        self.dense = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model, eps=layer_norm_eps)
        # Built on the meta device: its (V, D) weight is replaced by the embedding's, so is never initialised.
        self.decoder = nn.Linear(d_model, vocab_size, device="meta")
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
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        check_optimization_args(lr=lr, weight_decay=weight_decay, warmup_fraction=warmup_fraction, decay=decay,
                                min_lr_ratio=min_lr_ratio)
        if not 0.0 < mask_probability <= 1.0:
            raise ValueError(f"mask_probability must be in (0, 1], got {mask_probability!r}.")
        if not 0 <= mask_token_id < n_special < vocab_size:
            raise ValueError(f"Need 0 <= mask_token_id < n_special < vocab_size (the special tokens come first, then "
                             f"at least one subword), got {mask_token_id}, {n_special}, {vocab_size}.")
        self.model = TransformerClassifier(
            EncoderConfig(
                vocab_size=vocab_size,
                num_classes=None,  # no classification head
                max_length=max_length,
                d_model=d_model,
                n_heads=n_heads,
                n_layers=n_layers,
                d_ff=d_ff,
                dropout=dropout,
                activation=activation,
                norm_first=norm_first,
                positional=positional,
                pad_token_id=pad_token_id,
            )
        )
        self.mlm_head = MaskedLanguageModelHead(self.model.token_embedding, self.model.config.layer_norm_eps)
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
                                      probability=hparams.mask_probability, generator=generator)
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


def load_pretrained_encoder(model: TransformerClassifier, path: str | Path) -> None:
    """Copy the encoder weights of the pretraining checkpoint ``path`` (``imbalance-xfmr pretrain``'s, loaded with
    ``weights_only=True``) into every parameter of ``model`` but its head, in place.

    Raises FileNotFoundError for a missing file and a one-line ValueError when the file is not a pretraining
    checkpoint or its encoder does not fit ``model``, naming the hyper-parameter (``d_model is 64 in the checkpoint,
    128 here``) or the tensor.
    """
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
    hparams = checkpoint.get("hyper_parameters", {})
    config = model.config
    for name in _ARCHITECTURE + (("max_length",) if config.positional == "learned" else ()):
        if name in hparams and hparams[name] != getattr(config, name):
            advice = (f"; the classifier must use the pretraining tokenizer: set data.tokenizer_path to {str(path)!r}"
                      if name == "vocab_size" else f"; set model.{name} to {hparams[name]!r}")
            raise ValueError(f"{where}: {name} is {hparams[name]!r} in the checkpoint, {getattr(config, name)!r} "
                             f"here{advice}.")
    encoder = {key[len(_ENCODER_PREFIX):]: value for key, value in state.items() if key.startswith(_ENCODER_PREFIX)}
    expected = {key: value for key, value in model.state_dict().items() if not key.startswith("head.")}
    for key in sorted(expected.keys() | encoder.keys()):
        if key not in encoder or key not in expected or encoder[key].shape != expected[key].shape:
            found = tuple(encoder[key].shape) if key in encoder else "missing"
            wanted = tuple(expected[key].shape) if key in expected else "missing"
            raise ValueError(f"{where}: encoder tensor {key} is {found} in the checkpoint, {wanted} here; the "
                             "encoder hyper-parameters must be the pretraining's.")
    model.load_state_dict(encoder, strict=False)  # everything but head.*, checked above
