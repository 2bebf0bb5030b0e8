"""Multilabel-indicator targets, Jaccard and Hamming against scikit-learn 1.9, on random and edge inputs.

Random indicators include all-zero rows (samples with no label, true or predicted) and all-zero or all-one
columns (labels nobody has or everybody has), the cases where precision, recall and Jaccard divide by zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

import imbalance_xfmr.metrics as ours
from metrics_reference import assert_matches_reference, call_recorded
from test_metrics_classification import label_problems

ZERO_DIVISIONS = ["warn", 0, 1, np.nan]
AVERAGES = [None, "micro", "macro", "weighted", "samples", "binary"]


def _indicator(draw, n: int, n_labels: int) -> np.ndarray:
    matrix = np.array(draw(st.lists(st.lists(st.integers(0, 1), min_size=n_labels, max_size=n_labels),
                                    min_size=n, max_size=n)))
    # Force the zero-division cases often enough to be seen in a few dozen examples.
    if draw(st.booleans()):
        matrix[draw(st.integers(0, n - 1))] = 0  # a sample without labels
    edit = draw(st.sampled_from(["none", "zero-column", "one-column"]))
    if edit != "none":
        matrix[:, draw(st.integers(0, n_labels - 1))] = int(edit == "one-column")
    return matrix


@st.composite
def indicator_problems(draw, weights: bool = True):
    """(y_true, y_pred, sample_weight, labels): 0/1 matrices of one dtype, weights with zeros, column labels."""
    n = draw(st.integers(1, 20))
    n_labels = draw(st.integers(2, 5))
    dtype = draw(st.sampled_from([np.int64, bool, np.float64, np.int8]))
    y_true = _indicator(draw, n, n_labels).astype(dtype)
    y_pred = _indicator(draw, n, n_labels).astype(dtype)
    sample_weight = None
    if weights and draw(st.booleans()):
        values = st.integers(0, 4) if draw(st.booleans()) else st.sampled_from([0.0, 0.5, 1.0, 2.25])
        sample_weight = np.array(draw(st.lists(values, min_size=n, max_size=n)))
        sample_weight[0] = 1  # all-zero weights are an error (tested in test_metrics_classification)
    labels = None
    if draw(st.booleans()):  # column indices: any order, repeats allowed, possibly empty
        labels = draw(st.lists(st.integers(0, n_labels - 1), max_size=n_labels + 1))
    return y_true, y_pred, sample_weight, labels


# ----------------------------------------------------------------------------------------- set-wise scores


@given(indicator_problems(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS), st.floats(0, 3))
def test_precision_recall_fscore_match_sklearn(problem, average, zero_division, beta):
    y_true, y_pred, sample_weight, labels = problem
    kwargs = dict(average=average, zero_division=zero_division, sample_weight=sample_weight, labels=labels)
    assert_matches_reference(
        ours.precision_recall_fscore_support, skm.precision_recall_fscore_support, y_true, y_pred, beta=beta,
        **kwargs,
    )
    for name in ("precision_score", "recall_score", "f1_score"):
        assert_matches_reference(getattr(ours, name), getattr(skm, name), y_true, y_pred, **kwargs)
    assert_matches_reference(ours.fbeta_score, skm.fbeta_score, y_true, y_pred, beta=beta, **kwargs)


@given(indicator_problems(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS))
def test_jaccard_matches_sklearn_on_indicators(problem, average, zero_division):
    y_true, y_pred, sample_weight, labels = problem
    # zero_division=nan is not an option of sklearn's jaccard_score: both must reject it.
    assert_matches_reference(
        ours.jaccard_score, skm.jaccard_score, y_true, y_pred, average=average, zero_division=zero_division,
        sample_weight=sample_weight, labels=labels,
    )


@given(label_problems(), st.sampled_from(AVERAGES), st.sampled_from(["warn", 0, 1]), st.booleans())
def test_jaccard_and_hamming_match_sklearn_on_labels(problem, average, zero_division, use_pos_label):
    y_true, y_pred, sample_weight, labels, classes = problem
    kwargs = dict(average=average, zero_division=zero_division, sample_weight=sample_weight, labels=labels)
    if use_pos_label:
        kwargs["pos_label"] = classes[-1]
    assert_matches_reference(ours.jaccard_score, skm.jaccard_score, y_true, y_pred, **kwargs)
    assert_matches_reference(ours.hamming_loss, skm.hamming_loss, y_true, y_pred, sample_weight=sample_weight)


# ---------------------------------------------------------------------------------------------- counts


@given(indicator_problems(), st.booleans())
def test_counts_and_sample_scores_match_sklearn(problem, normalize):
    y_true, y_pred, sample_weight, labels = problem
    for samplewise in (False, True):
        ours_mcm = assert_matches_reference(
            ours.multilabel_confusion_matrix, skm.multilabel_confusion_matrix, y_true, y_pred,
            sample_weight=sample_weight, labels=labels, samplewise=samplewise,
        )
        ref_mcm = skm.multilabel_confusion_matrix(
            y_true, y_pred, sample_weight=sample_weight, labels=labels, samplewise=samplewise
        )
        assert ours_mcm.dtype == ref_mcm.dtype
    assert_matches_reference(
        ours.accuracy_score, skm.accuracy_score, y_true, y_pred, normalize=normalize, sample_weight=sample_weight
    )
    assert_matches_reference(ours.hamming_loss, skm.hamming_loss, y_true, y_pred, sample_weight=sample_weight)


@settings(max_examples=40)
@given(indicator_problems(), st.sampled_from(["warn", 0, 1]), st.booleans(), st.booleans())
def test_classification_report_matches_sklearn(problem, zero_division, output_dict, named):
    y_true, y_pred, sample_weight, labels = problem
    target_names = None
    if named:
        target_names = ["toxic", "severe_toxic", "obscene", "threat", "insult", "hate"][: y_true.shape[1]]
        labels = None
    assert_matches_reference(
        ours.classification_report, skm.classification_report, y_true, y_pred, labels=labels,
        target_names=target_names, sample_weight=sample_weight, output_dict=output_dict, digits=4,
        zero_division=zero_division,
    )


def test_documented_example():
    y_true = np.array([[1, 0, 1], [0, 1, 0]])
    y_pred = np.array([[1, 0, 0], [0, 1, 1]])
    expected = np.array([[[1, 0], [0, 1]], [[1, 0], [0, 1]], [[0, 1], [1, 0]]])
    np.testing.assert_array_equal(ours.multilabel_confusion_matrix(y_true, y_pred), expected)
    assert ours.accuracy_score(y_true, y_pred) == 0.0
    assert ours.hamming_loss(y_true, y_pred) == pytest.approx(2 / 6)
    assert ours.jaccard_score(y_true, y_pred, average="samples") == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_all_zero_indicators_warn_like_sklearn():
    zeros = np.zeros((4, 3), dtype=int)
    for average in ("macro", "micro", "samples", "weighted", None):
        for zero_division in ZERO_DIVISIONS:
            value = assert_matches_reference(
                ours.f1_score, skm.f1_score, zeros, zeros, average=average, zero_division=zero_division
            )
            assert value is not None
        assert_matches_reference(ours.jaccard_score, skm.jaccard_score, zeros, zeros, average=average)
    with pytest.warns(UndefinedMetricWarning, match="no true nor predicted labels"):
        ours.f1_score(zeros, zeros, average="samples")
    assert ours.accuracy_score(zeros, zeros) == 1.0
    assert ours.hamming_loss(zeros, zeros) == 0.0


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "samples", None])
def test_empty_label_list_matches_sklearn(average):
    # No column scored: precision & co. average to nan silently, Jaccard (a plain mean) with NumPy's warning.
    y_true, y_pred = np.array([[1, 0, 1], [0, 1, 0]]), np.array([[1, 0, 0], [0, 1, 1]])
    for name in ("f1_score", "jaccard_score"):
        assert_matches_reference(getattr(ours, name), getattr(skm, name), y_true, y_pred, labels=[], average=average)


@pytest.mark.parametrize(
    "convert",
    [np.asarray, lambda a: pd.DataFrame(a, columns=["toxic", "obscene", "insult"]), torch.tensor,
     lambda a: a.tolist()],
    ids=["numpy", "dataframe", "torch", "list"],
)
def test_input_containers(convert):
    rng = np.random.default_rng(7)
    y_true, y_pred = rng.integers(0, 2, (30, 3)), rng.integers(0, 2, (30, 3))
    for average in ("macro", "samples"):
        assert ours.f1_score(convert(y_true), convert(y_pred), average=average) == pytest.approx(
            skm.f1_score(y_true, y_pred, average=average), rel=1e-12
        )
    assert ours.hamming_loss(convert(y_true), convert(y_pred)) == pytest.approx(skm.hamming_loss(y_true, y_pred))


def test_large_indicator_matches_sklearn():
    rng = np.random.default_rng(1)
    y_true = (rng.random((20_000, 6)) < [0.1, 0.01, 0.05, 0.003, 0.05, 0.009]).astype(np.int64)
    y_pred = (rng.random((20_000, 6)) < 0.05).astype(np.int64)
    weights = rng.random(20_000)
    for average in ("micro", "macro", "weighted", "samples"):
        assert_matches_reference(ours.f1_score, skm.f1_score, y_true, y_pred, average=average, sample_weight=weights)
        assert_matches_reference(ours.jaccard_score, skm.jaccard_score, y_true, y_pred, average=average)
    assert_matches_reference(ours.hamming_loss, skm.hamming_loss, y_true, y_pred, sample_weight=weights)


# ------------------------------------------------------------------------------------------------ bad input

Y3 = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0]])
P3 = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0]])


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.f1_score(Y3, P3),  # average='binary'
        lambda m: m.f1_score(Y3, P3[:, :2], average="macro"),
        lambda m: m.f1_score(Y3, [0, 1, 1], average="macro"),
        lambda m: m.accuracy_score(Y3, P3 * 0.5),
        lambda m: m.multilabel_confusion_matrix(Y3, P3, labels=[3]),
        lambda m: m.multilabel_confusion_matrix(Y3, P3, labels=[-1]),
        lambda m: m.jaccard_score(Y3, P3, average="macro", zero_division=np.nan),
        lambda m: m.jaccard_score(Y3, P3, average="macro", zero_division=0.5),
        lambda m: m.jaccard_score(Y3, P3, average="median"),
        lambda m: m.jaccard_score([0, 1, 2], [0, 1, 1], average="samples"),
        lambda m: m.hamming_loss(Y3, P3, sample_weight=[1.0, 2.0]),
        lambda m: m.hamming_loss(Y3[:0], P3[:0]),
        lambda m: m.confusion_matrix(Y3, P3),
        lambda m: m.matthews_corrcoef(Y3, P3),
        lambda m: m.balanced_accuracy_score(Y3, P3),
        lambda m: m.cohen_kappa_score(Y3, P3),
    ],
)
def test_bad_input_raises_like_sklearn(call):
    _, ref_error, _ = call_recorded(call, skm)
    assert ref_error is not None
    assert_matches_reference(lambda: call(ours), lambda: call(skm))


def test_error_messages_say_what_is_wrong():
    with pytest.raises(ValueError, match="different numbers of labels"):
        ours.f1_score(Y3, P3[:, :2], average="macro")
    with pytest.raises(ValueError, match=r"choose another average.*'samples'"):
        ours.f1_score(Y3, P3)
    with pytest.raises(ValueError, match=r"must be in \[0, n labels\)"):
        ours.jaccard_score(Y3, P3, labels=[0, 5], average="macro")
    with pytest.raises(ValueError, match="not supported by this metric"):
        ours.matthews_corrcoef(Y3, P3)
    with pytest.raises(ValueError, match="mix of multilabel-indicator and binary"):
        ours.accuracy_score(Y3, [0, 1, 1])


def test_indicators_must_hold_zeros_and_ones():
    # sklearn takes {0, 2} for an indicator (counting 2 as a positive); we ask for 0/1 instead of guessing.
    for y_pred in (P3 * 2, P3 + 1):
        with pytest.raises(ValueError, match="holding only 0 and 1"):
            ours.f1_score(Y3, y_pred, average="macro")


def test_non_integer_column_labels_are_rejected():
    # sklearn floors 1.5 to column 1 and fails deep in NumPy on a string; we say what a label is here.
    for labels in ([1.5], ["toxic"]):
        with pytest.raises(TypeError, match="labels are column indices"):
            ours.precision_recall_fscore_support(Y3, P3, labels=labels, average="macro")
    np.testing.assert_array_equal(  # integral floats are column indices, as in sklearn
        ours.multilabel_confusion_matrix(Y3, P3, labels=[2.0, 0.0]),
        skm.multilabel_confusion_matrix(Y3, P3, labels=[2.0, 0.0]),
    )


# --------------------------------------------------------------------------- ranking on indicator matrices


@st.composite
def indicator_scores(draw):
    """(y_true, scores, sample_weight): indicators with single-class columns and rows, tied scores, zero
    weights landing on single-class rows."""
    n = draw(st.integers(2, 16))
    n_labels = draw(st.integers(2, 4))
    y_true = _indicator(draw, n, n_labels)
    if draw(st.booleans()):
        y_true[draw(st.integers(0, n - 1))] = 1  # a sample with every label: one class in its row
    scores = np.array(draw(st.lists(st.lists(st.integers(0, 3), min_size=n_labels, max_size=n_labels),
                                    min_size=n, max_size=n))) / 3
    weights = None
    if draw(st.booleans()):
        weights = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 2.5]), min_size=n, max_size=n)))
        weights[draw(st.integers(0, n - 1))] = 1.0
    return y_true, scores, weights


@settings(max_examples=50)
@given(indicator_scores(), st.sampled_from(["micro", "macro", "weighted", "samples", None]))
def test_ranking_scores_match_sklearn(problem, average):
    y_true, scores, weights = problem
    for name in ("roc_auc_score", "average_precision_score"):
        assert_matches_reference(
            getattr(ours, name), getattr(skm, name), y_true, scores, average=average, sample_weight=weights
        )


def test_single_class_label_column_is_nan_with_a_warning_like_sklearn():
    y_true = np.array([[1, 0, 1], [0, 0, 1], [1, 0, 1], [0, 0, 1]])  # column 1: no positive; column 2: no negative
    scores = np.array([[0.9, 0.1, 0.3], [0.2, 0.4, 0.8], [0.7, 0.3, 0.5], [0.1, 0.2, 0.6]])
    per_column = assert_matches_reference(ours.roc_auc_score, skm.roc_auc_score, y_true, scores, average=None)
    assert per_column[0] == 1.0 and np.isnan(per_column[1:]).all()
    with pytest.warns(UndefinedMetricWarning, match="Only one class is present"):
        assert np.isnan(ours.roc_auc_score(y_true, scores))  # the macro mean keeps the NaN, as sklearn's
    for average in ("micro", "weighted", "samples"):
        assert_matches_reference(ours.roc_auc_score, skm.roc_auc_score, y_true, scores, average=average)
    for average in ("micro", "macro", "weighted", "samples", None):
        assert_matches_reference(
            ours.average_precision_score, skm.average_precision_score, y_true, scores, average=average
        )


def test_zero_weight_rows_do_not_make_the_samples_average_nan():
    y_true = np.array([[1, 1, 0], [0, 0, 0], [1, 0, 1], [0, 1, 1]])  # row 1: one class only, NaN on its own
    scores = np.array([[0.1, 0.5, 0.2], [0.3, 0.2, 0.1], [0.9, 0.1, 0.4], [0.2, 0.6, 0.7]])
    weights = [1.0, 0.0, 2.0, 1.0]
    value = assert_matches_reference(
        ours.roc_auc_score, skm.roc_auc_score, y_true, scores, average="samples", sample_weight=weights
    )
    assert value == pytest.approx(0.875)
