"""competition.api.CompetitionRun: the pipeline from Python, checked against the command line it stands for.

A run from Python must be the CLI's run (same config from the same settings, same bytes in the run folder), its
errors the CLI's messages raised as PipelineError, and its frames what the run folder holds. The runs are
baseline-only (a few seconds) but one, which has the tiny Transformer so that the leaderboard has three models.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, matthews_corrcoef

from competition.api import CompetitionRun
from competition.cli import resolve_config
from competition.errors import PipelineError
from competition.run_folder import RunFolder, RunFolderError
from competition.runner import build_parser
from test_competition_faults import TINY, error_of, run, write_competition

# test_competition_faults.BASELINE_ONLY, as keyword arguments.
BASELINE = {"transformer": {"enabled": False}, "folds": {"n_splits": 3}, "baseline": {"min_df": 1}}
BASELINE_ARGV = ("--transformer.enabled", "false", "--folds.n_splits", "3", "--baseline.min_df", "1")
PARSER = build_parser()  # the command line's, for the configs a CompetitionRun must resolve to
LEADERBOARD_COLUMNS = ["model", "score", "macro_f1", "minority_f1", "pr_auc", "roc_auc", "balanced_accuracy", "mcc",
                       "g_mean", "macro_f1_at_argmax", "decision_rule", "submitted"]


def noisy_competition(folder: Path) -> Path:
    """write_competition's two classes with a few labels flipped, so that no model scores a perfect 1."""
    write_competition(folder, n=60)
    train = pd.read_csv(folder / "train.csv", dtype=str, keep_default_na=False)
    flipped = [1, 2, 6, 13, 24, 31]
    train.loc[flipped, "label"] = np.where(train.loc[flipped, "label"] == "ham", "spam", "ham")
    train.to_csv(folder / "train.csv", index=False)
    return folder


def without_output(config: dict) -> dict:
    return {**config, "output": None}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return noisy_competition(tmp_path_factory.mktemp("api") / "data")


@pytest.fixture(scope="module")
def fitted(data) -> CompetitionRun:
    return CompetitionRun(data, output=data.parent / "api_run", **BASELINE).fit()


# ------------------------------------------------------------------------------------------- the same run as the CLI


def test_fit_writes_the_same_run_as_the_command_line(fitted, data):
    cli_run = data.parent / "cli_run"
    run(data, cli_run, *BASELINE_ARGV)
    assert (fitted.path / "submission.csv").read_bytes() == (cli_run / "submission.csv").read_bytes()
    cli_manifest = RunFolder.for_reading(cli_run).manifest
    assert without_output(fitted.manifest["config"]) == without_output(cli_manifest["config"])
    # The frames are the run folder's files, read back.
    cli_test = pd.read_csv(cli_run / "baseline_test.csv", dtype={"id": str}).set_index("id")
    np.testing.assert_array_equal(fitted.predict_proba().to_numpy(), cli_test[["proba_ham", "proba_spam"]].to_numpy())
    assert fitted.predict_proba().index.tolist() == cli_test.index.tolist()
    cli_oof = pd.read_csv(cli_run / "baseline_oof.csv", dtype={"id": str}).set_index("id")
    oof = fitted.oof()
    np.testing.assert_array_equal(oof.to_numpy(), cli_oof[["proba_ham", "proba_spam"]].to_numpy())
    assert list(oof.columns) == ["ham", "spam"] and oof.index.name == "id"
    assert oof.index.tolist() == pd.read_csv(data / "train.csv", dtype=str)["id"].tolist()
    pd.testing.assert_frame_equal(fitted.submission(),
                                  pd.read_csv(cli_run / "submission.csv", dtype=str, keep_default_na=False))


def test_the_manifest_records_the_run_and_the_path_is_absolute(fitted, data):
    assert fitted.path.is_absolute() and fitted.path == (data.parent / "api_run").resolve()
    manifest = fitted.manifest
    assert manifest["history"][-1]["command"] == "run" and manifest["history"][-1]["status"] == "ok"
    assert manifest["config"]["folds"]["n_splits"] == 3 and manifest["config"]["transformer"]["enabled"] is False


# ----------------------------------------------------------------------------------------------------- leaderboard


def test_leaderboard_of_a_baseline_run(fitted, data):
    board = fitted.leaderboard()
    assert list(board.columns) == LEADERBOARD_COLUMNS and board["model"].tolist() == ["baseline"]
    assert board.attrs["metric"] == "f1_macro" and board["submitted"].tolist() == [True]
    row = board.iloc[0]
    # The run's metric, f1_macro, under the decided rule; an argmax rule's predictions are the OOF argmax.
    assert row["score"] == pytest.approx(row["macro_f1"], abs=1e-12) and row["score"] < 1
    assert row["decision_rule"].startswith("argmax")  # on these rows the decide step keeps none of its tuning
    labels = pd.read_csv(data / "train.csv", dtype=str)["label"]
    assert row["score"] == pytest.approx(f1_score(labels, fitted.oof().idxmax(axis=1), average="macro"), abs=1e-12)


def test_leaderboard_orders_the_three_models_by_the_runs_metric(data):
    tiny = CompetitionRun(data, output=data.parent / "tiny_run", config=TINY, threshold={"metric": "mcc"}).fit()
    board = tiny.leaderboard()
    assert list(board.columns) == LEADERBOARD_COLUMNS and board.attrs["metric"] == "mcc"
    assert sorted(board["model"]) == ["baseline", "blend", "transformer"]
    assert (np.diff(board["score"].to_numpy()) <= 0).all()
    # Binary MCC does not depend on which class is positive: the report's mcc is the same number.
    np.testing.assert_allclose(board["score"], board["mcc"], atol=1e-12)
    assert board.loc[board["submitted"], "model"].tolist() == ["blend"]  # TINY's submission.source
    # Each model's score is sklearn's MCC of the labels its rule gives (the report's confusion matrix's).
    labels = pd.read_csv(data / "train.csv", dtype=str)["label"]
    by_model = board.set_index("model")
    argmax_rules = 0
    for model in ("transformer", "baseline", "blend"):
        oof = tiny.oof(model)
        assert oof.shape == (len(labels), 2) and np.allclose(oof.sum(axis=1), 1)
        if by_model.loc[model, "decision_rule"].startswith("argmax"):  # else its labels need the tuned rule
            argmax_rules += 1
            expected = matthews_corrcoef(labels, oof.idxmax(axis=1))
            assert by_model.loc[model, "score"] == pytest.approx(expected, abs=1e-12)
    assert argmax_rules > 0
    assert tiny.predict_proba("transformer").shape == (12, 2)


def test_a_probability_submission_holds_the_submitted_models_test_probabilities(data, tmp_path):
    asks_probabilities = shutil.copytree(data, tmp_path / "data")
    sample = pd.read_csv(data / "sample_submission.csv", dtype=str)
    sample.assign(label=0.5).to_csv(asks_probabilities / "sample_submission.csv", index=False)
    probabilities = CompetitionRun(asks_probabilities, output=tmp_path / "run", **BASELINE,
                                   submission={"kind": "probabilities"}).fit()
    submission = probabilities.submission()
    # sample_submission.csv has one value column: the positive class's (the minority, spam) probability.
    assert list(submission.columns) == ["id", "label"] and submission["label"].dtype == np.float64
    np.testing.assert_array_equal(submission["label"], probabilities.predict_proba()["spam"])
    assert submission["id"].tolist() == probabilities.predict_proba().index.tolist()


# ------------------------------------------------------------------------------------------------------- load


def test_load_reopens_a_finished_run_and_writes_a_missing_report(fitted, tmp_path):
    moved = tmp_path / "moved_run"
    shutil.copytree(fitted.path, moved)
    shutil.rmtree(moved / "report")
    loaded = CompetitionRun.load(moved)
    assert loaded.path == moved.resolve()
    # Reopened under the config its manifest records, which resolves to that same config again.
    assert without_output(loaded.manifest["config"]) == without_output(fitted.manifest["config"])
    pd.testing.assert_frame_equal(loaded.predict_proba(), fitted.predict_proba())
    pd.testing.assert_frame_equal(loaded.submission(), fitted.submission())
    assert not (moved / "report").exists()
    pd.testing.assert_frame_equal(loaded.leaderboard(), fitted.leaderboard())  # the report step ran
    assert (moved / "report" / "report.json").is_file()
    assert [entry["command"] for entry in loaded.manifest["history"][-2:]] == ["load", "report"]


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(RunFolderError, match="not a run folder|missing or unreadable"):
        CompetitionRun.load(tmp_path)


# ----------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("overrides, argv, key", [
    ({"folds": {"n_split": 3}}, ("--folds.n_split", "3"), "--folds.n_split"),
    ({"transformer.n_seeds": "two"}, ("--transformer.n_seeds", "two"), "--transformer.n_seeds"),
    ({"threshold": {"robust": "maybe"}}, ("--threshold.robust", "maybe"), "--threshold.robust"),
    ({"transformer": {"model": "{lr:0.1}"}}, ("--transformer.model", "{lr:0.1}"), "{max_epochs: 2}"),
])
def test_a_bad_setting_is_the_clis_error_raised_before_anything_is_written(data, tmp_path, capsys, overrides,
                                                                           argv, key):
    output = tmp_path / "run"
    with pytest.raises(PipelineError) as info:
        CompetitionRun(data, output=output, **overrides)
    assert key in str(info.value) and "usage:" not in str(info.value)
    assert error_of(capsys, data, output, *argv) == f"error: {info.value}\n"
    assert not output.exists()


def test_a_value_the_data_rules_out_is_the_clis_error_raised_by_fit(data, tmp_path, capsys):
    output = tmp_path / "run"
    too_many_folds = CompetitionRun(data, output=output, **{**BASELINE, "folds": {"n_splits": 40}})
    with pytest.raises(PipelineError) as info:
        too_many_folds.fit()
    assert "folds.n_splits=40" in str(info.value) and not output.exists()
    argv = [*BASELINE_ARGV[:2], "--folds.n_splits", "40", *BASELINE_ARGV[4:]]
    assert error_of(capsys, data, output, *argv) == f"error: {info.value}\n"


def test_bad_calls_are_clear_errors(fitted, data, tmp_path):
    with pytest.raises(PipelineError, match="unknown step 'trian'; the steps are folds, baseline"):
        fitted.fit(["trian"])
    with pytest.raises(PipelineError, match="no step given"):
        fitted.fit([])
    with pytest.raises(PipelineError, match="'transformer' is not one of this run's models; choose among baseline"):
        fitted.oof("transformer")
    with pytest.raises(PipelineError, match="a setting must be a string, number, boolean, None, list or dict"):
        CompetitionRun(data, seed=object())
    never_fitted = CompetitionRun(data, output=tmp_path / "run", **BASELINE)
    with pytest.raises(PipelineError, match=r"call fit\(\) first, or CompetitionRun.load"):
        never_fitted.leaderboard()
    assert not (tmp_path / "run").exists()


# ------------------------------------------------------------------------------ settings = the command line's keys


@settings(max_examples=8)
@given(n_splits=st.integers(2, 9), seed=st.integers(0, 10**6), enabled=st.booleans(),
       lr=st.floats(1e-6, 1.0, allow_subnormal=False), metric=st.sampled_from(["f1_macro", "mcc", "youden"]),
       ngrams=st.tuples(st.integers(1, 2), st.integers(2, 4)), positive=st.sampled_from([None, "spam", "1", "007"]),
       dotted=st.booleans())
def test_settings_resolve_to_the_config_of_the_same_command_line(data, n_splits, seed, enabled, lr, metric, ngrams,
                                                                 positive, dotted):
    sections = {"folds": {"n_splits": n_splits}, "transformer": {"enabled": enabled, "model": {"lr": lr}},
                "threshold": {"metric": metric, "positive_class": positive},
                "baseline": {"word_ngram_range": ngrams}}
    overrides = ({f"{section}.{key}": value for section, values in sections.items() for key, value in values.items()}
                 if dotted else sections)
    output = str(data.parent / "out")
    config = CompetitionRun(data, output=output, preset="fast", seed=seed, **overrides).config
    argv = ["run", "--data.dir", str(data), "--output", output, "--preset", "fast", "--seed", str(seed),
            "--folds.n_splits", str(n_splits), "--transformer.enabled", str(enabled).lower(),
            "--transformer.model", f"{{lr: {lr!r}}}", "--threshold.metric", metric,
            "--threshold.positive_class", "null" if positive is None else positive,
            "--baseline.word_ngram_range", f"[{ngrams[0]}, {ngrams[1]}]"]
    assert config == resolve_config(PARSER, PARSER.parse_args(argv))
    assert config.transformer.model == {"lr": lr} and config.threshold.positive_class == positive


def test_steps_run_in_the_pipelines_order_whatever_order_they_are_given(fitted):
    before = (fitted.path / "report" / "report.json").read_bytes()
    fitted.fit(["report", "decide"])
    assert fitted.manifest["history"][-1]["command"] == "decide + report"
    assert [f"{step}:" in line for line in (fitted.path / "run.log").read_text().splitlines()[-2:]
            for step in ("decision", "report")].count(True) == 2
    assert (fitted.path / "report" / "report.json").read_bytes() == before  # same predictions, same numbers
