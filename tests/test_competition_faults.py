"""The pipeline under faults and hostile input: each test is one way a user lost work or got a traceback before the
rebuild (bad config values found after hours of work, mangled ids and labels, a report that cost the submission,
two runs in one folder, ``--overwrite`` deleting a user's files...).

Baseline-only runs (``--transformer.enabled false``) keep most tests to a second; the Transformer ones use the tiny
configs (competition/configs/tiny_test*.yaml).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import competition.report
from competition.runner import main
from competition.config import DataConfig, PipelineConfig
from competition.data import CompetitionDataError, load_competition
from competition.run_folder import RunFolder

TINY = "competition/configs/tiny_test_pipeline.yaml"
BASELINE_ONLY = ("--transformer.enabled", "false", "--folds.n_splits", "3", "--baseline.min_df", "1")
WORDS = {0: ["see", "you", "later", "lunch", "home", "call", "ok"], 1: ["win", "prize", "cash", "txt", "free"]}


def write_competition(folder: Path, labels: tuple[str, str] = ("ham", "spam"), n: int = 60,
                      ids: list[str] | None = None, encoding: str = "utf-8") -> Path:
    """A small two-class competition (a sixth of the rows in the second class) with ``labels`` as its classes."""
    rng = np.random.default_rng(0)
    y = np.where(np.arange(n) % 6 == 0, 1, 0)
    ids = ids or [f"r{i}" for i in range(n)]
    train = pd.DataFrame({"id": ids, "text": [" ".join(rng.choice(WORDS[c], 5)) for c in y],
                          "label": [labels[c] for c in y]})
    test = pd.DataFrame({"id": [f"t{i:03d}" for i in range(12)],
                         "text": [" ".join(rng.choice(WORDS[i % 2], 5)) for i in range(12)]})
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False, encoding=encoding)
    test.to_csv(folder / "test.csv", index=False)
    test[["id"]].assign(label=labels[0]).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def run(data: Path, output: Path, *extra: str, command: str = "run") -> None:
    """``python -m competition COMMAND [--config X] --data.dir DATA --output OUTPUT EXTRA...`` (a ``--config`` in
    ``extra`` goes first: later keys override it)."""
    config = list(extra[:2]) if extra[:1] == ("--config",) else []
    main([command, *config, "--data.dir", str(data), "--output", str(output), *extra[len(config):]])


def error_of(capsys, data: Path, output: Path, *extra: str, command: str = "run") -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        run(data, output, *extra, command=command)
    assert info.value.code == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and "Traceback" not in error, error
    return error


# ------------------------------------------------------------------------------ 2: ids and labels round-trip


def test_ids_and_labels_that_look_like_numbers_round_trip_through_the_whole_pipeline(tmp_path):
    # "007" and "7" are two classes; type inference would have made them one (7) and ids "0001" into 1.
    data = write_competition(tmp_path / "data", labels=("007", "7"), n=48, ids=[f"{i:04d}" for i in range(48)])
    run(data, tmp_path / "run", "--config", TINY)
    oof = pd.read_csv(tmp_path / "run" / "oof.csv", dtype=str)
    assert list(oof.columns) == ["id", "fold", "label", "proba_007", "proba_7"]
    assert oof["id"].tolist() == [f"{i:04d}" for i in range(48)] and set(oof["label"]) == {"007", "7"}
    fold_model = pd.read_csv(tmp_path / "run" / "folds" / "fold_0" / "predictions_oof.csv", dtype=str)
    assert list(fold_model.columns) == ["id", "007", "7"] and fold_model["id"].str.len().eq(4).all()
    submission = (tmp_path / "run" / "submission.csv").read_text().splitlines()
    assert submission[0] == "id,label" and submission[1].split(",")[0] == "t000"
    assert {line.split(",")[1] for line in submission[1:]} <= {"007", "7"}


# ---------------------------------------------------------------------- 3: any label renders; submission first


def test_labels_with_markup_characters_are_reported_as_themselves(tmp_path):
    # A pipe (Markdown tables), bold marks (our inline markup), an unbalanced formula (matplotlib's mathtext).
    data = write_competition(tmp_path / "data", labels=("ham|ok", "**spam** $\\frac{$"))
    run(data, tmp_path / "run", *BASELINE_ONLY)
    assert (tmp_path / "run" / "submission.csv").is_file()
    markdown = (tmp_path / "run" / "report" / "report.md").read_text()
    assert "| ham\\|ok | 50 |" in markdown and "\\*\\*spam\\*\\* $\\\\frac{$" in markdown
    page = (tmp_path / "run" / "report" / "report.html").read_text()
    assert "<td>ham|ok</td>" in page and "<td>**spam** $\\frac{$</td>" in page and "<strong>spam" not in page


def test_a_failing_report_does_not_cost_the_submission(tmp_path, monkeypatch, capsys):
    def broken(ctx):
        raise RuntimeError("a plotting bug")

    monkeypatch.setattr(competition.report, "build_report", broken)
    data = write_competition(tmp_path / "data")
    with pytest.raises(RuntimeError, match="a plotting bug"):
        run(data, tmp_path / "run", *BASELINE_ONLY)
    assert pd.read_csv(tmp_path / "run" / "submission.csv")["id"].tolist() == [f"t{i:03d}" for i in range(12)]


# ------------------------------------------------------- 4, 9: bad config found before any work, in one line


@pytest.mark.parametrize("extra, message", [
    (("--config", TINY, "--transformer.data", "{resampling: smote}"),
     "data.resampling: 'smote' is not one of"),
    (("--config", TINY, "--transformer.model", "{d_modle: 32}"), "model.d_modle: unknown key"),
    (("--config", TINY, "--transformer.model", "{d_model: -3}"), "model: d_model must be a positive integer"),
    (("--config", TINY, "--transformer.data", "{batch_size: 0}"), "data: batch_size must be a positive int"),
    (("--config", TINY, "--transformer.lightning_config", "competition/configs/tiny_test_pipeline.yaml"),
     "data.dir: unknown key"),
    (("--config", TINY, "--folds.n_splits", "11"), "folds.n_splits=11, but train.csv has fewer rows than that"),
    (("--config", TINY, "--seed", "-1"), "seed must be an integer >= 0, got -1"),
    (("--config", TINY, "--transformer.num_threads", "0"), "transformer.num_threads must be null"),
    ((*BASELINE_ONLY, "--baseline.max_iter", "-5"), "baseline.max_iter must be an integer >= 1, got -5"),
    ((*BASELINE_ONLY, "--threshold.metric", "f2"), "threshold.metric 'f2' cannot be tuned for this binary task"),
    ((*BASELINE_ONLY, "--data.encoding", "klingon"), "data.encoding 'klingon' is not a text encoding"),
])
def test_bad_config_values_are_one_short_error_before_anything_is_written(tmp_path, capsys, extra, message):
    data = write_competition(tmp_path / "data")
    error = error_of(capsys, data, tmp_path / "run", *extra)
    assert message in error and len(error.splitlines()) <= 4 and "usage:" not in error
    assert not (tmp_path / "run").exists()


def test_a_folder_pins_only_what_it_holds(tmp_path, capsys):
    # A baseline-only run, then the same folder with the Transformer: nothing of the Transformer was produced,
    # so nothing of it is pinned and the run goes on (reusing the folds and the baseline).
    data = write_competition(tmp_path / "data", n=48)
    run(data, tmp_path / "run", "--config", TINY, "--transformer.enabled", "false", "--submission.source", "baseline")
    baseline = (tmp_path / "run" / "baseline_oof.csv").read_bytes()
    capsys.readouterr()
    run(data, tmp_path / "run", "--config", TINY)
    assert "baseline: its probabilities are already in the run folder, skipped" in capsys.readouterr().err
    assert (tmp_path / "run" / "baseline_oof.csv").read_bytes() == baseline
    assert (tmp_path / "run" / "oof.csv").is_file()
    # Now the Transformer is produced: another transformer config is refused, naming the key.
    error = error_of(capsys, data, tmp_path / "run", "--config", TINY, "--transformer.trainer", "{max_epochs: 3}")
    assert "transformer: lightning.trainer.max_epochs: 2 -> 3" in error


@pytest.mark.parametrize("how", ["chmod", "sys"])
def test_an_output_folder_that_cannot_be_written_is_one_line(tmp_path, capsys, how):
    data = write_competition(tmp_path / "data")
    if how == "chmod":
        output = tmp_path / "locked"
        output.mkdir()
        output.chmod(0o555)
        if os.access(output, os.W_OK):
            pytest.skip("this user (root) may write into read-only folders")
    else:
        output = Path("/sys/imbalance-xfmr-run")  # sysfs: not even root may make a folder there
        try:
            output.mkdir()
            output.rmdir()
            pytest.skip("/sys is writable here")
        except OSError:
            pass
    error = error_of(capsys, data, output / "run", *BASELINE_ONLY)
    assert f"cannot write to --output '{output / 'run'}'" in error and len(error.splitlines()) == 1


# ------------------------------------------------------------------------------ 5: labels that differ in case


def test_labels_that_differ_only_in_case_or_spaces_are_named_in_a_warning(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    train = pd.read_csv(data / "train.csv", dtype=str)
    train.loc[[1, 2, 3, 4, 5, 7], "label"] = ["Ham", "ham ", "Ham", "ham ", "Ham", "ham "]
    train.to_csv(data / "train.csv", index=False)
    competition = load_competition(data)
    assert competition.warnings == (
        "train.csv labels 'Ham', 'ham', 'ham ' differ only in case or surrounding spaces and are 3 separate "
        "classes; if they are one class, write it one way in train.csv",)
    run(data, tmp_path / "run", *BASELINE_ONLY, "--folds.n_splits", "2")
    assert "warning: train.csv labels 'Ham', 'ham', 'ham '" in capsys.readouterr().err
    report = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    assert report["data"]["warnings"] == list(competition.warnings)
    assert "**Warning:** train.csv labels 'Ham', 'ham', 'ham '" in (tmp_path / "run" / "report" / "report.md").read_text()


# -------------------------------------------------------------------------------------- 6: another encoding


def test_a_latin_1_file_names_the_file_and_line_and_the_encoding_key(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    lines = (data / "train.csv").read_text().splitlines()
    row_id, text, label = lines[3].split(",")
    lines[3] = ",".join([row_id, f"{text} café", label])
    (data / "train.csv").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(CompetitionDataError, match=r"train.csv is not valid utf-8 text at line 4, column \d+: "
                                                   r"byte 0xe9 .*--data.encoding \(e.g. latin-1"):
        load_competition(data)
    error = error_of(capsys, data, tmp_path / "run", *BASELINE_ONLY)
    assert "train.csv is not valid utf-8 text at line 4" in error and not (tmp_path / "run").exists()
    run(data, tmp_path / "run", *BASELINE_ONLY, "--data.encoding", "latin-1")
    assert "café" in load_competition(data, encoding="latin-1").train_texts[2]


# ------------------------------------------------------------------------------------ 7: one run per folder


def test_a_second_run_into_a_busy_folder_is_refused_naming_the_holder(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    run(data, tmp_path / "run", *BASELINE_ONLY, command="folds")
    config = PipelineConfig(data=DataConfig(dir=str(data)), output=str(tmp_path / "run"))
    holder = RunFolder.open(tmp_path / "run", {"output": config.output}, {}, {}, command="train")
    try:
        error = error_of(capsys, data, tmp_path / "run", *BASELINE_ONLY)
        assert "is in use by another run (`train` started" in error and f"by process {os.getpid()}" in error
    finally:
        holder.__exit__(None, None, None)
    run(data, tmp_path / "run", *BASELINE_ONLY)  # released: the run goes on
    assert (tmp_path / "run" / "submission.csv").is_file()


# -------------------------------------------------------------------------- 8: --overwrite deletes only ours


def test_overwrite_never_deletes_what_the_run_did_not_write(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    # A folder whose manifest.json is someone else's: refused, even with --overwrite, and untouched.
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "manifest.json").write_text('{"name": "my project", "version": 3}')
    (foreign / "notes.txt").write_text("keep me")
    error = error_of(capsys, data, foreign, *BASELINE_ONLY, "--overwrite")
    assert "is not the manifest of an imbalance-xfmr run" in error
    assert sorted(p.name for p in foreign.iterdir() if p.name != ".lock") == ["manifest.json", "notes.txt"]
    # A run folder of ours: --overwrite deletes the run's files, not the user's.
    ours = tmp_path / "run"
    run(data, ours, *BASELINE_ONLY)
    (ours / "notes.txt").write_text("keep me too")
    error = error_of(capsys, data, ours, *BASELINE_ONLY, "--baseline.C", "1.0")
    assert "baseline: baseline.C: 10.0 -> 1.0" in error
    run(data, ours, *BASELINE_ONLY, "--baseline.C", "1.0", "--overwrite")
    assert (ours / "notes.txt").read_text() == "keep me too" and (ours / "submission.csv").is_file()
    assert json.loads((ours / "manifest.json").read_text())["pins"]["baseline"]["baseline"]["C"] == 1.0


def test_the_demo_manifest_records_the_format(tmp_path):
    data = write_competition(tmp_path / "data")
    run(data, tmp_path / "run", *BASELINE_ONLY, command="folds")
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["format"] == "imbalance-xfmr run folder" and set(manifest["pins"]) == {"folds"}
