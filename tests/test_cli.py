"""The `imbalance-xfmr` LightningCLI, in-process on tiny data: fit, then validate/test/predict from the checkpoint;
links from the DataModule, explicit seeding, --print_config, and jsonargparse's errors for config typos."""

from pathlib import Path

import pandas as pd
import pytest
import pytorch_lightning as pl
import torch
import yaml
from kills import SimulatedKill, kill_at_second_epoch

from imbalance_xfmr.cli import DEFAULT_SEED, PARSER_KWARGS, ConfigError, ImbalanceXfmrCLI, check_config, main, make_cli
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


# ----------------------------------------------------------------------------------------------------------------
# Data: CSV ids and labels round-trip byte for byte


@pytest.fixture
def numeric_looking_data(tmp_path):
    """Ids "0001".."0032" and labels "0"/"007": numbers to pandas' type inference, text to the DataModule."""
    texts = [f"see you at lunch {i}" for i in range(24)] + [f"win free cash now {i}" for i in range(8)]
    frame = pd.DataFrame({"id": [f"{i + 1:04d}" for i in range(32)], "text": texts, "label": ["0"] * 24 + ["007"] * 8})
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[::-1].to_csv(tmp_path / "test.csv", index=False)
    return tmp_path


def test_predict_writes_the_ids_and_classes_as_written(numeric_looking_data):
    data = numeric_looking_data
    main(["fit", *data_args(data), *TINY_MODEL, *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
          "--trainer.max_epochs=1", "--trainer.limit_train_batches=1"])
    run = data / "lightning_logs" / "version_0"
    assert yaml.safe_load((run / "labels.json").read_text())["classes"] == ["0", "007"]
    output = data / "probabilities.csv"
    main(["predict", *data_args(data), *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
          f"--ckpt_path={run / 'checkpoints' / 'last.ckpt'}", f"--prediction_writer.output_path={output}"])
    lines = output.read_text().splitlines()
    assert lines[0] == "id,0,007"
    assert [line.split(",")[0] for line in lines[1:]] == [f"{i:04d}" for i in range(32, 0, -1)]  # test.csv's order


# ====================================================================================================================
# Reproducible, resumable training as Trainer configuration: checkpoints.*, reseed_every_batch, check_config.
# (One block; other tests of this file go before or after it.)
# ====================================================================================================================

from imbalance_xfmr.training import AtomicCheckpointIO, BatchSeed, readable_checkpoint  # noqa: E402


def fit_args(root: Path, checkpoints: Path, epochs: int, *extra: str) -> list[str]:
    """`fit` on the tiny data with length-bucketed batches (per-epoch sampler draws, as the project's configs use)."""
    return ["fit", *data_args(root), "--data.length_bucketing=true", *TINY_MODEL, *QUIET_TRAINER,
            f"--trainer.default_root_dir={root}", f"--trainer.max_epochs={epochs}",
            f"--checkpoints.dirpath={checkpoints}", *extra]


def checkpoint_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.ckpt"))


def test_fit_writes_last_and_one_best_checkpoint_into_checkpoints_dirpath_and_no_other(data):
    main(fit_args(data, data / "ck", 2))
    files = checkpoint_files(data)
    assert len(files) == 2 and files[1] == "ck/last.ckpt" and files[0].startswith("ck/best-")
    config = yaml.safe_load((data / "lightning_logs" / "version_0" / "config.yaml").read_text())
    assert config["checkpoints"] == {"dirpath": str(data / "ck"), "monitor": "val/f1_macro", "mode": None,
                                     "last_every_seconds": 30.0, "overwrite": False}
    assert config["reseed_every_batch"] is True and config["trainer"]["deterministic"] is True
    assert torch.load(data / "ck" / "last.ckpt", weights_only=True)["epoch"] == 1

    main(fit_args(data, data / "only_last", 1, "--checkpoints.monitor=null"))
    assert [name for name in checkpoint_files(data) if name.startswith("only_last")] == ["only_last/last.ckpt"]


def test_make_cli_from_a_dict_builds_the_trainer_fit_would_use(data):
    args = {"data": {"train_path": str(data / "train.csv"), "max_vocab_size": 60, "min_frequency": 1,
                     "max_length": 16, "batch_size": 8},
            "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32},
            "trainer": {"max_epochs": 1, "enable_progress_bar": False, "enable_model_summary": False,
                        "default_root_dir": str(data)},
            "checkpoints": {"dirpath": str(data / "fold_0"), "monitor": "val/loss"},
            "seed_everything": 7}
    check_config(args)
    cli = make_cli(args, run=False)
    trainer = cli.trainer
    best, last = trainer.checkpoint_callbacks  # and not Lightning's default ModelCheckpoint
    assert best.monitor == "val/loss" and best.mode == "min" and last.monitor is None and last.filename == "last"
    assert [callback.seed for callback in trainer.callbacks if isinstance(callback, BatchSeed)] == [7]
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    assert torch.are_deterministic_algorithms_enabled()
    assert readable_checkpoint(data / "fold_0") is None
    trainer.fit(cli.model, datamodule=cli.datamodule, ckpt_path=readable_checkpoint(data / "fold_0"),
                weights_only=True)
    files = checkpoint_files(data)
    assert len(files) == 2 and "fold_0/last.ckpt" in files and files[0].startswith("fold_0/best-0-")

    unseeded = make_cli({**args, "reseed_every_batch": False}, run=False).trainer
    assert not any(isinstance(callback, BatchSeed) for callback in unseeded.callbacks)


@pytest.mark.parametrize("batching", [(), ("--data.length_bucketing=false",), ("--trainer.check_val_every_n_epoch=3",)],
                         ids=["bucketed", "plain shuffle", "validated after the last epoch only"])
def test_a_killed_fit_resumed_with_ckpt_path_last_trains_exactly_like_an_uninterrupted_one(data, monkeypatch,
                                                                                           batching):
    uninterrupted = make_cli(fit_args(data, data / "whole", 3, *batching)).model.state_dict()

    build_trainer = ImbalanceXfmrCLI.instantiate_trainer

    def trainer_that_gets_killed(self, **kwargs):
        trainer = build_trainer(self, **kwargs)
        kill_at_second_epoch(trainer)
        return trainer

    with monkeypatch.context() as patch:
        patch.setattr(ImbalanceXfmrCLI, "instantiate_trainer", trainer_that_gets_killed)
        with pytest.raises(SimulatedKill):
            make_cli(fit_args(data, data / "killed", 3, *batching))
    assert torch.load(data / "killed" / "last.ckpt", weights_only=True)["epoch"] == 0

    resumed = make_cli(fit_args(data, data / "killed", 3, *batching, "--ckpt_path=last")).model.state_dict()
    assert resumed.keys() == uninterrupted.keys()
    for name, value in uninterrupted.items():
        assert torch.equal(resumed[name], value), name
    assert torch.load(data / "killed" / "last.ckpt", weights_only=True)["epoch"] == 2


def test_fit_ckpt_path_last_without_checkpoints_trains_from_scratch(data):
    main(fit_args(data, data / "empty", 1, "--ckpt_path=last"))
    assert checkpoint_files(data)[-1] == "empty/last.ckpt"


@pytest.mark.parametrize(
    ("damage", "extra", "expected"),
    [("truncated", [], r"last\.ckpt: truncated: not a readable checkpoint; resuming from best-0-4\.ckpt"),
     ("empty", ["--checkpoints.monitor=null"], r"last\.ckpt: empty file; no other readable checkpoint in .*: "
                                               "training from scratch")],
)
def test_fit_ckpt_path_last_with_a_damaged_last_checkpoint_warns_and_falls_back(data, damage, extra, expected):
    main(fit_args(data, data / "ck", 1, *extra))
    last = data / "ck" / "last.ckpt"
    last.write_bytes(b"" if damage == "empty" else last.read_bytes()[:1000])
    with pytest.warns(UserWarning, match=expected):
        main(fit_args(data, data / "ck", 2, "--ckpt_path=last", *extra))  # no PytorchStreamReader traceback
    saved = torch.load(last, weights_only=True)
    assert saved["epoch"] == 1 and saved["global_step"] == 8  # 4 steps an epoch; epoch 0 again when from scratch


def test_a_monitor_the_task_does_not_log_is_rejected_before_training(data, capsys):
    with pytest.raises(ConfigError, match=r"^checkpoints.monitor: 'val/recall_2' is not a validation metric of this "
                                          r"2-class task; choose one of val/loss, .*val/recall_1, val/pr_auc"):
        make_cli(fit_args(data, data / "ck", 1, "--checkpoints.monitor=val/recall_2"))
    with pytest.raises(SystemExit) as exit_info:  # the command line: one line on stderr, no traceback
        main(fit_args(data, data / "ck", 1, "--checkpoints.monitor=val/f1"))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("imbalance-xfmr: error: checkpoints.monitor: 'val/f1' is not a "
                                              "validation metric; choose one of val/loss, ")
    assert not (data / "ck").exists() and not (data / "lightning_logs").exists()


def test_print_config_shows_the_training_keys(data, capsys):
    with pytest.raises(SystemExit):
        main(["fit", *data_args(data), "--print_config"])
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["checkpoints"] == {"dirpath": None, "monitor": "val/f1_macro", "mode": None,
                                      "last_every_seconds": 30.0, "overwrite": False}
    assert printed["reseed_every_batch"] is True and printed["trainer"]["deterministic"] is True


def test_checkpoints_written_before_checkpoint_monitor_moved_still_load(data):
    main(fit_args(data, data / "ck", 1))
    checkpoint = torch.load(data / "ck" / "last.ckpt", weights_only=True)
    checkpoint["hyper_parameters"].update(checkpoint_monitor="val/f1_macro", checkpoint_mode=None)
    torch.save(checkpoint, data / "old.ckpt")
    main(["validate", *data_args(data), *QUIET_TRAINER, f"--trainer.default_root_dir={data}",
          f"--ckpt_path={data / 'old.ckpt'}"])
    (data / "broken.ckpt").write_bytes((data / "old.ckpt").read_bytes()[:500])
    with pytest.raises(ConfigError, match=r"^ckpt_path: '.*broken.ckpt' is not a readable checkpoint"):
        make_cli(["validate", *data_args(data), *QUIET_TRAINER, f"--ckpt_path={data / 'broken.ckpt'}"])


# check_config: what the pipeline calls before any work.

GOOD_CONFIG = {"data": {"train_path": "no/such/file.csv", "resampling": "random_over"},  # never read
               "model": {"d_model": 32, "focal_alpha": [0.25, 0.75]},
               "trainer": {"max_epochs": 2, "logger": {"class_path": "pytorch_lightning.loggers.CSVLogger",
                                                       "init_args": {"save_dir": "logs"}}},
               "checkpoints": {"dirpath": "folds/fold_0/checkpoints", "monitor": "val/recall_3"}}


def test_check_config_accepts_a_good_config_without_reading_data_or_seeding():
    before = torch.initial_seed()
    config = check_config(GOOD_CONFIG)
    assert config.data.resampling == "random_over" and config.model.max_length == 128  # linked from data.max_length
    assert config.checkpoints.dirpath == "folds/fold_0/checkpoints" and config.trainer.deterministic is True
    assert config.seed_everything == DEFAULT_SEED and torch.initial_seed() == before
    assert GOOD_CONFIG["checkpoints"] == {"dirpath": "folds/fold_0/checkpoints", "monitor": "val/recall_3"}


@pytest.mark.parametrize("name", ["demo_binary", "tiny_test", "trec"])
def test_check_config_accepts_the_project_configs(name):
    root = Path(__file__).resolve().parents[1]
    check_config(yaml.safe_load((root / "competition" / "configs" / f"{name}.yaml").read_text()))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"data": {"resampling": "smote"}},
         "data.resampling: 'smote' is not one of 'none', 'random_under', 'random_over', 'class_balanced'"),
        ({"data": {"batch_sise": 4}},
         "data.batch_sise: unknown key, not an option of the data section; did you mean data.batch_size?"),
        ({"bogus": 1}, "bogus: unknown key, not an option of the config"),
        ({"data": {"batch_size": "big"}}, "data.batch_size: expected int, got 'big'"),
        ({"trainer": {"max_epochs": "x"}}, "trainer.max_epochs: expected int or null, got 'x'"),
        ({"checkpoints": {"mode": "best"}}, "checkpoints.mode: 'best' is not one of 'max', 'min' (or null)"),
        ({"checkpoints": {"last_every_seconds": -1}}, "checkpoints.last_every_seconds: -1.0 is not a number of "
         "seconds >= 0; write 0 to rewrite last.ckpt after every epoch"),
        ({"checkpoints": {"last_every_seconds": "often"}},
         "checkpoints.last_every_seconds: expected float, got 'often'"),
        ({"model": {"checkpoint_monitor": "val/loss"}},
         "model.checkpoint_monitor: unknown key; it is now checkpoints.monitor"),
        ({"trainer": {"logger": {"class_path": "pytorch_lightning.loggers.CSVLogger",
                                 "init_args": {"save_dirr": "x"}}}},
         "trainer.logger: class_path 'pytorch_lightning.loggers.CSVLogger': Option 'save_dirr' is not accepted"),
        ({"trainer": {"callbacks": [{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint"}]}},
         "trainer.callbacks: pytorch_lightning.callbacks.ModelCheckpoint is not allowed here; the checkpoints are "
         "configured by checkpoints.dirpath / .monitor / .mode"),
    ],
)
def test_check_config_names_the_offending_key_in_one_line(override, message, capsys):
    args = {section: {**GOOD_CONFIG.get(section, {}), **values} if isinstance(values, dict) else values
            for section, values in {**GOOD_CONFIG, **override}.items()}
    with pytest.raises(ConfigError) as error:
        check_config(args)
    assert str(error.value) == message
    assert isinstance(error.value, ValueError)
    assert capsys.readouterr().err == ""  # no argparse usage text


def test_check_config_rejects_a_missing_required_key_and_a_monitor_no_task_logs():
    with pytest.raises(ConfigError, match=r"^data.train_path: required, but not set$"):
        check_config({"model": {"d_model": 32}})
    with pytest.raises(ConfigError, match=r"^checkpoints.monitor: 'val/f1' is not a validation metric; choose one"):
        check_config({**GOOD_CONFIG, "checkpoints": {"monitor": "val/f1"}})


# ====================================================================================================================
# Training speed and GPU readiness: the CLI's progress bar, and a first GPU fit (skipped without one)

from pytorch_lightning.callbacks import TQDMProgressBar  # noqa: E402

from imbalance_xfmr.cli import PROGRESS_BAR_REFRESH_RATE  # noqa: E402


def tiny_fit_config(data: Path, **trainer) -> dict:
    return {"data": {"train_path": str(data / "train.csv"), "test_path": str(data / "test.csv"), "max_vocab_size": 60,
                     "min_frequency": 1, "max_length": 16, "batch_size": 8},
            "model": {"d_model": 16, "n_heads": 2, "n_layers": 1, "d_ff": 32},
            "trainer": {"max_epochs": 1, "enable_model_summary": False, "default_root_dir": str(data), **trainer},
            "checkpoints": {"dirpath": str(data / "ck")}}


def progress_bars(trainer: pl.Trainer) -> list:
    return [callback for callback in trainer.callbacks if isinstance(callback, pl.callbacks.ProgressBar)]


def test_the_progress_bar_is_throttled_unless_one_is_given_or_it_is_off(data):
    trainer = make_cli(tiny_fit_config(data), run=False).trainer
    (bar,) = progress_bars(trainer)
    assert trainer.progress_bar_callback is bar and type(bar) is TQDMProgressBar
    assert bar.refresh_rate == PROGRESS_BAR_REFRESH_RATE > 1
    given = {"class_path": "pytorch_lightning.callbacks.TQDMProgressBar", "init_args": {"refresh_rate": 3}}
    trainer = make_cli(tiny_fit_config(data, callbacks=[given]), run=False).trainer
    assert [bar.refresh_rate for bar in progress_bars(trainer)] == [3]
    trainer = make_cli(tiny_fit_config(data, enable_progress_bar=False), run=False).trainer
    assert progress_bars(trainer) == [] and trainer.progress_bar_callback is None


def test_a_fit_with_the_progress_bar_on_writes_what_one_without_it_writes(data, capsys):
    """The progress bar changes no number: the same weights and metrics.csv with it on and off."""
    results = []
    for name, bar in (("on", True), ("off", False)):
        config = tiny_fit_config(data, enable_progress_bar=bar, max_epochs=2, log_every_n_steps=1,
                                 logger={"class_path": "pytorch_lightning.loggers.CSVLogger",
                                         "init_args": {"save_dir": str(data), "name": name}})
        config["checkpoints"]["dirpath"] = str(data / name)
        cli = make_cli(config, run=False)
        cli.trainer.fit(cli.model, datamodule=cli.datamodule)
        results.append((cli.model.state_dict(), (data / name / "version_0" / "metrics.csv").read_bytes()))
    (on, on_csv), (off, off_csv) = results
    assert on_csv == off_csv and all(torch.equal(on[key], off[key]) for key in on)
    assert "Epoch 1" in capsys.readouterr().out  # the bar was drawn


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_one_epoch_on_cuda_with_bf16_then_predict(data):
    """The first GPU run: the CLI's fit on CUDA under bf16 autocast, batches pinned and on the device, then
    predict from the checkpoint."""
    seen = []

    class Probe(pl.Callback):
        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            seen.append({key: (tensor.device.type, tensor.dtype) for key, tensor in batch.items()})

    config = tiny_fit_config(data, accelerator="gpu", devices=1, precision="bf16-mixed", logger=False,
                             enable_progress_bar=False)
    cli = make_cli(config, run=False)
    assert cli.datamodule.train_dataloader().pin_memory is True
    cli.trainer.callbacks.append(Probe())
    cli.trainer.fit(cli.model, datamodule=cli.datamodule)
    assert seen and all(kind == "cuda" for batch in seen for kind, _ in batch.values())
    assert torch.isfinite(cli.trainer.callback_metrics["train/loss_epoch"].cpu())
    output = data / "gpu_probabilities.csv"
    main(["predict", *data_args(data), *QUIET_TRAINER, "--trainer.accelerator=gpu", "--trainer.devices=1",
          "--trainer.precision=bf16-mixed", f"--trainer.default_root_dir={data}",
          f"--ckpt_path={data / 'ck' / 'last.ckpt'}", f"--prediction_writer.output_path={output}"])
    probabilities = pd.read_csv(output)
    assert (probabilities[["ham", "spam"]].sum(axis=1) - 1).abs().max() < 1e-5


# ====================================================================================================================
# A pretrained checkpoint folder, written once: model.pretrained is linked to data.pretrained_tokenizer


def test_check_config_links_model_pretrained_to_the_data_and_reads_no_folder(tmp_path, capsys):
    folder = str(tmp_path / "not-downloaded-yet")
    config = check_config({"data": {"train_path": "train.csv"}, "model": {"pretrained": folder}}, num_classes=2)
    assert config.model.pretrained == config.data.pretrained_tokenizer == folder
    assert config.model.encoder_config is None
    with pytest.raises(ConfigError, match=r"^data: tokenizer_path 't.json' and pretrained_tokenizer '.*' both give"):
        check_config({"data": {"train_path": "train.csv", "tokenizer_path": "t.json"}, "model": {"pretrained": folder}},
                     num_classes=2)
    with pytest.raises(SystemExit):  # the data side of the link is not a key of its own
        main(["fit", "--data.train_path=train.csv", f"--data.pretrained_tokenizer={folder}", "--print_config"])
    assert "model.pretrained --> data.pretrained_tokenizer" in capsys.readouterr().err
