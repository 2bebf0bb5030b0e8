"""The pipeline's train step: seed averaging (``transformer.n_seeds``: each fold trains several models with
distinct seeds, and the fold's out-of-fold and test predictions are the mean of theirs) and the config checks it
makes before any training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from tiny_competition import write_tiny_competition

from competition.runner import main
from competition.fold_models import fit_args

CONFIG = "competition/configs/tiny_test_pipeline.yaml"
FOLD_OOF_FILE, FOLD_TEST_FILE = "predictions_oof.csv", "predictions_test.csv"


def fold_dir(run: Path, k: int, j: int) -> Path:
    return run / "folds" / (f"fold_{k}" if j == 0 else f"fold_{k}_seed_{j}")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """120 train rows of the binary demo (12 spam) and its first 30 test rows."""
    return write_tiny_competition(tmp_path_factory.mktemp("train_step_competition"), 12, 108, 30)


@pytest.fixture(scope="module")
def two_seed_run(data_dir, tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("runs") / "two_seeds"
    main(["run", "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(output),
          "--transformer.n_seeds", "2", "--baseline.enabled", "false", "--submission.source", "transformer"])
    return output


def member_predictions(run: Path, k: int, j: int, name: str) -> pd.DataFrame:
    return pd.read_csv(fold_dir(run, k, j) / name, index_col=0, dtype={"id": str})


def test_each_fold_trains_one_model_per_seed_with_distinct_seeds(two_seed_run):
    seeds = []
    for k in range(2):
        for j in range(2):
            done = json.loads((fold_dir(two_seed_run, k, j) / "done.json").read_text())
            assert done["fold"] == k
            seeds.append(done["seed"])
    assert len(set(seeds)) == 4
    assert fold_dir(two_seed_run, 1, 0).name == "fold_1" and fold_dir(two_seed_run, 1, 1).name == "fold_1_seed_1"


def test_fold_predictions_are_the_mean_of_the_seed_models(two_seed_run):
    oof = pd.read_csv(two_seed_run / "oof.csv", dtype={"id": str})
    per_fold = pd.read_csv(two_seed_run / "test_per_fold.csv", dtype={"id": str})
    columns = [c for c in oof.columns if c.startswith("proba_")]
    for k in range(2):
        held_out = [member_predictions(two_seed_run, k, j, FOLD_OOF_FILE) for j in range(2)]
        expected = (held_out[0] + held_out[1]) / 2  # rows are train ids, columns classes
        np.testing.assert_allclose(oof.set_index("id").loc[expected.index, columns].to_numpy(),
                                   expected.to_numpy(), rtol=0, atol=1e-12)
        test = [member_predictions(two_seed_run, k, j, FOLD_TEST_FILE) for j in range(2)]
        assert not np.allclose(test[0].to_numpy(), test[1].to_numpy())  # the seeds did differ
        np.testing.assert_allclose(per_fold.loc[per_fold["fold"] == k, columns].to_numpy(),
                                   ((test[0] + test[1]) / 2).to_numpy(), rtol=0, atol=1e-12)


def test_a_rerun_skips_every_seed_model(two_seed_run, data_dir, capsys):
    main(["train", "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(two_seed_run),
          "--transformer.n_seeds", "2", "--baseline.enabled", "false", "--submission.source", "transformer"])
    assert capsys.readouterr().err.count("already trained") == 4


def test_n_seeds_below_one_is_rejected_before_training(data_dir, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(tmp_path / "run"),
              "--transformer.n_seeds", "0"])
    assert "transformer.n_seeds must be an integer >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_unknown_positive_class_is_rejected_before_training(data_dir, tmp_path, capsys):
    # Checked before any work, not by the decide step after every fold has trained.
    with pytest.raises(SystemExit):
        main(["train", "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(tmp_path / "run"),
              "--threshold.positive_class", "spamm"])
    assert "threshold.positive_class 'spamm' is not a class" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_with_the_last_checkpoint_the_fold_models_do_not_validate_and_keep_only_last_ckpt(two_seed_run):
    # transformer.checkpoint: last (the default) needs no best epoch, and the held-out rows are predicted right after
    # the fit: nothing reads a validation. It changes no weight (the demo's recorded bytes hold).
    folder = fold_dir(two_seed_run, 0, 0)
    config = yaml.safe_load((folder / "logs" / "version_0" / "config.yaml").read_text())
    epochs = config["trainer"]["max_epochs"]
    assert epochs > 1 and config["trainer"]["limit_val_batches"] == 0 and config["checkpoints"]["monitor"] is None
    metrics = pd.read_csv(folder / "logs" / "version_0" / "metrics.csv")
    assert not [column for column in metrics if column.startswith("val/")]
    assert metrics.dropna(subset=["train/loss_epoch"])["epoch"].tolist() == list(range(epochs))
    assert sorted(path.name for path in (folder / "checkpoints").iterdir()) == ["last.ckpt"]
    assert (folder / FOLD_OOF_FILE).is_file()  # its held-out rows were predicted from last.ckpt


def test_fit_args_validates_for_the_best_checkpoint_or_where_the_config_asks(tmp_path):
    paths = dict(tables=(tmp_path / "train.csv", tmp_path / "test.csv"), k=0, seed=0, folder=tmp_path,
                 checkpoints=tmp_path / "checkpoints", logs="logs")
    user = {"trainer": {"max_epochs": 6}, "checkpoints": {"monitor": "val/f1_macro"}}
    last = fit_args(user, **paths, checkpoint="last")
    assert last["trainer"]["limit_val_batches"] == 0 and last["checkpoints"]["monitor"] is None
    best = fit_args(user, **paths, checkpoint="best")
    assert "limit_val_batches" not in best["trainer"] and best["checkpoints"]["monitor"] == "val/f1_macro"
    for key, value in [("check_val_every_n_epoch", 2), ("limit_val_batches", 0.5), ("val_check_interval", 10)]:
        mine = {"trainer": {"max_epochs": 6, key: value}, "checkpoints": {"monitor": "val/f1_macro"}}
        args = fit_args(mine, **paths, checkpoint="last")
        assert args["trainer"][key] == value and args["checkpoints"]["monitor"] == "val/f1_macro", key
        assert key == "limit_val_batches" or "limit_val_batches" not in args["trainer"], key
    by_steps = {"trainer": {"max_epochs": -1, "max_steps": 300}}
    assert fit_args(by_steps, **paths, checkpoint="last")["trainer"]["limit_val_batches"] == 0
    no_sanity = {"trainer": {"max_epochs": 6, "num_sanity_val_steps": 0}}  # less validation asked: none at all
    assert fit_args(no_sanity, **paths, checkpoint="last")["trainer"]["limit_val_batches"] == 0
    stopping = {"trainer": {"max_epochs": 6, "callbacks": [
        {"class_path": "pytorch_lightning.callbacks.EarlyStopping", "init_args": {"monitor": "val/f1_macro"}}]}}
    assert "limit_val_batches" not in fit_args(stopping, **paths, checkpoint="last")["trainer"]


def test_with_the_best_checkpoint_the_fold_models_validate_every_epoch_and_predict_with_the_best(data_dir, tmp_path):
    output = tmp_path / "best"
    main(["run", "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(output),
          "--transformer.checkpoint", "best", "--baseline.enabled", "false", "--submission.source", "transformer"])
    for k in range(2):
        folder = fold_dir(output, k, 0)
        config = yaml.safe_load((folder / "logs" / "version_0" / "config.yaml").read_text())
        epochs = config["trainer"]["max_epochs"]
        assert config["trainer"].get("check_val_every_n_epoch", 1) == 1
        metrics = pd.read_csv(folder / "logs" / "version_0" / "metrics.csv")
        assert metrics.dropna(subset=["val/f1_macro"])["epoch"].tolist() == list(range(epochs))
        done = json.loads((folder / "done.json").read_text())
        assert done["checkpoint"].startswith("checkpoints/best-") and (folder / done["checkpoint"]).is_file()
    assert (output / "submission.csv").stat().st_size > 0
