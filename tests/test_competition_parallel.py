"""Fold models trained at once in worker processes (``transformer.parallel``), and one fold per job
(``train --only-fold``): the same bytes as one after another, and a killed run resumes.

The tiny configs (competition/configs/tiny_test*.yaml) on a 200-row subset of the binary demo; a worker's start
(a fresh interpreter importing torch) is most of each test's time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_competition import write_tiny_competition

from competition.runner import main

CONFIG = "competition/configs/tiny_test_pipeline.yaml"
REPRODUCIBLE = ("folds.csv", "oof.csv", "test.csv", "test_per_fold.csv", "decision.json", "submission.csv")


def run_pipeline(data_dir: Path, output: Path, command: str = "run", *extra: str) -> None:
    main([command, "--config", CONFIG, "--data.dir", str(data_dir), "--output", str(output), *extra])


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_tiny_competition(tmp_path_factory.mktemp("parallel_competition"), 20, 180, 60)


@pytest.fixture(scope="module")
def sequential(data_dir, tmp_path_factory) -> Path:
    """The reference: every fold model in this process, one after another (the tiny config's parallel: 1)."""
    output = tmp_path_factory.mktemp("runs") / "sequential"
    run_pipeline(data_dir, output)
    return output


def same_outputs(run: Path, reference: Path) -> None:
    for name in REPRODUCIBLE:
        assert (run / name).read_bytes() == (reference / name).read_bytes(), name


def test_fold_models_trained_in_parallel_workers_give_the_sequential_bytes(sequential, data_dir, tmp_path, capsys):
    run_pipeline(data_dir, tmp_path / "parallel", "run", "--transformer.parallel", "2")
    assert "train: 2 fold model(s) to fit, 2 at a time (one worker process each)" in capsys.readouterr().err
    same_outputs(tmp_path / "parallel", sequential)
    # `parallel` changes no output, so it does not pin the folder: a rerun with another value reopens it.
    run_pipeline(data_dir, tmp_path / "parallel", "run", "--transformer.parallel", "1")
    assert capsys.readouterr().err.count("already trained, skipped") == 2


def test_a_killed_parallel_run_resumes_and_ends_with_the_sequential_bytes(sequential, data_dir, tmp_path, capsys):
    # Fold 1's worker dies at the start of its second epoch (os._exit, as a kill would), once.
    kill = ("--transformer.trainer", json.dumps({"callbacks": [{"class_path": "tiny_competition.KillOnce",
                                                               "init_args": {"marker": str(tmp_path / "killed")}}]}))
    output = tmp_path / "run"
    with pytest.raises(SystemExit) as info:
        run_pipeline(data_dir, output, "run", "--transformer.parallel", "2", *kill)
    error = capsys.readouterr().err
    assert info.value.code == 2 and "a worker process died while training fold models" in error
    assert (tmp_path / "killed").exists() and not (output / "folds" / "fold_1" / "done.json").exists()
    assert (output / "folds" / "fold_1" / "checkpoints" / "last.ckpt").is_file()
    run_pipeline(data_dir, output, "run", "--transformer.parallel", "2", *kill)
    assert "transformer fold 1 of 2: resumed from last.ckpt" in capsys.readouterr().err
    same_outputs(output, sequential)


def test_one_job_per_fold_at_once_then_run_gathers_the_sequential_bytes(sequential, data_dir, tmp_path):
    """Two `train --only-fold` jobs into one folder at the same time (as a SLURM array would start them), then a
    `run` that trains nothing and gathers."""
    output = tmp_path / "shared"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(["tests", os.environ.get("PYTHONPATH", "")])}
    jobs = [subprocess.Popen([sys.executable, "-m", "competition", "train", "--config", CONFIG, "--data.dir",
                              str(data_dir), "--output", str(output), "--only-fold", str(k)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for k in (0, 1)]
    logs = [job.communicate(timeout=300)[0] for job in jobs]
    assert [job.returncode for job in jobs] == [0, 0], logs
    for k, log in enumerate(logs):
        assert f"transformer fold {k} of 2: trained in" in log and "in use by another run" not in log
    history = json.loads((output / "manifest.json").read_text())["history"]
    assert sorted(entry["command"] for entry in history) == ["train --only-fold 0", "train --only-fold 1"]
    assert all(entry["status"] == "ok" for entry in history), history
    run_pipeline(data_dir, output)
    assert "already trained, skipped" in (output / "run.log").read_text()
    same_outputs(output, sequential)


@pytest.mark.parametrize("extra, message", [
    (("--only-fold", "2"), "--only-fold 2: folds are numbered 0 to 1"),
    (("--only-seed", "0"), "--only-seed needs --only-fold"),
    (("--only-fold", "0", "--only-seed", "1"), "--only-seed 1: seed indices are 0 to 0"),
    (("--transformer.parallel", "0"), "transformer.parallel must be null"),
])
def test_bad_job_flags_are_refused_before_any_work(data_dir, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit):
        run_pipeline(data_dir, tmp_path / "run", "train", *extra)
    assert message in capsys.readouterr().err and not (tmp_path / "run").exists()


def _gloo_ready() -> bool:
    import socket

    import torch.distributed

    try:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
    except OSError:
        return False
    return torch.distributed.is_available() and torch.distributed.is_gloo_available()


@pytest.mark.skipif(not _gloo_ready(), reason="DDP on CPU needs torch.distributed with gloo and 127.0.0.1")
def test_a_fold_model_trains_under_ddp_with_two_processes(data_dir, tmp_path, monkeypatch, capsys):
    """`strategy: ddp` on 2 CPU processes (gloo): each fold model is fitted as its own `imbalance-xfmr fit` command
    (Lightning's launcher starts rank 1 from it), then predicts in one process; the run completes."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(port))
    loopback = next((name for _, name in socket.if_nameindex() if name.startswith("lo")), None)
    if loopback:
        monkeypatch.setenv("GLOO_SOCKET_IFNAME", loopback)
    output = tmp_path / "ddp"
    run_pipeline(data_dir, output, "run", "--transformer.trainer",
                 "{strategy: ddp, devices: 2, accelerator: cpu, max_epochs: 1}", "--transformer.parallel", "2")
    log = capsys.readouterr().err
    assert "train: 2 fold model(s) to fit, 1 at a time" in log  # each DDP model takes both processes
    for k in (0, 1):
        fold = output / "folds" / f"fold_{k}"
        config = yaml.safe_load((fold / "fit_config.yaml").read_text())
        assert config["trainer"]["strategy"] == "ddp" and config["trainer"]["devices"] == 2
        assert json.loads((fold / "done.json").read_text())["epochs"] == 1
        assert {p.name for p in (fold / "checkpoints").iterdir()} >= {"last.ckpt"}
    oof = (output / "oof.csv").read_text().splitlines()
    assert len(oof) == 201 and (output / "submission.csv").is_file()
