"""Ranking and probabilistic metrics against the real ``sklearn.metrics`` functions.

Every comparison runs both implementations on the same inputs and requires: the same value (1e-12 relative,
NaN where sklearn gives NaN), identical threshold arrays for curves, the same warning categories, and, where
sklearn raises, an exception of the same type.
"""


import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

import imbalance_xfmr.metrics as ours
from metrics_reference import call_recorded

RTOL = 1e-12


def _assert_close(ours_value, ref_value):
    ours_array = np.asarray(ours_value, dtype=np.float64)
    ref_array = np.asarray(ref_value, dtype=np.float64)
    assert ours_array.shape == ref_array.shape
    np.testing.assert_allclose(ours_array, ref_array, rtol=RTOL, atol=1e-15, equal_nan=True)


def check_same(name, *args, **kwargs):
    """Call ``name`` from both modules; compare value (or curve), warnings and exception type."""
    ref, ref_error, ref_warnings = call_recorded(getattr(skm, name), *args, **kwargs)
    got, got_error, got_warnings = call_recorded(getattr(ours, name), *args, **kwargs)
    if ref_error is not None:
        expected = ValueError if isinstance(ref_error, ValueError) else type(ref_error)
        assert isinstance(got_error, expected), f"sklearn raised {ref_error!r}, we gave {got_error or got!r}"
        return None
    assert got_error is None, f"sklearn returned {ref!r}, we raised {got_error!r}"
    assert got_warnings == ref_warnings
    if name.endswith("_curve"):
        np.testing.assert_array_equal(got[2], ref[2])
        assert got[2].dtype == ref[2].dtype
        _assert_close(got[0], ref[0])
        _assert_close(got[1], ref[1])
    else:
        _assert_close(got, ref)
    return got


# ---------------------------------------------------------------------------------------------------- strategies

LABEL_SETS = {"01": (0, 1), "pm1": (-1, 1), "str": ("neg", "pos"), "int": (3, 7)}


@st.composite
def binary_problems(draw, min_size=2, max_size=40):
    """(y_true, y_score, sample_weight, pos_label): scores from a few values (ties), optional zero weights."""
    n = draw(st.integers(min_size, max_size))
    kind = draw(st.sampled_from(sorted(LABEL_SETS)))
    negative, positive = LABEL_SETS[kind]
    is_positive = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    y_true = np.where(is_positive, positive, negative)
    levels = draw(st.integers(1, 6))
    y_score = np.array(draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))) / levels
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 3.0]), min_size=n, max_size=n)))
        weights[draw(st.integers(0, n - 1))] = 1.0  # all-zero weights: see test_all_zero_weights_are_rejected
    pos_label = None if kind in ("01", "pm1") and draw(st.booleans()) else positive
    return y_true, y_score, weights, pos_label


@st.composite
def multiclass_problems(draw, max_size=40):
    """(y_true, probabilities (n, C) rows summing to one with ties, sample_weight, sorted labels)."""
    n_classes = draw(st.integers(3, 4))
    labels = np.array(draw(st.sampled_from([[0, 1, 2, 3], ["a", "b", "c", "d"], [2, 5, 9, 11]]))[:n_classes])
    n = draw(st.integers(n_classes, max_size))
    codes = np.array(draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n)))
    codes[:n_classes] = np.arange(n_classes)  # every class present
    # Rows drawn from a few probability vectors so that scores tie across samples.
    palette = np.random.default_rng(draw(st.integers(0, 2**16))).dirichlet(np.ones(n_classes), size=4)
    rows = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=n, max_size=n)))
    return labels[codes], palette[rows], weights, labels


@st.composite
def multilabel_problems(draw, max_size=30):
    n = draw(st.integers(2, max_size))
    n_labels = draw(st.integers(2, 4))
    indicator = np.array(draw(st.lists(st.lists(st.integers(0, 1), min_size=n_labels, max_size=n_labels),
                                       min_size=n, max_size=n)))
    scores = np.array(draw(st.lists(st.lists(st.integers(0, 4), min_size=n_labels, max_size=n_labels),
                                    min_size=n, max_size=n))) / 4
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=n, max_size=n)))
        weights[0] = 1.0
    return indicator, scores, weights


# ------------------------------------------------------------------------------------------------ binary metrics


@given(binary_problems(), st.booleans())
def test_curves_match_sklearn(problem, drop_intermediate):
    y_true, y_score, weights, pos_label = problem
    for name in ("roc_curve", "precision_recall_curve"):
        check_same(name, y_true, y_score, pos_label=pos_label, sample_weight=weights,
                   drop_intermediate=drop_intermediate)


@given(binary_problems())
def test_binary_scores_match_sklearn(problem):
    y_true, y_score, weights, pos_label = problem
    for max_fpr in (None, 0.3, 0.5, 1.0):
        check_same("roc_auc_score", y_true, y_score, sample_weight=weights, max_fpr=max_fpr)
    check_same("average_precision_score", y_true, y_score, sample_weight=weights,
               pos_label=LABEL_SETS["01"][1] if pos_label is None else pos_label)
    check_same("brier_score_loss", y_true, y_score, sample_weight=weights, pos_label=pos_label)
    for scale_by_half in (True, False):
        check_same("brier_score_loss", y_true, y_score, sample_weight=weights, pos_label=pos_label,
                   scale_by_half=scale_by_half)
    for normalize in (True, False):
        check_same("log_loss", y_true, y_score, sample_weight=weights, normalize=normalize)


@pytest.mark.parametrize("weighted", [False, True])
def test_large_binary_with_ties_matches_sklearn(weighted):
    """Exercises the sort + searchsorted fast path (unweighted) and the cumulative-sum path on many ties."""
    rng = np.random.default_rng(0)
    n = 50_000
    y_true = (rng.random(n) < 0.07).astype(int)
    y_score = np.round(rng.normal(size=n) + y_true, 2)
    weights = rng.random(n) if weighted else None
    for max_fpr in (None, 0.1):
        check_same("roc_auc_score", y_true, y_score, sample_weight=weights, max_fpr=max_fpr)
    check_same("average_precision_score", y_true, y_score, sample_weight=weights)
    check_same("roc_curve", y_true, y_score, sample_weight=weights)
    check_same("precision_recall_curve", y_true, y_score, sample_weight=weights, drop_intermediate=True)


def test_integer_scores_keep_their_dtype_in_pr_thresholds():
    y_true, y_score = [0, 1, 1, 0, 1], [3, 5, 5, 1, 2]
    _, _, thresholds = check_same("precision_recall_curve", y_true, y_score)
    assert thresholds.dtype.kind == "i"
    check_same("roc_curve", y_true, y_score)


@pytest.mark.parametrize(
    "y_true, y_score",
    [
        ([1, 1, 1], [0.2, 0.5, 0.9]),  # no negatives
        ([0, 0, 0], [0.2, 0.5, 0.9]),  # no positives
        ([0, 1], [0.5, 0.5]),  # a single tie
        ([1], [0.3]),
    ],
)
def test_degenerate_binary_problems_warn_like_sklearn(y_true, y_score):
    check_same("roc_curve", y_true, y_score)
    check_same("precision_recall_curve", y_true, y_score)
    check_same("roc_auc_score", y_true, y_score)
    check_same("average_precision_score", y_true, y_score)


def test_all_zero_weights_are_rejected():
    # Deliberate difference: sklearn returns NaN from roc_auc_score when y_true also has a single class.
    with pytest.raises(ValueError, match="at least one non-zero"):
        ours.roc_auc_score([1, 1], [0.2, 0.4], sample_weight=[0.0, 0.0])
    check_same("roc_curve", [0, 1], [0.2, 0.4], sample_weight=[0.0, 0.0])


def test_single_class_roc_auc_is_nan_with_undefined_metric_warning():
    with pytest.warns(UndefinedMetricWarning, match="Only one class"):
        assert np.isnan(ours.roc_auc_score([1, 1, 1], [0.1, 0.2, 0.3]))


# --------------------------------------------------------------------------------------------- multiclass metrics


@given(multiclass_problems())
def test_multiclass_roc_auc_matches_sklearn(problem):
    y_true, proba, weights, labels = problem
    for average in ("macro", "weighted", "micro", None):
        check_same("roc_auc_score", y_true, proba, multi_class="ovr", average=average, sample_weight=weights)
    for average in ("macro", "weighted"):
        check_same("roc_auc_score", y_true, proba, multi_class="ovo", average=average)
        check_same("roc_auc_score", y_true, proba, multi_class="ovo", average=average, labels=labels)


@given(multiclass_problems())
def test_multiclass_ap_and_losses_match_sklearn(problem):
    y_true, proba, weights, labels = problem
    for average in ("macro", "weighted", "micro", "samples", None):
        check_same("average_precision_score", y_true, proba, average=average, sample_weight=weights)
    check_same("log_loss", y_true, proba, sample_weight=weights)
    check_same("log_loss", y_true, proba, labels=labels, normalize=False)
    check_same("brier_score_loss", y_true, proba, sample_weight=weights)
    check_same("brier_score_loss", y_true, proba, labels=labels, scale_by_half=True)


def test_multiclass_roc_auc_with_labels_absent_from_y_true():
    y_true = [0, 1, 1, 0]
    proba = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.7, 0.2], [0.5, 0.2, 0.3]])
    for average in ("macro", "weighted", None):
        check_same("roc_auc_score", y_true, proba, multi_class="ovr", labels=[0, 1, 2], average=average)
    check_same("roc_auc_score", y_true, proba, multi_class="ovo", labels=[0, 1, 2])
    check_same("log_loss", y_true, proba, labels=[0, 1, 2])
    check_same("brier_score_loss", y_true, proba, labels=[0, 1, 2])


# --------------------------------------------------------------------------------------------- multilabel metrics


@settings(max_examples=40)
@given(multilabel_problems())
def test_multilabel_scores_match_sklearn(problem):
    indicator, scores, weights = problem
    for average in ("micro", "macro", "weighted", "samples", None):
        check_same("average_precision_score", indicator, scores, average=average, sample_weight=weights)
        for max_fpr in (None, 0.5):
            check_same("roc_auc_score", indicator, scores, average=average, sample_weight=weights, max_fpr=max_fpr)


# -------------------------------------------------------------------------------------------------- input types


@pytest.mark.parametrize(
    "convert", [list, np.asarray, pd.Series, torch.tensor], ids=["list", "numpy", "pandas", "torch"]
)
def test_array_like_inputs(convert):
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 2, 30)
    y_score = np.round(rng.random(30), 1)
    weights = rng.random(30)
    args = (convert(y_true.tolist()), convert(y_score.tolist()))
    # torch.tensor makes float32 from Python floats: the reference gets the very same values.
    ref_args = tuple(np.asarray(a) for a in args)
    for name in ("roc_curve", "precision_recall_curve"):
        got = getattr(ours, name)(*args, sample_weight=convert(weights.tolist()))
        ref = getattr(skm, name)(*ref_args, sample_weight=np.asarray(convert(weights.tolist())))
        np.testing.assert_array_equal(got[2], ref[2])
        _assert_close(got[0], ref[0])
        _assert_close(got[1], ref[1])
    for name in ("roc_auc_score", "average_precision_score", "brier_score_loss", "log_loss"):
        _assert_close(getattr(ours, name)(*args), getattr(skm, name)(*ref_args))
    y_multi = rng.integers(0, 3, 30)
    y_multi[:3] = [0, 1, 2]
    proba = rng.dirichlet(np.ones(3), 30)
    proba_input = torch.tensor(proba) if convert is torch.tensor else proba.tolist()
    _assert_close(ours.roc_auc_score(convert(y_multi.tolist()), proba_input, multi_class="ovo"),
                  skm.roc_auc_score(y_multi, proba, multi_class="ovo"))
    _assert_close(ours.log_loss(convert(y_multi.tolist()), proba_input), skm.log_loss(y_multi, proba))


def test_float32_probabilities_are_clipped_at_float32_eps():
    y_true = [0, 1, 1, 0]
    proba = np.array([0.0, 1.0, 0.7, 0.2], dtype=np.float32)
    np.testing.assert_allclose(ours.log_loss(y_true, proba), skm.log_loss(y_true, proba), rtol=1e-6)


# ---------------------------------------------------------------------------------------------------- bad input

MULTICLASS_Y = [0, 1, 2, 2, 1, 0]
MULTICLASS_P = np.array([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2], [0.1, 0.2, 0.7], [0.3, 0.3, 0.4], [0.2, 0.5, 0.3],
                         [0.5, 0.4, 0.1]])


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2]), {}),
        ("roc_auc_score", ([0, 1, 1], [0.1, np.nan, 0.3]), {}),
        ("roc_auc_score", ([0, 1, 1], [0.1, np.inf, 0.3]), {}),
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"average": "mean"}),
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"max_fpr": 0.0}),
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"max_fpr": 1.5}),
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"multi_class": "ova"}),
        ("roc_auc_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"sample_weight": [1.0, 2.0]}),
        ("roc_auc_score", ([0, 1, 1], [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]]), {}),
        ("roc_auc_score", ([0.5, 1.5, 1.0], [0.1, 0.2, 0.3]), {}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {}),  # multi_class='raise'
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P * 2), {"multi_class": "ovr"}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "max_fpr": 0.5}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovo", "average": None}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovo", "average": "micro"}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "average": "samples"}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovo", "sample_weight": [1.0] * 6}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "labels": [0, 2, 1]}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "labels": [0, 1, 1]}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "labels": [0, 1]}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P), {"multi_class": "ovr", "labels": [0, 1, 3]}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P[:, :2]), {"multi_class": "ovr"}),
        ("roc_auc_score", (MULTICLASS_Y, MULTICLASS_P[:, 0]), {"multi_class": "ovr"}),
        ("roc_curve", (["a", "b", "a"], [0.1, 0.2, 0.3]), {}),
        ("roc_curve", ([0, 1, 2], [0.1, 0.2, 0.3]), {}),
        ("roc_curve", ([0, 1, 1], [0.1, 0.2, 0.3]), {"sample_weight": [0.0, 0.0, 0.0]}),
        ("roc_curve", ([0, 1, 1], [0.1, np.nan, 0.3]), {}),
        ("precision_recall_curve", ([0, 1, 1], [0.1, 0.2]), {}),
        ("precision_recall_curve", ([0, 1, 1], [[0.1, 0.2], [0.1, 0.2], [0.1, 0.2]]), {}),
        ("average_precision_score", (["a", "b", "a"], [0.1, 0.2, 0.3]), {}),
        ("average_precision_score", ([0, 1, 1], [0.1, 0.2, 0.3]), {"pos_label": 2}),
        ("average_precision_score", (MULTICLASS_Y, MULTICLASS_P), {"pos_label": 2}),
        ("average_precision_score", (MULTICLASS_Y, MULTICLASS_P[:, :2]), {}),
        ("average_precision_score", ([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]]), {"pos_label": 0}),
        ("average_precision_score", ([0.5, 1.5, 1.0], [0.1, 0.2, 0.3]), {}),
        ("log_loss", ([0, 1, 1], [0.1, 1.2, 0.3]), {}),
        ("log_loss", ([0, 1, 1], [0.1, -0.2, 0.3]), {}),
        ("log_loss", ([0, 1, 1], [0.1, np.nan, 0.3]), {}),
        ("log_loss", ([1, 1, 1], [0.1, 0.2, 0.3]), {}),
        ("log_loss", ([1, 1, 1], [0.1, 0.2, 0.3]), {"labels": [1]}),
        ("log_loss", (MULTICLASS_Y, MULTICLASS_P[:, :2]), {}),
        ("log_loss", (MULTICLASS_Y, MULTICLASS_P), {"labels": [0, 1, 2, 3]}),
        ("log_loss", (MULTICLASS_Y, MULTICLASS_P), {"labels": [0, 1]}),
        ("log_loss", (MULTICLASS_Y, MULTICLASS_P[:4]), {}),
        ("brier_score_loss", ([0, 1, 2], [0.1, 0.2, 0.3]), {}),
        ("brier_score_loss", (["a", "b", "a"], [0.1, 0.2, 0.3]), {}),
        ("brier_score_loss", ([0, 1, 1], [0.1, 1.2, 0.3]), {}),
        ("brier_score_loss", ([0, 1, 1], [0.1, 0.2]), {}),
        ("brier_score_loss", (MULTICLASS_Y, MULTICLASS_P * 1.5), {}),
        ("brier_score_loss", ([0, 1, 1], [0.1, 0.2, 0.3]), {"scale_by_half": "yes"}),
    ],
)
def test_bad_input_raises_like_sklearn(name, args, kwargs):
    ref, ref_error, _ = call_recorded(getattr(skm, name), *args, **kwargs)
    assert ref_error is not None, f"sklearn accepted it: {ref!r}"
    check_same(name, *args, **kwargs)


def test_probabilities_not_summing_to_one_warn_in_losses():
    proba = MULTICLASS_P * 0.9
    with pytest.warns(UserWarning, match="do not sum to one"):
        ours.log_loss(MULTICLASS_Y, proba)
    check_same("log_loss", MULTICLASS_Y, proba)
    check_same("brier_score_loss", MULTICLASS_Y, proba)


def test_unordered_labels_warn_in_log_loss():
    labels = ["b", "a", "c"]
    y_true = ["a", "b", "c", "a"]
    proba = np.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.3, 0.5, 0.2]])
    check_same("log_loss", y_true, proba, labels=labels)


def test_log_loss_deprecated_y_pred_keyword():
    with pytest.warns(FutureWarning, match="renamed to `y_proba`"):
        value = ours.log_loss([0, 1, 1], y_pred=[0.2, 0.7, 0.9])
    _assert_close(value, skm.log_loss([0, 1, 1], [0.2, 0.7, 0.9]))
    with pytest.raises(ValueError, match="Cannot use both"):
        ours.log_loss([0, 1, 1], [0.2, 0.7, 0.9], y_pred=[0.2, 0.7, 0.9])


def test_error_messages_say_what_is_wrong():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ours.roc_auc_score([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        ours.average_precision_score([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="sum up to 1.0"):
        ours.roc_auc_score(MULTICLASS_Y, MULTICLASS_P * 2, multi_class="ovr")
    with pytest.raises(ValueError, match="pos_label"):
        ours.roc_curve(["a", "b", "a"], [0.1, 0.2, 0.3])


# ------------------------------------------------------------------------------------------- log_loss edge cases

EDGE_P = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize(
    "y_true, proba, kwargs",
    [
        ([1, 0, 2, 2], EDGE_P, {}),  # exact 0/1 on the true class: clipped to 1 - eps
        ([1, 0, 2, 0], EDGE_P, {}),  # exact 0 on the true class: clipped to eps, a large finite loss
        ([1, 0, 2, 2], EDGE_P * 0.5, {}),  # rows summing to 0.5: warned about, not renormalised
        ([1, 0, 2, 2], EDGE_P * 0.9 + 0.1, {}),  # rows summing to 1.2
        ([1, 0, 1, 1], EDGE_P, {"labels": [0, 1, 2]}),  # class 2 absent from y_true
        (["b", "a", "b", "b"], EDGE_P, {"labels": ["a", "b", "c"]}),
        ([1, 0, 1, 1], EDGE_P, {"labels": [2, 1, 0]}),  # unsorted labels: warned about
        ([1, 1, 1, 1], [0.0, 1.0, 0.5, 1.0], {"labels": [0, 1]}),  # one class in y_true, 1-D P(positive)
        ([0, 1, 0, 1], [0.0, 1.0, 1.0, 0.0], {"sample_weight": [1.0, 0.0, 0.0, 2.0]}),
        ([0, 1, 0, 1], [0.0, 1.0, 1.0, 0.0], {"normalize": False}),
        (np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]]), EDGE_P, {}),  # multilabel indicator
    ],
)
def test_log_loss_edge_cases_match_sklearn(y_true, proba, kwargs, dtype):
    check_same("log_loss", y_true, np.asarray(proba, dtype=dtype), **kwargs)


def test_log_loss_rejects_ambiguous_labels():
    # sklearn fails on both with unrelated messages (a broadcasting error; "not fitted with multilabel input").
    assert call_recorded(skm.log_loss, [1, 0, 1, 1], EDGE_P, labels=[0, 1, 1, 2])[1] is not None
    with pytest.raises(ValueError, match="each class once"):
        ours.log_loss([1, 0, 1, 1], EDGE_P, labels=[0, 1, 1, 2])
    indicator = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 0]])
    assert call_recorded(skm.log_loss, indicator, EDGE_P, labels=[0, 1, 2])[1] is not None
    with pytest.raises(ValueError, match="multilabel indicator"):
        ours.log_loss(indicator, EDGE_P, labels=[0, 1, 2])
