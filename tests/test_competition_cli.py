"""``python -m competition``: config parsing, the folds and baseline steps, reruns, and refusals."""

from argparse import ArgumentError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from competition.runner import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path):
    rng = np.random.default_rng(0)
    words = {"ham": ["see", "you", "later", "lunch", "home", "call"], "spam": ["win", "prize", "cash", "call", "txt"]}
    labels = ["spam"] * 6 + ["ham"] * 30
    train = pd.DataFrame({"id": [f"r{i}" for i in range(36)],
                          "text": [" ".join(rng.choice(words[y], size=4)) for y in labels], "label": labels})
    test = pd.DataFrame({"id": ["t2", "t1", "t3"], "text": ["win cash now", "see you", "call home"]})
    folder = tmp_path / "data"
    folder.mkdir()
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    test[["id"]].assign(label="ham").to_csv(folder / "sample_submission.csv", index=False)
    return folder


def cli(data_dir, output, *extra):
    main(["baseline", "--data.dir", str(data_dir), "--output", str(output), "--folds.n_splits", "3",
          "--baseline.min_df", "1", "--transformer.enabled", "false", *extra])


def test_baseline_step_writes_folds_and_probabilities(data_dir, tmp_path):
    cli(data_dir, tmp_path / "run")
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir() if not p.name.startswith(".")) == ["baseline_oof.csv", "baseline_test.csv",
                                                     "baseline_test_per_fold.csv", "folds.csv", "manifest.json",
                                                     "run.log"]
    oof = pd.read_csv(run / "baseline_oof.csv")
    assert list(oof.columns) == ["id", "fold", "label", "proba_ham", "proba_spam"] and len(oof) == 36
    pd.testing.assert_series_equal(oof["fold"], pd.read_csv(run / "folds.csv")["fold"])
    test = pd.read_csv(run / "baseline_test.csv")
    assert test["id"].tolist() == ["t2", "t1", "t3"]
    np.testing.assert_allclose(test[["proba_ham", "proba_spam"]].sum(axis=1), 1.0)


def test_reruns_are_byte_identical_and_resume_skips_finished_work(data_dir, tmp_path, capsys):
    cli(data_dir, tmp_path / "a")
    cli(data_dir, tmp_path / "b")
    for name in ("folds.csv", "baseline_oof.csv", "baseline_test.csv", "baseline_test_per_fold.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    capsys.readouterr()
    cli(data_dir, tmp_path / "a")  # same config: the run folder reopens and the baseline is not refitted
    assert "already in the run folder, skipped" in capsys.readouterr().err


def test_another_config_in_the_same_folder_is_refused_until_overwrite(data_dir, tmp_path, capsys):
    cli(data_dir, tmp_path / "run")
    with pytest.raises(SystemExit) as info:
        cli(data_dir, tmp_path / "run", "--baseline.C", "1.0")
    error = capsys.readouterr().err
    assert info.value.code == 2 and "holds outputs made with a different config" in error
    assert "baseline: baseline.C: 10.0 -> 1.0" in error
    cli(data_dir, tmp_path / "run", "--baseline.C", "1.0", "--overwrite")
    # A setting that does not change the outputs (the submission kind) reopens the same run.
    main(["folds", "--data.dir", str(data_dir), "--output", str(tmp_path / "run"), "--folds.n_splits", "3",
          "--baseline.min_df", "1", "--baseline.C", "1.0", "--submission.ensembling", "rank",
          "--transformer.enabled", "false"])


def test_bad_data_is_rejected_before_the_run_folder_exists(data_dir, tmp_path, capsys):
    (data_dir / "sample_submission.csv").write_text("id,label\nt1,ham\nt2,ham\nt3,ham\n")
    with pytest.raises(SystemExit) as info:
        cli(data_dir, tmp_path / "run")
    assert info.value.code == 2
    assert "another order" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


TINY = ("--transformer.lightning_config", "competition/configs/tiny_test.yaml")


@pytest.mark.parametrize("step, extra, message", [
    ("train", ["--transformer.lightning_config", "missing.yaml"], "transformer.lightning_config 'missing.yaml' is not"),
    ("train", ["--transformer.model", "{d_model: -3}"], "d_model"),  # a derived setting overridden badly
    ("train", ["--transformer.data", "{batch_size: 0}"],  # named as the fold models' key, not the pretraining's
     "the fold models' config (the settings derived from the data with transformer.data/.model/.trainer merged over "
     "it) is not valid for `imbalance-xfmr fit`: data: batch_size must be a positive int, got 0. Fix that key with "
     "--transformer.<section>"),
    ("train", ["--pretrain.data", "{batch_size: 0}"], "the self-pretraining's config"),
    ("train", [*TINY, "--threshold.metric", "accuracy"], "threshold.metric 'accuracy' cannot be tuned"),
    ("folds", ["--folds.n_splits", "1", *TINY], "folds.n_splits must be an integer >= 2, got 1"),
])
def test_pipeline_errors_are_reported_without_a_traceback(data_dir, tmp_path, capsys, step, extra, message):
    with pytest.raises(SystemExit) as info:
        main([step, "--data.dir", str(data_dir), "--output", str(tmp_path / "run"), *extra])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_config_file_and_overrides(data_dir, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"data:\n  dir: {data_dir}\noutput: {tmp_path / 'run'}\nfolds:\n  n_splits: 4\n")
    args = build_parser().parse_args(["folds", "--config", str(config), "--folds.n_splits", "3",
                                      "--submission.kind", "probabilities"])
    assert (args.folds.folds.n_splits, args.folds.submission.kind, args.folds.data.label_column) == \
        (3, "probabilities", "label")
    config.write_text(f"data:\n  dir: {data_dir}\noutput: x\nfolds:\n  n_split: 4\n")
    with pytest.raises(ArgumentError):
        build_parser().parse_args(["folds", "--config", str(config)])
    with pytest.raises(ArgumentError):
        build_parser().parse_args(["folds", "--output", "x"])  # data.dir is required
    with pytest.raises(ArgumentError):  # a prefix of a real key is a typo, not an abbreviation
        build_parser().parse_args(["folds", "--data.dir", str(data_dir), "--folds.n_split", "3"])


def test_demo_pipeline_config_parses(monkeypatch):
    monkeypatch.chdir(ROOT)
    args = build_parser().parse_args(["run", "--config", "competition/configs/demo_binary_pipeline.yaml"])
    assert args.run.data.dir == "competition/demo/binary" and args.run.transformer.enabled
