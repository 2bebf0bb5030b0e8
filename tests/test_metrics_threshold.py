"""Threshold and class-offset tuning, checked by brute force with the real sklearn / imblearn metrics."""

import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from imblearn.metrics import geometric_mean_score

from imbalance_xfmr.metrics._threshold import (
    OffsetResult,
    ThresholdResult,
    apply_class_offsets,
    tune_class_offsets,
    tune_threshold,
)

METRICS = ["f1", "f1_macro", "fbeta", "mcc", "gmean", "balanced_accuracy", "youden"]
BETA = 2.0


def reference_metric(metric, y_true, y_pred, weights, pos_label):
    """The metric of hard predictions, from sklearn / imblearn."""
    kwargs = {"sample_weight": weights}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 0/0 ratios: sklearn warns and uses 0, as we do
        if metric == "f1":
            return skm.f1_score(y_true, y_pred, pos_label=pos_label, **kwargs)
        if metric == "f1_macro":
            return skm.f1_score(y_true, y_pred, average="macro", zero_division=0, **kwargs)
        if metric == "fbeta":
            return skm.fbeta_score(y_true, y_pred, beta=BETA, pos_label=pos_label, **kwargs)
        if metric == "mcc":
            return skm.matthews_corrcoef(y_true, y_pred, **kwargs)
        if metric == "gmean":
            return geometric_mean_score(y_true, y_pred, **kwargs)
        if metric == "balanced_accuracy":
            return skm.balanced_accuracy_score(y_true, y_pred, **kwargs)
        tpr = skm.recall_score(y_true, y_pred, pos_label=pos_label, **kwargs)
        negative = [label for label in np.unique(y_true) if label != pos_label][0]
        tnr = skm.recall_score(y_true, y_pred, pos_label=negative, **kwargs)
        return tpr + tnr - 1


@st.composite
def binary_problems(draw):
    n = draw(st.integers(2, 40))
    negative, positive = draw(st.sampled_from([(0, 1), ("ham", "spam"), (-1, 1)]))
    is_positive = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    is_positive[:2] = [False, True]
    y_true = np.where(is_positive, positive, negative)
    levels = draw(st.integers(1, 8))
    y_score = np.array(draw(st.lists(st.integers(0, levels), min_size=n, max_size=n))) / levels
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0]), min_size=n, max_size=n)))
        weights[:2] = 1.0
    return y_true, y_score, weights, positive, negative


@given(binary_problems(), st.sampled_from(METRICS))
def test_tuned_threshold_is_the_brute_force_best(problem, metric):
    y_true, y_score, weights, positive, negative = problem
    result = tune_threshold(y_true, y_score, metric=metric, beta=BETA, pos_label=positive, sample_weight=weights)
    kept = np.ones_like(y_score, dtype=bool) if weights is None else weights != 0
    np.testing.assert_array_equal(result.thresholds, np.unique(y_score[kept]))
    brute = np.array([
        reference_metric(metric, y_true, np.where(y_score >= t, positive, negative), weights, positive)
        for t in result.thresholds
    ])
    np.testing.assert_allclose(result.scores, brute, rtol=1e-12, atol=1e-14)
    assert result.score == pytest.approx(brute.max(), rel=1e-12, abs=1e-14)
    assert result.threshold in result.thresholds
    assert brute[result.thresholds == result.threshold][0] == pytest.approx(brute.max(), rel=1e-12, abs=1e-14)


def test_ties_of_the_metric_pick_the_largest_threshold():
    y_true = [1, 0, 1, 0, 0]
    y_score = [0.9, 0.8, 0.6, 0.3, 0.1]
    result = tune_threshold(y_true, y_score, metric="youden")
    # Youden: t=0.9 -> 0.5, t=0.8 -> 0.5 - 1/3, t=0.6 -> 1 - 1/3 = 2/3, t=0.3 -> 1 - 2/3; best 0.6 is unique.
    assert result.threshold == 0.6
    tied = tune_threshold([1, 1, 0, 0], [0.9, 0.8, 0.8, 0.1], metric="balanced_accuracy")
    # t=0.9: (0.5 + 1)/2 = 0.75; t=0.8: (1 + 0.5)/2 = 0.75; t=0.1: 0.5. The larger threshold wins.
    assert tied.score == 0.75
    assert tied.threshold == 0.9


def test_result_is_a_frozen_dataclass_with_the_curve():
    result = tune_threshold([0, 1, 1, 0], [0.1, 0.7, 0.4, 0.4])
    assert isinstance(result, ThresholdResult)
    np.testing.assert_array_equal(result.thresholds, [0.1, 0.4, 0.7])
    assert result.scores.shape == (3,)
    with pytest.raises(AttributeError):
        result.threshold = 0.5
    with pytest.raises(ValueError, match="read-only"):
        result.scores[0] = 1.0


@pytest.mark.parametrize(
    "convert", [list, np.asarray, pd.Series, torch.tensor], ids=["list", "numpy", "pandas", "torch"]
)
def test_array_like_inputs(convert):
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 2, 50)
    y_score = np.round(rng.random(50), 2)
    expected = tune_threshold(y_true, y_score, metric="mcc")
    got = tune_threshold(convert(y_true.tolist()), convert(y_score.tolist()), metric="mcc",
                         sample_weight=convert([1.0] * 50))
    # torch.tensor stores Python floats as float32: compare thresholds at that precision.
    np.testing.assert_allclose(got.thresholds, expected.thresholds, rtol=1e-6)
    assert got.score == pytest.approx(expected.score, rel=1e-12)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([1, 1, 1], [0.1, 0.2, 0.3]), {}, "both classes"),
        (([0, 1, 1], [0.1, 0.2, 0.3]), {"metric": "accuracy"}, "metric"),
        (([0, 1, 1], [0.1, 0.2, 0.3]), {"metric": "fbeta", "beta": 0}, "beta"),
        (([0, 1, 1], [0.1, 0.2]), {}, "inconsistent numbers of samples"),
        (([0, 1, 1], [0.1, np.nan, 0.3]), {}, "NaN"),
        ((["a", "b", "a"], [0.1, 0.2, 0.3]), {}, "pos_label"),
        (([0, 1, 2], [0.1, 0.2, 0.3]), {}, "multiclass"),
    ],
)
def test_tune_threshold_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tune_threshold(*args, **kwargs)


# -------------------------------------------------------------------------------------------------- multiclass


def make_multiclass(rng, n, priors, under_predicted_shift=0.0):
    """Noisy logits; the last class's logit is pushed down to make it under-predicted."""
    n_classes = len(priors)
    y = rng.choice(n_classes, n, p=priors)
    y[:n_classes] = np.arange(n_classes)
    logits = rng.normal(size=(n, n_classes)) + 1.5 * np.eye(n_classes)[y]
    logits[:, -1] -= under_predicted_shift
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, logits, proba / proba.sum(axis=1, keepdims=True)


def reference_multiclass(metric, y_true, y_pred, labels, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if metric == "f1_macro":
            return skm.f1_score(y_true, y_pred, average="macro", labels=labels, sample_weight=weights)
        return skm.balanced_accuracy_score(y_true, y_pred, sample_weight=weights)


@settings(max_examples=25)
@given(st.integers(0, 2**16), st.sampled_from(["f1_macro", "balanced_accuracy"]), st.booleans(), st.booleans())
def test_offsets_never_worse_than_argmax_and_score_is_real(seed, metric, logits_input, weighted):
    rng = np.random.default_rng(seed)
    n_classes = int(rng.integers(2, 5))
    y, logits, proba = make_multiclass(rng, int(rng.integers(n_classes, 80)), rng.dirichlet(np.ones(n_classes) * 2))
    names = np.array(["neg", "neu", "pos", "xtra"][:n_classes])
    weights = rng.random(y.shape[0]) if weighted else None
    scores, scores_are = (logits, "logits") if logits_input else (np.round(proba, 2) / 1.0, "proba")
    result = tune_class_offsets(names[y], scores, metric=metric, scores_are=scores_are, labels=names,
                                sample_weight=weights)
    assert isinstance(result, OffsetResult)
    assert result.score >= result.baseline_score
    baseline = reference_multiclass(metric, names[y], names[np.argmax(scores, axis=1)], names, weights)
    assert result.baseline_score == pytest.approx(baseline, rel=1e-12, abs=1e-14)
    tuned_pred = names[apply_class_offsets(scores, result.offsets, scores_are=scores_are)]
    assert result.score == pytest.approx(reference_multiclass(metric, names[y], tuned_pred, names, weights),
                                         rel=1e-12, abs=1e-14)


@pytest.mark.parametrize("metric", ["f1_macro", "balanced_accuracy"])
def test_offsets_fix_an_under_predicted_class(metric):
    rng = np.random.default_rng(0)
    y, _, proba = make_multiclass(rng, 3000, [0.6, 0.25, 0.1, 0.05], under_predicted_shift=2.0)
    result = tune_class_offsets(y, proba, metric=metric)
    argmax_pred = proba.argmax(axis=1)
    tuned_pred = apply_class_offsets(proba, result.offsets)
    assert np.count_nonzero(argmax_pred == 3) < np.count_nonzero(y == 3) / 2  # really under-predicted
    assert np.count_nonzero(tuned_pred == 3) > np.count_nonzero(argmax_pred == 3)
    assert result.score > result.baseline_score + 0.02
    if metric == "f1_macro":
        assert skm.f1_score(y, tuned_pred, average="macro") > skm.f1_score(y, argmax_pred, average="macro") + 0.02


@pytest.mark.parametrize("metric, weighted", [("f1_macro", False), ("balanced_accuracy", True)])
def test_each_offset_is_optimal_given_the_others(metric, weighted):
    """Coordinate-wise optimality by brute force: move one offset to every gap between switch points."""
    rng = np.random.default_rng(5)
    y, logits, _ = make_multiclass(rng, 120, [0.5, 0.3, 0.2], under_predicted_shift=1.0)
    weights = rng.random(y.shape[0]) if weighted else None
    result = tune_class_offsets(y, logits, metric=metric, scores_are="logits", sample_weight=weights)
    labels = np.arange(3)
    for c in range(3):
        others = logits + result.offsets
        others[:, c] = -np.inf
        switch = np.unique(others.max(axis=1) - logits[:, c])
        candidates = np.concatenate(([switch[0] - 1], (switch[1:] + switch[:-1]) / 2, [switch[-1] + 1]))
        for value in candidates:
            trial = result.offsets.copy()
            trial[c] = value
            pred = apply_class_offsets(logits, trial, scores_are="logits")
            assert reference_multiclass(metric, y, pred, labels, weights) <= result.score + 1e-12


def test_array_like_multiclass_inputs():
    rng = np.random.default_rng(2)
    y, _, proba = make_multiclass(rng, 200, [0.7, 0.2, 0.1], under_predicted_shift=1.0)
    expected = tune_class_offsets(y, proba)
    for y_in, p_in in [(y.tolist(), proba.tolist()), (pd.Series(y), pd.DataFrame(proba)),
                       (torch.tensor(y), torch.tensor(proba))]:
        got = tune_class_offsets(y_in, p_in)
        np.testing.assert_array_equal(got.offsets, expected.offsets)
        assert got.score == expected.score


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        (([0, 1, 2], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), {}, "columns"),
        (([0, 1, 1], [[0.5, 0.5], [1.5, -0.5], [0.5, 0.5]]), {}, "logits"),
        (([0, 1, 1], [0.1, 0.2, 0.3]), {}, "n_classes"),
        (([0, 1, 1], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), {"metric": "accuracy"}, "metric"),
        (([0, 1, 1], [[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]), {"max_iter": 0}, "max_iter"),
        (([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]]), {}, "inconsistent numbers of samples"),
        (([0, 1, 3], [[0.5, 0.5]] * 3), {"labels": [0, 1]}, "not in labels"),
        (([0, 1, 1], [[0.5, 0.5]] * 3), {"scores_are": "probs"}, "scores_are"),
    ],
)
def test_tune_class_offsets_bad_input(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tune_class_offsets(*args, **kwargs)


def test_apply_class_offsets_checks_the_offsets_shape():
    with pytest.raises(ValueError, match="one per column"):
        apply_class_offsets([[0.2, 0.8], [0.6, 0.4]], [0.0, 0.0, 0.0])
    # log(0.2) + 2 > log(0.8): the offset flips the first row to column 0.
    np.testing.assert_array_equal(apply_class_offsets([[0.2, 0.8], [0.6, 0.4]], [2.0, 0.0]), [0, 0])
    np.testing.assert_array_equal(apply_class_offsets([[0.2, 0.8], [0.6, 0.4]], [0.0, 0.0]), [1, 0])
