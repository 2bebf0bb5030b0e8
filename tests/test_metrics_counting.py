"""The chunked joint histogram behind every confusion-matrix metric (``_validation._direct_counts`` for integers
and bools spanning few values, ``_mapped_counts`` for factorised labels), at its chunk boundaries.

The chunk size is injected small (``_COUNT_CHUNK``), so that n smaller than, equal to and just above one chunk, and
many chunks, are all reached on tiny inputs; results are compared with scikit-learn's ``confusion_matrix`` (same
counts, same int64 dtype) and with a plain ``np.add.at`` count.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given
from hypothesis import strategies as st

import imbalance_xfmr.metrics as ours
import imbalance_xfmr.metrics._validation as validation

CHUNK = 8

pytestmark = pytest.mark.filterwarnings("ignore:A single label was found")


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(validation, "_COUNT_CHUNK", CHUNK)


def _plain_counts(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """counts[t - low, p - low] with plain Python integers (any dtype, any offset)."""
    true, pred = [int(v) for v in y_true.tolist()], [int(v) for v in y_pred.tolist()]
    low = min(true + pred)
    low = 0 if low >= 0 and max(true + pred) < validation._MAX_DIRECT_LABEL else low
    width = max(true + pred) - low + 1
    counts = np.zeros((width, width), dtype=np.int64)
    np.add.at(counts, (np.array([t - low for t in true]), np.array([p - low for p in pred])), 1)
    return counts


def _direct(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """The direct path's counts, checked against the plain count (offset included) and returned."""
    counted = validation._direct_counts(y_true, y_pred)
    assert counted is not None
    counts, low = counted
    lowest, highest = min(int(y_true.min()), int(y_pred.min())), max(int(y_true.max()), int(y_pred.max()))
    assert low == (0 if lowest >= 0 and highest < validation._MAX_DIRECT_LABEL else lowest)
    assert counts.dtype == np.int64
    np.testing.assert_array_equal(counts, _plain_counts(y_true, y_pred))
    return counts


def _assert_same_cm(y_true, y_pred, **kwargs) -> None:
    expected = skm.confusion_matrix(y_true, y_pred, **kwargs)
    got = ours.confusion_matrix(y_true, y_pred, **kwargs)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("n", [1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 2 * CHUNK + 1, 5 * CHUNK + 3])
@pytest.mark.parametrize("n_classes", [2, 3, 5, 40])
def test_direct_counts_at_chunk_boundaries(small_chunks, n, n_classes):
    rng = np.random.default_rng(n * 100 + n_classes)
    y_true, y_pred = rng.integers(0, n_classes, n), rng.integers(0, n_classes, n)
    _direct(y_true, y_pred)
    _assert_same_cm(y_true, y_pred)


@pytest.mark.parametrize("n", [CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK])
def test_default_chunk_size_boundaries(n):
    """The real chunk size, with n around it (and the packed bincount of a binary problem)."""
    n = validation._COUNT_CHUNK + n - CHUNK
    rng = np.random.default_rng(n)
    for n_classes in (2, 5):
        y_true, y_pred = rng.integers(0, n_classes, n), rng.integers(0, n_classes, n)
        _direct(y_true, y_pred)
        _direct(y_true - 1, y_pred - 1)  # an offset: the minimum and maximum of every chunk


def test_a_larger_label_in_a_later_chunk_widens_the_histogram(small_chunks):
    y_true = np.array([0, 1, 0, 1, 1, 0, 0, 1] * 2 + [0, 7, 3] + [1] * CHUNK + [900, 2])
    y_pred = np.roll(y_true, 3)
    _direct(y_true, y_pred)
    _assert_same_cm(y_true, y_pred)


@pytest.mark.parametrize("where", [0, CHUNK - 1, CHUNK, 3 * CHUNK + 2])
def test_a_label_below_or_far_above_the_range_so_far_in_any_chunk(small_chunks, where):
    """A negative label moves the range's low end (direct path, same dtypes); a label 1024 or more values away
    from the others sends the pair to the factorising path (as do negative labels in arrays of two dtypes)."""
    rng = np.random.default_rng(where)
    y_true = rng.integers(0, 3, 4 * CHUNK)
    y_pred = rng.integers(0, 3, 4 * CHUNK)
    for bad, direct in ((-1, True), (-1021, True), (-1022, False), (validation._MAX_DIRECT_LABEL, False),
                        (10**12, False)):
        for first, second in ((y_true.copy(), y_pred), (y_true, y_pred.copy())):
            first[where] = bad
            if direct:
                _direct(first, second)
            else:
                assert validation._direct_counts(first, second) is None
            _assert_same_cm(first, second)
    mixed = y_true.astype(np.int32)
    mixed[where] = -1
    assert validation._direct_counts(mixed, y_pred) is None
    _assert_same_cm(mixed, y_pred)


@pytest.mark.parametrize("later", [1100, 1600])
def test_labels_under_the_limit_then_above_it_in_a_later_chunk(small_chunks, later):
    """Chunks of labels 500-503 counted from 0, then a label of 1100 (the range moves to start at 500: still
    direct) or 1600 (a span of 1100 labels: factorised)."""
    rng = np.random.default_rng(8)
    y_true = rng.integers(500, 504, 3 * CHUNK + 2)
    y_pred = rng.integers(500, 504, 3 * CHUNK + 2)
    y_pred[2 * CHUNK + 1] = later
    if later - 500 < validation._MAX_DIRECT_LABEL:
        assert validation._direct_counts(y_true, y_pred)[1] == 500
        _direct(y_true, y_pred)
    else:
        assert validation._direct_counts(y_true, y_pred) is None
    _assert_same_cm(y_true, y_pred)


@pytest.mark.parametrize("dtype", ["int8", "int16", "int64", "uint16", "uint64"])
def test_offset_labels_whose_range_moves_both_ways(small_chunks, dtype):
    """Labels far from 0 (negative, or at the top of the dtype): the range grows down and up in later chunks."""
    info = np.iinfo(dtype)
    base = {"int8": -100, "int16": -30000, "int64": info.min, "uint16": 60000, "uint64": info.max - 300}[dtype]
    rng = np.random.default_rng(7)
    parts = [rng.integers(150, 153, CHUNK), rng.integers(140, 153, CHUNK + 3), rng.integers(100, 201, 2 * CHUNK)]
    offsets = np.concatenate(parts).astype(object)
    y_true = np.array((offsets + base).tolist(), dtype=dtype)
    y_pred = np.array((np.roll(offsets, 5) + base).tolist(), dtype=dtype)
    _direct(y_true, y_pred)
    _assert_same_cm(y_true, y_pred)
    labels = np.unique(y_true)[::-1]
    _assert_same_cm(y_true, y_pred, labels=labels)
    expected = skm.classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    assert ours.classification_report(y_true, y_pred, output_dict=True, zero_division=0) == expected


@pytest.mark.parametrize("dtypes", [("bool", "bool"), ("uint8", "int64"), ("int32", "uint16"), ("uint64", "uint64"),
                                    ("int8", "int8")])
def test_direct_counts_across_dtypes(small_chunks, dtypes):
    rng = np.random.default_rng(0)
    high = 2 if "bool" in dtypes else 6
    y_true = rng.integers(0, high, 3 * CHUNK + 1).astype(dtypes[0])
    y_pred = rng.integers(0, high, 3 * CHUNK + 1).astype(dtypes[1])
    _direct(y_true, y_pred)
    _assert_same_cm(y_true, y_pred)


def test_non_contiguous_labels_are_read_in_place(small_chunks):
    rng = np.random.default_rng(1)
    y_true, y_pred = rng.integers(0, 4, 10 * CHUNK + 3), rng.integers(0, 4, (10 * CHUNK + 3, 3))
    strided_true, strided_pred = y_true[::3], y_pred[::-3, 1]
    assert not strided_true.flags.contiguous and not strided_pred.flags.contiguous
    _direct(strided_true, strided_pred)
    _assert_same_cm(strided_true, strided_pred)
    _direct(strided_true - 2, strided_pred - 2)


def test_many_labels_take_longer_chunks(small_chunks):
    """With width**2 above the chunk size the chunk grows (the histogram of each chunk would dominate otherwise)."""
    rng = np.random.default_rng(2)
    y_true, y_pred = rng.integers(0, 300, 5000), rng.integers(0, 300, 5000)
    _direct(y_true, y_pred)
    _assert_same_cm(y_true, y_pred)
    _direct(y_true + 5000, y_pred + 5000)


@pytest.mark.parametrize("weights", ["int", "float"])
@pytest.mark.parametrize("low", [0, -2, 5000])
def test_weighted_counts_with_small_chunks(small_chunks, weights, low):
    rng = np.random.default_rng(3)
    n = 4 * CHUNK + 1
    y_true, y_pred = rng.integers(0, 3, n) + low, rng.integers(0, 3, n) + low
    sample_weight = rng.integers(0, 4, n) if weights == "int" else rng.random(n)
    _assert_same_cm(y_true, y_pred, sample_weight=sample_weight)
    np.testing.assert_array_equal(
        ours.f1_score(y_true, y_pred, average=None, sample_weight=sample_weight),
        skm.f1_score(y_true, y_pred, average=None, sample_weight=sample_weight),
    )
    expected = skm.classification_report(y_true, y_pred, sample_weight=sample_weight, output_dict=True)
    assert ours.classification_report(y_true, y_pred, sample_weight=sample_weight, output_dict=True) == expected


@pytest.mark.parametrize("n", [1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
@pytest.mark.parametrize("kind", ["str", "negative", "float", "large"])
def test_factorised_labels_at_chunk_boundaries(small_chunks, n, kind):
    rng = np.random.default_rng(n)
    codes_true, codes_pred = rng.integers(0, 4, n), rng.integers(0, 4, n)
    values = {
        "str": np.array(["ant", "bee", "cat", "dog"], dtype=object),
        "negative": np.array([-3, -1, 0, 2]),
        "float": np.array([0.0, 1.0, 2.0, 5.0]),
        "large": np.array([7, 2000, 10**9, 10**15]),
    }[kind]
    _assert_same_cm(values[codes_true], values[codes_pred])
    _assert_same_cm(values[codes_true], values[codes_pred], labels=values[::-1])


@given(st.integers(1, 12), st.integers(1, 9), st.data())
def test_chunked_counts_match_sklearn(chunk, n_classes, data):
    """Any chunk size, any length (around multiples of the chunk), labels drawn from any of the counting paths."""
    n = data.draw(st.integers(1, 6 * chunk + 2))
    kind = data.draw(st.sampled_from(["int", "bool", "str", "offset", "far"]))
    y_true = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    y_pred = np.array(data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    if kind == "bool":
        y_true, y_pred = y_true % 2 == 1, y_pred % 2 == 1
    elif kind == "str":
        y_true, y_pred = np.char.add("c", y_true.astype(str)), np.char.add("c", y_pred.astype(str))
    elif kind == "offset":
        y_true, y_pred = y_true - 2, y_pred - 2
    elif kind == "far":
        y_true, y_pred = y_true - 2, y_pred * 1000
    original = validation._COUNT_CHUNK
    validation._COUNT_CHUNK = chunk
    try:
        got = ours.confusion_matrix(y_true, y_pred)
    finally:
        validation._COUNT_CHUNK = original
    expected = skm.confusion_matrix(y_true, y_pred)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
