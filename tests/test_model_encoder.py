"""Cross-checks of the hand-written encoder against torch.nn's attention and encoder layers, the positional
encoding formula, exact padding behaviour and a small overfitting run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from imbalance_xfmr.model.encoder import (
    Encoder,
    EncoderConfig,
    EncoderLayer,
    FeedForward,
    LearnedPositionalEncoding,
    MultiHeadSelfAttention,
    SinusoidalPositionalEncoding,
    TransformerClassifier,
    attention_mask_for_sdpa,
    pool,
    positions_skipping_padding,
    sinusoidal_positional_encoding,
)

ATOL = 1e-5


def random_mask(generator: torch.Generator, batch: int, length: int) -> torch.Tensor:
    """(B, T) bool, True at real tokens: right-padded, every row with 1..T real tokens."""
    lengths = torch.randint(1, length + 1, (batch,), generator=generator)
    return torch.arange(length)[None, :] < lengths[:, None]


def copy_attention(ours: MultiHeadSelfAttention, theirs: nn.MultiheadAttention) -> None:
    with torch.no_grad():
        ours.qkv.weight.copy_(theirs.in_proj_weight)
        ours.qkv.bias.copy_(theirs.in_proj_bias)
        ours.out.weight.copy_(theirs.out_proj.weight)
        ours.out.bias.copy_(theirs.out_proj.bias)


def copy_layer(ours: EncoderLayer, theirs: nn.TransformerEncoderLayer) -> None:
    """Copy theirs into ours, after giving its layer norms random affine parameters (fresh ones are the
    identity, which would hide a swapped or missing norm)."""
    randomise_norms(theirs)
    copy_attention(ours.attn, theirs.self_attn)
    with torch.no_grad():
        for mine, ref in [
            (ours.ff.fc_in, theirs.linear1),
            (ours.ff.fc_out, theirs.linear2),
            (ours.norm1, theirs.norm1),
            (ours.norm2, theirs.norm2),
        ]:
            mine.weight.copy_(ref.weight)
            mine.bias.copy_(ref.bias)


def randomise_norms(module: nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=gen))
                m.bias.copy_(0.3 * torch.randn(m.bias.shape, generator=gen))


# ----------------------------------------------------------------------------------------------------------
# Positional encodings


@given(max_length=st.integers(1, 64), d_model=st.integers(1, 48))
def test_sinusoidal_table_matches_the_formula(max_length: int, d_model: int) -> None:
    table = sinusoidal_positional_encoding(max_length, d_model).numpy()
    expected = np.empty((max_length, d_model))
    for pos in range(max_length):
        for dim in range(d_model):
            i = dim // 2
            angle = pos / 10000 ** (2 * i / d_model)
            expected[pos, dim] = math.sin(angle) if dim % 2 == 0 else math.cos(angle)
    assert table.dtype == np.float32
    np.testing.assert_allclose(table, expected, atol=1e-6)


def test_positional_modules_add_their_table_to_the_first_t_positions() -> None:
    x = torch.randn(2, 5, 8)
    sinusoidal = SinusoidalPositionalEncoding(max_length=10, d_model=8)
    torch.testing.assert_close(sinusoidal(x), x + sinusoidal_positional_encoding(10, 8)[:5])
    learned = LearnedPositionalEncoding(max_length=10, d_model=8)
    torch.testing.assert_close(learned(x), x + learned.table.weight[:5])
    assert "table" not in sinusoidal.state_dict()  # a fixed table is rebuilt, not saved


# ----------------------------------------------------------------------------------------------------------
# Attention and encoder layer against torch.nn


@settings(max_examples=30)
@given(
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 4),
    length=st.integers(1, 12),
    heads_and_dim=st.sampled_from([(1, 8), (2, 8), (4, 16), (3, 12), (8, 32)]),
    masked=st.booleans(),
)
def test_attention_matches_torch_multihead_attention(
    seed: int, batch: int, length: int, heads_and_dim: tuple[int, int], masked: bool
) -> None:
    n_heads, d_model = heads_and_dim
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, n_heads, batch_first=True).eval()
    ours = MultiHeadSelfAttention(d_model, n_heads).eval()
    copy_attention(ours, theirs)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, d_model, generator=gen)
    mask = random_mask(gen, batch, length) if masked else torch.ones(batch, length, dtype=torch.bool)

    expected, _ = theirs(x, x, x, key_padding_mask=~mask if masked else None, need_weights=False)
    got = ours(x, attention_mask_for_sdpa(mask) if masked else None)
    # grad is enabled, so torch takes its reference (non-fast) path: every position, padded ones too, matches
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


LAYER_CASES = [(norm_first, activation) for norm_first in (True, False) for activation in ("relu", "gelu")]


@pytest.mark.parametrize(("norm_first", "activation"), LAYER_CASES)
@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 4), length=st.integers(1, 12), masked=st.booleans())
def test_encoder_layer_matches_torch_transformer_encoder_layer(
    norm_first: bool, activation: str, seed: int, batch: int, length: int, masked: bool
) -> None:
    d_model, n_heads, d_ff = 16, 4, 24
    torch.manual_seed(seed)
    theirs = nn.TransformerEncoderLayer(
        d_model, n_heads, d_ff, dropout=0.1, activation=activation, batch_first=True, norm_first=norm_first
    ).eval()
    ours = EncoderLayer(d_model, n_heads, d_ff, dropout=0.1, activation=activation, norm_first=norm_first).eval()
    copy_layer(ours, theirs)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, length, d_model, generator=gen)
    mask = random_mask(gen, batch, length) if masked else torch.ones(batch, length, dtype=torch.bool)
    key_padding_mask = ~mask if masked else None
    got = ours(x, attention_mask_for_sdpa(mask) if masked else None)

    # Reference path (grad enabled): all positions match.
    expected = theirs(x, src_key_padding_mask=key_padding_mask)
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)
    # Fused fast path (eval + no_grad): compared at real tokens only, where its output is defined.
    with torch.no_grad():
        fast = theirs(x, src_key_padding_mask=key_padding_mask)
    torch.testing.assert_close(got[mask], fast[mask], atol=ATOL, rtol=0)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
@pytest.mark.parametrize("norm_first", [True, False])
def test_encoder_stack_matches_torch_transformer_encoder(norm_first: bool) -> None:
    config = EncoderConfig(
        vocab_size=10, num_classes=2, d_model=16, n_heads=2, n_layers=3, d_ff=32, norm_first=norm_first
    )
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(16, 2, 32, activation="gelu", batch_first=True, norm_first=norm_first)
    final_norm = nn.LayerNorm(16) if norm_first else None
    theirs = nn.TransformerEncoder(layer, num_layers=3, norm=final_norm, enable_nested_tensor=not norm_first).eval()
    randomise_norms(theirs)
    ours = Encoder(config).eval()
    for mine, ref in zip(ours.layers, theirs.layers, strict=True):
        copy_layer(mine, ref)
    if norm_first:
        ours.final_norm.load_state_dict(theirs.norm.state_dict())
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(5, 9, 16, generator=gen)
    mask = random_mask(gen, 5, 9)

    got = ours(x, mask)
    torch.testing.assert_close(got, theirs(x, src_key_padding_mask=~mask), atol=ATOL, rtol=0)
    with torch.no_grad():  # post-LN: torch packs real tokens into a nested tensor and pads with zeros
        fast = theirs(x, src_key_padding_mask=~mask)
    torch.testing.assert_close(got[mask], fast[mask], atol=ATOL, rtol=0)


@pytest.mark.parametrize("norm_first", [True, False])
def test_first_position_shortcut_equals_full_encoder_in_outputs_and_gradients(norm_first: bool) -> None:
    # [CLS] pooling asks the encoder for position 0 only; the last layer then skips every other position's work.
    torch.manual_seed(0)
    config = EncoderConfig(vocab_size=10, num_classes=2, d_model=16, n_heads=2, n_layers=3, d_ff=32,
                           dropout=0.0, norm_first=norm_first)
    encoder = Encoder(config).train()
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(5, 9, 16, generator=gen, requires_grad=True)
    mask = random_mask(gen, 5, 9)

    full = encoder(x, mask)[:, :1]
    (full_grad,) = torch.autograd.grad(full.square().sum(), x)
    first = encoder(x, mask, n_outputs=1)
    (first_grad,) = torch.autograd.grad(first.square().sum(), x)

    assert first.shape == (5, 1, 16)
    torch.testing.assert_close(first, full, atol=ATOL, rtol=0)
    torch.testing.assert_close(first_grad, full_grad, atol=ATOL, rtol=0)


# ----------------------------------------------------------------------------------------------------------
# Padding


def tiny_config(**overrides: object) -> EncoderConfig:
    params: dict = dict(vocab_size=50, num_classes=3, max_length=40, d_model=16, n_heads=2, n_layers=2, d_ff=32)
    params.update(overrides)
    return EncoderConfig(**params)


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**31 - 1),
    extra_padding=st.integers(1, 20),
    norm_first=st.booleans(),
    positional=st.sampled_from(["sinusoidal", "learned"]),
    pooling=st.sampled_from(["cls", "mean", "max"]),
)
def test_outputs_at_real_tokens_do_not_depend_on_trailing_padding(
    seed: int, extra_padding: int, norm_first: bool, positional: str, pooling: str
) -> None:
    torch.manual_seed(seed)
    model = TransformerClassifier(tiny_config(norm_first=norm_first, positional=positional, pooling=pooling)).eval()
    gen = torch.Generator().manual_seed(seed)
    mask = random_mask(gen, 4, 12)
    ids = torch.randint(1, 50, (4, 12), generator=gen).masked_fill(~mask, 0)
    padded_ids = torch.cat([ids, torch.zeros(4, extra_padding, dtype=torch.long)], dim=1)
    padded_mask = torch.cat([mask, torch.zeros(4, extra_padding, dtype=torch.bool)], dim=1)

    def hidden(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        x = model.position(model.token_embedding(input_ids) * math.sqrt(16))
        return model.encoder(x, attention_mask)

    with torch.no_grad():
        short, long = hidden(ids, mask), hidden(padded_ids, padded_mask)
        torch.testing.assert_close(short[mask], long[:, :12][mask], atol=1e-6, rtol=0)
        torch.testing.assert_close(model(ids, mask), model(padded_ids, padded_mask), atol=1e-6, rtol=0)


def test_padded_keys_receive_no_attention() -> None:
    # Changing what sits at padded positions must not change any real-token output.
    torch.manual_seed(0)
    model = TransformerClassifier(tiny_config(pooling="mean")).eval()
    mask = torch.tensor([[True, True, True, False, False]])
    a = torch.tensor([[1, 2, 3, 0, 0]])
    b = torch.tensor([[1, 2, 3, 7, 9]])  # garbage under the mask
    with torch.no_grad():
        torch.testing.assert_close(model(a, mask), model(b, mask), atol=1e-6, rtol=0)


@pytest.mark.parametrize("pooling", ["cls", "mean", "max"])
def test_all_padding_row_gives_finite_outputs_and_gradients(pooling: str) -> None:
    model = TransformerClassifier(tiny_config(pooling=pooling)).train()
    ids = torch.tensor([[5, 6, 7], [0, 0, 0]])
    mask = ids != 0
    logits = model(ids, mask)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_pooling_over_real_tokens_matches_a_direct_computation() -> None:
    gen = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 6, 4, generator=gen)
    lengths = [6, 2, 1]
    mask = torch.arange(6)[None, :] < torch.tensor(lengths)[:, None]
    torch.testing.assert_close(pool(hidden, mask, "cls"), hidden[:, 0])
    means = torch.stack([hidden[i, :n].mean(0) for i, n in enumerate(lengths)])
    maxima = torch.stack([hidden[i, :n].amax(0) for i, n in enumerate(lengths)])
    torch.testing.assert_close(pool(hidden, mask, "mean"), means)
    torch.testing.assert_close(pool(hidden, mask, "max"), maxima)
    empty = torch.zeros(1, 6, dtype=torch.bool)
    assert torch.equal(pool(hidden[:1], empty, "max"), torch.zeros(1, 4))
    assert torch.equal(pool(hidden[:1], empty, "mean"), torch.zeros(1, 4))


def test_default_attention_mask_is_non_pad_tokens() -> None:
    torch.manual_seed(0)
    model = TransformerClassifier(tiny_config()).eval()
    ids = torch.tensor([[3, 4, 0, 0], [5, 6, 7, 8]])
    with torch.no_grad():
        torch.testing.assert_close(model(ids), model(ids, ids != 0))


# ----------------------------------------------------------------------------------------------------------
# Configuration errors


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (dict(d_model=10, n_heads=4), "divisible by n_heads"),
        (dict(num_classes=1), "num_classes"),
        (dict(vocab_size=0), "vocab_size"),
        (dict(dropout=1.0), "dropout"),
        (dict(pooling="first"), "pooling"),
        (dict(positional="rotary"), "positional"),
        (dict(activation="tanh"), "activation"),
        (dict(pad_token_id=50), "pad_token_id"),
        (dict(type_vocab_size=-1), "type_vocab_size"),
        (dict(embedding_size=0), "embedding_size"),
        (dict(attention_dropout=1.0), "attention_dropout"),
        (dict(activation_dropout=-0.1), "activation_dropout"),
        (dict(pooler=True, pooling="mean"), "needs pooling='cls'"),
    ],
)
def test_bad_configuration_is_rejected_with_a_clear_error(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


def test_too_long_input_is_rejected() -> None:
    model = TransformerClassifier(tiny_config(max_length=8))
    with pytest.raises(ValueError, match="exceeds max_length=8"):
        model(torch.ones(1, 9, dtype=torch.long))


# ----------------------------------------------------------------------------------------------------------
# BERT-family options (pretrained checkpoints; cross-checked against transformers in test_hf_checkpoint.py)

BERT_LIKE = dict(norm_first=False, positional="learned", scale_embeddings=False, embedding_norm=True,
                 type_vocab_size=2, activation_dropout=0.0, pooler=True)


def test_default_model_has_none_of_the_bert_family_modules() -> None:
    # The defaults are the encoder's own design: same modules, same state_dict, same embedding formula.
    model = TransformerClassifier(tiny_config(positional="learned")).eval()
    assert model.token_type_embedding is None and model.embedding_norm is None
    assert model.embedding_projection is None and model.pooler is None
    assert {key.split(".")[0] for key in model.state_dict()} == {"token_embedding", "position", "encoder", "head"}
    ids = torch.randint(0, 50, (3, 7))
    with torch.no_grad():
        expected = model.token_embedding(ids) * math.sqrt(16) + model.position.table.weight[:7]
        assert torch.equal(model.embed(ids), expected)


def test_bert_family_options_add_their_modules_with_the_right_shapes() -> None:
    model = TransformerClassifier(tiny_config(**BERT_LIKE, embedding_size=8, positions_skip_padding=True,
                                              pad_token_id=1))
    shapes = {key: tuple(value.shape) for key, value in model.state_dict().items()}
    assert shapes["token_embedding.weight"] == (50, 8)
    assert shapes["token_type_embedding.weight"] == (2, 8)
    assert shapes["position.table.weight"] == (40 + 2, 8)  # RoBERTa skips positions 0 .. pad_token_id
    assert shapes["embedding_norm.weight"] == (8,)
    assert shapes["embedding_projection.weight"] == (16, 8)
    assert shapes["pooler.dense.weight"] == (16, 16)


def test_positions_skipping_padding_match_fairseq_numbering() -> None:
    ids = torch.tensor([[5, 6, 7, 1, 1], [1, 1, 8, 9, 4], [1, 1, 1, 1, 1]])
    expected = torch.tensor([[2, 3, 4, 1, 1], [1, 1, 2, 3, 4], [1, 1, 1, 1, 1]])
    assert torch.equal(positions_skipping_padding(ids, pad_token_id=1), expected)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), extra_padding=st.integers(1, 10), embedding_size=st.sampled_from([None, 8]))
def test_bert_family_outputs_do_not_depend_on_padding(
    seed: int, extra_padding: int, embedding_size: int | None
) -> None:
    # With RoBERTa's positions, left and right padding give every real token the same output too.
    torch.manual_seed(seed)
    model = TransformerClassifier(tiny_config(**BERT_LIKE, embedding_size=embedding_size, positions_skip_padding=True,
                                              pad_token_id=1)).eval()
    gen = torch.Generator().manual_seed(seed)
    mask = random_mask(gen, 4, 12)
    ids = torch.randint(2, 50, (4, 12), generator=gen).masked_fill(~mask, 1)
    types = torch.randint(0, 2, (4, 12), generator=gen)
    right_ids = torch.cat([ids, torch.ones(4, extra_padding, dtype=torch.long)], dim=1)
    right_types = torch.cat([types, torch.zeros(4, extra_padding, dtype=torch.long)], dim=1)
    left_ids = torch.cat([torch.ones(4, extra_padding, dtype=torch.long), ids], dim=1)
    left_types = torch.cat([torch.zeros(4, extra_padding, dtype=torch.long), types], dim=1)
    with torch.no_grad():
        short = model.hidden_states(ids, token_type_ids=types)
        right = model.hidden_states(right_ids, token_type_ids=right_types)
        left = model.hidden_states(left_ids, token_type_ids=left_types)
        torch.testing.assert_close(right[:, :12][mask], short[mask], atol=1e-5, rtol=0)
        torch.testing.assert_close(left[:, extra_padding:][mask], short[mask], atol=1e-5, rtol=0)
        torch.testing.assert_close(model(right_ids, token_type_ids=right_types), model(ids, token_type_ids=types),
                                   atol=1e-5, rtol=0)


def test_gelu_tanh_is_the_tanh_approximation() -> None:
    ff = FeedForward(4, 6, dropout=0.0, activation="gelu_tanh")
    x = torch.randn(3, 4)
    torch.testing.assert_close(ff(x), ff.fc_out(nn.GELU(approximate="tanh")(ff.fc_in(x))))


def test_token_types_without_token_type_embeddings_are_rejected() -> None:
    model = TransformerClassifier(tiny_config())
    ids = torch.ones(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="no token-type embeddings"):
        model(ids, token_type_ids=torch.zeros_like(ids))


# ----------------------------------------------------------------------------------------------------------
# Learning


def test_tiny_model_overfits_a_small_batch() -> None:
    torch.manual_seed(0)
    model = TransformerClassifier(tiny_config(num_classes=4, dropout=0.0, n_layers=1)).train()
    gen = torch.Generator().manual_seed(0)
    mask = random_mask(gen, 16, 10)
    ids = torch.randint(1, 50, (16, 10), generator=gen).masked_fill(~mask, 0)
    labels = torch.randint(0, 4, (16,), generator=gen)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(ids, mask), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(ids, mask).argmax(-1) == labels).float().mean().item()
    assert accuracy == 1.0
