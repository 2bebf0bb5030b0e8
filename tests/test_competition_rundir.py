"""Run folders: atomic writes, refusing to mix runs, reopening for resume, and the manifest's contents."""

import hashlib
import json

import pandas as pd
import pytest

from competition.rundir import (MANIFEST, RunDir, RunFolderError, atomic_open, git_state, write_bytes, write_csv,
                                write_json, write_text)

CONFIG = {"seed": 0, "data": {"dir": "/d"}, "folds": {"n_splits": 5}, "submission": {"kind": "labels"},
          "output": "runs/x"}
FIXED = ("seed", "data", "folds")


class Boom(Exception):
    pass


@pytest.fixture
def data_files(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    files = {}
    for name, content in [("train.csv", "id,text,label\n1,a,x\n"), ("test.csv", "id,text\n2,b\n")]:
        (folder / name).write_text(content)
        files[name] = folder / name
    return files


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("existing", [None, b"old content"])
def test_atomic_write_leaves_no_partial_file_on_an_exception(tmp_path, existing):
    path = tmp_path / "out.csv"
    if existing is not None:
        path.write_bytes(existing)
    with pytest.raises(Boom):
        with atomic_open(path, "wb") as handle:
            handle.write(b"half of the new ")
            raise Boom
    assert (path.read_bytes() if path.exists() else None) == existing
    assert leftovers(tmp_path) == []


def test_atomic_writers_write_and_replace(tmp_path):
    write_bytes(tmp_path / "b.bin", b"\x00\x01")
    write_text(tmp_path / "t.txt", "line\nnext\n")
    write_text(tmp_path / "t.txt", "replaced\n")
    write_json(tmp_path / "j.json", {"b": 1, "a": [1, 2]})
    frame = pd.DataFrame({"id": ["a", "b"], "p": [0.1, 1 / 3]})
    write_csv(tmp_path / "f.csv", frame)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_bytes() == b"replaced\n"
    assert (tmp_path / "j.json").read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    assert (tmp_path / "f.csv").read_bytes() == b"id,p\na,0.1\nb,0.3333333333333333\n"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "f.csv"), frame)
    assert leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="mode must be"):
        with atomic_open(tmp_path / "x", "a"):
            pass


def test_csv_write_failing_midway_keeps_the_old_file(tmp_path):
    path = tmp_path / "f.csv"
    write_csv(path, pd.DataFrame({"a": [1]}))

    class Unprintable:
        def __str__(self):
            raise Boom

    with pytest.raises(Boom):
        write_csv(path, pd.DataFrame({"a": [1, Unprintable()]}))
    assert path.read_bytes() == b"a\n1\n" and leftovers(tmp_path) == []


def test_new_run_writes_the_manifest(tmp_path, data_files):
    with RunDir.open(tmp_path / "run", CONFIG, data_files, command="run", fixed_keys=FIXED) as run:
        assert (run.path / MANIFEST).is_file()
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["config"] == CONFIG
    for name, path in data_files.items():
        assert manifest["data"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["data"][name]["path"] == str(path.resolve())
    packages = manifest["packages"]
    for name in ("python", "torch", "pytorch-lightning", "scikit-learn", "imbalanced-learn", "numpy", "pandas",
                 "tokenizers"):
        assert isinstance(packages[name], str) and packages[name][0].isdigit(), name
    state = git_state()  # None where the project is not a git checkout (a tarball, say)
    assert (manifest["git"] is None) == (state is None)
    if state is not None:
        assert len(manifest["git"]["commit"]) == 40 and isinstance(manifest["git"]["dirty"], bool)
    (entry,) = manifest["history"]
    assert entry["command"] == "run" and entry["status"] == "ok"
    assert manifest["created_at"] <= entry["started_at"] <= entry["finished_at"]


def test_git_state_outside_a_repository_is_none(tmp_path):
    assert git_state(tmp_path) is None


def test_failed_invocation_is_recorded(tmp_path, data_files):
    with pytest.raises(Boom):
        with RunDir.open(tmp_path / "run", CONFIG, data_files, command="train", fixed_keys=FIXED):
            raise Boom("fold 3 diverged")
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert manifest["history"][-1]["status"] == "failed: Boom: fold 3 diverged"


def test_same_fixed_config_reopens_the_run_and_keeps_its_files(tmp_path, data_files):
    with RunDir.open(tmp_path / "run", CONFIG, data_files, command="run", fixed_keys=FIXED) as run:
        write_text(run.path / "fold0.ckpt", "weights")
    changed_report = {**CONFIG, "submission": {"kind": "probabilities"}, "output": "elsewhere"}
    with RunDir.open(tmp_path / "run", changed_report, data_files, command="submit", fixed_keys=FIXED) as run:
        assert (run.path / "fold0.ckpt").read_text() == "weights"
    manifest = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert [h["command"] for h in manifest["history"]] == ["run", "submit"]
    assert manifest["config"] == changed_report  # the latest invocation's config


def test_another_run_is_refused_unless_overwrite(tmp_path, data_files):
    with RunDir.open(tmp_path / "run", CONFIG, data_files, command="run", fixed_keys=FIXED) as run:
        write_text(run.path / "fold0.ckpt", "weights")
    other = {**CONFIG, "folds": {"n_splits": 3}}
    with pytest.raises(RunFolderError, match=r"holds another run(.|\n)*folds: \{'n_splits': 5\} -> "
                                             r"\{'n_splits': 3\}(.|\n)*--overwrite"):
        RunDir.open(tmp_path / "run", other, data_files, command="run", fixed_keys=FIXED)
    assert (tmp_path / "run" / "fold0.ckpt").exists()
    with RunDir.open(tmp_path / "run", other, data_files, command="run", fixed_keys=FIXED, overwrite=True) as run:
        assert sorted(p.name for p in run.path.iterdir()) == [MANIFEST]
    assert json.loads((tmp_path / "run" / MANIFEST).read_text())["config"] == other


def test_every_key_is_fixed_by_default(tmp_path, data_files):
    RunDir.open(tmp_path / "run", CONFIG, data_files, command="run")
    with pytest.raises(RunFolderError, match="submission"):
        RunDir.open(tmp_path / "run", {**CONFIG, "submission": {"kind": "probabilities"}}, data_files, command="run")


def test_changed_data_is_refused(tmp_path, data_files):
    RunDir.open(tmp_path / "run", CONFIG, data_files, command="run", fixed_keys=FIXED)
    data_files["train.csv"].write_text("id,text,label\n1,a,y\n")
    with pytest.raises(RunFolderError, match="data file train.csv changed"):
        RunDir.open(tmp_path / "run", CONFIG, data_files, command="run", fixed_keys=FIXED)


def test_folders_that_are_not_run_folders_are_never_touched(tmp_path, data_files):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(RunFolderError, match="not a run folder"):
            RunDir.open(folder, CONFIG, data_files, command="run", overwrite=overwrite)
    assert (folder / "chapter1.tex").read_text() == "precious"
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="is a file"):
        RunDir.open(tmp_path / "file", CONFIG, data_files, command="run")
    empty = tmp_path / "empty"
    empty.mkdir()
    RunDir.open(empty, CONFIG, data_files, command="run")  # an empty folder is fine
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MANIFEST).write_text("{not json")
    with pytest.raises(RunFolderError, match="unreadable"):
        RunDir.open(tmp_path / "broken", CONFIG, data_files, command="run")


def test_log_appends_to_run_log(tmp_path, data_files, capsys):
    run = RunDir.open(tmp_path / "run", CONFIG, data_files, command="run")
    run.log("fold 1/5 done")
    run.log("fold 2/5 done")
    lines = (run.path / "run.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["fold 1/5 done", "fold 2/5 done"]
    assert "fold 2/5 done" in capsys.readouterr().err
