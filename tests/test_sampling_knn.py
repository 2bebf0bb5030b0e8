"""The kNN samplers against imbalanced-learn 0.14: identical X_res, y_res, sample_indices_ and errors.

Random binary and multiclass data (overlapping classes so links, danger rows and mixed neighbourhoods occur;
duplicate rows on the KD-tree path, where scikit-learn's tie order is reproducible), every sampling_strategy form
of each family, int seeds and RandomState instances, NumPy, pandas and sparse input.
"""

import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn import combine as ref_combine
from imblearn import over_sampling as ref_over
from imblearn import under_sampling as ref_under
from imblearn.pipeline import make_pipeline
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import NearestNeighbors

from imbalance_xfmr.sampling._adasyn import ADASYN
from imbalance_xfmr.sampling._combine import SMOTEENN, SMOTETomek
from imbalance_xfmr.sampling._enn import EditedNearestNeighbours
from imbalance_xfmr.sampling._nearmiss import NearMiss
from imbalance_xfmr.sampling._smote import SMOTE, BorderlineSMOTE
from imbalance_xfmr.sampling._tomek import TomekLinks

REFERENCE = {
    TomekLinks: ref_under.TomekLinks,
    EditedNearestNeighbours: ref_under.EditedNearestNeighbours,
    NearMiss: ref_under.NearMiss,
    SMOTE: ref_over.SMOTE,
    BorderlineSMOTE: ref_over.BorderlineSMOTE,
    ADASYN: ref_over.ADASYN,
    SMOTETomek: ref_combine.SMOTETomek,
    SMOTEENN: ref_combine.SMOTEENN,
}


@st.composite
def datasets(draw, min_class_size=1):
    """(X, y): 2-4 overlapping classes of unequal sizes; rounded (duplicate-heavy) only with <= 15 features."""
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    n_classes = draw(st.integers(2, 4))
    sizes = [draw(st.integers(min_class_size, 60)) for _ in range(n_classes)]
    n_features = draw(st.sampled_from([2, 3, 20]))
    centers = rng.standard_normal((n_classes, n_features))
    y = np.repeat(np.arange(n_classes), sizes)
    X = centers[y] + rng.standard_normal((y.size, n_features))
    if n_features <= 15 and draw(st.booleans()):
        X = np.round(X, 1)
    order = rng.permutation(y.size)
    X = X[order].astype(draw(st.sampled_from([np.float64, np.float32])))
    labels = draw(st.sampled_from([np.array([0, 1, 2, 3]), np.array([3, 10, -1, 7]), np.array(["b", "a", "d", "c"])]))
    y = labels[y[order]]
    if draw(st.integers(0, 2)) == 0:  # a third of the cases as pandas: the frame's columns and dtypes come back
        return pd.DataFrame(X, columns=[f"x{j}" for j in range(n_features)]), pd.Series(y, name="target")
    return X, y


def _strategy(draw, family, y):
    """A sampling_strategy of one of the forms ``family`` accepts, valid or not for y (errors are compared too)."""
    counts = Counter(np.asarray(y).tolist())
    classes = sorted(counts)
    family_forms = {
        "over": ["minority", "float", "dict"],
        "under": ["majority", "float", "dict"],
        "clean": ["majority", "list", "float"],  # a float is an error for cleaners
    }
    forms = ["auto", "all", "not majority", "not minority", "callable", *family_forms[family]]
    form = draw(st.sampled_from(forms))
    if form == "float":
        return draw(st.sampled_from([0.5, 0.8, 1.0]))
    if form in ("dict", "callable", "list"):
        chosen = draw(st.lists(st.sampled_from(classes), min_size=1, unique=True))
        if form == "list":
            return chosen
        if family == "under":
            wanted = {c: draw(st.integers(0, counts[c])) for c in chosen}
        else:
            wanted = {c: counts[c] + draw(st.integers(0, 30)) for c in chosen}
        return wanted if form == "dict" else (lambda _y, wanted=wanted: dict(wanted))
    return form


def _seed(draw):
    seed = draw(st.integers(0, 1000))
    return seed if draw(st.booleans()) else ("RandomState", seed)


def _make(cls, params):
    """A fresh sampler; a ``("RandomState", s)`` seed becomes a new RandomState(s) for each side."""
    params = dict(params)
    if isinstance(params.get("random_state"), tuple):
        params["random_state"] = np.random.RandomState(params["random_state"][1])
    return cls(**params)


def _outcome(sampler, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            X_res, y_res = sampler.fit_resample(X, y)
        except Exception as error:  # noqa: BLE001 - the type is what gets compared
            return type(error)
    return X_res, y_res, getattr(sampler, "sample_indices_", None)


def assert_same_as_imblearn(cls, params, X, y):
    ours = _outcome(_make(cls, params), X, y)
    ref = _outcome(_make(REFERENCE[cls], params), X, y)
    if isinstance(ref, type) or isinstance(ours, type):
        assert ours == ref, f"ours: {ours}, imbalanced-learn: {ref}"
        return
    X_ours, y_ours, idx_ours = ours
    X_ref, y_ref, idx_ref = ref
    if isinstance(X_ref, pd.DataFrame):
        pd.testing.assert_frame_equal(X_ours, X_ref)
    else:
        if sparse.issparse(X_ref):
            assert type(X_ours) is type(X_ref)
            X_ours, X_ref = X_ours.toarray(), X_ref.toarray()
        assert X_ours.dtype == X_ref.dtype
        np.testing.assert_array_equal(X_ours, X_ref)
    if isinstance(y_ref, pd.Series):
        pd.testing.assert_series_equal(y_ours, y_ref)
    else:
        assert y_ours.dtype == y_ref.dtype
        np.testing.assert_array_equal(y_ours, y_ref)
    if idx_ref is not None:
        np.testing.assert_array_equal(idx_ours, idx_ref)


@given(datasets(), st.data())
def test_tomek_links(data_set, data):
    X, y = data_set
    assert_same_as_imblearn(TomekLinks, {"sampling_strategy": _strategy(data.draw, "clean", y)}, X, y)


@given(datasets(), st.data())
def test_edited_nearest_neighbours(data_set, data):
    X, y = data_set
    kind_sel = data.draw(st.sampled_from(["all", "mode"]))
    if kind_sel == "mode" and not np.issubdtype(np.asarray(y).dtype, np.integer):
        y = np.unique(np.asarray(y), return_inverse=True)[1]  # imbalanced-learn's mode fails on strings: see below
    params = {
        "sampling_strategy": _strategy(data.draw, "clean", y),
        "n_neighbors": data.draw(st.integers(1, 5)),
        "kind_sel": kind_sel,
    }
    assert_same_as_imblearn(EditedNearestNeighbours, params, X, y)


def test_edited_nearest_neighbours_mode_on_string_labels():
    # imbalanced-learn 0.14 raises TypeError here (scipy.stats.mode on strings); we give the answer of the
    # sorted integer codes, whose tie-break ("smallest label") is the same.
    X, y = _overlapping_binary(n=150, n_features=3)
    y = (y + np.arange(150)) % 3
    labels = np.array(["x", "y", "z"])
    ours = EditedNearestNeighbours(kind_sel="mode", sampling_strategy="all")
    X_res, y_res = ours.fit_resample(X, labels[y])
    ref = ref_under.EditedNearestNeighbours(kind_sel="mode", sampling_strategy="all")
    X_ref, y_ref = ref.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_ref)
    np.testing.assert_array_equal(y_res, labels[y_ref])
    np.testing.assert_array_equal(ours.sample_indices_, ref.sample_indices_)
    with pytest.raises(TypeError):
        ref_under.EditedNearestNeighbours(kind_sel="mode").fit_resample(X, labels[y])


@given(datasets(), st.data())
def test_near_miss(data_set, data):
    X, y = data_set
    params = {
        "sampling_strategy": _strategy(data.draw, "under", y),
        "version": data.draw(st.sampled_from([1, 2, 3])),
        "n_neighbors": data.draw(st.integers(1, 4)),
        "n_neighbors_ver3": data.draw(st.integers(1, 4)),
    }
    assert_same_as_imblearn(NearMiss, params, X, y)


@given(datasets(), st.data())
def test_smote(data_set, data):
    X, y = data_set
    params = {
        "sampling_strategy": _strategy(data.draw, "over", y),
        "random_state": _seed(data.draw),
        "k_neighbors": data.draw(st.integers(1, 6)),
    }
    assert_same_as_imblearn(SMOTE, params, X, y)


@given(datasets(), st.data())
def test_borderline_smote(data_set, data):
    X, y = data_set
    params = {
        "sampling_strategy": _strategy(data.draw, "over", y),
        "random_state": _seed(data.draw),
        "k_neighbors": data.draw(st.integers(1, 5)),
        "m_neighbors": data.draw(st.integers(1, 10)),
        "kind": data.draw(st.sampled_from(["borderline-1", "borderline-2"])),
    }
    assert_same_as_imblearn(BorderlineSMOTE, params, X, y)


@given(datasets(), st.data())
def test_adasyn(data_set, data):
    X, y = data_set
    params = {
        "sampling_strategy": _strategy(data.draw, "over", y),
        "random_state": _seed(data.draw),
        "n_neighbors": data.draw(st.integers(1, 6)),
    }
    assert_same_as_imblearn(ADASYN, params, X, y)


@pytest.mark.parametrize("cls", [SMOTETomek, SMOTEENN])
@settings(max_examples=25)
@given(data_set=datasets(), data=st.data())
def test_combined_samplers(cls, data_set, data):
    X, y = data_set
    params = {"sampling_strategy": _strategy(data.draw, "over", y), "random_state": _seed(data.draw)}
    assert_same_as_imblearn(cls, params, X, y)


SAMPLERS = [
    (TomekLinks, {}),
    (EditedNearestNeighbours, {"n_neighbors": 4}),
    (NearMiss, {"version": 2}),
    (SMOTE, {"random_state": 0}),
    (BorderlineSMOTE, {"random_state": 0, "kind": "borderline-2"}),
    (ADASYN, {"random_state": 0}),
    (SMOTETomek, {"random_state": 0}),
    (SMOTEENN, {"random_state": 0}),
]


def _overlapping_binary(n=200, n_features=5, seed=0):
    rng = np.random.RandomState(seed)
    y = (rng.rand(n) < 0.2).astype(int)
    return rng.standard_normal((n, n_features)) + y[:, None], y


@pytest.mark.parametrize(("cls", "params"), SAMPLERS)
def test_pandas_in_pandas_out(cls, params):
    X, y = _overlapping_binary()
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]).astype({"f0": np.float32})
    target = pd.Series(np.where(y == 1, "rare", "common"), name="label")
    assert_same_as_imblearn(cls, params, frame, target)


@pytest.mark.parametrize(("cls", "params"), [s for s in SAMPLERS if s[0] is not NearMiss])
@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input(cls, params, fmt):
    X, y = _overlapping_binary(n_features=20)
    X[np.abs(X) < 1.0] = 0.0
    if cls is BorderlineSMOTE:
        # imbalanced-learn fails on sparse borderline-2 with a scipy ValueError; we raise a readable one.
        with pytest.raises(ValueError, match="does not support sparse"):
            cls(**params).fit_resample(sparse.csr_matrix(X), y)
        params = {**params, "kind": "borderline-1"}
    assert_same_as_imblearn(cls, params, getattr(sparse, f"{fmt}_matrix")(X), y)


# Sub-samplers of the combined samplers, built by name in each library's namespace.
SUB_SMOTE = "SMOTE(k_neighbors=2, random_state=3)"


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (SMOTE, {"random_state": 1, "k_neighbors": NearestNeighbors(n_neighbors=4)}),
        (BorderlineSMOTE, {"random_state": 1, "m_neighbors": NearestNeighbors(n_neighbors=6)}),
        (ADASYN, {"random_state": 1, "n_neighbors": NearestNeighbors(n_neighbors=4)}),
        (EditedNearestNeighbours, {"n_neighbors": NearestNeighbors(n_neighbors=5)}),
        (NearMiss, {"version": 3, "n_neighbors_ver3": NearestNeighbors(n_neighbors=2)}),
        (SMOTETomek, {"smote": SUB_SMOTE, "tomek": "TomekLinks(sampling_strategy='majority')"}),
        (SMOTEENN, {"smote": SUB_SMOTE, "enn": "EditedNearestNeighbours(n_neighbors=2)"}),
    ],
)
@pytest.mark.filterwarnings("ignore:The number of the samples to be selected")  # imbalanced-learn's
@pytest.mark.filterwarnings("ignore:NearMiss was asked to keep")  # ours
def test_estimator_parameters(cls, params):
    """A kNN estimator (or, for the combined samplers, a sub-sampler) instead of a count."""
    X, y = _overlapping_binary(n_features=3)
    ours = {k: eval(v) if isinstance(v, str) else v for k, v in params.items()}  # noqa: S307 - fixed literals
    ref_scope = {**vars(ref_over), **vars(ref_under)}
    ref = {k: eval(v, ref_scope) if isinstance(v, str) else v for k, v in params.items()}  # noqa: S307
    X_ours, y_ours = cls(**ours).fit_resample(X, y)
    X_ref, y_ref = REFERENCE[cls](**ref).fit_resample(X, y)
    np.testing.assert_array_equal(X_ours, X_ref)
    np.testing.assert_array_equal(y_ours, y_ref)


@pytest.mark.parametrize(
    ("cls", "params", "X_y"),
    [
        (SMOTE, {"k_neighbors": 0}, "binary"),
        (SMOTE, {"k_neighbors": 30}, "binary"),  # more neighbours than minority rows
        (SMOTE, {"sampling_strategy": 0.5}, "multiclass"),  # float on multiclass
        (SMOTE, {"sampling_strategy": {0: 10}}, "binary"),  # fewer than present
        (SMOTE, {"sampling_strategy": {7: 10}}, "binary"),  # unknown class
        (BorderlineSMOTE, {"kind": "borderline-3"}, "binary"),
        (ADASYN, {}, "separated"),  # no other-class neighbours
        (ADASYN, {"sampling_strategy": {1: 21}}, "binary"),  # rounds to zero new rows
        (NearMiss, {"version": 4}, "binary"),
        (NearMiss, {"sampling_strategy": {0: 500}}, "binary"),  # keeps more than present
        (NearMiss, {"sampling_strategy": "minority"}, "binary"),
        (EditedNearestNeighbours, {"kind_sel": "any"}, "binary"),
        (EditedNearestNeighbours, {"sampling_strategy": {0: 10}}, "binary"),  # dict on a cleaner
        (TomekLinks, {"sampling_strategy": "minority"}, "binary"),
        (TomekLinks, {}, "single class"),
        (SMOTETomek, {"tomek": "not a sampler"}, "binary"),
        (SMOTEENN, {"sampling_strategy": -1.0}, "binary"),
    ],
)
def test_errors_match_imblearn(cls, params, X_y):
    X, y = _overlapping_binary(n=150, n_features=3)
    if X_y == "multiclass":
        y = np.arange(150) % 3
    elif X_y == "separated":
        X = X + 50.0 * y[:, None]
    elif X_y == "single class":
        y = np.zeros_like(y)
    ours = _outcome(cls(**params), X, y)
    ref = _outcome(REFERENCE[cls](**params), X, y)
    assert isinstance(ref, type), "the case must be an error for imbalanced-learn"
    assert ours == ref


@settings(max_examples=10)
@given(datasets(min_class_size=12))
def test_multiclass_one_hot_y(data_set):
    X, y = data_set
    y = np.asarray(y)
    one_hot = (y[:, None] == np.unique(y)[None, :]).astype(int)
    assert_same_as_imblearn(SMOTE, {"random_state": 0}, X, one_hot)


@pytest.mark.parametrize(("cls", "params"), SAMPLERS)
def test_works_in_an_imblearn_pipeline_grid_search(cls, params):
    X, y = _overlapping_binary(n=240)
    pipeline = make_pipeline(cls(**params), LogisticRegression())
    search = GridSearchCV(pipeline, {"logisticregression__C": [0.1, 1.0]}, cv=3, scoring="balanced_accuracy")
    search.fit(X, y)
    assert search.best_score_ > 0.5


@pytest.mark.parametrize(
    ("cls", "params"),
    [(SMOTE, {"random_state": 0}), (BorderlineSMOTE, {"random_state": 3, "kind": "borderline-2"})],
)
def test_many_new_rows(cls, params):
    # Over 4096 new rows: the interpolation runs in several chunks on parallel threads.
    rng = np.random.RandomState(0)
    X = rng.standard_normal((12000, 8)).astype(np.float32)
    y = (rng.rand(12000) < 0.2).astype(int)
    X[y == 1] += 0.5
    assert_same_as_imblearn(cls, params, X, y)
