"""Fine-tuning a pretrained checkpoint folder through the library's Lightning modules and CLI: ``imbalance-xfmr fit
--model.pretrained DIR`` (encoder and tokenizer from the folder, predict from the Lightning checkpoint alone),
conflicting arguments, layer-wise learning-rate decay, task-adaptive pretraining (``pretrain --model.pretrained DIR``
then ``fit --model.init_from``), and the precision helper.

Tiny random BERT and RoBERTa checkpoints are built in the test with transformers (``save_pretrained``) and a
tokenizer of their own (BERT: a ``vocab.txt`` whose special tokens are scattered, as in BERT's; RoBERTa: byte-level
BPE); nothing is downloaded.
"""

from __future__ import annotations

import json
import shutil
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
import transformers
from lightning_fabric.connector import _PRECISION_INPUT_STR
from tokenizers import ByteLevelBPETokenizer

from imbalance_xfmr import precision
from imbalance_xfmr.cli import main, make_cli, make_pretrain_cli
from imbalance_xfmr.data import PretrainDataModule, PretrainedTokenizer, TextDataModule
from imbalance_xfmr.data.tokenized import read_tokenizer
from imbalance_xfmr.model.classifier import TextClassifier
from imbalance_xfmr.model.hf_checkpoint import read_hf_checkpoint
from imbalance_xfmr.model.optimization import check_optimization_args
from imbalance_xfmr.model.pretraining import IGNORE_INDEX, MaskedLanguageModel, mask_tokens

HAM = "see you at lunch ok call me later sorry running late love mum home soon what time".split()
SPAM = "win cash now free prize txt claim urgent winner reply stop".split()
SIZES = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48)
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", "--trainer.logger=false"]


@pytest.fixture(autouse=True)
def bare_argv(monkeypatch):
    """main(args) stands for the command line: pytest's own arguments must not look like extra ones."""
    monkeypatch.setattr("sys.argv", ["imbalance-xfmr"])


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Every parameter random, layer-norm scales around 1 (a fresh model's would hide a lost tensor)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            mean = 1.0 if "LayerNorm.weight" in name else 0.0
            parameter.copy_(mean + 0.1 * torch.randn(parameter.shape, generator=gen))


def texts(n: int, seed: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    spam = rng.random(n) < 0.25
    rows = [" ".join(rng.choice(SPAM if s else HAM, rng.integers(3, 9))) for s in spam]
    return rows, ["spam" if s else "ham" for s in spam]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    train, labels = texts(48, 0)
    pd.DataFrame({"id": [f"r{i:02d}" for i in range(48)], "text": train, "label": labels}).to_csv(
        root / "train.csv", index=False)
    test, _ = texts(20, 1)
    pd.DataFrame({"id": [f"t{i:02d}" for i in range(20)], "text": test}).to_csv(root / "test.csv", index=False)
    return root


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    """A BERT folder with a WordPiece vocab.txt whose special tokens are not its first ids ([CLS] is 4)."""
    folder = tmp_path_factory.mktemp("bert")
    vocab = ["[PAD]", "a", "b", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *sorted(set(HAM + SPAM)), "##s", "##e"]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    torch.manual_seed(0)
    model = transformers.BertModel(transformers.BertConfig(vocab_size=len(vocab), max_position_embeddings=40,
                                                           **SIZES))
    randomise(model, 0)
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def roberta(tmp_path_factory, data) -> Path:
    """A RoBERTa folder (pad id 1, positions that skip padding) with a byte-level BPE tokenizer."""
    folder = tmp_path_factory.mktemp("roberta")
    trainer = ByteLevelBPETokenizer()
    trainer.train_from_iterator(texts(200, 2)[0], vocab_size=300, show_progress=False,
                                special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    trainer.save_model(str(folder))
    config = transformers.RobertaConfig(vocab_size=trainer.get_vocab_size(), max_position_embeddings=42,
                                        type_vocab_size=1, pad_token_id=1, **SIZES)
    torch.manual_seed(1)
    model = transformers.RobertaModel(config)
    randomise(model, 1)
    model.save_pretrained(folder)
    return folder


def data_args(root: Path) -> list[str]:
    return [f"--data.train_path={root / 'train.csv'}", f"--data.test_path={root / 'test.csv'}",
            "--data.max_length=16", "--data.batch_size=8"]


def in_memory_probabilities(model: TextClassifier, datamodule: TextDataModule) -> torch.Tensor:
    """The trained model's probabilities (N, C) of the prediction rows, in row order."""
    datamodule.setup("predict")
    model.eval()
    probabilities = torch.empty(len(datamodule.predict_ids), model.hparams.num_classes)
    with torch.no_grad():
        for batch in datamodule.predict_dataloader():
            probabilities[batch["index"]] = model.predict_step(batch, 0)
    return probabilities


def encoder_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value for key, value in model.state_dict().items() if not key.startswith("head.")}


# ----------------------------------------------------------------------------------------------------------
# fit --model.pretrained, then predict from the checkpoint without the folder


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_fit_from_a_pretrained_folder_then_predict_without_it(family, data, tmp_path, request):
    folder = tmp_path / family
    shutil.copytree(request.getfixturevalue(family), folder)
    tokenizer = PretrainedTokenizer.from_pretrained(folder)
    checkpoints = tmp_path / "ck"
    cli = make_cli(["fit", f"--model.pretrained={folder}", *data_args(data), *QUIET, "--model.lr=1e-3",
                    "--model.layerwise_lr_decay=0.8", "--trainer.max_epochs=2",
                    f"--trainer.default_root_dir={tmp_path / 'fit'}", f"--checkpoints.dirpath={checkpoints}"])
    model = cli.model.model
    _, pretrained = read_hf_checkpoint(folder)
    assert cli.datamodule.pad_token_id == tokenizer.pad_token_id == model.config.pad_token_id
    assert cli.model.hparams.vocab_size == tokenizer.vocab_size_
    assert (model.config.d_model, model.config.n_layers, model.config.norm_first) == (32, 2, False)  # the folder's
    assert torch.isfinite(cli.trainer.callback_metrics["train/loss_epoch"])
    changed = [key for key, value in pretrained.items() if not torch.equal(value, model.state_dict()[key])]
    assert changed  # it trained
    assert set(pretrained) <= set(model.state_dict())

    saved = torch.load(checkpoints / "last.ckpt", weights_only=True)  # plain types only
    assert saved["hyper_parameters"]["encoder_config"]["d_model"] == 32
    assert saved["hyper_parameters"]["pretrained"] == str(folder)
    assert json.loads(saved["TextDataModule"]["tokenizer"])["format"].startswith("imbalance_xfmr.PretrainedTokenizer")
    expected = in_memory_probabilities(cli.model, cli.datamodule)

    shutil.rmtree(folder)  # predict reads neither the encoder nor the tokenizer from it
    output = tmp_path / "probabilities.csv"
    main(["predict", f"--model.pretrained={folder}", *data_args(data), *QUIET,
          f"--trainer.default_root_dir={tmp_path / 'predict'}", f"--ckpt_path={checkpoints / 'last.ckpt'}",
          f"--prediction_writer.output_path={output}"])
    got = pd.read_csv(output)
    assert got["id"].tolist() == [f"t{i:02d}" for i in range(20)]
    np.testing.assert_allclose(got[["ham", "spam"]].to_numpy(), expected.numpy(), atol=1e-6, rtol=0)

    # A resumed fit rebuilds the encoder from the checkpoint's encoder_config too, without the folder.
    resumed = make_cli(["fit", f"--model.pretrained={folder}", *data_args(data), *QUIET, "--model.lr=1e-3",
                        "--model.layerwise_lr_decay=0.8", "--trainer.max_epochs=3", "--ckpt_path=last",
                        f"--trainer.default_root_dir={tmp_path / 'resumed'}", f"--checkpoints.dirpath={checkpoints}"])
    assert resumed.model.hparams.pretrained is None and resumed.trainer.current_epoch == 3


def test_the_datamodule_stores_and_restores_the_pretrained_tokenizer(bert, data, tmp_path):
    dm = TextDataModule(str(data / "train.csv"), pretrained_tokenizer=str(bert), max_length=16)
    tokenizer = PretrainedTokenizer.from_pretrained(bert)
    assert (dm.vocab_size, dm.pad_token_id, dm.cls_token_id) == (tokenizer.vocab_size_, 0, 4)
    restored = TextDataModule(str(data / "train.csv"))
    restored.load_state_dict(dm.state_dict())
    assert isinstance(restored.fitted_tokenizer, PretrainedTokenizer) and restored.cls_token_id == 4
    assert restored.fitted_tokenizer.to_json() == dm.fitted_tokenizer.to_json()
    tokenizer.save(tmp_path / "tokenizer.json")
    assert read_tokenizer(str(tmp_path / "tokenizer.json")).to_json() == tokenizer.to_json()
    with pytest.raises(ValueError, match="tokenizer_path .* and pretrained_tokenizer .* both give the tokenizer"):
        TextDataModule(str(data / "train.csv"), pretrained_tokenizer=str(bert),
                       tokenizer_path=str(tmp_path / "tokenizer.json"))
    with pytest.raises(ValueError, match=r"max_length must be at least 3 with pretrained_tokenizer"):
        PretrainDataModule(str(data / "train.csv"), pretrained_tokenizer=str(bert), max_length=2)


# ----------------------------------------------------------------------------------------------------------
# Arguments beside a checkpoint's encoder


def test_encoder_arguments_that_contradict_the_checkpoint_are_one_clear_error(bert, roberta, data, capsys):
    tokenizer = PretrainedTokenizer.from_pretrained(bert)
    base = dict(vocab_size=tokenizer.vocab_size_, num_classes=2, pretrained=str(bert))
    for overrides, message in [
        ({"d_model": 64}, r"^d_model=64 conflicts with the encoder of pretrained '.*', whose d_model is 32: the "
                          r"architecture comes from the checkpoint, so leave d_model at its default \(128\) or set "
                          r"it to 32\.$"),
        ({"norm_first": True, "n_layers": 3}, r"^n_layers=3 conflicts"),
        ({"max_length": 41}, r"^max_length=41 exceeds the 40 positions of the encoder of pretrained '.*': set "
                             r"max_length \(data.max_length on the command line\) to at most 40\.$"),
        ({"vocab_size": 1000}, r"^vocab_size=1000 \(the tokenizer's\) exceeds the \d+ token embeddings"),
        ({"pad_token_id": 1}, r"^pad_token_id=1 \(the tokenizer's\) is not the pad_token_id 0 of the encoder"),
        ({"encoder_config": {"vocab_size": 9}}, r"^pretrained='.*' and encoder_config were both given"),
    ]:
        with pytest.raises(ValueError, match=message):
            TextClassifier(**{**base, **overrides})
    # Equal to the checkpoint's, or at their defaults: accepted; dropout and pooling replace the checkpoint's.
    model = TextClassifier(**base, d_model=32, n_layers=2, max_length=40, dropout=0.3, pooling="mean").model
    assert (model.config.dropout, model.config.attention_dropout, model.config.pooling) == (0.3, 0.3, "mean")
    assert model.pooler is None and TextClassifier(**base).model.pooler is not None  # BERT's [CLS] pooler, kept

    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--model.pretrained={bert}", "--model.d_model=64", *data_args(data), *QUIET])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("imbalance-xfmr: error: model: d_model=64 conflicts with the encoder of pretrained")
    assert "\n" not in error and "Traceback" not in error
    with pytest.raises(SystemExit):
        main(["fit", f"--model.pretrained={data / 'no-such-folder'}", *data_args(data), *QUIET])
    assert "is not a folder" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------
# Layer-wise learning-rate decay


def optimizer_of(model: pl.LightningModule, max_steps: int = 10) -> torch.optim.Optimizer:
    model.trainer = pl.Trainer(max_steps=max_steps, logger=False, enable_checkpointing=False)
    return model.configure_optimizers()["optimizer"]


def test_layerwise_lr_decay_gives_each_layer_its_learning_rate(bert):
    tokenizer = PretrainedTokenizer.from_pretrained(bert)
    model = TextClassifier(tokenizer.vocab_size_, 2, pretrained=str(bert), lr=1e-3, weight_decay=0.05,
                           layerwise_lr_decay=0.5)
    optimizer = optimizer_of(model)
    group_of = {id(p): group for group in optimizer.param_groups for p in group["params"]}
    names = dict(model.named_parameters())
    assert len(group_of) == sum(len(group["params"]) for group in optimizer.param_groups) == len(names)
    for name, parameter in names.items():
        group = group_of[id(parameter)]
        if ".embedding" in name or name.startswith("model.token") or name.startswith("model.position"):
            factor = 0.5**3  # L + 1, L = 2
        elif name.startswith("model.encoder.layers."):
            factor = 0.5 ** (2 - int(name.split(".")[3]))
        else:
            assert name.startswith(("model.head.", "model.pooler.")), name
            factor = 1.0
        assert group["lr"] == pytest.approx(1e-3 * factor), name
        assert group["weight_decay"] == (0.05 if parameter.ndim >= 2 else 0.0), name
    lrs = [group["lr"] for group in optimizer.param_groups]
    assert sorted(set(np.round(np.array(lrs) / 1e-3, 9))) == [0.125, 0.25, 0.5, 1.0]

    off = optimizer_of(TextClassifier(tokenizer.vocab_size_, 2, pretrained=str(bert), lr=1e-3))
    assert [group["weight_decay"] for group in off.param_groups] == [0.01, 0.0]  # the two groups as before
    assert all(group["lr"] == 1e-3 for group in off.param_groups)
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=r"layerwise_lr_decay must be in \(0, 1\]"):
            check_optimization_args(lr=1e-3, weight_decay=0.0, warmup_fraction=0.1, decay="cosine",
                                    min_lr_ratio=0.0, layerwise_lr_decay=bad)


def test_layerwise_lr_decay_follows_the_schedule(bert):
    tokenizer = PretrainedTokenizer.from_pretrained(bert)
    model = TextClassifier(tokenizer.vocab_size_, 2, pretrained=str(bert), lr=1e-3, layerwise_lr_decay=0.9,
                           warmup_fraction=0.5)
    model.trainer = pl.Trainer(max_steps=4, logger=False, enable_checkpointing=False)
    configured = model.configure_optimizers()
    optimizer, scheduler = configured["optimizer"], configured["lr_scheduler"]["scheduler"]
    first = [group["lr"] for group in optimizer.param_groups]
    optimizer.step()
    scheduler.step()
    second = [group["lr"] for group in optimizer.param_groups]
    np.testing.assert_allclose(np.array(second) / np.array(first), 2.0)  # warmup: step 1 of 2 -> step 2 of 2


# ----------------------------------------------------------------------------------------------------------
# Task-adaptive pretraining: pretrain --model.pretrained, then fit --model.init_from


def test_mask_tokens_never_selects_scattered_special_tokens():
    ids = torch.tensor([[4, 10, 11, 5, 0, 0], [4, 12, 6, 13, 5, 0]])
    mask = ids != 0
    special = torch.tensor([0, 3, 4, 5, 6])
    inputs, targets = mask_tokens(ids, mask, mask_token_id=6, vocab_size=20, n_special=0, probability=1.0,
                                  special_token_ids=special, generator=torch.Generator().manual_seed(0))
    selected = targets != IGNORE_INDEX
    assert selected.tolist() == [[False, True, True, False, False, False], [False, True, False, True, False, False]]
    assert torch.equal(inputs[~selected], ids[~selected])


def test_task_adaptive_pretraining_then_fit_with_init_from(bert, data, tmp_path):
    tokenizer = PretrainedTokenizer.from_pretrained(bert)
    pretrain = make_pretrain_cli(["pretrain", f"--model.pretrained={bert}", *data_args(data), *QUIET,
                                  "--data.val_fraction=0.2", "--model.lr=1e-3", "--trainer.max_epochs=2",
                                  f"--trainer.default_root_dir={tmp_path / 'pretrain'}",
                                  f"--checkpoints.dirpath={tmp_path / 'mlm'}"])
    mlm = pretrain.model
    assert isinstance(mlm, MaskedLanguageModel)
    assert mlm.hparams.special_token_ids == tokenizer.special_token_ids == [0, 3, 4, 5, 6]
    assert mlm.hparams.n_special == 0 and mlm.hparams.mask_token_id == 6
    assert mlm.mlm_head.decoder.weight is mlm.model.token_embedding.weight  # tied to the checkpoint's embeddings
    assert torch.isfinite(pretrain.trainer.callback_metrics["val/loss"])
    _, pretrained = read_hf_checkpoint(bert)
    assert not torch.equal(pretrained["token_embedding.weight"], mlm.model.token_embedding.weight)  # it trained
    pretraining = tmp_path / "mlm" / "last.ckpt"
    resumed = make_pretrain_cli(["pretrain", f"--model.pretrained={bert}", *data_args(data), *QUIET,
                                 "--data.val_fraction=0.2", "--model.lr=1e-3", "--trainer.max_epochs=3",
                                 "--ckpt_path=last", f"--trainer.default_root_dir={tmp_path / 'resumed'}",
                                 f"--checkpoints.dirpath={tmp_path / 'mlm'}"])
    assert resumed.trainer.current_epoch == 3 and resumed.model.hparams.pretrained is None
    assert resumed.datamodule.fitted_tokenizer.to_json() == tokenizer.to_json()  # from the checkpoint

    # The classifier's encoder, architecture and weights, is the pretraining's (the folder is not needed).
    moved = tmp_path / "moved-bert"
    shutil.move(bert, moved)
    try:
        classifier = TextClassifier(tokenizer.vocab_size_, 2, init_from=str(pretraining))
        state = torch.load(pretraining, weights_only=True)["state_dict"]
        mlm_encoder = {key.removeprefix("model."): value for key, value in state.items() if key.startswith("model.")}
        ours = encoder_state(classifier.model)
        assert ours.keys() == mlm_encoder.keys()
        assert all(torch.equal(ours[key], value) for key, value in mlm_encoder.items())
        assert classifier.hparams.encoder_config["d_model"] == 32

        cli = make_cli(["fit", f"--model.init_from={pretraining}", f"--data.tokenizer_path={pretraining}",
                        *data_args(data), *QUIET, "--trainer.max_epochs=1",
                        f"--trainer.default_root_dir={tmp_path / 'fit'}", f"--checkpoints.dirpath={tmp_path / 'ck'}"])
        assert isinstance(cli.datamodule.fitted_tokenizer, PretrainedTokenizer)
        assert torch.isfinite(cli.trainer.callback_metrics["train/loss_epoch"])
    finally:
        shutil.move(moved, bert)

    # The folder and the pretraining together: the same encoder, the pretraining's weights.
    both = TextClassifier(tokenizer.vocab_size_, 2, pretrained=str(bert), init_from=str(pretraining))
    assert all(torch.equal(encoder_state(both.model)[key], value) for key, value in mlm_encoder.items())


# ----------------------------------------------------------------------------------------------------------
# Precision


VALID_PRECISIONS = typing.get_args(_PRECISION_INPUT_STR)


def test_choose_precision_follows_the_cpus_bf16_units(monkeypatch):
    choice = precision.choose_precision("cpu")
    assert choice.precision in VALID_PRECISIONS and choice.device == "cpu"
    assert (choice.precision == "bf16-mixed") == bool(precision.cpu_bf16_units())
    pl.Trainer(accelerator="cpu", precision=choice.precision, logger=False, enable_checkpointing=False)
    for amx, avx512_bf16, expected in [(False, False, "32-true"), (True, False, "bf16-mixed"),
                                       (False, True, "bf16-mixed")]:
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda amx=amx: amx)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda bf16=avx512_bf16: bf16)
        choice = precision.choose_precision("cpu")
        assert choice.precision == expected and choice.as_dict()["precision"] == expected
        assert choice.bf16_units == tuple(name for name, on in (("AMX tiles", amx), ("AVX-512 BF16", avx512_bf16))
                                          if on)
        assert json.dumps(choice.as_dict())  # a plain record
    with pytest.raises(ValueError, match="accelerator must be one of"):
        precision.choose_precision("tpu")


def test_choose_precision_on_cuda_gpus(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *args: "Some GPU")
    for capability, native, expected in [((9, 0), True, "bf16-mixed"), ((7, 5), False, "16-mixed")]:
        monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *args, c=capability: c)
        monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True, n=native: n)
        for accelerator in ("auto", "gpu", "cuda"):
            choice = precision.choose_precision(accelerator)
            assert (choice.precision, choice.device) == (expected, "cuda") and expected in VALID_PRECISIONS
            assert "Some GPU" in choice.reason


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the machine without a CUDA device")
def test_choose_precision_auto_without_cuda_is_the_cpus_and_gpu_is_an_error():
    assert precision.choose_precision("auto") == precision.choose_precision("cpu")
    with pytest.raises(ValueError, match="needs a CUDA device"):
        precision.choose_precision("gpu")
