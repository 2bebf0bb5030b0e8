"""SubwordTokenizer: special-token ids, truncation against a per-row reference built on `tokenizers` itself,
save/load, determinism, errors. Also the dynamically padded batches built from its output (against torch's
pad_sequence)."""

import json

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

from imbalance_xfmr.data import EncodedTexts, PaddedTextDataset, SubwordTokenizer
from imbalance_xfmr.data.collate import identity_collate

WORDS = "free prize call now claim winner cash txt stop reply meeting tomorrow lunch home love you ok sorry".split()
CORPUS = [
    " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(3 + i % 9)) + ("!" if i % 4 else " 0800 123")
    for i in range(200)
]


@pytest.fixture(scope="module", params=["bpe", "wordpiece"])
def fitted(request):
    return SubwordTokenizer(request.param, vocab_size=120, min_frequency=1).fit(CORPUS)


def reference_ids(tokenizer: SubwordTokenizer, text: str, max_length: int, truncation: str) -> list[int]:
    """Row-by-row truncation on top of `tokenizers`' own encoding: what encode() must reproduce."""
    ids = tokenizer.tokenizer_.encode(text, add_special_tokens=False).ids
    budget = max_length - 1
    if len(ids) > budget:
        head = budget if truncation == "head" else budget // 4
        ids = ids[:head] + ids[len(ids) - (budget - head) :]
    return [tokenizer.cls_token_id] + ids


def rows(encoded: EncodedTexts) -> list[list[int]]:
    return [encoded.token_ids[a:b].tolist() for a, b in zip(encoded.offsets[:-1], encoded.offsets[1:])]


def test_special_tokens_have_fixed_ids(fitted):
    vocab = fitted.tokenizer_.get_vocab()
    assert (vocab["[PAD]"], vocab["[CLS]"], vocab["[UNK]"]) == (0, 1, 2)
    assert (fitted.pad_token_id, fitted.cls_token_id, fitted.unk_token_id) == (0, 1, 2)
    assert 3 < fitted.vocab_size_ <= 120


@given(
    texts=st.lists(st.text(alphabet=st.sampled_from(list("abcfreprizcl ok!0")), max_size=80), min_size=1, max_size=12),
    max_length=st.integers(2, 20),
    truncation=st.sampled_from(["head", "head_tail"]),
)
def test_encode_matches_per_row_reference(fitted, texts, max_length, truncation):
    encoded = fitted.encode(texts, max_length, truncation)
    assert encoded.token_ids.dtype == np.int32 and encoded.offsets.dtype == np.int64
    assert rows(encoded) == [reference_ids(fitted, text, max_length, truncation) for text in texts]
    assert (encoded.lengths <= max_length).all() and (encoded.lengths >= 1).all()


def test_head_tail_keeps_both_ends(fitted):
    text = " ".join(WORDS)  # one token a word (or more)
    full = reference_ids(fitted, text, 10_000, "head")[1:]
    (row,) = rows(fitted.encode([text], 9, "head_tail"))
    assert row == [1] + full[:2] + full[-6:]  # budget 8: a quarter from the head, the rest from the tail
    (row,) = rows(fitted.encode([text], 9, "head"))
    assert row == [1] + full[:8]


def test_unseen_characters_become_unk(fitted):
    (row,) = rows(fitted.encode(["free 日本"], 16))
    assert row[0] == 1 and fitted.unk_token_id in row[1:]
    assert rows(fitted.encode([""], 16)) == [[1]]  # an empty text is a lone [CLS]


def test_save_load_round_trip(fitted, tmp_path):
    path = tmp_path / "tokenizer.json"
    fitted.save(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["params"] == fitted.get_params()
    loaded = SubwordTokenizer.load(path)
    assert loaded.vocab_size_ == fitted.vocab_size_
    assert rows(loaded.encode(CORPUS, 12, "head_tail")) == rows(fitted.encode(CORPUS, 12, "head_tail"))


@pytest.mark.parametrize("algorithm", ["bpe", "wordpiece"])
def test_mask_token_comes_after_the_other_special_tokens_and_round_trips(algorithm, tmp_path):
    masked = SubwordTokenizer(algorithm, vocab_size=120, min_frequency=1, mask_token=True).fit(CORPUS)
    vocab = masked.tokenizer_.get_vocab()
    assert [vocab[token] for token in ("[PAD]", "[CLS]", "[UNK]", "[MASK]")] == [0, 1, 2, 3]
    assert (masked.mask_token_id, masked.n_special) == (3, 4)
    plain = SubwordTokenizer(algorithm, vocab_size=120, min_frequency=1).fit(CORPUS)
    assert (plain.mask_token_id, plain.n_special) == (None, 3) and "[MASK]" not in plain.tokenizer_.get_vocab()
    masked.save(tmp_path / "masked.json")
    loaded = SubwordTokenizer.load(tmp_path / "masked.json")
    assert loaded.mask_token_id == 3 and loaded.get_params() == masked.get_params()
    assert rows(loaded.encode(CORPUS, 12)) == rows(masked.encode(CORPUS, 12))
    assert masked.mask_token_id not in masked.encode(CORPUS, 12).token_ids  # no text encodes to [MASK]


def test_bpe_ids_without_mask_token_are_unchanged_and_old_json_loads_without_it(tmp_path):
    tokenizer = SubwordTokenizer("bpe", vocab_size=90, min_frequency=1).fit(CORPUS)
    document = json.loads(tokenizer.to_json())
    assert document["params"].pop("mask_token") is False
    old = tmp_path / "saved_before_mask_token.json"
    old.write_text(json.dumps(document), encoding="utf-8")  # a document without the key
    loaded = SubwordTokenizer.load(old)
    assert loaded.mask_token is False and loaded.mask_token_id is None and loaded.n_special == 3
    assert loaded.to_json() == tokenizer.to_json()
    assert rows(loaded.encode(CORPUS, 12)) == rows(tokenizer.encode(CORPUS, 12))
    with pytest.raises(ValueError, match="vocab_size must be an int > 4"):
        SubwordTokenizer(vocab_size=4, mask_token=True).fit(CORPUS)


def test_bpe_fit_is_deterministic():
    first = SubwordTokenizer("bpe", vocab_size=90, min_frequency=1).fit(CORPUS).to_json()
    assert SubwordTokenizer("bpe", vocab_size=90, min_frequency=1).fit(CORPUS).to_json() == first


def test_vocabulary_comes_from_the_fitted_texts_only():
    tokenizer = SubwordTokenizer("bpe", vocab_size=1000, min_frequency=1).fit(["aaa bbb", "bbb aaa"])
    assert set(tokenizer.tokenizer_.get_vocab()) >= {"aaa", "bbb"}
    assert not any("z" in token for token in tokenizer.tokenizer_.get_vocab())
    (row,) = rows(tokenizer.encode(["zzz"], 8))
    assert row == [1, 2, 2, 2]  # 'z' was never seen: every character is [UNK]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"algorithm": "unigram"}, "algorithm must be one of"),
        ({"vocab_size": 3}, "vocab_size must be an int > 3"),
        ({"min_frequency": 0}, "min_frequency must be an int >= 1"),
    ],
)
def test_bad_parameters_are_rejected_at_fit(params, message):
    with pytest.raises(ValueError, match=message):
        SubwordTokenizer(**params).fit(CORPUS)


def test_misuse_errors(fitted, tmp_path):
    with pytest.raises(RuntimeError, match="not fitted yet"):
        SubwordTokenizer().encode(["a"], 8)
    with pytest.raises(ValueError, match="no texts"):
        SubwordTokenizer().fit([])
    with pytest.raises(ValueError, match="max_length must be an int >= 2"):
        fitted.encode(["a"], 1)
    with pytest.raises(ValueError, match="truncation must be one of"):
        fitted.encode(["a"], 8, "tail")
    (tmp_path / "other.json").write_text('{"version": "1.0"}')
    with pytest.raises(ValueError, match="Not a saved SubwordTokenizer"):
        SubwordTokenizer.load(tmp_path / "other.json")


# ---------------------------------------------------------------------------------------------------------------------
# Dynamic padding


def ragged(lengths: list[int], seed: int = 0) -> tuple[EncodedTexts, list[torch.Tensor]]:
    generator = np.random.default_rng(seed)
    sequences = [np.concatenate([[1], generator.integers(3, 50, n - 1)]).astype(np.int32) for n in lengths]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return EncodedTexts(np.concatenate(sequences), offsets), [torch.from_numpy(s).long() for s in sequences]


@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=20),
    data=st.data(),
)
def test_padded_batches_match_pad_sequence(lengths, data):
    encoded, sequences = ragged(lengths)
    labels = np.arange(len(lengths)) % 3
    indices = data.draw(st.lists(st.integers(0, len(lengths) - 1), min_size=1, max_size=8))
    batch = PaddedTextDataset(encoded, labels).__getitems__(indices)
    expected = pad_sequence([sequences[i] for i in indices], batch_first=True, padding_value=0)
    assert batch["input_ids"].dtype == torch.int64 and batch["attention_mask"].dtype == torch.bool
    torch.testing.assert_close(batch["input_ids"], expected, rtol=0, atol=0)
    assert batch["attention_mask"].sum(1).tolist() == [lengths[i] for i in indices]
    assert batch["labels"].tolist() == [labels[i] for i in indices]
    assert "index" not in batch

    unlabelled = PaddedTextDataset(encoded).__getitems__(indices)
    assert unlabelled["index"].tolist() == indices and "labels" not in unlabelled


def test_dataloader_yields_padded_batches():
    encoded, sequences = ragged([3, 1, 7, 2, 5])
    loader = DataLoader(PaddedTextDataset(encoded, np.zeros(5)), batch_size=2, collate_fn=identity_collate)
    shapes = [tuple(batch["input_ids"].shape) for batch in loader]
    assert shapes == [(2, 3), (2, 7), (1, 5)]  # each batch padded to its own longest row
