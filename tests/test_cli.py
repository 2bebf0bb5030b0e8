"""The `imbalance-xfmr` LightningCLI, in-process on tiny data: fit, then validate/test/predict from the checkpoint;
links from the DataModule, explicit seeding, --print_config, and jsonargparse's errors for config typos."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from imbalance_xfmr.cli import DEFAULT_SEED, PARSER_KWARGS, ImbalanceXfmrCLI, main
from imbalance_xfmr.data import TextDataModule
from imbalance_xfmr.model.classifier import TextClassifier

TINY_MODEL = ["--model.d_model=16", "--model.n_heads=2", "--model.n_layers=1", "--model.d_ff=32"]
QUIET_TRAINER = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false", "--trainer.logger=true"]


@pytest.fixture(autouse=True)
def bare_argv(monkeypatch):
    """main(args) stands for the command line: pytest's own arguments must not look like extra ones."""
    monkeypatch.setattr("sys.argv", ["imbalance-xfmr"])


@pytest.fixture
def data(tmp_path):
    texts = [f"see you at lunch {i}" for i in range(24)] + [f"win free cash now {i}" for i in range(8)]
    labels = ["ham"] * 24 + ["spam"] * 8
    frame = pd.DataFrame({"id": [f"r{i:02d}" for i in range(32)], "text": texts, "label": labels})
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[::-1].to_csv(tmp_path / "test.csv", index=False)  # labelled, so `test` can use it too
    return tmp_path


def data_args(root: Path, train: str = "train.csv") -> list[str]:
    return [
        f"--data.train_path={root / train}",
        f"--data.test_path={root / 'test.csv'}",
        "--data.max_vocab_size=60",
        "--data.min_frequency=1",
        "--data.max_length=16",
        "--data.batch_size=8",
    ]


def test_fit_then_validate_test_and_predict_from_the_checkpoint(data):
    main(["fit", *data_args(data), *TINY_MODEL, *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
          "--trainer.max_epochs=1", "--trainer.limit_train_batches=2"])
    run = data / "lightning_logs" / "version_0"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["seed_everything"] == DEFAULT_SEED
    labels = yaml.safe_load((run / "labels.json").read_text())
    assert labels["classes"] == ["ham", "spam"] and sum(labels["class_counts"]) < 32  # the training split only
    hparams = yaml.safe_load((run / "hparams.yaml").read_text())
    assert hparams["num_classes"] == 2 and hparams["class_counts"] == labels["class_counts"]
    assert hparams["max_length"] == 16 and hparams["vocab_size"] <= 60
    assert (run / "tokenizer.json").is_file()
    checkpoint = run / "checkpoints" / "last.ckpt"

    # The training file is gone: the tokenizer and labels can only come from the checkpoint.
    (data / "train.csv").rename(data / "moved.csv")
    output = data / "out" / "probabilities.csv"
    main(["predict", *data_args(data), *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
          f"--ckpt_path={checkpoint}", f"--prediction_writer.output_path={output}"])
    probabilities = pd.read_csv(output)
    test = pd.read_csv(data / "test.csv")
    assert list(probabilities.columns) == ["id", "ham", "spam"]
    assert probabilities["id"].tolist() == test["id"].tolist()
    assert (probabilities[["ham", "spam"]].sum(axis=1) - 1).abs().max() < 1e-5
    predict_config = yaml.safe_load((data / "lightning_logs" / "version_1" / "config.yaml").read_text())
    assert predict_config["data"]["checkpoint_path"] == str(checkpoint)

    # A second predict to the same file stops instead of silently replacing the first run's predictions.
    before = output.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite"):
        main(["predict", *data_args(data), *QUIET_TRAINER, f"--trainer.default_root_dir={data / 'again'}",
              f"--ckpt_path={checkpoint}", f"--prediction_writer.output_path={output}"])
    assert output.read_bytes() == before

    for subcommand in ("validate", "test"):
        main([subcommand, *data_args(data, train="moved.csv"), *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
              f"--ckpt_path={checkpoint}"])
    metrics = pd.read_csv(data / "lightning_logs" / "version_3" / "metrics.csv")
    assert 0.0 <= metrics["test/f1_macro"].iloc[-1] <= 1.0


def test_print_config_shows_the_resolved_config_without_linked_keys(data, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *data_args(data), "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["seed_everything"] == DEFAULT_SEED
    assert printed["data"]["max_vocab_size"] == 60 and printed["model"]["d_model"] == 128
    assert "vocab_size" not in printed["model"] and "num_classes" not in printed["model"]
    assert printed["prediction_writer"]["output_path"] == "predictions.csv"


def test_demo_config_parses(capsys):
    root = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", f"--config={root / 'competition' / 'configs' / 'demo_binary.yaml'}", "--print_config"])
    assert exit_info.value.code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["data"]["train_path"] == "competition/demo/binary/train.csv"


@pytest.mark.parametrize(
    ("typo", "message"),
    [
        ("--data.text_colum=body", "unrecognized arguments: --data.text_colum=body"),  # no abbreviation matching
        ("--model.d_modle=8", "unrecognized arguments: --model.d_modle=8"),
        ("--data.resampling=smote", "Literal['none', 'random_under', 'random_over', 'class_balanced']. Got value: smote"),
    ],
)
def test_config_typos_are_reported_by_jsonargparse(data, capsys, typo, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", *data_args(data), typo])
    assert exit_info.value.code != 0
    assert message in capsys.readouterr().err


def test_typo_in_a_yaml_file_is_reported(data, capsys):
    (data / "bad.yaml").write_text(f"data:\n  train_path: {data / 'train.csv'}\n  batch_sise: 4\n")
    with pytest.raises(SystemExit):
        main(["fit", f"--config={data / 'bad.yaml'}"])
    assert "batch_sise" in capsys.readouterr().err


def test_seed_true_draws_and_records_a_real_seed(data):
    cli = ImbalanceXfmrCLI(
        args=["--seed_everything=true", *data_args(data), *TINY_MODEL],
        run=False,
        seed_everything_default=DEFAULT_SEED,
        auto_configure_optimizers=False,
        parser_kwargs=PARSER_KWARGS,
        model_class=TextClassifier,
        datamodule_class=TextDataModule,
    )
    seed = cli.config["seed_everything"]
    assert isinstance(seed, int) and not isinstance(seed, bool)
    assert cli.model.hparams.vocab_size == cli.datamodule.vocab_size  # linked at instantiation
    assert cli.model.hparams.class_counts == cli.datamodule.class_counts
