"""AdamW and its warmup-then-decay learning-rate schedule, shared by the library's LightningModules
(:class:`~imbalance_xfmr.model.classifier.TextClassifier` and
:class:`~imbalance_xfmr.model.pretraining.MaskedLanguageModel`).

Each module takes the hyper-parameters ``lr``, ``weight_decay``, ``betas``, ``warmup_fraction``, ``decay`` and
``min_lr_ratio`` (saved with ``save_hyperparameters``), and optionally ``layerwise_lr_decay`` (TextClassifier's), checks
them with :func:`check_optimization_args` in its ``__init__`` and returns :func:`configure_adamw` from its
``configure_optimizers``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from .encoder import TransformerClassifier

Decay = Literal["cosine", "linear"]


def warmup_then_decay(step: int, *, warmup_steps: int, total_steps: int, decay: Decay, min_lr_ratio: float) -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based): linear warmup from 1 / warmup_steps to
    1 over the first ``warmup_steps`` steps, then cosine or linear decay to ``min_lr_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if decay == "cosine" else 1.0 - progress
    return min_lr_ratio + (1.0 - min_lr_ratio) * shape


def check_optimization_args(*, lr: float, weight_decay: float, warmup_fraction: float, decay: str,
                            min_lr_ratio: float, layerwise_lr_decay: float = 1.0) -> None:
    """ValueError naming the first out-of-range argument of :func:`configure_adamw`."""
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}.")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}.")
    if not 0.0 <= warmup_fraction < 1.0:
        raise ValueError(f"warmup_fraction must be in [0, 1), got {warmup_fraction!r}.")
    if decay not in ("cosine", "linear"):
        raise ValueError(f"decay must be 'cosine' or 'linear', got {decay!r}.")
    if not 0.0 <= min_lr_ratio <= 1.0:
        raise ValueError(f"min_lr_ratio must be in [0, 1], got {min_lr_ratio!r}.")
    if not 0.0 < layerwise_lr_decay <= 1.0:
        raise ValueError(f"layerwise_lr_decay must be in (0, 1] (1: every layer at lr), got {layerwise_lr_decay!r}.")


def layerwise_lr_scales(model: TransformerClassifier, decay: float) -> dict[int, float]:
    """Layer-wise learning-rate decay (Howard & Ruder, 2018; Sun et al., 2019, "How to fine-tune BERT for text
    classification"): ``id(parameter)`` -> the factor of ``lr`` it learns at, for every parameter of ``model``.

    With L encoder layers: layer i (0 at the input) gets ``decay ** (L - i)``, so the top layer ``decay``; the
    embeddings (token, token-type and position tables, their layer norm and ELECTRA's projection) ``decay ** (L +
    1)``; a pre-LN stack's final layer norm, the top of the encoder, ``decay``; the rest, above the encoder (the
    head, BERT's pooler), 1.
    """
    n_layers = len(model.encoder.layers)
    embeddings = (model.token_embedding, model.token_type_embedding, model.position, model.embedding_norm,
                  model.embedding_projection)
    depth_modules = [(n_layers + 1, module) for module in embeddings if module is not None]
    depth_modules += [(n_layers - i, layer) for i, layer in enumerate(model.encoder.layers)]
    depth_modules.append((1, model.encoder.final_norm))
    scales = {id(parameter): 1.0 for parameter in model.parameters()}
    for depth, module in depth_modules:
        scales.update({id(parameter): decay**depth for parameter in module.parameters()})
    return scales


def configure_adamw(module: pl.LightningModule) -> dict[str, Any]:
    """``configure_optimizers`` of ``module``: AdamW over its trainable parameters (no weight decay on biases and
    layer norms, i.e. on tensors of fewer than 2 dimensions; a tied parameter counts once) and a per-step
    :func:`warmup_then_decay` schedule over ``module.trainer.estimated_stepping_batches``, from the optimization
    hyper-parameters of ``module.hparams`` (module docstring). With ``layerwise_lr_decay`` below 1, each parameter
    group is one learning rate of :func:`layerwise_lr_scales` of ``module.model`` (with or without weight decay),
    and the schedule scales every group's rate alike."""
    hparams = module.hparams
    params = [p for p in module.parameters() if p.requires_grad]
    layerwise_lr_decay = hparams.get("layerwise_lr_decay", 1.0)
    if layerwise_lr_decay == 1.0:
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": hparams.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
    else:
        scales = layerwise_lr_scales(module.model, layerwise_lr_decay)
        by_group: dict[tuple[float, bool], list[torch.nn.Parameter]] = {}  # (lr factor, decayed) -> parameters
        for p in params:
            by_group.setdefault((scales.get(id(p), 1.0), p.ndim >= 2), []).append(p)
        groups = [{"params": group, "weight_decay": hparams.weight_decay if decayed else 0.0, "lr": hparams.lr * scale}
                  for (scale, decayed), group in by_group.items()]
    optimizer = torch.optim.AdamW(groups, lr=hparams.lr, betas=tuple(hparams.betas))
    total_steps = module.trainer.estimated_stepping_batches
    if not math.isfinite(total_steps):
        raise ValueError(
            "The learning-rate schedule needs a finite number of steps: "
            "set trainer.max_epochs or trainer.max_steps."
        )
    schedule = partial(
        warmup_then_decay,
        warmup_steps=round(hparams.warmup_fraction * total_steps),
        total_steps=int(total_steps),
        decay=hparams.decay,
        min_lr_ratio=hparams.min_lr_ratio,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
