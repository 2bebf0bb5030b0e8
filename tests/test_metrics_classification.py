"""Our confusion-matrix metrics against scikit-learn 1.9 and imbalanced-learn 0.14, on random and edge inputs."""

from __future__ import annotations

import imblearn.metrics as imb
import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given
from hypothesis import strategies as st

import imbalance_xfmr.metrics as ours
from metrics_reference import assert_matches_reference

STRING_LABELS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"]
AVERAGES = [None, "binary", "micro", "macro", "weighted"]
ZERO_DIVISIONS = ["warn", 0, 1, np.nan]


@st.composite
def label_problems(draw, weights: bool = True):
    """y_true, y_pred over 1 to 8 classes (int or str), classes missing from either side, optional weights."""
    n_classes = draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["int", "str", "sparse_int"]))
    if kind == "str":
        classes = STRING_LABELS[:n_classes]
    elif kind == "int":
        classes = list(range(n_classes))
    else:
        classes = sorted(draw(st.sets(st.integers(-5, 2000), min_size=n_classes, max_size=n_classes)))
    n = draw(st.integers(1, 40))
    true_classes = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=n_classes, unique=True))
    y_true = draw(st.lists(st.sampled_from(true_classes), min_size=n, max_size=n))
    y_pred = draw(st.lists(st.sampled_from(classes), min_size=n, max_size=n))
    sample_weight = None
    if weights and draw(st.booleans()):
        if draw(st.booleans()):
            sample_weight = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
        else:
            sample_weight = draw(st.lists(st.floats(0.0, 10.0), min_size=n, max_size=n))
        if not any(sample_weight):
            # All-zero weights are an error in sklearn (tested on its own below) but not in every imblearn path.
            sample_weight[0] = 1
    labels = None
    if draw(st.booleans()):
        labels = draw(st.lists(st.sampled_from(classes), min_size=1, max_size=len(classes), unique=True))
    return np.array(y_true), np.array(y_pred), sample_weight, labels, classes


@given(label_problems(), st.sampled_from(AVERAGES), st.sampled_from(ZERO_DIVISIONS), st.floats(0, 3),
       st.booleans())
def test_precision_recall_fscore_support(problem, average, zero_division, beta, use_pos_label):
    y_true, y_pred, sample_weight, labels, classes = problem
    kwargs = dict(average=average, zero_division=zero_division, sample_weight=sample_weight, labels=labels)
    if use_pos_label:
        kwargs["pos_label"] = classes[-1]
    assert_matches_reference(
        ours.precision_recall_fscore_support, skm.precision_recall_fscore_support, y_true, y_pred,
        beta=beta, **kwargs,
    )
    for name in ["precision_score", "recall_score", "f1_score"]:
        assert_matches_reference(getattr(ours, name), getattr(skm, name), y_true, y_pred, **kwargs)
    assert_matches_reference(ours.fbeta_score, skm.fbeta_score, y_true, y_pred, beta=beta, **kwargs)


@given(label_problems(), st.sampled_from([None, "true", "pred", "all"]))
def test_confusion_matrices(problem, normalize):
    y_true, y_pred, sample_weight, labels, _ = problem
    assert_matches_reference(
        ours.confusion_matrix, skm.confusion_matrix, y_true, y_pred, labels=labels,
        sample_weight=sample_weight, normalize=normalize,
    )
    assert_matches_reference(
        ours.multilabel_confusion_matrix, skm.multilabel_confusion_matrix, y_true, y_pred, labels=labels,
        sample_weight=sample_weight,
    )


@given(label_problems(), st.booleans(), st.sampled_from([None, "linear", "quadratic"]))
def test_scalar_scores(problem, flag, kappa_weights):
    y_true, y_pred, sample_weight, labels, _ = problem
    assert_matches_reference(
        ours.accuracy_score, skm.accuracy_score, y_true, y_pred, normalize=flag, sample_weight=sample_weight
    )
    assert_matches_reference(
        ours.balanced_accuracy_score, skm.balanced_accuracy_score, y_true, y_pred,
        sample_weight=sample_weight, adjusted=flag,
    )
    assert_matches_reference(
        ours.matthews_corrcoef, skm.matthews_corrcoef, y_true, y_pred, sample_weight=sample_weight
    )
    assert_matches_reference(
        ours.cohen_kappa_score, skm.cohen_kappa_score, y_true, y_pred, labels=labels,
        weights=kappa_weights, sample_weight=sample_weight,
    )


@given(label_problems(), st.sampled_from(AVERAGES + ["samples"]), st.booleans())
def test_sensitivity_specificity(problem, average, use_pos_label):
    y_true, y_pred, sample_weight, labels, classes = problem
    kwargs = dict(average=average, sample_weight=sample_weight, labels=labels)
    if use_pos_label:
        kwargs["pos_label"] = classes[-1]
    assert_matches_reference(
        ours.sensitivity_specificity_support, imb.sensitivity_specificity_support, y_true, y_pred, **kwargs
    )
    for name in ["sensitivity_score", "specificity_score"]:
        assert_matches_reference(getattr(ours, name), getattr(imb, name), y_true, y_pred, **kwargs)


@given(label_problems(), st.sampled_from(AVERAGES + ["multiclass"]), st.sampled_from([0.0, 0.001]),
       st.floats(-1, 1), st.booleans())
def test_geometric_mean_and_iba(problem, average, correction, alpha, squared):
    y_true, y_pred, sample_weight, labels, _ = problem
    assert_matches_reference(
        ours.geometric_mean_score, imb.geometric_mean_score, y_true, y_pred, average=average,
        sample_weight=sample_weight, labels=labels, correction=correction,
    )
    our_iba = ours.make_index_balanced_accuracy(alpha=alpha, squared=squared)(ours.geometric_mean_score)
    ref_iba = imb.make_index_balanced_accuracy(alpha=alpha, squared=squared)(imb.geometric_mean_score)
    assert_matches_reference(our_iba, ref_iba, y_true, y_pred, average=average, labels=labels)


@given(label_problems(), st.integers(0, 5), st.sampled_from(["warn", 0, 1]), st.booleans())
def test_reports(problem, digits, zero_division, output_dict):
    y_true, y_pred, sample_weight, labels, _ = problem
    kwargs = dict(labels=labels, sample_weight=sample_weight, digits=digits, output_dict=output_dict,
                  zero_division=zero_division)
    assert_matches_reference(ours.classification_report, skm.classification_report, y_true, y_pred, **kwargs)
    if labels is None or set(labels) & set(y_true.tolist()):
        assert_matches_reference(
            ours.classification_report_imbalanced, imb.classification_report_imbalanced, y_true, y_pred,
            **kwargs,
        )


def test_report_text_with_target_names_and_weights():
    y_true = ["spam", "ham", "ham", "ham", "spam", "ham"]
    y_pred = ["spam", "ham", "spam", "ham", "ham", "ham"]
    kwargs = dict(target_names=["Ham messages", "Spam"], sample_weight=[1, 2, 1, 1, 3, 1], digits=4)
    text = assert_matches_reference(ours.classification_report, skm.classification_report, y_true, y_pred,
                                     **kwargs)
    assert "Ham messages" in text and "accuracy" in text
    assert_matches_reference(
        ours.classification_report_imbalanced, imb.classification_report_imbalanced, y_true, y_pred, **kwargs
    )


def test_report_markdown_has_a_row_per_class_and_average():
    y_true, y_pred = [0, 1, 2, 2, 1, 0], [0, 2, 2, 2, 1, 1]
    markdown = ours.report_to_markdown(ours.classification_report(y_true, y_pred, output_dict=True))
    lines = markdown.strip().splitlines()
    assert lines[0] == "| | precision | recall | f1-score | support |"
    assert [line.split("|")[1].strip() for line in lines[2:]] == [
        "0", "1", "2", "accuracy", "macro avg", "weighted avg"
    ]
    imbalanced = ours.report_to_markdown(ours.classification_report_imbalanced(y_true, y_pred, output_dict=True))
    assert imbalanced.strip().splitlines()[-1].startswith("| avg / total |")
    with pytest.raises(ValueError, match="output_dict=True"):
        ours.report_to_markdown({"accuracy": 0.5})


@pytest.mark.parametrize("convert", [list, np.asarray, pd.Series, torch.tensor], ids=["list", "numpy", "pandas", "torch"])
def test_input_containers(convert):
    y_true, y_pred = [0, 1, 1, 0, 2, 2, 1], [0, 1, 0, 0, 2, 1, 1]
    expected = skm.f1_score(y_true, y_pred, average="macro")
    assert ours.f1_score(convert(y_true), convert(y_pred), average="macro") == pytest.approx(expected, rel=1e-12)
    np.testing.assert_array_equal(
        ours.confusion_matrix(convert(y_true), convert(y_pred)), skm.confusion_matrix(y_true, y_pred)
    )


@pytest.mark.parametrize(
    "y_true, y_pred",
    [
        ([True, False, True, True], [True, True, False, True]),
        (np.array([1.0, 0.0, 2.0]), np.array([1.0, 2.0, 2.0])),
        (pd.Series(["a", "b", "a"], dtype="category"), pd.Series(["a", "a", "a"], dtype="category")),
        (np.array(["x", "y", "y"], dtype=object), np.array(["x", "x", "y"], dtype=object)),
        ([[0], [1], [1]], [[1], [1], [0]]),
        ([5, 1000, 5], [1000, 1000, 5]),
        ([-1, 1, -1], [1, 1, -1]),
    ],
    ids=["bool", "integral-float", "categorical", "object-str", "column-vector", "sparse-int", "negative"],
)
def test_label_dtypes(y_true, y_pred):
    for name in ["confusion_matrix", "accuracy_score", "matthews_corrcoef", "balanced_accuracy_score"]:
        assert_matches_reference(getattr(ours, name), getattr(skm, name), y_true, y_pred)
    assert_matches_reference(ours.classification_report, skm.classification_report, y_true, y_pred)
    assert_matches_reference(
        ours.precision_recall_fscore_support, skm.precision_recall_fscore_support, y_true, y_pred
    )


BAD_INPUTS = {
    "inconsistent-lengths": (([0, 1, 1], [0, 1]), {}),
    "empty": (([], []), {}),
    "nan-label": (([0.0, np.nan, 1.0], [0.0, 1.0, 1.0]), {}),
    "continuous": (([0.5, 0.2, 1.0], [0, 1, 1]), {}),
    "mixed-types": ((["a", "b", "a"], [0, 1, 0]), {}),
    "multioutput": (([[0, 2], [1, 1]], [[0, 2], [1, 1]]), {}),
    "bytes": (([b"a", b"b"], [b"a", b"a"]), {}),
    "string-scalar": (("abc", "abd"), {}),
    "bad-weights-length": (([0, 1, 1], [0, 1, 0]), {"sample_weight": [1.0, 2.0]}),
    "nan-weights": (([0, 1, 1], [0, 1, 0]), {"sample_weight": [1.0, np.nan, 2.0]}),
    "zero-weights": (([0, 1, 1], [0, 1, 0]), {"sample_weight": [0.0, 0.0, 0.0]}),
    "2d-weights": (([0, 1], [0, 1]), {"sample_weight": [[1.0], [2.0]]}),
}


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize(
    "name",
    ["confusion_matrix", "accuracy_score", "f1_score", "precision_recall_fscore_support", "matthews_corrcoef",
     "balanced_accuracy_score", "classification_report", "multilabel_confusion_matrix"],
)
def test_bad_inputs_raise_like_sklearn(name, case):
    args, kwargs = BAD_INPUTS[case]
    with pytest.raises((ValueError, TypeError)):
        getattr(skm, name)(*args, **kwargs)
    assert_matches_reference(getattr(ours, name), getattr(skm, name), *args, **kwargs)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.f1_score([0, 1, 2], [0, 1, 1], average="binary"),
        lambda m: m.f1_score([0, 1, 1], [0, 1, 1], average="binary", pos_label=3),
        lambda m: m.f1_score(["a", "b"], ["a", "b"]),
        lambda m: m.f1_score([0, 1], [0, 1], average="median"),
        lambda m: m.f1_score([0, 1], [0, 1], zero_division=2),
        lambda m: m.fbeta_score([0, 1], [0, 1], beta=-1),
        lambda m: m.confusion_matrix([0, 1], [0, 1], normalize="rows"),
        lambda m: m.confusion_matrix([0, 1], [0, 1], labels=[]),
        lambda m: m.confusion_matrix([0, 1], [0, 1], labels=[5]),
        lambda m: m.cohen_kappa_score([0, 1], [0, 1], weights="cubic"),
        lambda m: m.cohen_kappa_score([0, 1], [0, 1], labels=[7]),
        lambda m: m.multilabel_confusion_matrix([0, 1], [0, 1], samplewise=True),
        lambda m: m.precision_recall_fscore_support([0, 1], [0, 1], average="samples"),
        lambda m: m.classification_report([0, 1, 2], [0, 1, 1], target_names=["a", "b"]),
    ],
)
def test_bad_parameters_raise_like_sklearn(call):
    assert_matches_reference(lambda: call(ours), lambda: call(skm))
    with pytest.raises((ValueError, TypeError)):
        call(ours)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.sensitivity_specificity_support([0, 1, 2], [0, 1, 1], average="binary"),
        lambda m: m.sensitivity_specificity_support([0, 1], [0, 1], average="binary", pos_label=3),
        lambda m: m.sensitivity_specificity_support([0, 1], [0, 1], average="samples"),
        lambda m: m.geometric_mean_score([0, 1], [0, 1], average="median"),
        lambda m: m.geometric_mean_score([0, 1], [0, 1], correction=-1.0),
        lambda m: m.specificity_score([0, 1], [0, 1], pos_label=1.5),
    ],
)
def test_bad_parameters_raise_like_imblearn(call):
    assert_matches_reference(lambda: call(ours), lambda: call(imb))
    with pytest.raises((ValueError, TypeError)):
        call(ours)


def test_missing_labels_get_a_clear_error():
    with pytest.raises(ValueError, match="missing labels"):
        ours.f1_score(np.array(["a", None, "b"], dtype=object), np.array(["a", "b", "b"], dtype=object))
    with pytest.raises(ValueError, match="contains NaN"):
        ours.confusion_matrix(pd.Series([0, None, 1], dtype="Int64"), [0, 1, 1])


def test_pos_label_ignored_warning_matches():
    assert_matches_reference(ours.f1_score, skm.f1_score, [0, 1, 2], [0, 2, 2], average="macro", pos_label=2)


def test_single_label_warning():
    assert_matches_reference(ours.confusion_matrix, skm.confusion_matrix, [1, 1], [1, 1])


def test_large_inputs_take_the_fast_path_and_agree():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 5, 200_000), rng.integers(0, 5, 200_000)
    weights = rng.random(200_000)
    assert_matches_reference(ours.confusion_matrix, skm.confusion_matrix, y_true, y_pred, sample_weight=weights)
    assert_matches_reference(ours.classification_report, skm.classification_report, y_true, y_pred, digits=6)
    assert_matches_reference(ours.matthews_corrcoef, skm.matthews_corrcoef, y_true, y_pred)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize(
    "y1, y2, labels",
    [
        ([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], [0, 1, 2, 3, 4]),  # levels 0 and 2 unseen
        ([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], [0, 1, 2, 3, 4, 5]),  # unseen levels at both ends
        ([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], [4, 3, 2, 1, 0]),  # reversed order: same distances
        ([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], [0, 2, 4, 1, 3]),  # the order of labels sets the distances
        ([1, 1, 3, 3, 4], [1, 1, 3, 4, 7], [1, 2, 3, 4]),  # a predicted level outside labels is dropped
        (["low", "high", "high"], ["low", "high", "low"], ["low", "mid", "high"]),
        ([1, 1, 1], [1, 1, 1], [0, 1, 2]),  # one level used: undefined (nan, warned)
    ],
)
def test_kappa_with_unseen_ordinal_levels_matches_sklearn(y1, y2, labels, weights):
    value = assert_matches_reference(
        ours.cohen_kappa_score, skm.cohen_kappa_score, y1, y2, labels=labels, weights=weights
    )
    assert value is not None


def test_unseen_ordinal_level_changes_quadratic_kappa():
    y1, y2 = [0, 1, 3, 3], [0, 1, 3, 4]
    seen_only = ours.cohen_kappa_score(y1, y2, weights="quadratic")
    with_level_2 = ours.cohen_kappa_score(y1, y2, weights="quadratic", labels=[0, 1, 2, 3, 4])
    assert with_level_2 == pytest.approx(skm.cohen_kappa_score(y1, y2, weights="quadratic", labels=[0, 1, 2, 3, 4]))
    assert with_level_2 != pytest.approx(seen_only)  # 3 is two levels from 1, not one


def test_repeated_labels_are_rejected_in_confusion_matrix_and_kappa():
    # sklearn leaves a repeated label's first row and column empty (kappa 1.0 here, whatever the data).
    with pytest.raises(ValueError, match="each label once"):
        ours.confusion_matrix([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], labels=[1, 3, 3])
    with pytest.raises(ValueError, match="each label once"):
        ours.cohen_kappa_score([1, 1, 3, 3, 4], [1, 1, 3, 4, 4], labels=[1, 3, 3], weights="quadratic")
