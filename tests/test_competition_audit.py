"""The faults a hostile audit of the pipeline found (issue 22), one test each: what a user saw (a silent wrong answer,
a traceback, a wait with no word, lost files) and what they see now.

Most run no training: the config is resolved (:func:`planned`) or the run stops at its first check. The others use
the tiny Transformer (competition/configs/tiny_test*.yaml) on a few rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pandas as pd
import pytest
import torch

from competition.cli import resolve_config
from competition.runner import build_parser, main
from competition.plan import make_plan
from test_competition_faults import BASELINE_ONLY, TINY, error_of, run, write_competition

DEMO = "competition/demo/binary"


def planned(*argv: str):
    """The :class:`competition.plan.Plan` that ``python -m competition run ARGV...`` would follow."""
    parser = build_parser()
    args = parser.parse_args(["run", *argv])
    return make_plan(resolve_config(parser, args))[1]


def test_1_an_overridden_derived_setting_is_recorded_as_the_users(tmp_path):
    derived = planned("--data.dir", DEMO, "--output", str(tmp_path / "run"), "--preset", "fast")
    overridden = planned("--data.dir", DEMO, "--output", str(tmp_path / "run"), "--preset", "fast",
                         "--transformer.trainer", "{max_epochs: 2}", "--transformer.data", "{max_length: 16}",
                         "--transformer.model", "{lr: 0.002}")
    assert overridden.lightning["trainer"]["max_epochs"] == 2 and overridden.lightning["data"]["max_length"] == 16
    notes = "\n".join(overridden.derived)
    assert "max_epochs 2: set by --transformer.trainer" in notes
    assert "max_length 16: set by --transformer.data" in notes
    assert "fine-tuning lr 0.002" in notes
    assert not any(note.startswith(("max_epochs 4:", "max_length 24:")) for note in overridden.derived)
    # Nothing overridden: the derived notes as they were.
    assert any(note.startswith("max_epochs 4:") for note in derived.derived)
    assert not any("set by" in note for note in derived.derived)


def test_4_a_job_waiting_for_a_busy_folder_says_so_at_once(tmp_path, capsys, monkeypatch):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    output.mkdir()
    monkeypatch.setattr("competition.plan.JOB_LOCK_WAIT_S", 0.5)
    capsys.readouterr()
    with filelock.FileLock(str(output / ".lock")), pytest.raises(SystemExit):
        run(data, output, "--config", TINY, "--only-fold", "1", command="train")
    waiting, error = capsys.readouterr().err.splitlines()[-2:]
    # The wait is announced when it begins, then the refusal when it runs out.
    assert "is in use by another run" in waiting and "waiting up to 0.5 s" in waiting
    assert error.startswith("error: ") and "is in use by another run" in error


@pytest.mark.parametrize("trainer", ["{max_epochs: 0}", "{max_steps: 0}"])
def test_6_a_fold_model_that_would_train_no_step_is_refused_before_anything_is_written(tmp_path, capsys, trainer):
    data = write_competition(tmp_path / "data")
    message = error_of(capsys, data, tmp_path / "run", "--config", TINY, "--transformer.trainer", trainer)
    assert "would train no step" in message and "at least 1" in message
    assert not (tmp_path / "run").exists()


def test_6_a_finished_fold_model_that_lost_its_checkpoint_and_predictions_is_trained_again(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    run(data, output, "--config", TINY)
    submission = (output / "submission.csv").read_bytes()
    fold = output / "folds" / "fold_1"
    for name in ("checkpoints/last.ckpt", "predictions_oof.csv", "predictions_test.csv", "../../oof.csv"):
        (fold / name).unlink()
    capsys.readouterr()
    run(data, output, "--config", TINY, command="predict")  # the runner trains it again first: predict needs it
    assert "missing or damaged and it has no predictions; training it again" in capsys.readouterr().err
    run(data, output, "--config", TINY)
    assert (output / "submission.csv").read_bytes() == submission


def test_5_a_damaged_finished_pretraining_is_pretrained_again_not_read_as_a_tokenizer(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    pretraining = ("--config", TINY, "--pretrain.enabled", "true", "--pretrain.max_steps", "4")
    run(data, output, *pretraining, command="pretrain")
    checkpoint = output / "pretrain" / "checkpoints" / "last.ckpt"
    whole = checkpoint.read_bytes()
    checkpoint.write_bytes(whole[: len(whole) // 2])
    capsys.readouterr()
    run(data, output, *pretraining, command="train")
    assert "missing or damaged; pretraining again" in capsys.readouterr().err
    damaged = tmp_path / "whole.ckpt"
    damaged.write_bytes(whole)
    before, after = (torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
                     for path in (damaged, checkpoint))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)  # trained again
    assert (output / "folds" / "fold_0" / "done.json").is_file()


def test_7_a_max_length_too_short_for_a_token_is_refused_before_anything_is_written(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    message = error_of(capsys, data, tmp_path / "run", "--config", TINY, "--transformer.data", "{max_length: 1}")
    assert "transformer.data" in message and "max_length must be at least 2" in message
    assert not (tmp_path / "run").exists()


def test_8_a_class_whose_rows_share_one_group_is_refused_before_anything_is_written(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    train = pd.read_csv(data / "train.csv")
    # Every spam row in group "g0"; the ham rows spread over four more groups.
    train["group"] = ["g0" if label == "spam" else f"g{1 + i % 4}" for i, label in enumerate(train["label"])]
    train.to_csv(data / "train.csv", index=False)
    message = error_of(capsys, data, tmp_path / "run", *BASELINE_ONLY, "--folds.group_column", "group")
    assert "would train without 'spam'" in message and "folds.group_column" in message
    assert not (tmp_path / "run").exists()


def test_12_a_class_with_one_row_gets_advice_that_can_be_followed(tmp_path, capsys):
    data = write_competition(tmp_path / "data")
    train = pd.read_csv(data / "train.csv")
    train.loc[len(train)] = ["lonely", "a single row of its class", "rare"]
    train.to_csv(data / "train.csv", index=False)
    message = error_of(capsys, data, tmp_path / "run", *BASELINE_ONLY)
    assert "single row of class(es) 'rare'" in message and "at most 1" not in message


def test_12_texts_that_read_nan_na_or_null_are_texts(tmp_path):
    data = write_competition(tmp_path / "data")
    train, test = pd.read_csv(data / "train.csv"), pd.read_csv(data / "test.csv")
    train.loc[[1, 2, 3], "text"] = ["NaN", "NA", "null"]
    test.loc[[0, 1], "text"] = ["nan", "N/A"]
    train.to_csv(data / "train.csv", index=False)
    test.to_csv(data / "test.csv", index=False)
    run(data, tmp_path / "run", *BASELINE_ONLY)
    oof = pd.read_csv(tmp_path / "run" / "baseline_oof.csv", dtype=str, keep_default_na=False)
    assert len(oof) == len(train) and (tmp_path / "run" / "submission.csv").is_file()


@pytest.mark.parametrize("argv, expected", [
    (("--preset", "turbo"), "--preset: Expected a typing.Literal['fast', 'default', 'best']. Got value: turbo"),
    (("--transformer.trainer", "{max_epochs:2}"), "write '{max_epochs: 2}', not '{max_epochs:2}'"),
    (("--folds.n_split", "3"), "unrecognized arguments: --folds.n_split 3"),
])
def test_12_a_refused_command_line_is_one_error_line_not_the_usage(capsys, argv, expected):
    with pytest.raises(SystemExit) as info:
        main(["run", "--data.dir", DEMO, *argv])
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and captured.err.startswith("error: ")
    assert expected in captured.err and "python -m competition run --help" in captured.err


def test_10_overwrite_keeps_a_users_files_inside_the_runs_folders(tmp_path):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    run(data, output, *BASELINE_ONLY)
    drawn = sorted(p.name for p in (output / "report").glob("*.png"))
    assert drawn
    (output / "report" / "my_notes.md").write_text("keep me")
    (output / "report" / "my_plot.png").write_bytes(b"mine")
    run(data, output, *BASELINE_ONLY, "--baseline.C", "1.0", "--overwrite")
    assert (output / "report" / "my_notes.md").read_text() == "keep me"
    assert (output / "report" / "my_plot.png").read_bytes() == b"mine"
    assert (output / "report" / "report.md").is_file()
    assert json.loads((output / "manifest.json").read_text())["report_images"] == drawn


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    children = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        children |= {int(child) for child in task.read_text().split()}
    return children


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads a process's children from Linux's /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_3_a_signalled_parallel_run_stops_its_workers_at_once_and_says_how_to_resume(tmp_path, signum):
    data = write_competition(tmp_path / "data")
    output = tmp_path / "run"
    slow = json.dumps({"callbacks": [{"class_path": "tiny_competition.SlowStart", "init_args": {"seconds": 120}}]})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["tests", os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen(
        [sys.executable, "-m", "competition", "run", "--config", TINY, "--data.dir", str(data), "--output",
         str(output), "--transformer.parallel", "2", "--transformer.trainer", slow],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 120
        workers: set[int] = set()
        while time.monotonic() < deadline and parent.poll() is None:
            log = (output / "run.log").read_text() if (output / "run.log").is_file() else ""
            if "2 at a time" in log:
                workers = _children(parent.pid)
                if len(workers) >= 2:
                    break
            time.sleep(0.5)
        if parent.poll() is not None:
            pytest.fail(f"the run ended before its fold models trained:\n{parent.communicate()[1]}")
        assert len(workers) >= 2, "the fold models never started in two workers"
        time.sleep(2)  # the workers are in their fits
        parent.send_signal(signum)
        _, err = parent.communicate(timeout=30)
    finally:
        parent.kill()
    assert parent.returncode == 130
    assert "interrupted: run the same command again to resume" in err and "Traceback" not in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers)
