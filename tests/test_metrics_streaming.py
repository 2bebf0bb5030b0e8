"""Streaming metrics equal the NumPy functions (and the references) on the concatenated epoch."""

from __future__ import annotations

import warnings

import imblearn.metrics as imb
import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import given
from hypothesis import strategies as st

from imbalance_xfmr.metrics import StreamingBinaryRanking, StreamingConfusionMatrix

RTOL = 1e-12


@st.composite
def epochs(draw):
    """A list of (preds, target) batches over num_classes classes, some classes never seen."""
    num_classes = draw(st.integers(2, 6))
    n_batches = draw(st.integers(1, 6))
    batches = []
    for _ in range(n_batches):
        size = draw(st.integers(0, 12))
        target = draw(st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size))
        preds = draw(st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size))
        batches.append((torch.tensor(preds, dtype=torch.long), torch.tensor(target, dtype=torch.long)))
    return num_classes, batches


@given(epochs())
def test_confusion_matrix_metric_equals_the_epoch_scores(epoch):
    num_classes, batches = epoch
    metric = StreamingConfusionMatrix(num_classes)
    for preds, target in batches:
        metric.update(preds, target)
    y_pred = torch.cat([p for p, _ in batches]).numpy()
    y_true = torch.cat([t for _, t in batches]).numpy()
    result = metric.compute()
    labels = list(range(num_classes))
    np.testing.assert_array_equal(
        result["confusion_matrix"].numpy(), skm.confusion_matrix(y_true, y_pred, labels=labels)
        if y_true.size else np.zeros((num_classes, num_classes), dtype=np.int64),
    )
    if y_true.size == 0:
        assert np.isnan(result["f1_macro"].item())
        return
    expected = {
        "accuracy": skm.accuracy_score(y_true, y_pred),
        "f1_macro": skm.f1_score(y_true, y_pred, average="macro", zero_division=0),
        "precision_macro": skm.precision_score(y_true, y_pred, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y_true, y_pred, average="macro", zero_division=0),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined-score warnings; the streaming metric is silent by design
        expected["mcc"] = skm.matthews_corrcoef(y_true, y_pred)
        expected["balanced_accuracy"] = skm.balanced_accuracy_score(y_true, y_pred)
        expected["cohen_kappa"] = skm.cohen_kappa_score(y_true, y_pred)
        expected["geometric_mean"] = imb.geometric_mean_score(y_true, y_pred)
    for name, value in expected.items():
        np.testing.assert_allclose(result[name].item(), value, rtol=RTOL, atol=1e-15, equal_nan=True,
                                   err_msg=name)
    for name, func in [("precision", skm.precision_score), ("recall", skm.recall_score), ("f1", skm.f1_score)]:
        np.testing.assert_allclose(
            result[name].numpy(), func(y_true, y_pred, labels=labels, average=None, zero_division=0),
            rtol=RTOL, err_msg=name,
        )


def test_scores_input_takes_the_argmax_and_ranks_sum_like_ddp():
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(300, 4)))
    target = torch.tensor(rng.integers(0, 4, 300))
    whole = StreamingConfusionMatrix(4)
    whole.update(logits, target)
    # Two "ranks", each seeing half; merge_state applies the same sum reduction DDP sync uses.
    rank0, rank1 = StreamingConfusionMatrix(4), StreamingConfusionMatrix(4)
    rank0.update(logits[:150], target[:150])
    rank1.update(logits[150:], target[150:])
    rank0.merge_state(rank1)
    merged, expected = rank0.compute(), whole.compute()
    assert torch.equal(merged["confusion_matrix"], expected["confusion_matrix"])
    assert merged["f1_macro"].item() == pytest.approx(
        skm.f1_score(target.numpy(), logits.argmax(1).numpy(), average="macro"), rel=RTOL
    )
    assert whole._reductions["confusion_matrix"] is not None


@pytest.mark.parametrize(
    "preds, target, match",
    [
        (torch.tensor([0, 1]), torch.tensor([0]), "2 predictions for 1 targets"),
        (torch.zeros(3, 5), torch.tensor([0, 1, 2]), "5 columns"),
        (torch.tensor([0, 7]), torch.tensor([0, 1]), r"\[0, 3\)"),
        (torch.tensor([0, 1]), torch.tensor([[0, 1]]), "2 predictions for 1 targets"),
    ],
)
def test_confusion_matrix_metric_rejects_bad_updates(preds, target, match):
    with pytest.raises(ValueError, match=match):
        StreamingConfusionMatrix(3).update(preds, target)


def test_confusion_matrix_metric_needs_two_classes():
    with pytest.raises(ValueError, match="num_classes"):
        StreamingConfusionMatrix(1)


def test_binary_ranking_metric_equals_sklearn_with_ties():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(500), 1)  # many ties
    target = (rng.random(500) < 0.1).astype(int)
    metric = StreamingBinaryRanking()
    for start in range(0, 500, 64):
        metric.update(torch.tensor(scores[start:start + 64]), torch.tensor(target[start:start + 64]))
    result = metric.compute()
    assert result["average_precision"].item() == pytest.approx(skm.average_precision_score(target, scores), rel=RTOL)
    assert result["roc_auc"].item() == pytest.approx(skm.roc_auc_score(target, scores), rel=RTOL)


def test_binary_ranking_metric_is_nan_for_a_single_class():
    metric = StreamingBinaryRanking()
    metric.update(torch.tensor([0.2, 0.9]), torch.tensor([0, 0]))
    assert all(np.isnan(v.item()) for v in metric.compute().values())
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        metric.update(torch.zeros(2, 2), torch.tensor([0, 1]))
