"""``check_sampling_strategy`` against imbalanced-learn's on random label sets, errors included."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from imblearn.utils import check_sampling_strategy as reference_check

from imbalance_xfmr.sampling import check_sampling_strategy
from imbalance_xfmr.sampling._strategy import summarize_target

SAMPLING_TYPES = ["over-sampling", "under-sampling", "clean-sampling"]
NAMES = ["auto", "minority", "majority", "not minority", "not majority", "all", "bogus"]


@st.composite
def label_arrays(draw, min_classes=1, max_classes=5):
    """A label array with random class sizes; labels are ints (possibly negative/sparse), strings or floats."""
    n_classes = draw(st.integers(min_classes, max_classes))
    sizes = draw(st.lists(st.integers(1, 30), min_size=n_classes, max_size=n_classes))
    kind = draw(st.sampled_from(["int", "wide-int", "str", "float"]))
    values = {
        "int": list(range(n_classes)),
        "wide-int": draw(st.lists(st.integers(-(10**9), 10**9), min_size=n_classes, max_size=n_classes, unique=True)),
        "str": [f"class_{i}" for i in range(n_classes)],
        "float": [float(i) for i in range(n_classes)],
    }[kind]
    y = np.repeat(np.asarray(values), sizes)
    return y[np.random.RandomState(draw(st.integers(0, 1000))).permutation(len(y))]


def outcome(function, *args):
    """(kind, value): the resolved dict, or the exception type raised."""
    try:
        return "ok", dict(function(*args))
    except (ValueError, TypeError, NotImplementedError) as exc:
        return "error", type(exc)


def assert_same_as_reference(strategy, y, sampling_type):
    ours = outcome(check_sampling_strategy, strategy, y, sampling_type)
    reference = outcome(reference_check, strategy, y, sampling_type)
    assert ours == reference
    if ours[0] == "ok":
        # Same order too (sorted by class), as both return an OrderedDict.
        assert list(check_sampling_strategy(strategy, y, sampling_type)) == list(reference[1])


@given(y=label_arrays(), name=st.sampled_from(NAMES), sampling_type=st.sampled_from(SAMPLING_TYPES))
def test_named_strategies_match_reference(y, name, sampling_type):
    assert_same_as_reference(name, y, sampling_type)


@given(
    y=label_arrays(min_classes=1, max_classes=3),
    ratio=st.one_of(st.floats(0.01, 1.0), st.sampled_from([0.0, -0.5, 1.5, 1])),
    sampling_type=st.sampled_from(SAMPLING_TYPES),
)
def test_float_strategy_matches_reference(y, ratio, sampling_type):
    assert_same_as_reference(ratio, y, sampling_type)


@given(y=label_arrays(), data=st.data(), sampling_type=st.sampled_from(SAMPLING_TYPES))
def test_dict_strategy_matches_reference(y, data, sampling_type):
    counts = Counter(y.tolist())
    classes = data.draw(st.lists(st.sampled_from(sorted(counts)), unique=True))
    # Targets around each class count, so both the valid and the too-many/too-few errors occur.
    strategy = {label: data.draw(st.integers(-1, 2 * counts[label])) for label in classes}
    if data.draw(st.booleans()):
        strategy["not a class"] = 3
    assert_same_as_reference(strategy, y, sampling_type)


@given(y=label_arrays(), data=st.data(), sampling_type=st.sampled_from(SAMPLING_TYPES))
def test_list_strategy_matches_reference(y, data, sampling_type):
    classes = data.draw(st.lists(st.sampled_from(sorted(set(y.tolist())) + ["absent"]), unique=True))
    assert_same_as_reference(classes, y, sampling_type)


@given(y=label_arrays(min_classes=2), sampling_type=st.sampled_from(SAMPLING_TYPES))
def test_callable_strategy_matches_reference(y, sampling_type):
    def double_the_smallest(labels):
        counts = Counter(labels.tolist())
        smallest = min(counts, key=counts.get)
        return {smallest: 2 * counts[smallest]}

    assert_same_as_reference(double_the_smallest, y, sampling_type)


def test_callable_receives_keyword_arguments():
    y = np.array([0] * 5 + [1] * 20)
    strategy = check_sampling_strategy(lambda labels, n: {0: n}, y, "over-sampling", n=12)
    assert strategy == reference_check(lambda labels, n: {0: n}, y, "over-sampling", n=12) == {0: 7}


@pytest.mark.parametrize("sampling_type", SAMPLING_TYPES)
def test_single_class_is_rejected(sampling_type):
    with pytest.raises(ValueError, match="more than 1 class"):
        check_sampling_strategy("auto", np.zeros(10), sampling_type)


def test_unknown_sampling_type_is_rejected():
    with pytest.raises(ValueError, match="sampling_type"):
        check_sampling_strategy("auto", np.array([0, 1, 1]), "upside-down-sampling")


def test_ensemble_and_bypass_pass_the_strategy_through():
    y = np.array([0, 1, 1])
    assert check_sampling_strategy("anything", y, "bypass") == "anything"
    assert check_sampling_strategy(0.3, y, "ensemble") == 0.3


def test_unsupported_strategy_type_gets_a_clear_error():
    # imbalanced-learn silently returns None here; we say what was wrong.
    with pytest.raises(TypeError, match="must be a float, a str, a dict, a list or a callable"):
        check_sampling_strategy((0, 1), np.array([0, 1, 1]), "under-sampling")


@given(y=label_arrays(max_classes=8))
def test_target_summary_matches_numpy_unique(y):
    summary = summarize_target(y)
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(summary.classes, classes)
    assert summary.classes.dtype == classes.dtype
    np.testing.assert_array_equal(summary.codes, codes)
    np.testing.assert_array_equal(summary.counts, counts)
    for label, rows in zip(classes, summary.indices_by_class()):
        np.testing.assert_array_equal(rows, np.flatnonzero(y == label))


def test_target_summary_of_many_classes_groups_rows_by_class():
    y = np.random.RandomState(0).randint(0, 300, size=5000).astype(np.int16)
    summary = summarize_target(y)
    for label, rows in zip(summary.classes, summary.indices_by_class()):
        np.testing.assert_array_equal(rows, np.flatnonzero(y == label))


@given(
    dtype=st.sampled_from([np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64]),
    data=st.data(),
)
def test_target_summary_handles_every_integer_dtype(dtype, data):
    info = np.iinfo(dtype) if dtype is not np.bool_ else None
    low, high = (0, 1) if info is None else (int(info.min), int(info.max))
    # Labels near both ends of the dtype's range, where a careless offset would overflow.
    anchor = data.draw(st.sampled_from([low, high - 3 if high > 3 else low]))
    values = data.draw(st.lists(st.integers(anchor, min(anchor + 3, high)), min_size=1, max_size=40))
    y = np.array(values).astype(dtype)
    summary = summarize_target(y)
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    assert summary.classes.dtype == classes.dtype
    np.testing.assert_array_equal(summary.classes, classes)
    np.testing.assert_array_equal(summary.codes, codes)
    np.testing.assert_array_equal(summary.counts, counts)
