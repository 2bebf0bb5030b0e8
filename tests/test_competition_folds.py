"""Fixed stratified folds: the split scikit-learn makes, saved byte-identically in the run folder, reused, and the
config checks of n_splits and the group column (competition.validate)."""

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from competition.config import DataConfig, FoldsConfig, PipelineConfig, SubmissionConfig, TransformerConfig
from competition.context import Context
from competition.data import Competition, load_competition
from competition.folds import make_folds, step_folds
from competition.runner import run_steps
from competition.run_folder import RunFolder, RunFolderError
from competition.plan import make_plan
from competition.validate import ConfigError, check_config


def competition_from(labels, groups=None, tmp_path: Path | None = None) -> Competition:
    """A competition with the given train labels (and group column), written to disk when tmp_path is given."""
    n = len(labels)
    train = pd.DataFrame({"id": [f"r{i:04d}" for i in range(n)], "text": [f"text {i}" for i in range(n)],
                          "label": labels})
    if groups is not None:
        train["group"] = groups
    test = pd.DataFrame({"id": ["t0", "t1"], "text": ["a", "b"]})
    sample = pd.DataFrame({"id": ["t0", "t1"], "label": [labels[0]] * 2})
    folder = tmp_path or Path("/nonexistent")
    if tmp_path is not None:
        for name, frame in [("train.csv", train), ("test.csv", test), ("sample_submission.csv", sample)]:
            frame.to_csv(folder / name, index=False)
        return load_competition(folder)
    train = train.astype(str)
    return Competition(folder, train, test, sample, np.unique(train["label"]).astype(object))


def config_for(tmp_path: Path, **folds) -> PipelineConfig:
    """A baseline-only config of the competition in ``tmp_path``, run folder ``tmp_path/run``."""
    return PipelineConfig(data=DataConfig(dir=str(tmp_path)), output=str(tmp_path / "run"),
                          folds=FoldsConfig(**folds), transformer=TransformerConfig(enabled=False),
                          submission=SubmissionConfig(source="baseline"))


def open_context(config: PipelineConfig, competition: Competition, command: str = "folds") -> Context:
    """What ``python -m competition`` does before a step: check, plan, open the run folder."""
    resolved = make_plan(config)[1]
    run = RunFolder.open(config.output, dataclasses.asdict(config), resolved.data_files, resolved.pins,
                         command=command)
    return Context(config, competition, resolved, run)


LABELS = ["spam"] * 7 + ["ham"] * 53


# ------------------------------------------------------------------------------------------------ the split

@given(counts=st.lists(st.integers(3, 20), min_size=2, max_size=4), n_splits=st.integers(2, 3),
       seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_folds_are_sklearns_stratified_split(counts, n_splits, seed):
    labels = np.repeat([f"c{k}" for k in range(len(counts))], counts)
    np.random.default_rng(seed).shuffle(labels)
    fold = make_folds(competition_from(labels.tolist()).train_labels, n_splits, seed)
    assert fold.shape == (len(labels),) and fold.dtype == np.int64
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assert np.flatnonzero(fold == k).tolist() == valid.tolist()
    # Stratified: each class is spread over the folds as evenly as possible.
    per_fold = pd.crosstab(fold, labels).to_numpy()
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all()


def test_group_column_keeps_groups_together_like_sklearn():
    labels = (["spam"] * 2 + ["ham"] * 8) * 6
    groups = [f"g{i // 3}" for i in range(60)]
    fold = make_folds((grouped := competition_from(labels, groups)).train_labels, 3, seed=4, groups=grouped.groups("group"))
    assert fold.dtype == np.int64 and set(fold.tolist()) == {0, 1, 2}
    assert pd.Series(fold).groupby(groups).nunique().max() == 1
    splitter = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=4)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(60), labels, groups)):
        assert np.flatnonzero(fold == k).tolist() == valid.tolist()


# -------------------------------------------------------------------------------- the checks (competition.plan)

def test_group_column_errors_name_the_key(tmp_path):
    competition_from(LABELS, ["a", "b"] * 30, tmp_path=tmp_path)
    with pytest.raises(ConfigError, match=r"folds.group_column 'grp' is not a column of train.csv; its columns are "
                                          r"\['id', 'text', 'label', 'group'\]"):
        make_plan(config_for(tmp_path, n_splits=3, group_column="grp"))[1]
    with pytest.raises(ConfigError, match=r"2 distinct 'group' groups, fewer than folds.n_splits=3; set "
                                          r"folds.n_splits to at most 2"):
        make_plan(config_for(tmp_path, n_splits=3, group_column="group"))[1]
    make_plan(config_for(tmp_path, n_splits=2, group_column="group"))[1]  # what the message says works


def test_empty_group_values_are_refused(tmp_path):
    competition_from(LABELS, [""] + ["a", "b", "c"] * 19 + ["a", "b"], tmp_path=tmp_path)
    with pytest.raises(ConfigError, match="folds.group_column 'group' has empty or NaN values in train.csv: fill them in"):
        make_plan(config_for(tmp_path, n_splits=3, group_column="group"))[1]


def test_n_splits_larger_than_the_smallest_class_names_the_key_and_the_limit(tmp_path):
    competition_from(LABELS, tmp_path=tmp_path)
    with pytest.raises(ConfigError, match=r"folds.n_splits=8, but train.csv has fewer rows than that for "
                                          r"class\(es\) 'spam' \(7\): every fold must hold every class; set "
                                          r"folds.n_splits to at most 7"):
        make_plan(config_for(tmp_path, n_splits=8))[1]
    resolved = make_plan(config_for(tmp_path, n_splits=7))[1]
    assert resolved.pins["folds"]["folds"] == {"n_splits": 7, "seed": 0, "group_column": None}


def test_n_splits_below_two_is_refused_before_the_data_is_read(tmp_path):
    with pytest.raises(ConfigError, match="folds.n_splits must be an integer >= 2, got 1"):
        check_config(config_for(tmp_path, n_splits=1))


def test_every_fold_problem_is_reported_at_once(tmp_path):
    competition_from(LABELS, ["a", "b"] * 30, tmp_path=tmp_path)
    with pytest.raises(ConfigError) as refused:
        make_plan(config_for(tmp_path, n_splits=8, group_column="group"))[1]
    message = str(refused.value)
    assert "set folds.n_splits to at most 7" in message and "set folds.n_splits to at most 2" in message


def test_the_fold_seed_defaults_to_the_top_level_seed(tmp_path):
    competition_from(LABELS, tmp_path=tmp_path)
    config = config_for(tmp_path, n_splits=3)
    config.seed = 9
    assert make_plan(config)[1].fold_seed == 9
    assert make_plan(config_for(tmp_path, n_splits=3, seed=4))[1].fold_seed == 4


# ------------------------------------------------------------------------------ saved in and read from the run

def test_reruns_write_byte_identical_files_and_the_seed_matters(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    written = []
    for name, seed, data in [("a", 11, competition), ("b", 11, load_competition(tmp_path)), ("c", 12, competition)]:
        with RunFolder.open(tmp_path / name, {}, {}, {}, command="folds") as run:
            run.write_folds(data, make_folds(data.train_labels, 5, seed))
            written.append((run.path / "folds.csv").read_bytes())
    assert written[0] == written[1] != written[2]
    assert written[0].decode().splitlines()[:2] == ["id,fold", f"r0000,{make_folds(competition.train_labels, 5, 11)[0]}"]


def test_the_folds_step_makes_pins_and_writes_them_once_then_they_are_reused(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    config = config_for(tmp_path, n_splits=3)
    ctx = open_context(config, competition)
    with ctx.run:
        run_steps(ctx, ["folds"])
        made = ctx.folds()
        assert ctx.run.manifest["pins"]["folds"] == ctx.plan.pins["folds"]
    assert made.tolist() == make_folds(competition.train_labels, 3, 0).tolist()
    path = tmp_path / "run" / "folds.csv"
    edited = (made + 1) % 3  # another valid split, as if made with another seed
    pd.DataFrame({"id": competition.train_ids, "fold": edited}).to_csv(path, index=False)
    ctx = open_context(config, competition, command="baseline")
    with ctx.run:
        run_steps(ctx, ["folds"])  # checks them, does not make them again
        assert ctx.folds().tolist() == edited.tolist()
        assert ctx.run.read_folds(competition, 3).tolist() == edited.tolist()


def test_saved_folds_for_other_data_are_refused(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    ctx = open_context(config_for(tmp_path, n_splits=3), competition)
    with ctx.run:
        step_folds(ctx)
        fold = ctx.folds()
        path = ctx.run.path / "folds.csv"
        frame = pd.DataFrame({"id": competition.train_ids, "fold": fold})
        frame.iloc[:-1].to_csv(path, index=False)
        with pytest.raises(RunFolderError, match=r"made for other data: .* 1 id\(s\) of train.csv are missing"):
            ctx.folds()
        frame.iloc[::-1].to_csv(path, index=False)
        with pytest.raises(RunFolderError, match="another order"):
            ctx.folds()


def test_another_n_splits_into_the_same_folder_is_refused_by_the_pin(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    with open_context(config_for(tmp_path, n_splits=3), competition).run as run:
        run.pin("folds")
        run.write_folds(competition, make_folds(competition.train_labels, 3))
    with pytest.raises(RunFolderError, match=r"folds: folds.n_splits: 3 -> 5(.|\n)*--overwrite"):
        open_context(config_for(tmp_path, n_splits=5), competition)
