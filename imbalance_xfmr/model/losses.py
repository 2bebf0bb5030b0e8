"""Classification losses for imbalanced data, each an ``nn.Module`` mapping logits (N, C) and integer
targets (N,) to a scalar mean loss, and :func:`make_loss`, the one place that builds them from a name.

- ``ce``: cross-entropy, optionally with label smoothing (``torch.nn.functional.cross_entropy``).
- ``weighted_ce``: cross-entropy with per-class weights n / (C * n_c) from the training class counts
  (scikit-learn's ``compute_class_weight("balanced")``), normalised like torch's weighted mean.
- ``focal``: focal loss of Lin et al. (2017), -alpha_t (1 - p_t)^gamma log p_t, averaged over samples.
- ``logit_adjusted``: the logit-adjusted loss of Menon et al. (2021), cross-entropy on
  logits + tau * log(prior); predictions use the raw logits, which is what corrects for the prior.

Losses are computed in float32 whatever the autocast dtype of the logits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LossName = Literal["ce", "weighted_ce", "focal", "logit_adjusted"]
LOSS_NAMES: tuple[str, ...] = ("ce", "weighted_ce", "focal", "logit_adjusted")


def _counts_tensor(class_counts: Sequence[int], loss: str) -> Tensor:
    counts = torch.as_tensor(list(class_counts), dtype=torch.float64)
    if counts.ndim != 1 or counts.numel() < 2:
        raise ValueError(
            f"class_counts for {loss!r} must list the training rows of each of >= 2 classes, got {class_counts!r}."
        )
    if bool((counts <= 0).any()):
        raise ValueError(
            f"class_counts for {loss!r} must all be positive, got {list(class_counts)}: a class with no training "
            "rows has no weight or prior. Remove the class or make sure the training split contains it."
        )
    return counts


def balanced_class_weights(class_counts: Sequence[int]) -> Tensor:
    """Weights n_samples / (n_classes * count_c) as float32 (C,), matching scikit-learn's
    ``compute_class_weight("balanced", ...)``."""
    counts = _counts_tensor(class_counts, "balanced class weights")
    return (counts.sum() / (counts.numel() * counts)).float()


def class_prior(class_counts: Sequence[int]) -> Tensor:
    """The training class frequencies count_c / n as float32 (C,)."""
    counts = _counts_tensor(class_counts, "the class prior")
    return (counts / counts.sum()).float()


class CrossEntropyLoss(nn.Module):
    """Cross-entropy with optional per-class ``weight`` (C,) and ``label_smoothing`` in [0, 1); the same
    value as ``torch.nn.functional.cross_entropy`` with those arguments (weighted mean over samples)."""

    def __init__(self, weight: Tensor | None = None, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("weight", weight)
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        weight = None if self.weight is None else self.weight.float()  # buffers follow the module's dtype
        return F.cross_entropy(logits.float(), target, weight=weight, label_smoothing=self.label_smoothing)


class FocalLoss(nn.Module):
    """Focal loss, mean over samples of -alpha_t * (1 - p_t)^gamma * log(p_t), p_t the softmax probability
    of the true class (Lin et al., 2017, eq. 5, in its multi-class softmax form).

    ``alpha`` (C,) weights each class (None: no weighting); with gamma = 0 and no alpha it is cross-entropy.
    Unlike weighted cross-entropy, the mean divides by N, not by the sum of the weights (as in the paper).
    """

    def __init__(self, gamma: float = 2.0, alpha: Tensor | None = None) -> None:
        super().__init__()
        self.gamma = gamma
        self.register_buffer("alpha", alpha)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        log_p_t = F.log_softmax(logits.float(), dim=-1).gather(1, target.unsqueeze(1)).squeeze(1)  # (N,)
        # (1 - p_t) computed as -expm1(log p_t) keeps precision when p_t is close to 1
        loss = -(-torch.expm1(log_p_t)).pow(self.gamma) * log_p_t
        if self.alpha is not None:
            loss = loss * self.alpha.float()[target]
        return loss.mean()


class LogitAdjustedLoss(nn.Module):
    """Cross-entropy on logits + tau * log(prior) (Menon et al., 2021, eq. 10), prior (C,) the training
    class frequencies; optional label smoothing as in :class:`CrossEntropyLoss`."""

    def __init__(self, prior: Tensor, tau: float = 1.0, label_smoothing: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("log_prior", prior.log())
        self.tau = tau
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        adjusted = logits.float() + self.tau * self.log_prior.float()
        return F.cross_entropy(adjusted, target, label_smoothing=self.label_smoothing)


def make_loss(
    name: LossName,
    class_counts: Sequence[int] | None = None,
    *,
    label_smoothing: float = 0.0,
    focal_gamma: float = 2.0,
    focal_alpha: float | Sequence[float] | Literal["balanced"] | None = None,
    logit_adjust_tau: float = 1.0,
) -> nn.Module:
    """Build the loss called ``name`` (one of ``LOSS_NAMES``), validating its parameters.

    Args:
        name: ``"ce"``, ``"weighted_ce"``, ``"focal"`` or ``"logit_adjusted"``.
        class_counts: training rows per class, in encoded label order; required by ``weighted_ce``,
            ``logit_adjusted`` and ``focal_alpha="balanced"``.
        label_smoothing: in [0, 1); for ``ce``, ``weighted_ce`` and ``logit_adjusted``.
        focal_gamma: focusing parameter >= 0 of the focal loss.
        focal_alpha: class weighting of the focal loss: None (none), a float in (0, 1) (binary only: the
            weight of class 1, class 0 gets 1 - alpha, as in Lin et al.), one weight per class, or
            ``"balanced"`` (the weights of ``weighted_ce``).
        logit_adjust_tau: temperature tau >= 0 of the logit adjustment.
    """
    if name not in LOSS_NAMES:
        raise ValueError(f"Unknown loss {name!r}; choose one of {LOSS_NAMES}.")
    if not (_is_number(label_smoothing) and 0.0 <= label_smoothing < 1.0):
        raise ValueError(f"label_smoothing must be a number in [0, 1), got {label_smoothing!r}.")
    if name == "focal" and label_smoothing:
        raise ValueError("label_smoothing is not supported with the focal loss; set it to 0 or use another loss.")
    needs_counts = name in ("weighted_ce", "logit_adjusted") or (name == "focal" and focal_alpha == "balanced")
    if needs_counts and class_counts is None:
        raise ValueError(
            f"Loss {name!r} needs class_counts (training rows per class); pass them, e.g. from the DataModule."
        )

    if name == "ce":
        return CrossEntropyLoss(label_smoothing=label_smoothing)
    if name == "weighted_ce":
        return CrossEntropyLoss(weight=balanced_class_weights(class_counts), label_smoothing=label_smoothing)
    if name == "logit_adjusted":
        if not (_is_number(logit_adjust_tau) and logit_adjust_tau >= 0):
            raise ValueError(f"logit_adjust_tau must be a finite number >= 0, got {logit_adjust_tau!r}.")
        return LogitAdjustedLoss(class_prior(class_counts), tau=logit_adjust_tau, label_smoothing=label_smoothing)

    if not (_is_number(focal_gamma) and focal_gamma >= 0):
        raise ValueError(f"focal_gamma must be a finite number >= 0, got {focal_gamma!r}.")
    return FocalLoss(gamma=focal_gamma, alpha=_focal_alpha(focal_alpha, class_counts))


def _is_number(value: object) -> bool:
    """A finite real number (bools excluded)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _focal_alpha(alpha: float | Sequence[float] | str | None, class_counts: Sequence[int] | None) -> Tensor | None:
    if alpha is None:
        return None
    if alpha == "balanced":
        return balanced_class_weights(class_counts)
    if isinstance(alpha, str):
        raise ValueError(
            f"focal_alpha must be None, a float, a list of per-class weights or 'balanced', got {alpha!r}."
        )
    if isinstance(alpha, (int, float)):
        if not 0.0 < alpha < 1.0:
            raise ValueError(f"A scalar focal_alpha must be in (0, 1), got {alpha!r}.")
        if class_counts is not None and len(class_counts) != 2:
            raise ValueError(
                f"A scalar focal_alpha is the weight of class 1 in a binary task, but there are {len(class_counts)} "
                "classes; give one weight per class instead."
            )
        return torch.tensor([1.0 - alpha, alpha], dtype=torch.float32)
    weights = torch.as_tensor(list(alpha), dtype=torch.float32)
    if weights.ndim != 1 or not bool(torch.isfinite(weights).all()) or bool((weights < 0).any()):
        raise ValueError(f"focal_alpha weights must be finite and >= 0, one per class, got {list(alpha)!r}.")
    if class_counts is not None and weights.numel() != len(class_counts):
        raise ValueError(f"focal_alpha has {weights.numel()} weights but there are {len(class_counts)} classes.")
    return weights
