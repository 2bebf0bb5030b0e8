"""SMOTE in the encoder's representation space: synthetic minority rows interpolated between pooled vectors.

SMOTE (Chawla et al., 2002) makes a synthetic sample ``x_i + u * (x_j - x_i)``, ``u ~ U[0, 1)``, between a minority
sample and one of its same-class neighbours. Text has no meaningful interpolation between token sequences, but the
encoder's pooled vectors (B, D) do: :func:`interpolate_within_class` applies the rule to them within a training
batch, pairing each minority row with a random other row of its class in the batch, and
:class:`~imbalance_xfmr.model.classifier.TextClassifier` (``latent_oversampling="smote"``) trains the head on the
result as extra rows of that class.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

LATENT_OVERSAMPLINGS = ("none", "smote")


def minority_classes(class_counts: Sequence[int]) -> Tensor:
    """bool (C,): True for every class with fewer rows than the largest one (all tied: no class)."""
    counts = torch.as_tensor(list(class_counts), dtype=torch.int64)
    return counts < counts.max()


def interpolate_within_class(
    hidden: Tensor, labels: Tensor, synthesised: Tensor, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """One synthetic vector for every row whose class is ``synthesised`` and that has another row of its class.

    hidden (B, D) float; labels (B,) int64 in [0, C); synthesised (C,) bool. For each such row i a partner j != i of
    the same class is drawn uniformly among the batch's rows, then ``z = h_i + u * (h_j - h_i)``, ``u ~ U[0, 1)``.
    Returns (z (N, D) in ``hidden``'s dtype, differentiable in ``hidden``; their labels (N,) int64), rows in batch
    order; N = 0 when no row qualifies. Draws from ``generator`` (default: torch's global generator on ``hidden``'s
    device): a (B, B) uniform for the partners, then N uniforms.
    """
    B = len(labels)
    partners = (labels[:, None] == labels[None, :]) & ~torch.eye(B, dtype=torch.bool, device=labels.device)  # (B, B)
    # The largest of B uniforms, the non-partners' set to -1, is a uniform draw among a row's partners.
    scores = torch.rand((B, B), generator=generator, device=hidden.device).masked_fill(~partners, -1.0)
    partner = scores.argmax(dim=1)  # (B,)
    rows = torch.nonzero(synthesised[labels] & partners.any(dim=1)).squeeze(1)  # (N,)
    u = torch.rand((len(rows), 1), generator=generator, device=hidden.device, dtype=hidden.dtype)
    origin = hidden[rows]
    return origin + u * (hidden[partner[rows]] - origin), labels[rows]
