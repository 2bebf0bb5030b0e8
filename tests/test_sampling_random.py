"""RandomUnderSampler / RandomOverSampler: bit-identical to imbalanced-learn 0.14 on random inputs."""

from collections import Counter
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn import FunctionSampler
from imblearn import over_sampling as reference_over
from imblearn import under_sampling as reference_under
from imblearn.pipeline import Pipeline
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.preprocessing import label_binarize

from imbalance_xfmr.sampling import BaseSampler, RandomOverSampler, RandomUnderSampler

PAIRS = {
    "under": (RandomUnderSampler, reference_under.RandomUnderSampler),
    "over": (RandomOverSampler, reference_over.RandomOverSampler),
}


@st.composite
def datasets(draw):
    """(X, y): random float features (optionally with NaN) and 2-4 classes of random sizes."""
    n_classes = draw(st.integers(2, 4))
    sizes = draw(st.lists(st.integers(1, 25), min_size=n_classes, max_size=n_classes))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    labels = draw(
        st.sampled_from([np.arange(n_classes), np.arange(n_classes) * 7 - 3, np.array(list("abcd")[:n_classes])])
    )
    y = rng.permutation(np.repeat(labels, sizes))
    X = rng.randn(len(y), draw(st.integers(1, 4))).astype(draw(st.sampled_from([np.float64, np.float32])))
    if draw(st.integers(0, 3)) == 0:
        X[rng.rand(*X.shape) < 0.1] = np.nan
    return X, y


@st.composite
def strategies_for(draw, y, family):
    """Any sampling_strategy form; dict targets are mostly valid for the family, sometimes not (errors)."""
    counts = Counter(y.tolist())
    kind = draw(st.sampled_from(["name", "float", "dict", "dict", "callable", "list"]))
    if kind == "list":  # only cleaning samplers take a list: both must refuse it
        return sorted(counts)[:1]
    if kind == "name":
        return draw(st.sampled_from(["auto", "minority", "majority", "not minority", "not majority", "all"]))
    if kind == "float":
        return draw(st.floats(0.05, 1.0))
    valid = draw(st.integers(0, 5)) > 0

    def target(count):
        low, high = (count, 3 * count) if family == "over" else (0, count)
        if not valid:
            low, high = (0, count - 1) if family == "over" else (count + 1, 2 * count + 1)
        return draw(st.integers(low, max(low, high)))

    targets = {
        label: target(counts[label])
        for label in draw(st.lists(st.sampled_from(sorted(counts)), unique=True, min_size=1))
    }
    return targets if kind == "dict" else (lambda labels: targets)


def random_states(draw):
    """The same random_state for both samplers: an int, or two RandomState objects in the same state."""
    seed = draw(st.integers(0, 2**31 - 1))
    if draw(st.booleans()):
        return seed, seed
    return np.random.RandomState(seed), np.random.RandomState(seed)


def run(sampler, X, y):
    try:
        return sampler.fit_resample(X, y)
    except ValueError as exc:
        return type(exc)


def assert_identical(ours, reference, ours_out, reference_out):
    if isinstance(reference_out, type):
        assert ours_out is reference_out, f"reference raised {reference_out}, we returned {ours_out}"
        return
    assert not isinstance(ours_out, type), f"we raised {ours_out}, reference did not"
    (X_ours, y_ours), (X_ref, y_ref) = ours_out, reference_out
    if isinstance(X_ref, pd.DataFrame):
        pd.testing.assert_frame_equal(X_ours, X_ref, check_exact=True)
        pd.testing.assert_series_equal(y_ours, y_ref, check_exact=True)
    elif sparse.issparse(X_ref):
        assert X_ours.format == X_ref.format and X_ours.dtype == X_ref.dtype
        np.testing.assert_array_equal(X_ours.toarray(), X_ref.toarray())
    else:
        assert type(X_ours) is type(X_ref)
        np.testing.assert_array_equal(X_ours, X_ref, strict=isinstance(X_ref, np.ndarray))
        np.testing.assert_array_equal(y_ours, y_ref, strict=isinstance(y_ref, np.ndarray))
    np.testing.assert_array_equal(ours.sample_indices_, reference.sample_indices_, strict=True)
    assert dict(ours.sampling_strategy_) == dict(reference.sampling_strategy_)
    assert list(ours.sampling_strategy_) == list(reference.sampling_strategy_)


def compare(family, params, X, y):
    ours_cls, reference_cls = PAIRS[family]
    ours, reference = ours_cls(**params[0]), reference_cls(**params[1])
    assert_identical(ours, reference, run(ours, X, y), run(reference, X, y))


def paired_params(draw, family, y):
    strategy = draw(strategies_for(y, family))
    state_ours, state_ref = random_states(draw)
    shared = {"sampling_strategy": strategy}
    if family == "under":
        shared["replacement"] = draw(st.booleans())
    else:
        shared["shrinkage"] = draw(st.sampled_from([None, None, 0.0, 0.5, 2.0]))
    return {**shared, "random_state": state_ours}, {**shared, "random_state": state_ref}


@pytest.mark.parametrize("family", ["under", "over"])
@given(data=datasets(), draw=st.data())
def test_numpy_input_is_bit_identical(data, family, draw):
    X, y = data
    compare(family, paired_params(draw.draw, family, y), X, y)


@pytest.mark.parametrize("family", ["under", "over"])
@settings(max_examples=30)
@given(data=datasets(), draw=st.data())
def test_pandas_input_is_bit_identical(data, family, draw):
    X, y = data
    X_df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])], index=np.arange(len(y)) * 3 + 1)
    X_df["count"] = np.arange(len(y), dtype=np.int32)
    y_series = pd.Series(y, name="target", index=X_df.index)
    compare(family, paired_params(draw.draw, family, y), X_df, y_series)


@pytest.mark.parametrize("family", ["under", "over"])
@settings(max_examples=20)
@given(data=datasets(), draw=st.data(), fmt=st.sampled_from(["csr", "csc"]))
def test_sparse_input_is_bit_identical(data, family, draw, fmt):
    X, y = data
    X = sparse.random(len(y), 5, density=0.3, format=fmt, random_state=draw.draw(st.integers(0, 99)))
    compare(family, paired_params(draw.draw, family, y), X, y)


@pytest.mark.parametrize("family", ["under", "over"])
@settings(max_examples=20)
@given(data=datasets(), draw=st.data())
def test_list_and_one_hot_input_are_bit_identical(data, family, draw):
    X, y = data
    X = np.nan_to_num(X)
    params = paired_params(draw.draw, family, y)
    compare(family, params, X.tolist(), y.tolist())
    y_one_hot = label_binarize(y, classes=np.unique(y))
    params = paired_params(draw.draw, family, np.unique(y, return_inverse=True)[1])
    compare(family, params, X, y_one_hot)


@pytest.mark.parametrize("family", ["under", "over"])
def test_object_and_text_features_are_resampled_by_index(family):
    rng = np.random.RandomState(0)
    texts = np.array([f"review number {i}" for i in range(40)], dtype=object)
    y = np.array([0] * 30 + [1] * 10)
    ours_cls, reference_cls = PAIRS[family]
    reference = reference_cls(random_state=rng.randint(1000))
    X_ref, y_ref = reference.fit_resample(texts.reshape(-1, 1), y)
    for X in (texts, texts.astype(str), texts.tolist(), pd.Series(texts)):
        ours = ours_cls(random_state=reference.random_state)
        X_ours, y_ours = ours.fit_resample(X, y)
        assert type(X_ours) is type(X)
        np.testing.assert_array_equal(np.asarray(X_ours), X_ref.ravel())
        np.testing.assert_array_equal(y_ours, y_ref)
        np.testing.assert_array_equal(ours.sample_indices_, reference.sample_indices_)
    assert ours.n_features_in_ == 1


def test_one_dimensional_numbers_are_still_rejected():
    with pytest.raises(ValueError, match="2D"):
        RandomUnderSampler().fit_resample(np.arange(10.0), np.array([0] * 5 + [1] * 5))


@pytest.mark.parametrize("family", ["under", "over"])
@pytest.mark.parametrize(
    "X, y",
    [
        (np.zeros((10, 2)), np.linspace(0, 1, 10)),  # continuous target
        (np.zeros((10, 2)), np.random.RandomState(0).randint(2, size=(10, 3))),  # multilabel
        (np.zeros((10, 2)), np.zeros(10)),  # a single class
        (np.zeros((0, 2)), np.zeros(0, dtype=int)),  # no rows
    ],
)
def test_bad_targets_raise_like_reference(family, X, y):
    ours_cls, reference_cls = PAIRS[family]
    with pytest.raises(ValueError) as reference_error:
        reference_cls().fit_resample(X, y)
    with pytest.raises(type(reference_error.value)):
        ours_cls().fit_resample(X, y)


@pytest.mark.parametrize(
    "family, params",
    [
        ("under", {"sampling_strategy": "minority"}),
        ("under", {"sampling_strategy": 1.5}),
        ("under", {"replacement": "yes"}),
        ("over", {"sampling_strategy": "majority"}),
        ("over", {"shrinkage": -1.0}),
        ("over", {"shrinkage": {0: 1.0}}),  # no factor for class 2
        ("over", {"shrinkage": {0: 1.0, 2: -1.0}}),
        ("over", {"random_state": "seed"}),
    ],
)
def test_bad_parameters_raise_like_reference(family, params):
    X, y = np.random.RandomState(0).randn(30, 2), np.array([0] * 5 + [1] * 20 + [2] * 5)
    ours_cls, reference_cls = PAIRS[family]
    with pytest.raises(ValueError) as reference_error:
        reference_cls(**params).fit_resample(X, y)
    with pytest.raises(type(reference_error.value)):
        ours_cls(**params).fit_resample(X, y)


def test_shrinkage_needs_numeric_features():
    X = np.array([["a"], ["b"], ["c"], ["d"]], dtype=object)
    with pytest.raises(ValueError, match="numerical data"):
        RandomOverSampler(shrinkage=1.0).fit_resample(X, np.array([0, 0, 0, 1]))


def test_mismatched_lengths_get_a_clear_error():
    with pytest.raises(ValueError, match="same number of rows"):
        RandomUnderSampler().fit_resample(np.zeros((10, 2)), np.array([0, 1] * 4))


def test_estimator_conventions():
    sampler = RandomUnderSampler(sampling_strategy={0: 3}, random_state=4, replacement=True)
    assert sampler.get_params() == {"sampling_strategy": {0: 3}, "random_state": 4, "replacement": True}
    copy = clone(sampler)
    assert copy.get_params() == sampler.get_params() and not hasattr(copy, "sampling_strategy_")
    assert RandomOverSampler().set_params(shrinkage=0.3).shrinkage == 0.3
    X, y = np.random.RandomState(0).randn(20, 2), np.array([0] * 5 + [1] * 15)
    fitted = RandomOverSampler().fit(X, y)
    assert fitted.sampling_strategy_ == {0: 10} and fitted.n_features_in_ == 2


@pytest.mark.parametrize("family", ["under", "over"])
def test_pipeline_grid_search_matches_reference(family):
    X, y = np.random.RandomState(1).randn(150, 3), np.array([0] * 120 + [1] * 30)
    X[y == 1] += 0.8
    grid = {"sampler__sampling_strategy": [0.5, 1.0], "clf__C": [0.1, 1.0]}
    scores = []
    for sampler_cls in PAIRS[family]:
        pipeline = Pipeline([("sampler", sampler_cls(random_state=0)), ("clf", LogisticRegression())])
        search = GridSearchCV(pipeline, grid, scoring="balanced_accuracy", cv=StratifiedKFold(3)).fit(X, y)
        scores.append((search.best_params_, search.cv_results_["mean_test_score"].tolist()))
    assert scores[0] == scores[1]


class KeepEverything(BaseSampler):
    """The smallest numeric-input sampler: what the kNN samplers' validation path does, and nothing else."""

    _sampling_type = "clean-sampling"
    _parameter_constraints: ClassVar[dict] = {"sampling_strategy": [str]}

    def _fit_resample(self, X, y):
        return X, y


@pytest.mark.parametrize(
    "X",
    [
        np.arange(12.0).reshape(6, 2),
        np.arange(12).reshape(6, 2).tolist(),
        pd.DataFrame({"a": np.arange(6, dtype=np.int32), "b": np.linspace(0, 1, 6)}),
        sparse.csr_matrix(np.eye(6)),
        sparse.csc_matrix(np.eye(6)),
        np.array([[1.0, np.nan]] * 6),
        np.array([["a", "b"]] * 6, dtype=object),
        np.arange(6.0),
    ],
)
def test_numeric_input_kind_validates_and_restores_like_reference(X):
    y = pd.Series([0, 1, 0, 1, 1, 0], name="label")
    reference_out = run(FunctionSampler(), X, y)
    ours_out = run(KeepEverything(), X, y)
    if isinstance(reference_out, type):
        assert ours_out is reference_out
        return
    (X_ours, y_ours), (X_ref, y_ref) = ours_out, reference_out
    assert type(X_ours) is type(X_ref) and type(y_ours) is type(y_ref)
    if isinstance(X_ref, pd.DataFrame):
        pd.testing.assert_frame_equal(X_ours, X_ref, check_exact=True)
    elif sparse.issparse(X_ref):
        assert X_ours.format == X_ref.format
        np.testing.assert_array_equal(X_ours.toarray(), X_ref.toarray())
    else:
        np.testing.assert_array_equal(X_ours, X_ref)
    pd.testing.assert_series_equal(y_ours, y_ref)
