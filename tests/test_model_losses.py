"""Losses cross-checked against torch.nn.functional.cross_entropy, scikit-learn's class weights and direct
formulas, on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight

from imbalance_xfmr.model.losses import (
    LOSS_NAMES,
    FocalLoss,
    balanced_class_weights,
    class_prior,
    make_loss,
)

ATOL = 1e-5


@st.composite
def classification_batch(draw: st.DrawFn) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Random logits (N, C), targets (N,) and positive class counts (C,)."""
    n_classes = draw(st.integers(2, 6))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, n_classes, generator=gen) * draw(st.sampled_from([0.1, 1.0, 5.0]))
    target = torch.randint(0, n_classes, (n,), generator=gen)
    counts = draw(st.lists(st.integers(1, 1000), min_size=n_classes, max_size=n_classes))
    return logits, target, counts


@given(batch=classification_batch(), smoothing=st.sampled_from([0.0, 0.1, 0.3]))
def test_ce_and_weighted_ce_match_torch_cross_entropy(batch: tuple, smoothing: float) -> None:
    logits, target, counts = batch
    classes = np.arange(len(counts))
    weights = torch.tensor(
        compute_class_weight("balanced", classes=classes, y=np.repeat(classes, counts)), dtype=torch.float32
    )
    torch.testing.assert_close(
        make_loss("ce", label_smoothing=smoothing)(logits, target),
        F.cross_entropy(logits, target, label_smoothing=smoothing),
        atol=ATOL, rtol=0,
    )
    torch.testing.assert_close(
        make_loss("weighted_ce", counts, label_smoothing=smoothing)(logits, target),
        F.cross_entropy(logits, target, weight=weights, label_smoothing=smoothing),
        atol=ATOL, rtol=1e-5,
    )


@given(counts=st.lists(st.integers(1, 10_000), min_size=2, max_size=8))
def test_balanced_weights_match_scikit_learn(counts: list[int]) -> None:
    classes = np.arange(len(counts))
    expected = compute_class_weight("balanced", classes=classes, y=np.repeat(classes, counts))
    np.testing.assert_allclose(balanced_class_weights(counts).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(class_prior(counts).numpy(), np.array(counts) / sum(counts), rtol=1e-6)


@given(batch=classification_batch(), gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]), weighted=st.booleans())
def test_focal_loss_matches_the_direct_formula(batch: tuple, gamma: float, weighted: bool) -> None:
    logits, target, counts = batch
    alpha = torch.rand(logits.shape[1], generator=torch.Generator().manual_seed(len(counts))) if weighted else None
    p = torch.softmax(logits.double(), dim=1)[torch.arange(len(target)), target]
    expected = -((1 - p) ** gamma) * torch.log(p)
    if weighted:
        expected = expected * alpha.double()[target]
    got = FocalLoss(gamma=gamma, alpha=alpha)(logits, target)
    torch.testing.assert_close(got.double(), expected.mean(), atol=ATOL, rtol=1e-5)


@given(batch=classification_batch())
def test_focal_loss_with_gamma_zero_is_cross_entropy(batch: tuple) -> None:
    logits, target, _ = batch
    got = make_loss("focal", focal_gamma=0.0)(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target), atol=ATOL, rtol=0)


def test_focal_alpha_forms() -> None:
    assert torch.equal(make_loss("focal", focal_alpha=0.25).alpha, torch.tensor([0.75, 0.25]))
    balanced = make_loss("focal", [90, 10], focal_alpha="balanced").alpha
    torch.testing.assert_close(balanced, balanced_class_weights([90, 10]))
    assert torch.equal(make_loss("focal", focal_alpha=[1.0, 2.0, 3.0]).alpha, torch.tensor([1.0, 2.0, 3.0]))
    assert make_loss("focal").alpha is None


@given(batch=classification_batch(), tau=st.sampled_from([0.0, 0.5, 1.0, 2.0]), smoothing=st.sampled_from([0.0, 0.1]))
def test_logit_adjusted_loss_is_ce_on_shifted_logits(batch: tuple, tau: float, smoothing: float) -> None:
    logits, target, counts = batch
    prior = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    expected = F.cross_entropy(logits.double() + tau * prior.log(), target, label_smoothing=smoothing)
    got = make_loss("logit_adjusted", counts, logit_adjust_tau=tau, label_smoothing=smoothing)(logits, target)
    torch.testing.assert_close(got.double(), expected, atol=ATOL, rtol=1e-5)


def test_logit_adjusted_loss_with_tau_zero_is_cross_entropy() -> None:
    logits, target = torch.randn(8, 3), torch.randint(0, 3, (8,))
    got = make_loss("logit_adjusted", [5, 1, 1], logit_adjust_tau=0.0)(logits, target)
    torch.testing.assert_close(got, F.cross_entropy(logits, target))


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_losses_are_float32_under_bfloat16_logits_and_differentiable(name: str) -> None:
    logits = torch.randn(6, 3, dtype=torch.bfloat16, requires_grad=True)
    loss = make_loss(name, [10, 5, 1])(logits, torch.tensor([0, 1, 2, 0, 1, 2]))
    assert loss.dtype == torch.float32 and loss.ndim == 0
    loss.backward()
    assert torch.isfinite(logits.grad.float()).all()


@pytest.mark.parametrize("name", ["weighted_ce", "focal", "logit_adjusted"])
def test_losses_still_work_after_the_module_is_cast_to_bfloat16(name: str) -> None:
    # Lightning's "bf16-true" precision casts every buffer of the LightningModule, class weights included.
    loss = make_loss(name, [10, 5, 1], focal_alpha="balanced")
    logits, target = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    expected = loss(logits, target)
    got = loss.to(torch.bfloat16)(logits.bfloat16(), target)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=0.05, rtol=0.02)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(name="hinge"), "Unknown loss 'hinge'"),
        (dict(name="weighted_ce"), "needs class_counts"),
        (dict(name="logit_adjusted"), "needs class_counts"),
        (dict(name="focal", focal_alpha="balanced"), "needs class_counts"),
        (dict(name="weighted_ce", class_counts=[5, 0]), "must all be positive"),
        (dict(name="weighted_ce", class_counts=[5]), ">= 2 classes"),
        (dict(name="ce", label_smoothing=1.0), "label_smoothing"),
        (dict(name="ce", label_smoothing=-0.1), "label_smoothing"),
        (dict(name="focal", label_smoothing=0.1), "not supported with the focal loss"),
        (dict(name="focal", focal_gamma=-1.0), "focal_gamma"),
        (dict(name="focal", focal_alpha=1.5), r"in \(0, 1\)"),
        (dict(name="focal", class_counts=[1, 2, 3], focal_alpha=0.25), "binary"),
        (dict(name="focal", class_counts=[1, 2, 3], focal_alpha=[1.0, 2.0]), "2 weights but there are 3 classes"),
        (dict(name="focal", focal_alpha=[1.0, -2.0]), ">= 0"),
        (dict(name="focal", focal_alpha="auto"), "focal_alpha must be"),
        (dict(name="logit_adjusted", class_counts=[1, 2], logit_adjust_tau=-1.0), "logit_adjust_tau"),
    ],
)
def test_bad_parameters_are_rejected_with_a_clear_error(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_loss(**kwargs)
