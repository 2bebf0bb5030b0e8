"""The metric registry: every name scores like its scikit-learn equivalent, for every task kind it supports.

The equivalents are written out here from scikit-learn's own functions (not from the registry's table), so a
wrong entry (average, multi_class, the positive column, a task it should not accept) fails.
"""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

import imbalance_xfmr.metrics as ours
from metrics_reference import assert_matches_reference


def _binary_proba(y_true, proba):
    return proba[:, 1]


def _multilabel_log_loss(y_true, proba):
    return np.mean([skm.log_loss(y_true[:, j], proba[:, j], labels=[0, 1]) for j in range(y_true.shape[1])])


# name -> {task: reference(y_true, y)}; a task missing here must be refused by the registry.
REFERENCES = {
    "accuracy": {task: skm.accuracy_score for task in ("binary", "multiclass", "multilabel")},
    "f1": {"binary": skm.f1_score},
    "f1_macro": {task: lambda t, p: skm.f1_score(t, p, average="macro")
                 for task in ("binary", "multiclass", "multilabel")},
    "f1_micro": {task: lambda t, p: skm.f1_score(t, p, average="micro")
                 for task in ("binary", "multiclass", "multilabel")},
    "f1_weighted": {task: lambda t, p: skm.f1_score(t, p, average="weighted")
                    for task in ("binary", "multiclass", "multilabel")},
    "mcc": {"binary": skm.matthews_corrcoef, "multiclass": skm.matthews_corrcoef},
    "balanced_accuracy": {"binary": skm.balanced_accuracy_score, "multiclass": skm.balanced_accuracy_score},
    "roc_auc": {
        "binary": lambda t, p: skm.roc_auc_score(t, _binary_proba(t, p)),
        "multiclass": lambda t, p: skm.roc_auc_score(t, p, multi_class="ovr", average="macro"),
        "multilabel": lambda t, p: np.mean([skm.roc_auc_score(t[:, j], p[:, j]) for j in range(t.shape[1])]),
    },
    "average_precision": {
        "binary": lambda t, p: skm.average_precision_score(t, _binary_proba(t, p)),
        "multiclass": lambda t, p: skm.average_precision_score(t, p, average="macro"),
        "multilabel": lambda t, p: np.mean(
            [skm.average_precision_score(t[:, j], p[:, j]) for j in range(t.shape[1])]
        ),
    },
    "log_loss": {"binary": skm.log_loss, "multiclass": skm.log_loss, "multilabel": _multilabel_log_loss},
    "quadratic_weighted_kappa": {
        "binary": lambda t, p: skm.cohen_kappa_score(t, p, weights="quadratic"),
        "multiclass": lambda t, p: skm.cohen_kappa_score(t, p, weights="quadratic"),
    },
}
EXPECTED_PROPERTIES = {  # name: (needs, greater_is_better)
    "accuracy": ("labels", True), "f1": ("labels", True), "f1_macro": ("labels", True),
    "f1_micro": ("labels", True), "f1_weighted": ("labels", True), "mcc": ("labels", True),
    "balanced_accuracy": ("labels", True), "roc_auc": ("proba", True), "average_precision": ("proba", True),
    "log_loss": ("proba", False), "quadratic_weighted_kappa": ("labels", True),
}


@st.composite
def task_problems(draw, task: str):
    """(y_true, y_pred labels, probabilities) of a task; every class (and every label's both values) present."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(8, 40))
    if task == "multilabel":
        n_labels = draw(st.integers(2, 5))
        y_true = (rng.random((n, n_labels)) < rng.uniform(0.1, 0.6, n_labels)).astype(np.int64)
        y_true[0], y_true[1] = 0, 1  # each column has both classes
        proba = np.round(rng.random((n, n_labels)), 1)  # ties
        y_pred = (rng.random((n, n_labels)) < 0.4).astype(np.int64)
        return y_true, y_pred, proba
    n_classes = 2 if task == "binary" else draw(st.integers(3, 5))
    y_true = rng.integers(0, n_classes, n)
    y_true[:n_classes] = np.arange(n_classes)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, n_classes, n))
    proba = rng.dirichlet(np.ones(n_classes), n)
    proba[rng.random(n) < 0.2] = proba[0]  # ties
    return y_true, y_pred, proba


@settings(max_examples=25)
@given(st.data(), st.sampled_from(["binary", "multiclass", "multilabel"]))
def test_every_metric_scores_like_sklearn(data, task):
    y_true, y_pred, proba = data.draw(task_problems(task))
    for name in ours.METRIC_NAMES:
        metric = ours.get_metric(name)
        y = y_pred if metric.needs == "labels" else proba
        reference = REFERENCES[name].get(task)
        if reference is None:
            assert not metric.supports(task)
            with pytest.raises(ValueError, match="not defined for"):
                metric.score(y_true, y, task=task)
            continue
        assert metric.supports(task)
        got = assert_matches_reference(lambda t, p: metric.score(t, p, task=task), reference, y_true, y)
        assert got is not None and np.isfinite(got)
        # Without task=, the registry reads the same task off the arrays.
        assert metric.score(y_true, y) == got


def test_names_and_properties():
    assert set(ours.METRIC_NAMES) == set(REFERENCES) == set(EXPECTED_PROPERTIES)
    for name in ours.METRIC_NAMES:
        metric = ours.get_metric(name)
        assert metric.name == name
        assert (metric.needs, metric.greater_is_better) == EXPECTED_PROPERTIES[name]
        assert metric.tasks == frozenset(REFERENCES[name])
    with pytest.raises(AttributeError):  # frozen: a run cannot change what a name means
        ours.get_metric("f1").greater_is_better = False


def test_binary_probabilities_as_one_column_or_two():
    y_true = np.array([0, 1, 1, 0, 1, 0])
    positive = np.array([0.1, 0.8, 0.6, 0.7, 0.9, 0.2])
    two_columns = np.stack([1 - positive, positive], axis=1)
    for name in ("roc_auc", "average_precision", "log_loss"):
        metric = ours.get_metric(name)
        assert metric.score(y_true, positive) == pytest.approx(metric.score(y_true, two_columns), rel=1e-12)


def test_labels_reach_the_metrics_they_define():
    # Kappa: an ordinal level nobody used still sets the distances.
    kappa = ours.get_metric("quadratic_weighted_kappa")
    y1, y2 = [0, 1, 3, 3], [0, 1, 3, 4]
    assert kappa.score(y1, y2, labels=[0, 1, 2, 3, 4]) == pytest.approx(
        skm.cohen_kappa_score(y1, y2, weights="quadratic", labels=[0, 1, 2, 3, 4])
    )
    # log_loss / roc_auc: a fold without class 2 still has three probability columns.
    y_true = np.array([0, 1, 1, 0, 1])
    proba = np.array([[0.7, 0.2, 0.1], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    assert ours.get_metric("log_loss").score(y_true, proba, labels=[0, 1, 2]) == pytest.approx(
        skm.log_loss(y_true, proba, labels=[0, 1, 2])
    )
    assert ours.infer_task(y_true, proba) == "multiclass"


def test_default_metrics():
    expected = {
        ("binary", "labels"): "f1_macro", ("multiclass", "labels"): "f1_macro",
        ("multilabel", "labels"): "f1_macro", ("binary", "proba"): "roc_auc",
        ("multiclass", "proba"): "log_loss", ("multilabel", "proba"): "roc_auc",
    }
    for (task, kind), name in expected.items():
        metric = ours.default_metric(task, kind)
        assert metric.name == name and metric.supports(task) and metric.needs == kind


def test_unknown_names_give_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown metric 'f1_macr'\. Did you mean 'f1_macro'\?") as error:
        ours.get_metric("f1_macr")
    assert all(name in str(error.value) for name in ours.METRIC_NAMES)
    with pytest.raises(ValueError, match="Unknown metric 'qwk'.*Valid metrics: accuracy"):
        ours.get_metric("qwk")
    with pytest.raises(ValueError, match="Did you mean 'multilabel'"):
        ours.default_metric("multi-label", "proba")
    with pytest.raises(ValueError, match="Unknown submission kind 'probabilities'"):
        ours.default_metric("binary", "probabilities")
    with pytest.raises(ValueError, match="Unknown task"):
        ours.get_metric("mcc").score([0, 1], [0, 1], task="regression")


def test_unsupported_task_gives_a_clear_error():
    with pytest.raises(ValueError, match=r"'mcc' is not defined for multilabel.*f1_macro"):
        ours.get_metric("mcc", task="multilabel")
    with pytest.raises(ValueError, match=r"'f1' is not defined for multiclass targets \(it supports: binary\)"):
        ours.get_metric("f1").score([0, 1, 2], [0, 1, 1])
    assert ours.names_for("multilabel", "proba") == ("roc_auc", "average_precision", "log_loss")


def test_infer_task():
    assert ours.infer_task([0, 1, 1]) == "binary"
    assert ours.infer_task(["a", "b", "c"]) == "multiclass"
    assert ours.infer_task([0, 1, 1], [0, 2, 1]) == "multiclass"  # a predicted class y_true lacks
    assert ours.infer_task([0, 1, 1], [0.2, 0.9, 0.5]) == "binary"
    assert ours.infer_task(np.array([[0, 1], [1, 1]])) == "multilabel"
    with pytest.raises(ValueError, match="multilabel indicator"):
        ours.infer_task(np.array([[0, 2], [1, 1]]))
    with pytest.raises(ValueError, match="class labels"):
        ours.infer_task([0.5, 1.5])
