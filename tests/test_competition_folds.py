"""Fixed stratified folds: the split scikit-learn makes, saved byte-identically, reused, and checked on reuse."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from competition.data import Competition, CompetitionDataError, load_competition
from competition.folds import load_or_make_folds, make_folds, read_folds


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


LABELS = ["spam"] * 7 + ["ham"] * 53


@given(counts=st.lists(st.integers(3, 20), min_size=2, max_size=4), n_splits=st.integers(2, 3),
       seed=st.integers(0, 2**31 - 1))
@settings(max_examples=30)
def test_folds_are_sklearns_stratified_split(counts, n_splits, seed):
    labels = np.repeat([f"c{k}" for k in range(len(counts))], counts)
    np.random.default_rng(seed).shuffle(labels)
    folds = make_folds(competition_from(labels.tolist()), n_splits, seed)
    assert folds["id"].tolist() == [f"r{i:04d}" for i in range(len(labels))]
    assert folds["fold"].dtype == np.int64
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(len(labels)), labels)):
        assert np.flatnonzero(folds["fold"].to_numpy() == k).tolist() == valid.tolist()
    # Stratified: each class is spread over the folds as evenly as possible.
    per_fold = pd.crosstab(folds["fold"], labels).to_numpy()
    assert (per_fold.max(axis=0) - per_fold.min(axis=0) <= 1).all()


def test_group_column_keeps_groups_together_like_sklearn():
    labels = (["spam"] * 2 + ["ham"] * 8) * 6
    groups = [f"g{i // 3}" for i in range(60)]
    folds = make_folds(competition_from(labels, groups), 3, seed=4, group_column="group")
    fold = folds["fold"].to_numpy()
    assert pd.Series(fold).groupby(groups).nunique().max() == 1
    splitter = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=4)
    for k, (_, valid) in enumerate(splitter.split(np.zeros(60), labels, groups)):
        assert np.flatnonzero(fold == k).tolist() == valid.tolist()


def test_group_column_errors():
    with pytest.raises(CompetitionDataError, match="'grp' is not a column of train.csv; its columns are"):
        make_folds(competition_from(LABELS), 3, group_column="grp")
    with pytest.raises(CompetitionDataError, match="2 distinct 'group' groups, fewer than folds.n_splits=3"):
        make_folds(competition_from(LABELS, ["a", "b"] * 30), 3, group_column="group")
    with pytest.raises(CompetitionDataError, match="empty or NaN values in the group column"):
        make_folds(competition_from(LABELS, [""] + ["a", "b", "c"] * 19 + ["a", "b"]), 3, group_column="group")


def test_bad_n_splits():
    with pytest.raises(ValueError, match="at least 2"):
        make_folds(competition_from(LABELS), 1)
    with pytest.raises(CompetitionDataError, match=r"class\(es\) 'spam' \(7\): every fold must hold every class"):
        make_folds(competition_from(LABELS), 8)


def test_reruns_write_byte_identical_files_and_the_seed_matters(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    paths = [tmp_path / name for name in ("a.csv", "b.csv", "c.csv")]
    load_or_make_folds(paths[0], competition, 5, seed=11)
    load_or_make_folds(paths[1], load_competition(tmp_path), 5, seed=11)
    load_or_make_folds(paths[2], competition, 5, seed=12)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    assert paths[0].read_text().splitlines()[0] == "id,fold"


def test_saved_folds_are_reused_not_remade(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    path = tmp_path / "folds.csv"
    made = load_or_make_folds(path, competition, 3, seed=0)
    edited = made.assign(fold=(made["fold"] + 1) % 3)  # another valid split, as if made with another seed
    edited.to_csv(path, index=False)
    reused = load_or_make_folds(path, competition, 3, seed=0)
    pd.testing.assert_frame_equal(reused, edited)
    pd.testing.assert_frame_equal(read_folds(path, competition, 3), edited)


def test_saved_folds_for_other_data_are_refused(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    path = tmp_path / "folds.csv"
    folds = make_folds(competition, 3)
    folds.iloc[:-1].to_csv(path, index=False)
    with pytest.raises(CompetitionDataError, match="made for other data: .* 1 id\\(s\\) of train.csv are missing"):
        load_or_make_folds(path, competition, 3)
    folds.iloc[::-1].to_csv(path, index=False)
    with pytest.raises(CompetitionDataError, match="another order"):
        read_folds(path, competition, 3)


def test_saved_folds_with_other_fold_numbers_or_columns_are_refused(tmp_path):
    competition = competition_from(LABELS, tmp_path=tmp_path)
    path = tmp_path / "folds.csv"
    make_folds(competition, 3).to_csv(path, index=False)
    with pytest.raises(CompetitionDataError, match=r"folds.n_splits=5 needs exactly 0..4"):
        read_folds(path, competition, 5)
    make_folds(competition, 3).rename(columns={"fold": "k"}).to_csv(path, index=False)
    with pytest.raises(CompetitionDataError, match=r"expected \['id', 'fold'\]"):
        read_folds(path, competition, 3)
