"""Loading and validating a competition folder, and validating a submission: every error, with its message."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.data import CompetitionDataError, compare_ids, load_competition, validate_submission

TRAIN = pd.DataFrame({"id": ["007", "b", "c", "d", "e", "f"],
                      "text": ["free prize now", "see you at 6", "call me", "win cash", "lunch?", "ok"],
                      "label": ["spam", "ham", "ham", "spam", "ham", "ham"]})
TEST = pd.DataFrame({"id": ["t1", "t2", "t3"], "text": ["you won", "on my way", "hi"]})
SAMPLE = pd.DataFrame({"id": ["t1", "t2", "t3"], "label": ["ham", "ham", "ham"]})


def write(folder: Path, train=TRAIN, test=TEST, sample=SAMPLE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in [("train.csv", train), ("test.csv", test), ("sample_submission.csv", sample)]:
        if frame is not None:
            frame.to_csv(folder / name, index=False)
    return folder


def problem(folder: Path, **kwargs) -> str:
    with pytest.raises(CompetitionDataError) as info:
        load_competition(folder, **kwargs)
    return str(info.value)


def test_valid_folder_loads_with_string_ids_and_sorted_classes(tmp_path):
    competition = load_competition(write(tmp_path))
    assert competition.classes.tolist() == ["ham", "spam"]
    assert competition.train["id"].tolist()[0] == "007"  # read as text: no int conversion
    assert competition.train_texts.shape == (6,) and competition.test_texts.tolist() == TEST["text"].tolist()
    assert competition.train_labels.tolist() == TRAIN["label"].tolist()
    assert set(competition.files) == {"train.csv", "test.csv", "sample_submission.csv"}


def test_configurable_column_names(tmp_path):
    rename = {"id": "row", "text": "message", "label": "target"}
    folder = write(tmp_path, TRAIN.rename(columns=rename), TEST.rename(columns=rename), SAMPLE.rename(columns=rename))
    competition = load_competition(folder, id_column="row", text_column="message", label_column="target")
    assert competition.train_labels.tolist() == TRAIN["label"].tolist()
    assert "'id'" in problem(folder)  # the defaults do not fit these files


def test_not_a_folder(tmp_path):
    assert "is not a folder" in problem(tmp_path / "nowhere")


def test_missing_files_are_named(tmp_path):
    folder = write(tmp_path, test=None, sample=None)
    message = problem(folder)
    assert "test.csv" in message and "sample_submission.csv" in message and "train.csv']" in message


def test_unreadable_csv(tmp_path):
    folder = write(tmp_path)
    (folder / "test.csv").write_text("")
    assert "not a readable CSV" in problem(folder)


@pytest.mark.parametrize("name, frame, column", [("train.csv", TRAIN.drop(columns="label"), "label"),
                                                 ("train.csv", TRAIN.drop(columns="text"), "text"),
                                                 ("test.csv", TEST.drop(columns="text"), "text"),
                                                 ("sample_submission.csv", SAMPLE.drop(columns="id"), "id")])
def test_missing_columns_are_named_with_the_columns_that_exist(tmp_path, name, frame, column):
    folder = write(tmp_path)
    frame.to_csv(folder / name, index=False)
    message = problem(folder)
    assert f"{name} has no column '{column}'" in message and f"its columns are {list(frame.columns)}" in message


@pytest.mark.parametrize("name", ["train", "test", "sample"])
def test_duplicate_ids(tmp_path, name):
    frames = {"train": TRAIN.copy(), "test": TEST.copy(), "sample": SAMPLE.copy()}
    frames[name].loc[1, "id"] = frames[name].loc[0, "id"]
    if name != "train":  # keep test and sample ids equal so only the duplicate is wrong
        frames["test"]["id"] = frames[name]["id"]
        frames["sample"]["id"] = frames[name]["id"]
    message = problem(write(tmp_path, **frames))
    assert "1 duplicate id(s)" in message and repr(frames[name].loc[0, "id"]) in message


def test_empty_test_set(tmp_path):
    message = problem(write(tmp_path, test=TEST.iloc[:0], sample=SAMPLE.iloc[:0]))
    assert "test.csv has no rows" in message


def test_test_ids_not_in_sample_submission(tmp_path):
    sample = SAMPLE.assign(id=["t1", "t2", "x9"])
    message = problem(write(tmp_path, sample=sample))
    assert "1 id(s) of test.csv are not in sample_submission.csv: 't3'" in message
    assert "1 id(s) of sample_submission.csv are missing from test.csv: 'x9'" in message


def test_test_ids_in_another_order(tmp_path):
    message = problem(write(tmp_path, sample=SAMPLE.iloc[[0, 2, 1]]))
    assert "another order: 2 row(s) differ, first at row 1 ('t2' vs 't3')" in message


@pytest.mark.parametrize("value", ["", "  "])
def test_empty_texts_and_labels(tmp_path, value):
    train = TRAIN.copy()
    train.loc[2, "text"] = value
    train.loc[3, "label"] = value
    test = TEST.copy()
    test.loc[0, "text"] = value
    message = problem(write(tmp_path, train=train, test=test))
    assert "train.csv has 1 empty text(s) ('text'), at ids 'c'" in message
    assert "test.csv has 1 empty text(s) ('text'), at ids 't1'" in message
    assert "train.csv has 1 empty or NaN label(s) ('label'), at ids 'd'" in message


def test_single_class(tmp_path):
    assert "a single class 'ham'" in problem(write(tmp_path, train=TRAIN.assign(label="ham")))


def test_sample_submission_labels_unknown_to_train(tmp_path):
    message = problem(write(tmp_path, sample=SAMPLE.assign(label=["ham", "junk", "ham"])))
    assert "label(s) 'junk' that train.csv never uses" in message


def test_all_problems_reported_at_once(tmp_path):
    train = TRAIN.copy()
    train.loc[1, "id"] = train.loc[0, "id"]
    message = problem(write(tmp_path, train=train, sample=SAMPLE.iloc[[1, 0, 2]]))
    assert "duplicate id" in message and "another order" in message


def test_probability_sample_submission(tmp_path):
    per_class = SAMPLE[["id"]].assign(ham=0.5, spam=0.5)
    assert load_competition(write(tmp_path, sample=per_class), submission_kind="probabilities").classes.size == 2
    single = SAMPLE[["id"]].assign(label=0.5)
    load_competition(write(tmp_path, sample=single), submission_kind="probabilities")
    assert "probability columns ['ham', 'junk']" in problem(
        write(tmp_path, sample=SAMPLE[["id"]].assign(ham=0.5, junk=0.5)), submission_kind="probabilities")
    assert "non-numeric values" in problem(write(tmp_path, sample=SAMPLE), submission_kind="probabilities")
    assert "needs exactly ['label']" in problem(write(tmp_path, sample=per_class), submission_kind="labels")
    three_classes = TRAIN.assign(label=["a", "b", "c", "a", "b", "c"])
    assert "needs one column per class" in problem(write(tmp_path, train=three_classes, sample=single),
                                                   submission_kind="probabilities")


# ----------------------------------------------------------------------------------------------------------------
# compare_ids: the id check behind test/sample and submission/sample, against plain list equality.

@given(st.lists(st.sampled_from("abcde"), max_size=6), st.lists(st.sampled_from("abcde"), max_size=6))
def test_compare_ids_is_empty_exactly_when_the_id_lists_are_equal(ids, expected):
    problems = compare_ids(pd.Series(ids, dtype=object), pd.Series(expected, dtype=object), "a", "b")
    assert (problems == []) == (ids == expected)


# ----------------------------------------------------------------------------------------------------------------
# validate_submission

def submission_error(submission, kind="labels", classes=("ham", "spam"), sample=SAMPLE) -> str:
    with pytest.raises(CompetitionDataError) as info:
        validate_submission(submission, sample, np.array(classes, dtype=object), kind)
    return str(info.value)


def test_valid_submissions_pass():
    validate_submission(SAMPLE.assign(label=["spam", "ham", "ham"]), SAMPLE, ["ham", "spam"], "labels")
    probabilities = SAMPLE[["id"]].assign(ham=[0.0, 0.3, 1.0], spam=[1.0, 0.7, 0.0])
    validate_submission(probabilities, probabilities, ["ham", "spam"], "probabilities")


def test_submission_columns_must_match():
    message = submission_error(SAMPLE.rename(columns={"label": "target"}))
    assert "columns ['id', 'target'] differ from sample_submission's ['id', 'label']" in message
    assert "differ" in submission_error(SAMPLE[["label", "id"]])


def test_submission_ids_same_set_and_order():
    assert "not in sample_submission.csv: 'zz'" in submission_error(SAMPLE.assign(id=["t1", "t2", "zz"]))
    assert "another order" in submission_error(SAMPLE.iloc[[2, 1, 0]])
    assert "3 ids and sample_submission.csv 2" in submission_error(SAMPLE, sample=SAMPLE.iloc[:2])


def test_submission_labels_must_be_classes():
    assert "label(s) 'junk' that are not classes" in submission_error(SAMPLE.assign(label=["junk", "ham", "ham"]))


def test_submission_missing_values():
    assert "1 missing value(s)" in submission_error(SAMPLE.assign(label=["ham", None, "ham"]))


@pytest.mark.parametrize("bad", [1.5, -0.1, np.inf, "high"])
def test_submission_probabilities_in_unit_interval(bad):
    probabilities = SAMPLE[["id"]].assign(ham=[0.5, 0.5, 0.5], spam=[0.5, 0.5, 0.5]).astype(object)
    submission = probabilities.copy()
    submission.loc[1, "spam"] = bad
    assert "1 value(s) that are not probabilities" in submission_error(submission, "probabilities",
                                                                        sample=probabilities)


def test_submission_kind_must_be_known():
    with pytest.raises(ValueError, match="kind must be"):
        validate_submission(SAMPLE, SAMPLE, ["ham"], "label")
