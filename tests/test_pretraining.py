"""Self-pretraining: BERT's masking, the masked language model, PretrainDataModule, `imbalance-xfmr pretrain` (and
its resume, bit for bit), and classifiers started from the pretrained encoder and tokenizer, on a few hundred short
generated texts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from kills import SimulatedKill, kill_at_second_epoch

from imbalance_xfmr.cli import (
    ConfigError,
    PretrainCLI,
    check_pretrain_config,
    main,
    make_cli,
    make_pretrain_cli,
)
from imbalance_xfmr.data import PretrainDataModule, SubwordTokenizer, TextDataModule
from imbalance_xfmr.model.classifier import TextClassifier
from imbalance_xfmr.model.pretraining import (
    IGNORE_INDEX,
    MaskedLanguageModel,
    mask_tokens,
)

HAM = ["see", "you", "at", "lunch", "ok", "call", "me", "later", "sorry", "running", "late", "love", "you", "mum",
       "home", "soon", "what", "time"]
SPAM = ["win", "cash", "now", "free", "prize", "txt", "claim", "urgent", "call", "winner", "reply", "stop"]
TINY = ["--model.d_model=16", "--model.n_heads=2", "--model.n_layers=1", "--model.d_ff=32"]
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
DATA = ["--data.max_vocab_size=80", "--data.min_frequency=1", "--data.max_length=16", "--data.batch_size=16"]


@pytest.fixture(autouse=True)
def bare_argv(monkeypatch):
    """main(args) stands for the command line: pytest's own arguments must not look like extra ones."""
    monkeypatch.setattr("sys.argv", ["imbalance-xfmr"])


def sentences(words: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """n texts of 4 to 11 words, each word followed by the next word of ``words`` half the time: a little to learn."""
    starts = rng.integers(0, len(words), n)
    steps = rng.integers(1, 3, (n, 11))
    lengths = rng.integers(4, 12, n)
    positions = (starts[:, None] + np.cumsum(steps, axis=1)) % len(words)
    return [" ".join(words[p] for p in row[:length]) for row, length in zip(positions, lengths)]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """train.csv: 300 labelled texts (240 ham, 60 spam); test.csv: 100 unlabelled ones (two blank)."""
    root = tmp_path_factory.mktemp("corpus")
    rng = np.random.default_rng(0)
    texts = sentences(HAM, 240, rng) + sentences(SPAM, 60, rng)
    labels = ["ham"] * 240 + ["spam"] * 60
    pd.DataFrame({"id": [f"r{i:03d}" for i in range(300)], "text": texts, "label": labels}).to_csv(
        root / "train.csv", index=False)
    test = sentences(HAM, 80, rng) + sentences(SPAM, 18, rng) + ["", "   "]
    pd.DataFrame({"id": [f"t{i:03d}" for i in range(100)], "text": test}).to_csv(root / "test.csv", index=False)
    return root


def pretrain_args(root: Path, checkpoints: Path, epochs: int, *extra: str) -> list[str]:
    return ["pretrain", f"--data.train_path={root / 'train.csv'}", f"--data.test_path={root / 'test.csv'}", *DATA,
            "--data.val_fraction=0.1", "--data.length_bucketing=true", *TINY, "--model.lr=3e-3", *QUIET,
            f"--trainer.default_root_dir={root}", f"--trainer.max_epochs={epochs}",
            f"--checkpoints.dirpath={checkpoints}", *extra]


@pytest.fixture(scope="module")
def pretrained(corpus) -> Path:
    """`imbalance-xfmr pretrain` for 3 epochs, logging to <corpus>/pretrain_logs/version_0/metrics.csv."""
    logger = ["--trainer.logger=pytorch_lightning.loggers.CSVLogger", f"--trainer.logger.save_dir={corpus}",
              "--trainer.logger.name=pretrain_logs"]
    main(pretrain_args(corpus, corpus / "pretrain", 3, *logger))
    return corpus / "pretrain" / "last.ckpt"


# ----------------------------------------------------------------------------------------------------------
# Masking


def batch_of_texts(generator: torch.Generator, rows: int = 512, length: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Ids (rows, length): [CLS] first, [UNK] here and there, subword ids 4..99, [PAD] after each row's length."""
    lengths = torch.randint(2, length + 1, (rows,), generator=generator)
    mask = torch.arange(length)[None, :] < lengths[:, None]
    ids = torch.randint(4, 100, (rows, length), generator=generator)
    ids[torch.rand(rows, length, generator=generator) < 0.05] = 2  # [UNK]
    ids[:, 0] = 1
    return ids.masked_fill(~mask, 0), mask


def test_mask_tokens_selects_15_percent_of_the_real_subwords_then_80_10_10():
    ids, mask = batch_of_texts(torch.Generator().manual_seed(0))
    inputs, targets = mask_tokens(ids, mask, mask_token_id=3, vocab_size=100, n_special=4,
                                  generator=torch.Generator().manual_seed(1))
    selected = targets != IGNORE_INDEX
    eligible = mask & (ids >= 4)
    assert not (selected & ~eligible).any()  # never [PAD], [CLS], [UNK]
    assert torch.equal(targets[selected], ids[selected]) and (targets[~selected] == IGNORE_INDEX).all()
    assert torch.equal(inputs[~selected], ids[~selected])
    n = int(selected.sum())
    assert abs(n / int(eligible.sum()) - 0.15) < 0.01  # ~22,000 eligible tokens: the rate's sd is 0.0024
    masked = (inputs[selected] == 3).float().mean().item()
    kept = (inputs[selected] == ids[selected]).float().mean().item()
    replaced = inputs[selected][(inputs[selected] != 3) & (inputs[selected] != ids[selected])]
    assert abs(masked - 0.8) < 0.03 and abs(kept - (0.1 + 0.1 / 96)) < 0.02  # a random id may be the token itself
    assert abs(len(replaced) / n - 0.1 * 95 / 96) < 0.02 and ((replaced >= 4) & (replaced < 100)).all()


def test_mask_tokens_repeats_with_the_generator_seed_and_checks_its_arguments():
    ids, mask = batch_of_texts(torch.Generator().manual_seed(0), rows=8, length=12)
    settings = {"mask_token_id": 3, "vocab_size": 100, "n_special": 4}
    first = mask_tokens(ids, mask, **settings, generator=torch.Generator().manual_seed(7))
    again = mask_tokens(ids, mask, **settings, generator=torch.Generator().manual_seed(7))
    other = mask_tokens(ids, mask, **settings, generator=torch.Generator().manual_seed(8))
    assert all(torch.equal(a, b) for a, b in zip(first, again)) and not torch.equal(first[1], other[1])
    with pytest.raises(ValueError, match="probability must be in"):
        mask_tokens(ids, mask, **settings, probability=0.0)
    with pytest.raises(ValueError, match="must exceed n_special"):
        mask_tokens(ids, mask, mask_token_id=3, vocab_size=4, n_special=4)


# ----------------------------------------------------------------------------------------------------------
# The model and the data


def test_the_model_is_the_classifiers_encoder_without_head_with_a_tied_decoder():
    mlm = MaskedLanguageModel(50, mask_token_id=3, n_special=4, d_model=16, n_heads=2, d_ff=32, max_length=16,
                              positional="learned")
    classifier = TextClassifier(50, 2, d_model=16, n_heads=2, d_ff=32, max_length=16, positional="learned")
    encoder_keys = {key.removeprefix("model.") for key in classifier.state_dict()
                    if key.startswith("model.") and not key.startswith("model.head.")}
    assert set(mlm.model.state_dict()) == encoder_keys
    assert mlm.mlm_head.decoder.weight is mlm.model.token_embedding.weight
    assert mlm.mlm_head.decoder.bias.shape == (50,) and not mlm.mlm_head.decoder.bias.any()
    ids = torch.tensor([[1, 7, 8, 9, 0]])
    assert mlm(ids).shape == (1, 5, 50)
    with pytest.raises(ValueError, match="mask_token_id < n_special < vocab_size"):
        MaskedLanguageModel(4, mask_token_id=3, n_special=4)


def test_pretrain_datamodule_texts_split_tokenizer_and_batches(corpus):
    dm = PretrainDataModule(str(corpus / "train.csv"), str(corpus / "test.csv"), max_vocab_size=80, min_frequency=1,
                            max_length=16, batch_size=16, val_fraction=0.1, split_seed=3)
    with pytest.warns(UserWarning, match=r"2 row\(s\) of .*test.csv' have a missing or blank 'text': dropped"):
        split = dm._split()
    assert (len(split["train"]), len(split["validation"])) == (358, 40)  # 398 non-blank texts
    assert (dm.mask_token_id, dm.n_special, dm.pad_token_id) == (3, 4, 0)
    every_text = pd.concat([pd.read_csv(corpus / name)["text"].dropna() for name in ("train.csv", "test.csv")])
    expected = SubwordTokenizer("bpe", 80, 1, mask_token=True).fit(every_text[every_text.str.strip() != ""].tolist())
    assert dm.fitted_tokenizer.to_json() == expected.to_json() and dm.vocab_size == expected.vocab_size_
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"input_ids", "attention_mask", "index"} and batch["input_ids"].shape[0] == 16
    assert sum(len(b["index"]) for b in dm.val_dataloader()) == 40
    restored = PretrainDataModule("no/such/file.csv")
    restored.load_state_dict(dm.state_dict())
    assert restored.vocab_size == dm.vocab_size and restored.mask_token_id == 3
    no_validation = PretrainDataModule(str(corpus / "train.csv"), val_fraction=0.0, max_vocab_size=80)
    assert no_validation.val_dataloader() == [] and len(no_validation._dataset("train")) == 300
    with pytest.raises(ValueError, match="val_fraction must be in"):
        PretrainDataModule("x.csv", val_fraction=1.0)


# ----------------------------------------------------------------------------------------------------------
# imbalance-xfmr pretrain


def test_pretraining_lowers_the_validation_loss_and_writes_its_tokenizer(pretrained, corpus):
    run = corpus / "pretrain_logs" / "version_0"
    metrics = pd.read_csv(run / "metrics.csv")
    losses = metrics["val/loss"].dropna().tolist()
    assert len(losses) == 3 and losses[0] > losses[1] > losses[2] and losses[2] < losses[0] - 0.1, losses
    assert metrics["val/accuracy"].dropna().between(0, 1).all() and metrics["train/loss"].notna().sum() == 3
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["checkpoints"]["monitor"] is None and config["trainer"]["deterministic"] is True
    assert SubwordTokenizer.load(run / "tokenizer.json").mask_token_id == 3
    checkpoint = torch.load(pretrained, weights_only=True)
    assert checkpoint["epoch"] == 2 and "PretrainDataModule" in checkpoint
    assert sorted(path.name for path in pretrained.parent.iterdir()) == ["last.ckpt"]


@pytest.mark.parametrize("length", [[], ["--trainer.max_epochs=-1", "--trainer.max_steps=9",
                                            "--trainer.limit_train_batches=3"]], ids=["epochs", "max_steps"])
def test_a_killed_pretraining_resumed_with_ckpt_path_last_ends_with_the_uninterrupted_weights(corpus, monkeypatch,
                                                                                             length):
    dropout = ["--model.dropout=0.2", *length]  # something random besides the masks
    uninterrupted = make_pretrain_cli(pretrain_args(corpus, corpus / f"whole_{len(length)}", 3,
                                                    *dropout)).model.state_dict()
    build_trainer = PretrainCLI.instantiate_trainer

    def trainer_that_gets_killed(self, **kwargs):
        trainer = build_trainer(self, **kwargs)
        kill_at_second_epoch(trainer)
        return trainer

    killed = corpus / f"killed_{len(length)}"
    with monkeypatch.context() as patch:
        patch.setattr(PretrainCLI, "instantiate_trainer", trainer_that_gets_killed)
        with pytest.raises(SimulatedKill):
            make_pretrain_cli(pretrain_args(corpus, killed, 3, *dropout))
    assert torch.load(killed / "last.ckpt", weights_only=True)["epoch"] == 0

    resumed = make_pretrain_cli(pretrain_args(corpus, killed, 3, *dropout, "--ckpt_path=last"))
    state = resumed.model.state_dict()
    assert state.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        assert torch.equal(state[name], value), name
    assert torch.load(killed / "last.ckpt", weights_only=True)["epoch"] == 2


def test_pretrain_print_config_and_check_pretrain_config(corpus, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain", f"--data.train_path={corpus / 'train.csv'}", "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["model"]["d_model"] == 128 and printed["model"]["mask_probability"] == 0.15
    assert "vocab_size" not in printed["model"] and "mask_token_id" not in printed["model"]
    assert printed["data"]["val_fraction"] == 0.05 and "prediction_writer" not in printed

    good = {"data": {"train_path": "not/read.csv", "test_path": "not/read.csv"}, "model": {"d_model": 32},
            "trainer": {"max_steps": 10}, "checkpoints": {"dirpath": "ck", "monitor": "val/loss"}}
    config = check_pretrain_config(good)
    assert config.model.max_length == 128 and config.checkpoints.monitor == "val/loss"
    for override, message in [
        ({"checkpoints": {"monitor": "val/f1_macro"}},
         ("checkpoints.monitor: 'val/f1_macro' is not a pretraining validation metric; choose one of val/loss, "
          "val/accuracy, or null")),
        ({"model": {"mask_prob": 0.2}},
         "model.mask_prob: unknown key, not an option of the model section; did you mean model.mask_probability?"),
        ({"model": {"mask_probability": 1.5}}, "model: mask_probability must be in (0, 1], got 1.5."),
        ({"data": {"train_path": "x.csv", "val_fraction": 1.0}}, "data: val_fraction must be in [0, 1), got 1.0."),
    ]:
        with pytest.raises(ConfigError) as error:
            check_pretrain_config({**good, **override})
        assert str(error.value) == message


# ----------------------------------------------------------------------------------------------------------
# Classifiers started from the pretraining


def test_a_classifier_with_init_from_starts_from_the_pretrained_encoder(pretrained):
    checkpoint = torch.load(pretrained, weights_only=True)
    hparams = checkpoint["hyper_parameters"]
    shape = {key: hparams[key] for key in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_length")}
    torch.manual_seed(5)
    fresh = TextClassifier(num_classes=2, **shape)
    torch.manual_seed(5)
    started = TextClassifier(num_classes=2, **shape, init_from=str(pretrained))
    encoder = {key: value for key, value in checkpoint["state_dict"].items() if key.startswith("model.")}
    state = started.state_dict()
    assert encoder and all(torch.equal(state[key], value) for key, value in encoder.items())
    assert not torch.equal(fresh.model.token_embedding.weight, started.model.token_embedding.weight)
    for key in ("model.head.weight", "model.head.bias"):  # not pretrained: the usual random initialisation
        assert key not in encoder and torch.equal(state[key], fresh.state_dict()[key])


def test_init_from_errors_name_what_does_not_fit(pretrained, tmp_path):
    shape = {"vocab_size": torch.load(pretrained, weights_only=True)["hyper_parameters"]["vocab_size"],
             "n_heads": 2, "n_layers": 1, "d_ff": 32, "max_length": 16}
    with pytest.raises(ValueError, match=r"^init_from '.*last.ckpt': d_model is 16 in the checkpoint, 32 here; "
                                         r"set model.d_model to 16\.$"):
        TextClassifier(num_classes=2, **shape, d_model=32, init_from=str(pretrained))
    with pytest.raises(ValueError, match=r"vocab_size is \d+ in the checkpoint, 99 here; the classifier must use the "
                                         r"pretraining tokenizer: set data.tokenizer_path to '.*last.ckpt'"):
        TextClassifier(num_classes=2, **{**shape, "vocab_size": 99}, d_model=16, init_from=str(pretrained))
    classifier = tmp_path / "classifier.ckpt"
    torch.save({"state_dict": TextClassifier(30, 2, d_model=16, n_heads=2).state_dict(), "hyper_parameters": {}},
               classifier)
    with pytest.raises(ValueError, match="is not a pretraining checkpoint"):
        TextClassifier(30, 2, d_model=16, n_heads=2, init_from=str(classifier))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TextClassifier(30, 2, init_from=str(tmp_path / "gone.ckpt"))


def test_text_datamodule_with_tokenizer_path_uses_the_pretraining_vocabulary(pretrained, corpus, tmp_path):
    state = torch.load(pretrained, weights_only=True)["PretrainDataModule"]
    pretraining = SubwordTokenizer.from_json(state["tokenizer"])
    dm = TextDataModule(str(corpus / "train.csv"), tokenizer_path=str(pretrained), max_vocab_size=30)
    assert dm.fitted_tokenizer.to_json() == pretraining.to_json() and dm.vocab_size == pretraining.vocab_size_
    assert dm.classes == ["ham", "spam"] and sum(dm.class_counts) == 240  # the training split's
    pretraining.save(tmp_path / "tokenizer.json")
    from_json = TextDataModule(str(corpus / "train.csv"), tokenizer_path=str(tmp_path / "tokenizer.json"))
    assert from_json.vocab_size == pretraining.vocab_size_
    torch.save({"state_dict": {}}, tmp_path / "other.ckpt")
    with pytest.raises(KeyError, match="holds no PretrainDataModule state"):
        TextDataModule(str(corpus / "train.csv"), tokenizer_path=str(tmp_path / "other.ckpt")).vocab_size  # noqa: B018


def test_fit_from_the_pretraining_then_predict_and_resume_after_it_is_deleted(pretrained, corpus, tmp_path):
    starting_point = tmp_path / "pretrained.ckpt"
    shutil.copy(pretrained, starting_point)
    data = [f"--data.train_path={corpus / 'train.csv'}", f"--data.test_path={corpus / 'test.csv'}", *DATA,
            "--data.empty_texts=keep", f"--data.tokenizer_path={starting_point}"]
    fit = ["fit", *data, *TINY, f"--model.init_from={starting_point}", *QUIET, "--trainer.logger=false",
           f"--trainer.default_root_dir={tmp_path}", f"--checkpoints.dirpath={tmp_path / 'ck'}"]
    main([*fit, "--trainer.max_epochs=1"])
    checkpoint = tmp_path / "ck" / "last.ckpt"
    assert torch.load(checkpoint, weights_only=True)["hyper_parameters"]["init_from"] == str(starting_point)

    starting_point.unlink()  # neither predict nor a resumed fit reads it: the weights are in the checkpoint
    output = tmp_path / "probabilities.csv"
    main(["predict", *data, *TINY, f"--model.init_from={starting_point}", *QUIET, "--trainer.logger=false",
          f"--trainer.default_root_dir={tmp_path / 'predict'}", f"--ckpt_path={checkpoint}",
          f"--prediction_writer.output_path={output}"])
    probabilities = pd.read_csv(output)
    assert len(probabilities) == 100 and (probabilities[["ham", "spam"]].sum(axis=1) - 1).abs().max() < 1e-5
    resumed = make_cli([*fit, "--trainer.max_epochs=2", "--ckpt_path=last",
                        f"--trainer.default_root_dir={tmp_path / 'resumed'}"])
    assert resumed.model.hparams.init_from is None and resumed.trainer.current_epoch == 2
    assert resumed.datamodule.checkpoint_path == str(checkpoint)  # the tokenizer and labels came from it too


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_pretrain_one_epoch_on_cuda_with_bf16_then_start_a_classifier_from_it(corpus, tmp_path):
    """Masks drawn on the GPU (training: the global CUDA generator; validation: a CUDA generator of its own) under
    bf16 autocast, then a classifier started from the checkpoint."""
    cli = make_pretrain_cli(pretrain_args(corpus, tmp_path / "ck", 1, "--trainer.accelerator=gpu",
                                          "--trainer.devices=1", "--trainer.precision=bf16-mixed",
                                          "--trainer.logger=false", f"--trainer.default_root_dir={tmp_path}"))
    assert next(cli.model.parameters()).device.type == "cuda"
    for name in ("train/loss", "val/loss", "val/accuracy"):
        assert torch.isfinite(cli.trainer.callback_metrics[name].cpu()), name
    hparams = torch.load(tmp_path / "ck" / "last.ckpt", weights_only=True)["hyper_parameters"]
    shape = {key: hparams[key] for key in ("vocab_size", "d_model", "n_heads", "n_layers", "d_ff", "max_length")}
    TextClassifier(num_classes=2, **shape, init_from=str(tmp_path / "ck" / "last.ckpt"))
