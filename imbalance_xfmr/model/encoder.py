"""A Transformer encoder for text classification, written top to bottom from first principles.

Follows "Attention Is All You Need" (Vaswani et al., 2017, section 3) with two common options: layer norm
before each sub-layer ("pre-LN", Xiong et al., 2020; the default, because it trains stably without a long
warmup) or after the residual addition as in the paper ("post-LN"), and sinusoidal or learned positions.

A few more :class:`EncoderConfig` fields, all off by default, make the same module a BERT-family encoder
(BERT, DistilBERT, RoBERTa, ELECTRA, as in Hugging Face ``transformers``) so that their pretrained checkpoints load
into it (:mod:`imbalance_xfmr.model.hf_checkpoint`): token-type embeddings, a layer norm over the summed embeddings,
no sqrt(D) embedding scale, RoBERTa's positions that skip padding, ELECTRA's narrower embeddings projected up to D,
per-place dropout rates, the tanh approximation of GELU and BERT's pooler.

Shapes: B batch, T sequence length (padded), E embedding width (D unless ``embedding_size`` says), D model width,
H heads, Dh = D // H head width, F feed-forward width, C classes. Every padding mask is a bool tensor (B, T) that
is True at real tokens; padded keys never receive attention, so the outputs at real tokens do not depend on how much
padding follows them.

Weights are laid out like ``torch.nn.MultiheadAttention`` / ``torch.nn.TransformerEncoderLayer`` (a fused
(3D, D) input projection in q, k, v order, then an output projection), so the two can be cross-checked by
copying weights; a Hugging Face checkpoint's separate query, key and value projections are concatenated into it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Activation = Literal["relu", "gelu", "gelu_tanh"]
Positional = Literal["sinusoidal", "learned"]
Pooling = Literal["cls", "mean", "max"]


@dataclass
class EncoderConfig:
    """Hyper-parameters of :class:`TransformerClassifier`; validated on construction. ``num_classes=None`` builds
    the encoder without a classification head (masked-language-model pretraining).

    ``activation``: ``gelu`` is the exact (erf) GELU, Hugging Face's ``"gelu"``; ``gelu_tanh`` its tanh
    approximation, Hugging Face's ``"gelu_new"`` / ``"gelu_pytorch_tanh"``.

    The fields after ``pad_token_id`` exist for pretrained BERT-family checkpoints; their defaults are this encoder's
    own design, whose outputs they leave unchanged:

    - ``scale_embeddings``: multiply token embeddings by sqrt(E) (Vaswani et al., section 3.4); BERT does not.
    - ``embedding_norm``: a layer norm over the summed token, token-type and position embeddings (BERT).
    - ``type_vocab_size``: number of token types (BERT's segments A / B); 0: no token-type embeddings.
    - ``positions_skip_padding``: RoBERTa's positions, counted over the non-pad tokens and starting at
      ``pad_token_id + 1`` (pad tokens take position ``pad_token_id``); the position table then has
      ``max_length + pad_token_id + 1`` rows. Off: token t has position t.
    - ``embedding_size``: ELECTRA's embedding width E, projected to ``d_model`` by a linear layer; None: E = D.
    - ``attention_dropout``, ``activation_dropout``: dropout on the attention weights and after the feed-forward
      activation (BERT: ``attention_probs_dropout_prob`` and 0); None: ``dropout``.
    - ``pooler``: BERT's pooler, dense + tanh on the [CLS] vector (``pooling='cls'`` only).
    """

    vocab_size: int
    num_classes: int | None
    max_length: int = 512
    d_model: int = 128
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 512
    dropout: float = 0.1
    activation: Activation = "gelu"
    norm_first: bool = True
    positional: Positional = "sinusoidal"
    pooling: Pooling = "cls"
    layer_norm_eps: float = 1e-5
    pad_token_id: int = 0
    scale_embeddings: bool = True
    embedding_norm: bool = False
    type_vocab_size: int = 0
    positions_skip_padding: bool = False
    embedding_size: int | None = None
    attention_dropout: float | None = None
    activation_dropout: float | None = None
    pooler: bool = False

    def __post_init__(self) -> None:
        for name in ("vocab_size", "max_length", "d_model", "n_heads", "n_layers", "d_ff"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}.")
        if not _is_int(self.type_vocab_size) or self.type_vocab_size < 0:
            raise ValueError(
                f"type_vocab_size must be an integer >= 0 (0: no token types), got {self.type_vocab_size!r}."
            )
        if self.embedding_size is not None and (not _is_int(self.embedding_size) or self.embedding_size < 1):
            raise ValueError(
                f"embedding_size must be a positive integer (or None: d_model), got {self.embedding_size!r}."
            )
        if self.num_classes is not None and (not isinstance(self.num_classes, int) or self.num_classes < 2):
            raise ValueError(f"num_classes must be an integer >= 2 (or None: no head), got {self.num_classes!r}.")
        if self.d_model % self.n_heads != 0:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads}); "
                "each head gets d_model // n_heads dimensions."
            )
        for name in ("dropout", "attention_dropout", "activation_dropout"):
            value = getattr(self, name)
            if (value is not None or name == "dropout") and not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value!r}.")
        _check_choice("activation", self.activation, tuple(ACTIVATIONS))
        _check_choice("positional", self.positional, ("sinusoidal", "learned"))
        _check_choice("pooling", self.pooling, ("cls", "mean", "max"))
        if not 0 <= self.pad_token_id < self.vocab_size:
            raise ValueError(f"pad_token_id ({self.pad_token_id}) must be in [0, vocab_size={self.vocab_size}).")
        if self.pooler and self.pooling != "cls":
            raise ValueError(f"pooler=True (BERT's pooler, trained on [CLS]) needs pooling='cls', got "
                             f"pooling={self.pooling!r}; set pooler=False to pool another way.")

    @property
    def embedding_width(self) -> int:
        """E: ``embedding_size``, or ``d_model`` when it is None."""
        return self.d_model if self.embedding_size is None else self.embedding_size

    @property
    def n_positions(self) -> int:
        """Rows of the position table: ``max_length``, plus the ``pad_token_id + 1`` positions that RoBERTa's
        numbering skips."""
        return self.max_length + (self.pad_token_id + 1 if self.positions_skip_padding else 0)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")


# ----------------------------------------------------------------------------------------------------------
# Positional encodings


def sinusoidal_positional_encoding(max_length: int, d_model: int) -> Tensor:
    """The fixed table of Vaswani et al. (2017), section 3.5, as a float32 tensor (max_length, d_model).

    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)) and PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model)).
    """
    position = torch.arange(max_length, dtype=torch.float64).unsqueeze(1)  # (L, 1)
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)  # (ceil(D / 2),)
    angle = position / torch.pow(10000.0, two_i / d_model)  # (L, ceil(D / 2))
    table = torch.empty(max_length, d_model, dtype=torch.float64)
    table[:, 0::2] = torch.sin(angle)
    table[:, 1::2] = torch.cos(angle[:, : d_model // 2])  # an odd d_model has one fewer cosine column
    return table.float()  # computed in float64 so long positions keep their precision


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal table to (B, T, D) embeddings; the table is a non-persistent buffer."""

    def __init__(self, max_length: int, d_model: int) -> None:
        super().__init__()
        self.register_buffer("table", sinusoidal_positional_encoding(max_length, d_model), persistent=False)

    def forward(self, x: Tensor, position_ids: Tensor | None = None) -> Tensor:
        """x (B, T, D) plus the rows ``position_ids`` (B, T) long of the table; None: rows 0 .. T - 1."""
        if position_ids is None:
            return x + self.table[: x.size(1)].to(x.dtype)
        return x + self.table[position_ids].to(x.dtype)


class LearnedPositionalEncoding(nn.Module):
    """Adds a trained embedding of each position (as in BERT) to (B, T, D) embeddings.

    ``padding_idx``: the row that padded tokens' positions point at (RoBERTa's ``pad_token_id``), which gets no
    gradient, like a padding token's embedding.
    """

    def __init__(self, max_length: int, d_model: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.table = nn.Embedding(max_length, d_model, padding_idx=padding_idx)

    def forward(self, x: Tensor, position_ids: Tensor | None = None) -> Tensor:
        """x (B, T, D) plus the rows ``position_ids`` (B, T) long of the table; None: rows 0 .. T - 1."""
        if position_ids is None:
            return x + self.table.weight[: x.size(1)]
        return x + self.table(position_ids)


def positions_skipping_padding(input_ids: Tensor, pad_token_id: int) -> Tensor:
    """RoBERTa's (fairseq's) position ids (B, T) long for input_ids (B, T): the i-th non-pad token of a row has
    position ``pad_token_id + i`` (i from 1), every pad token position ``pad_token_id``; as Hugging Face's
    ``create_position_ids_from_input_ids``, so left and right padding give a token the same position."""
    real = input_ids != pad_token_id  # (B, T)
    return torch.cumsum(real, dim=1) * real + pad_token_id


# ----------------------------------------------------------------------------------------------------------
# Attention


def attention_mask_for_sdpa(attention_mask: Tensor) -> Tensor:
    """Turn a (B, T) bool mask, True at real tokens, into the (B, 1, 1, T) key mask that SDPA broadcasts.

    A row with no real token at all would give softmax over nothing (NaN); such a row attends to every
    position instead. Its outputs are meaningless but finite, and pooling ignores them.
    """
    empty_row = ~attention_mask.any(dim=1, keepdim=True)  # (B, 1)
    return (attention_mask | empty_row)[:, None, None, :]


def scaled_dot_product_attention(
    q: Tensor, k: Tensor, v: Tensor, key_mask: Tensor | None, dropout_p: float = 0.0
) -> Tensor:
    """softmax(Q K^T / sqrt(Dh) + mask) V for q, k, v (B, H, T, Dh); key_mask (B, 1, 1, T), True = attend.

    The product itself is ``torch.nn.functional.scaled_dot_product_attention``, so fused (flash /
    memory-efficient) kernels run where the device has them; masked keys get weight exactly zero.
    """
    return F.scaled_dot_product_attention(q, k, v, attn_mask=key_mask, dropout_p=dropout_p)


class MultiHeadSelfAttention(nn.Module):
    """Self-attention with H heads: project to Q, K, V, attend per head, concatenate, project back."""

    def __init__(self, d_model: int, n_heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.dropout = dropout
        self.qkv = nn.Linear(d_model, 3 * d_model)  # W_Q, W_K, W_V stacked: one matmul instead of three
        self.out = nn.Linear(d_model, d_model)  # W_O

    def forward(self, x: Tensor, key_mask: Tensor | None = None, n_queries: int | None = None) -> Tensor:
        """x (B, T, D), key_mask (B, 1, 1, T) from :func:`attention_mask_for_sdpa` -> (B, Tq, D).

        ``n_queries``: only the first Tq = n_queries positions ask queries (each still attends over all T keys),
        so only their outputs are computed; None: every position, Tq = T.
        """
        B, T, D = x.shape
        if n_queries is None:
            q, k, v = self.qkv(x).split(D, dim=2)  # 3 x (B, T, D)
        else:
            w_q, w_kv = self.qkv.weight.split((D, 2 * D))
            b_q, b_kv = self.qkv.bias.split((D, 2 * D))
            q = F.linear(x[:, :n_queries], w_q, b_q)  # (B, Tq, D)
            k, v = F.linear(x, w_kv, b_kv).split(D, dim=2)  # 2 x (B, T, D)
        Tq = q.size(1)
        q = q.view(B, Tq, self.n_heads, D // self.n_heads).transpose(1, 2)  # (B, H, Tq, Dh)
        k, v = (t.view(B, T, self.n_heads, D // self.n_heads).transpose(1, 2) for t in (k, v))  # (B, H, T, Dh)
        y = scaled_dot_product_attention(q, k, v, key_mask, self.dropout if self.training else 0.0)  # (B, H, Tq, Dh)
        y = y.transpose(1, 2).reshape(B, Tq, D)  # heads side by side again
        return self.out(y)


# ----------------------------------------------------------------------------------------------------------
# Encoder


ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "relu": F.relu,
    "gelu": F.gelu,  # exact: x * Phi(x), with the erf
    "gelu_tanh": partial(F.gelu, approximate="tanh"),
}


class FeedForward(nn.Module):
    """Position-wise feed-forward network: Linear(D, F), activation, dropout, Linear(F, D)."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, activation: Activation) -> None:
        super().__init__()
        self.fc_in = nn.Linear(d_model, d_ff)
        self.fc_out = nn.Linear(d_ff, d_model)
        self.activation = ACTIVATIONS[activation]
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc_out(self.dropout(self.activation(self.fc_in(x))))


class EncoderLayer(nn.Module):
    """Self-attention and feed-forward sub-layers, each wrapped in a residual connection and a layer norm.

    pre-LN (``norm_first=True``):  x = x + Drop(Attn(LN1(x)));  x = x + Drop(FF(LN2(x)))
    post-LN (the paper, BERT):     x = LN1(x + Drop(Attn(x)));  x = LN2(x + Drop(FF(x)))

    ``attention_dropout`` (on the attention weights) and ``activation_dropout`` (inside FF): None is ``dropout``.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        d_ff: int,
        dropout: float = 0.1,
        activation: Activation = "gelu",
        norm_first: bool = True,
        layer_norm_eps: float = 1e-5,
        attention_dropout: float | None = None,
        activation_dropout: float | None = None,
    ) -> None:
        super().__init__()
        self.norm_first = norm_first
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        activation_dropout = dropout if activation_dropout is None else activation_dropout
        self.attn = MultiHeadSelfAttention(d_model, n_heads, attention_dropout)
        self.ff = FeedForward(d_model, d_ff, activation_dropout, activation)
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, n_outputs: int | None = None) -> Tensor:
        """x (B, T, D), key_mask (B, 1, 1, T) -> (B, To, D): the outputs of the first To = n_outputs positions
        (None: all, To = T). Every sub-layer after attention is position-wise, so the other positions' work is
        skipped without changing these outputs."""
        keep = slice(None, n_outputs)  # slice(None, None) keeps every position
        if self.norm_first:
            x = x[:, keep] + self.dropout1(self.attn(self.norm1(x), key_mask, n_outputs))
            x = x + self.dropout2(self.ff(self.norm2(x)))
        else:
            x = self.norm1(x[:, keep] + self.dropout1(self.attn(x, key_mask, n_outputs)))
            x = self.norm2(x + self.dropout2(self.ff(x)))
        return x


class Encoder(nn.Module):
    """A stack of :class:`EncoderLayer`; pre-LN stacks end with a final layer norm, since their residual
    stream is never normalised otherwise."""

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            EncoderLayer(
                config.d_model,
                config.n_heads,
                config.d_ff,
                config.dropout,
                config.activation,
                config.norm_first,
                config.layer_norm_eps,
                config.attention_dropout,
                config.activation_dropout,
            )
            for _ in range(config.n_layers)
        )
        self.final_norm = (
            nn.LayerNorm(config.d_model, eps=config.layer_norm_eps) if config.norm_first else nn.Identity()
        )

    def forward(self, x: Tensor, attention_mask: Tensor | None = None, n_outputs: int | None = None) -> Tensor:
        """x (B, T, D), attention_mask (B, T) bool, True at real tokens -> (B, To, D).

        ``n_outputs``: compute only the first To = n_outputs positions' outputs (None: all, To = T). Only the last
        layer can skip the others, since its keys and values need every position of the layers below; [CLS]
        pooling (n_outputs=1) so saves most of the last layer's work, in training as in inference.
        """
        key_mask = None if attention_mask is None else attention_mask_for_sdpa(attention_mask)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x, key_mask, n_outputs if i == last else None)
        return self.final_norm(x)


# ----------------------------------------------------------------------------------------------------------
# Pooling and the classifier


def pool(hidden: Tensor, attention_mask: Tensor, how: Pooling) -> Tensor:
    """Reduce hidden states (B, T, D) to one vector per sequence (B, D), looking only at real tokens.

    ``cls``: the state at position 0 (the [CLS] token); ``mean``: the average over real tokens; ``max``:
    the element-wise maximum over real tokens. A sequence with no real token pools to zeros.
    """
    if how == "cls":
        return hidden[:, 0]
    real = attention_mask.unsqueeze(-1)  # (B, T, 1)
    if how == "mean":
        count = real.sum(dim=1).clamp(min=1)  # (B, 1)
        return (hidden * real).sum(dim=1) / count
    if how == "max":
        pooled = hidden.masked_fill(~real, float("-inf")).amax(dim=1)  # (B, D)
        return torch.where(real.any(dim=1), pooled, torch.zeros_like(pooled))
    raise ValueError(f"pooling must be one of ('cls', 'mean', 'max'), got {how!r}.")


class Pooler(nn.Module):
    """BERT's pooler: tanh(W x + b) on [CLS] vectors (B, D) -> (B, D), as Hugging Face's ``BertPooler``; BERT
    pretrained it for next-sentence prediction and its sequence classifier reads it."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.dense = nn.Linear(d_model, d_model)

    def forward(self, pooled: Tensor) -> Tensor:
        return torch.tanh(self.dense(pooled))


class TransformerClassifier(nn.Module):
    """Token ids (B, T) -> class logits (B, C): embed, add positions, encode, pool, classify.

    Token embeddings are multiplied by sqrt(D) as in the paper (section 3.4), so they and the positional
    signal have comparable scale (``scale_embeddings=False``: not, as in BERT). :meth:`hidden_states` and
    :meth:`pooled` expose the steps before the head, for pretraining (with ``config.num_classes=None`` there is no
    head, and none in the ``state_dict``) and for representation-space over-sampling. The BERT-family options of
    :class:`EncoderConfig` add modules (``token_type_embedding``, ``embedding_norm``, ``embedding_projection``,
    ``pooler``) only when they are on, so a default model's ``state_dict`` has none of them.
    """

    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        self.config = config
        width = config.embedding_width  # E
        self.token_embedding = nn.Embedding(config.vocab_size, width, padding_idx=config.pad_token_id)
        self.token_type_embedding = (
            nn.Embedding(config.type_vocab_size, width) if config.type_vocab_size > 0 else None
        )
        if config.positional == "sinusoidal":
            self.position = SinusoidalPositionalEncoding(config.n_positions, width)
        else:
            padding_idx = config.pad_token_id if config.positions_skip_padding else None
            self.position = LearnedPositionalEncoding(config.n_positions, width, padding_idx)
        self.embedding_norm = nn.LayerNorm(width, eps=config.layer_norm_eps) if config.embedding_norm else None
        self.embedding_dropout = nn.Dropout(config.dropout)
        self.embedding_projection = nn.Linear(width, config.d_model) if width != config.d_model else None
        self.encoder = Encoder(config)
        self.pooler = Pooler(config.d_model) if config.pooler else None
        self.head_dropout = nn.Dropout(config.dropout)
        self.head = None if config.num_classes is None else nn.Linear(config.d_model, config.num_classes)
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        # Small normal init as in BERT / GPT-2; the token table uses std 1/sqrt(E) so that, after the sqrt(E)
        # scale, token vectors have unit-scale entries like the sinusoidal table.
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            std = self.config.embedding_width**-0.5 if module is self.token_embedding else 0.02
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                nn.init.zeros_(module.weight[module.padding_idx])

    def forward(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, *, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """input_ids (B, T) long, attention_mask (B, T) bool (default: ids != pad_token_id), token_type_ids (B, T)
        long (default: all 0) -> logits (B, C)."""
        return self.logits(self.pooled(input_ids, attention_mask, token_type_ids=token_type_ids))

    def logits(self, pooled: Tensor) -> Tensor:
        """The head on pooled vectors (N, D) (from :meth:`pooled`, or made from them) -> logits (N, C)."""
        if self.head is None:
            raise RuntimeError("This TransformerClassifier has no classification head (num_classes=None): use "
                               "hidden_states() or pooled().")
        return self.head(self.head_dropout(pooled))

    def pooled(
        self, input_ids: Tensor, attention_mask: Tensor | None = None, *, token_type_ids: Tensor | None = None
    ) -> Tensor:
        """input_ids (B, T) long, attention_mask (B, T) bool (default: ids != pad_token_id), token_type_ids (B, T)
        long (default: all 0) -> the pooled encoder output (B, D), through BERT's pooler when there is one: what the
        head classifies (before its dropout)."""
        attention_mask = self._attention_mask(input_ids, attention_mask)
        # [CLS] pooling reads position 0 only, so the encoder computes no other last-layer output.
        n_outputs = 1 if self.config.pooling == "cls" else None
        hidden = self.hidden_states(input_ids, attention_mask, n_outputs, token_type_ids=token_type_ids)  # (B, To, D)
        pooled = pool(hidden, attention_mask, self.config.pooling)  # (B, D)
        return pooled if self.pooler is None else self.pooler(pooled)

    def hidden_states(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        n_outputs: int | None = None,
        *,
        token_type_ids: Tensor | None = None,
    ) -> Tensor:
        """input_ids (B, T) long, attention_mask (B, T) bool (default: ids != pad_token_id), token_type_ids (B, T)
        long (default: all 0) -> the last layer's outputs (B, To, D), float, of the first To = n_outputs positions
        (None: all, To = T; see :class:`Encoder`)."""
        T = input_ids.size(1)
        if T > self.config.max_length:
            raise ValueError(
                f"Sequence length {T} exceeds max_length={self.config.max_length}; truncate the inputs "
                "or build the model with a larger max_length."
            )
        if token_type_ids is not None and self.token_type_embedding is None:
            raise ValueError("token_type_ids were given, but this model has no token-type embeddings "
                             "(type_vocab_size=0): leave them out, or build it with type_vocab_size > 0.")
        attention_mask = self._attention_mask(input_ids, attention_mask)
        return self.encoder(self.embed(input_ids, token_type_ids), attention_mask, n_outputs)

    def embed(self, input_ids: Tensor, token_type_ids: Tensor | None = None) -> Tensor:
        """input_ids (B, T) long -> the encoder's input (B, T, D): token embeddings (scaled by sqrt(E) when
        ``scale_embeddings``) plus token-type and position embeddings, normalised (``embedding_norm``), dropped
        out, then projected from E to D (``embedding_size``); the order of Hugging Face's BERT / ELECTRA."""
        x = self.token_embedding(input_ids)  # (B, T, E)
        if self.config.scale_embeddings:
            x = x * math.sqrt(self.config.embedding_width)
        if self.token_type_embedding is not None:
            types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids  # (B, T)
            x = x + self.token_type_embedding(types)
        position_ids = (
            positions_skipping_padding(input_ids, self.config.pad_token_id) if self.config.positions_skip_padding
            else None  # positions 0 .. T - 1
        )
        x = self.position(x, position_ids)
        if self.embedding_norm is not None:
            x = self.embedding_norm(x)
        x = self.embedding_dropout(x)
        return x if self.embedding_projection is None else self.embedding_projection(x)  # (B, T, D)

    def _attention_mask(self, input_ids: Tensor, attention_mask: Tensor | None) -> Tensor:
        """``attention_mask``, or (B, T) bool True at the ids that are not ``pad_token_id``."""
        return input_ids != self.config.pad_token_id if attention_mask is None else attention_mask
