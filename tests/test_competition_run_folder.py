"""The run folder: manifest, pins, reopening and --overwrite, the lock, the log, and the typed artifacts' round trip
and checks."""

import hashlib
import json
import os
import socket

import numpy as np
import pandas as pd
import pytest

from competition.data import load_competition
from competition.rules import ArgmaxRule, ClassOffsetsRule, ThresholdRule
from competition.layout import LAYOUT, LOCK, MANIFEST, probability_files, sha256
from competition.run_folder import RunFolder, RunFolderError, flatten, git_state

CONFIG = {"seed": 0, "data": {"dir": "/d"}, "folds": {"n_splits": 3}, "submission": {"kind": "labels"},
          "output": "runs/x"}
FOLDS_PIN = {"data": {"files": {"train.csv": "abc"}}, "folds": {"n_splits": 3, "seed": 0, "group_column": None}}
PINS = {"folds": FOLDS_PIN, "baseline": {**FOLDS_PIN, "baseline": {"C": 10.0}},
        "transformer": {**FOLDS_PIN, "seed": 0, "transformer": {"n_seeds": 1}}}
N_TRAIN, N_TEST = 12, 4


class Boom(Exception):
    pass


@pytest.fixture
def competition(tmp_path):
    """A binary competition of 12 train rows (4 spam) and 4 test rows, ids written as strings like '007'."""
    folder = tmp_path / "data"
    folder.mkdir()
    labels = ["spam", "ham", "ham"] * 4
    pd.DataFrame({"id": [f"{i:03d}" for i in range(N_TRAIN)], "text": [f"text {i}" for i in range(N_TRAIN)],
                  "label": labels}).to_csv(folder / "train.csv", index=False)
    test_ids = [f"t{i}" for i in range(N_TEST)]
    pd.DataFrame({"id": test_ids, "text": [f"test {i}" for i in range(N_TEST)]}).to_csv(folder / "test.csv",
                                                                                          index=False)
    pd.DataFrame({"id": test_ids, "label": ["ham"] * N_TEST}).to_csv(folder / "sample_submission.csv", index=False)
    return load_competition(folder)


@pytest.fixture
def data_files(competition):
    return {name: {"path": str(path.resolve()), "sha256": sha256(path)} for name, path in competition.files.items()}


@pytest.fixture
def open_run(tmp_path, data_files):
    """``open_run(pins=PINS, command="run", overwrite=False, config=CONFIG, path=tmp_path/"run")``."""
    def opener(pins=PINS, command="run", overwrite=False, config=CONFIG, path=None):
        return RunFolder.open(path or tmp_path / "run", config, data_files, pins, command=command,
                              overwrite=overwrite)
    return opener


def manifest_of(folder):
    return json.loads((folder / MANIFEST).read_text())


def with_folds_pin(**folds):
    pin = {**FOLDS_PIN, "folds": {**FOLDS_PIN["folds"], **folds}}
    return {**PINS, "folds": pin}


# ------------------------------------------------------------------------------------------ manifest and history

def test_opening_writes_the_manifest(tmp_path, competition, data_files, open_run):
    with open_run() as run:
        assert (run.path / MANIFEST).is_file()
        running = manifest_of(run.path)["history"][-1]
        assert running["status"] == "running" and running["finished_at"] is None
    manifest = manifest_of(tmp_path / "run")
    assert manifest["format"] == "imbalance-xfmr run folder"
    assert manifest["config"] == CONFIG
    for name, path in competition.files.items():
        assert manifest["data"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert manifest["data"][name]["path"] == str(path.resolve())
    packages = manifest["packages"]
    for name in ("python", "torch", "pytorch-lightning", "scikit-learn", "imbalanced-learn", "numpy", "pandas",
                 "tokenizers", "jsonargparse"):
        assert isinstance(packages[name], str) and packages[name][0].isdigit(), name
    import torch

    capability, rest = manifest["cpu"].split(", ", 1)  # what the float kernels' bytes depend on
    model, flags = rest.rsplit(", ", 1)
    assert capability == torch.backends.cpu.get_cpu_capability() and model
    assert flags.startswith("flags ") and len(flags) == len("flags ") + 12
    state = git_state()  # None where the project is not a git checkout (a tarball, say)
    assert (manifest["git"] is None) == (state is None)
    if state is not None:
        assert len(manifest["git"]["commit"]) == 40 and isinstance(manifest["git"]["dirty"], bool)
    assert manifest["pins"] == {}  # nothing produced yet, so nothing pinned
    (entry,) = manifest["history"]
    assert entry["command"] == "run" and entry["status"] == "ok"
    assert entry["pid"] == os.getpid() and entry["host"] == socket.gethostname()
    assert manifest["created_at"] <= entry["started_at"] <= entry["finished_at"]


def test_git_state_outside_a_repository_is_none(tmp_path):
    assert git_state(tmp_path) is None


def test_sha256_and_flatten(tmp_path):
    (tmp_path / "f").write_bytes(b"abc")
    assert sha256(tmp_path / "f") == hashlib.sha256(b"abc").hexdigest()
    assert flatten({"a": {"b": 1, "c": {"d": [2]}}, "e": {}, "f": None}) == {"a.b": 1, "a.c.d": [2], "e": {},
                                                                             "f": None}


def test_failed_invocation_is_recorded(tmp_path, open_run):
    with pytest.raises(Boom):
        with open_run(command="train"):
            raise Boom("fold 3 diverged")
    assert manifest_of(tmp_path / "run")["history"][-1]["status"] == "failed: Boom: fold 3 diverged"
    with open_run(command="train"):  # the lock was released
        pass
    assert [h["status"] for h in manifest_of(tmp_path / "run")["history"]] == ["failed: Boom: fold 3 diverged",
                                                                                "ok"]


# ------------------------------------------------------------------------------------------ pins and reopening

def test_same_pins_reopen_the_run_and_keep_its_files(tmp_path, open_run):
    with open_run() as run:
        run.pin("folds")
        (run.path / "folds.csv").write_text("id,fold\n")
    changed = {**CONFIG, "submission": {"kind": "probabilities"}, "output": "elsewhere"}
    with open_run(command="submit", config=changed) as run:
        assert (run.path / "folds.csv").read_text() == "id,fold\n"
    manifest = manifest_of(tmp_path / "run")
    assert [h["command"] for h in manifest["history"]] == ["run", "submit"]
    assert manifest["config"] == changed  # the latest invocation's config
    assert manifest["pins"] == {"folds": FOLDS_PIN}


def test_a_different_pin_of_a_produced_group_is_refused_unless_overwrite(tmp_path, open_run):
    with open_run() as run:
        run.pin("folds")
        (run.path / "folds.csv").write_text("id,fold\n")
        (run.path / "folds").mkdir()
        (run.path / "folds" / "fold_0").mkdir()
        (run.path / "report").mkdir()
        (run.path / "notes.txt").write_text("mine")  # a user's own file
    other = with_folds_pin(n_splits=5)
    with pytest.raises(RunFolderError, match=r"different config or data(.|\n)*folds: folds\.n_splits: 3 -> 5"
                                             r"(.|\n)*--overwrite") as refused:
        open_run(pins=other)
    assert "seed" not in str(refused.value)  # only the keys that differ are listed
    assert (tmp_path / "run" / "folds.csv").exists()
    with open_run(pins=other, overwrite=True) as run:
        names = sorted(p.name for p in run.path.iterdir())
    assert names == sorted([LOCK, MANIFEST, "notes.txt"])
    assert (tmp_path / "run" / "notes.txt").read_text() == "mine"
    manifest = manifest_of(tmp_path / "run")
    assert manifest["pins"] == {} and [h["command"] for h in manifest["history"]] == ["run"]
    assert set(LAYOUT) >= {"folds.csv", "folds", "report", MANIFEST, "run.log"} and "notes.txt" not in LAYOUT


def test_overwrite_deletes_every_layout_name_and_nothing_else(tmp_path, open_run):
    with open_run() as run:
        run.pin("baseline")
        for name in LAYOUT:
            if name != MANIFEST:
                (run.path / name).write_text("x")
        (run.path / "mine.csv").write_text("y")
    with open_run(pins={**PINS, "baseline": {**PINS["baseline"], "baseline": {"C": 1.0}}}, overwrite=True) as run:
        assert sorted(p.name for p in run.path.iterdir()) == sorted([LOCK, MANIFEST, "mine.csv"])


def test_a_group_not_produced_yet_does_not_pin(tmp_path, open_run):
    with open_run() as run:
        run.pin("folds")
    other_baseline = {**PINS, "baseline": {**FOLDS_PIN, "baseline": {"C": 1.0}}}
    with open_run(pins=other_baseline) as run:
        run.pin("baseline")
    assert manifest_of(tmp_path / "run")["pins"]["baseline"]["baseline"] == {"C": 1.0}
    with pytest.raises(RunFolderError, match=r"baseline: baseline\.C: 1\.0 -> 10\.0"):
        open_run()


def test_folders_that_are_not_run_folders_are_never_touched(tmp_path, open_run):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("precious")
    for overwrite in (False, True):
        with pytest.raises(RunFolderError, match="not empty and holds no manifest.json, so it is not a run folder"):
            open_run(path=folder, overwrite=overwrite)
    assert sorted(p.name for p in folder.iterdir()) == ["chapter1.tex"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(RunFolderError, match="is a file, not a folder"):
        open_run(path=tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    with open_run(path=empty):  # an empty folder is fine
        pass
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / MANIFEST).write_text("{not json")
    with pytest.raises(RunFolderError, match="unreadable"):
        open_run(path=tmp_path / "broken")


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_manifest_that_is_not_ours_is_refused_even_with_overwrite(tmp_path, open_run, overwrite):
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / MANIFEST).write_text('{"name": "my project"}')
    (folder / "folds.csv").write_text("theirs")  # a layout name, but not our file
    (folder / "report").mkdir()
    with pytest.raises(RunFolderError, match="not the manifest of an imbalance-xfmr run"):
        open_run(path=folder, pins=with_folds_pin(n_splits=5), overwrite=overwrite)
    assert (folder / MANIFEST).read_text() == '{"name": "my project"}'
    assert (folder / "folds.csv").read_text() == "theirs" and (folder / "report").is_dir()


# ------------------------------------------------------------------------------------------------ lock and log

def test_a_second_open_while_the_first_is_open_is_refused_naming_the_holder(tmp_path, open_run):
    first = open_run(command="train")
    try:
        with pytest.raises(RunFolderError, match=rf"in use by another run \(`train` started .* by process "
                                                 rf"{os.getpid()} on {socket.gethostname()}\)"):
            open_run(command="predict")
        with pytest.raises(RunFolderError, match="in use by another run"):
            open_run(command="predict", overwrite=True)
    finally:
        first.__exit__(None, None, None)
    with open_run(command="predict"):
        pass
    assert [h["command"] for h in manifest_of(tmp_path / "run")["history"]] == ["train", "predict"]


def test_log_appends_to_run_log(open_run, capsys):
    with open_run() as run:
        run.log("fold 1/5 done")
        run.log("fold 2/5 done")
    with open_run() as run:
        run.log("fold 3/5 done")
    lines = (run.path / "run.log").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["fold 1/5 done", "fold 2/5 done", "fold 3/5 done"]
    assert "fold 2/5 done" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------- the folds

FOLD = np.arange(N_TRAIN, dtype=np.int64) % 3


def test_folds_round_trip(competition, open_run):
    with open_run() as run:
        assert not run.has_folds()
        run.write_folds(competition, FOLD)
        assert run.has_folds()
        assert (run.path / "folds.csv").read_text().splitlines()[:3] == ["id,fold", "000,0", "001,1"]
        fold = run.read_folds(competition, 3)
    assert fold.dtype == np.int64 and fold.tolist() == FOLD.tolist()


def test_missing_folds_name_the_step(competition, open_run):
    with open_run() as run, pytest.raises(RunFolderError, match="folds.csv is missing; run the folds step"):
        run.read_folds(competition, 3)


def test_folds_for_other_data_or_other_n_splits_are_refused(competition, open_run):
    with open_run() as run:
        path = run.path / "folds.csv"
        frame = pd.DataFrame({"id": competition.train_ids, "fold": FOLD})
        frame.iloc[:-1].to_csv(path, index=False)
        with pytest.raises(RunFolderError, match=r"made for other data: .*1 id\(s\) of train.csv are missing"
                                                 r".*Use another --output"):
            run.read_folds(competition, 3)
        frame.iloc[::-1].to_csv(path, index=False)
        with pytest.raises(RunFolderError, match="made for other data: .*another order"):
            run.read_folds(competition, 3)
        run.write_folds(competition, FOLD)
        with pytest.raises(RunFolderError, match=r"folds.n_splits=5 needs exactly 0..4; use another --output"):
            run.read_folds(competition, 5)
        frame.rename(columns={"fold": "k"}).to_csv(path, index=False)
        with pytest.raises(RunFolderError, match=r"expected \['id', 'fold'\]\); re-run the folds step"):
            run.read_folds(competition, 3)
        frame.assign(fold=frame["fold"].astype(str).replace("2", "two")).to_csv(path, index=False)
        with pytest.raises(RunFolderError, match="needs exactly 0..2"):
            run.read_folds(competition, 3)


# ----------------------------------------------------------------------------------------- model probabilities

def probabilities(seed, n_folds=3):
    """Awkward float64 probabilities (full-precision values, 0 and 1 included) of the shapes a model writes."""
    rng = np.random.default_rng(seed)

    def proba(*shape):
        p = rng.random(shape)
        p = np.concatenate([p, 1 - p], axis=-1)
        return p

    oof = proba(N_TRAIN, 1)
    oof[0] = [0.0, 1.0]
    oof[1] = [1 / 3, 2 / 3]
    per_fold = proba(n_folds, N_TEST, 1)
    per_fold[0, 0] = [1e-300, 1 - 1e-16]
    return oof, per_fold, per_fold.mean(axis=0)


@pytest.mark.parametrize("model", ["baseline", "transformer", "blend"])
def test_probabilities_round_trip_exactly(competition, open_run, model):
    oof, per_fold, test = probabilities(0)
    with open_run() as run:
        assert not run.has_probabilities(model)
        run.write_probabilities(model, competition, FOLD, oof, per_fold, test)
        assert run.has_probabilities(model)
        assert all((run.path / name).is_file() for name in probability_files(model).values())
        read_oof, read_fold = run.read_oof(model, competition)
        read_test, read_per_fold = run.read_test(model, competition), run.read_test_per_fold(model, competition)
        oof_file = pd.read_csv(run.path / probability_files(model)["oof"], dtype=str)
    assert read_oof.dtype == read_test.dtype == read_per_fold.dtype == np.float64
    assert read_oof.tobytes() == oof.tobytes() and read_test.tobytes() == test.tobytes()
    assert read_per_fold.shape == (3, N_TEST, 2) and read_per_fold.tobytes() == per_fold.tobytes()
    assert read_fold.dtype == np.int64 and read_fold.tolist() == FOLD.tolist()
    assert list(oof_file.columns) == ["id", "fold", "label", "proba_ham", "proba_spam"]
    assert oof_file["id"].tolist() == competition.train_ids.tolist()  # '000', not 0


def test_missing_probabilities_name_the_step_that_writes_them(competition, open_run):
    with open_run() as run:
        for model, step in [("baseline", "baseline"), ("transformer", "predict"), ("blend", "decide")]:
            with pytest.raises(RunFolderError, match=f"is missing; run the {step} step"):
                run.read_oof(model, competition)


def spoil_reversed(frame):
    return frame.iloc[::-1]


def spoil_missing_row(frame):
    return frame.iloc[:-1]


def spoil_swapped_folds(frame):
    return frame.assign(fold=frame["fold"].map({"0": "1", "1": "0", "2": "2"}))


def spoil_probability(frame):
    frame = frame.copy()
    frame.loc[frame.index[2], "proba_spam"] = "1.5"
    return frame


def spoil_column(frame):
    return frame.drop(columns=["proba_spam"])


def spoil_nan(frame):
    frame = frame.copy()
    frame.loc[frame.index[0], "proba_ham"] = ""
    return frame


SPOILERS = [spoil_reversed, spoil_missing_row, spoil_swapped_folds, spoil_probability, spoil_column, spoil_nan]


@pytest.mark.parametrize("spoil", SPOILERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("model, step", [("baseline", "baseline"), ("transformer", "predict")])
def test_a_spoiled_per_fold_file_is_refused_naming_the_step(competition, open_run, spoil, model, step):
    oof, per_fold, test = probabilities(1)
    with open_run() as run:
        run.write_probabilities(model, competition, FOLD, oof, per_fold, test)
        path = run.path / probability_files(model)["test_per_fold"]
        spoil(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)
        with pytest.raises(RunFolderError, match=rf"{path.name} does not fit .*re-run the {step} step"):
            run.read_test_per_fold(model, competition)


@pytest.mark.parametrize("spoil", [spoil_reversed, spoil_missing_row, spoil_probability, spoil_column, spoil_nan],
                         ids=lambda f: f.__name__)
@pytest.mark.parametrize("which", ["oof", "test"])
def test_spoiled_oof_and_test_files_are_refused_naming_the_step(competition, open_run, spoil, which):
    oof, per_fold, test = probabilities(2)
    with open_run() as run:
        run.write_probabilities("baseline", competition, FOLD, oof, per_fold, test)
        path = run.path / probability_files("baseline")[which]
        spoil(pd.read_csv(path, dtype=str, keep_default_na=False)).to_csv(path, index=False)
        with pytest.raises(RunFolderError, match=rf"{path.name} does not fit .*re-run the baseline step"):
            (run.read_oof if which == "oof" else run.read_test)("baseline", competition)


def test_oof_with_other_labels_is_refused(competition, open_run):
    oof, per_fold, test = probabilities(3)
    with open_run() as run:
        run.write_probabilities("baseline", competition, FOLD, oof, per_fold, test)
        path = run.path / "baseline_oof.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.assign(label=frame["label"].replace({"spam": "ham"})).to_csv(path, index=False)
        with pytest.raises(RunFolderError, match="labels differ from train.csv's"):
            run.read_oof("baseline", competition)


# --------------------------------------------------------------------------------------------- decisions

def test_decisions_round_trip(competition, open_run):
    rules = {"baseline": ThresholdRule("f1_macro", 0.75, "spam", 0.375), "transformer": ArgmaxRule(),
             "blend": ClassOffsetsRule("mcc", 0.5, (0.0, -1.25))}
    with open_run() as run:
        assert not run.has_decisions()
        run.write_decisions(rules)
        assert run.read_decisions(competition) == rules


@pytest.mark.parametrize("content", [
    "{not json",
    "[]",
    '{"baseline": {"kind": "argmax"}, "svm": {"kind": "argmax"}}',
    '{"baseline": {"kind": "vote"}}',
    '{"baseline": "argmax"}',
    '{"baseline": {"kind": "threshold", "positive_class": "eggs", "threshold": 0.5}}',
    '{"baseline": {"kind": "threshold", "positive_class": "spam", "threshold": 1.5}}',
    '{"baseline": {"kind": "class_offsets", "offsets": [0.0]}}',
    '{"baseline": {"kind": "class_offsets", "offsets": [0.0, "x"]}}',
    '{"baseline": {"kind": "class_offsets", "offsets": [0.0, null]}}',
])
def test_malformed_decisions_are_refused_naming_the_step(competition, open_run, content):
    with open_run() as run:
        (run.path / "decision.json").write_text(content)
        with pytest.raises(RunFolderError, match="decision.json does not fit .*re-run the decide step"):
            run.read_decisions(competition)


def test_missing_decisions_name_the_step(competition, open_run):
    with open_run() as run, pytest.raises(RunFolderError, match="decision.json is missing; run the decide step"):
        run.read_decisions(competition)


@pytest.mark.parametrize("content", ['{"baseline": {"kind": ["argmax"]}}',
                                     '{"baseline": {"kind": "class_offsets", "offsets": {"ham": 0}}}',
                                     '{"baseline": {"kind": "class_offsets", "offsets": [true, 0]}}',
                                     '{"baseline": {"kind": "threshold", "positive_class": "spam", "threshold": true}}'])
def test_malformed_decisions_of_other_types_are_refused_naming_the_step(competition, open_run, content):
    with open_run() as run:
        (run.path / "decision.json").write_text(content)
        with pytest.raises(RunFolderError, match="decision.json does not fit .*re-run the decide step"):
            run.read_decisions(competition)
