"""``TextClassifier``: the Lightning module that trains :class:`~imbalance_xfmr.model.encoder.TransformerClassifier`.

Batches are dicts from :mod:`imbalance_xfmr.data`: ``input_ids`` int64 (B, T), ``attention_mask`` bool (B, T)
True at real tokens, ``labels`` int64 (B,) (absent in prediction batches). Validation and test metrics are
accumulated over the whole epoch by the streaming confusion matrix of :mod:`imbalance_xfmr.metrics` and
logged once per epoch as ``val/<name>`` / ``test/<name>``: accuracy, balanced_accuracy, f1_macro,
precision_macro, recall_macro, mcc, cohen_kappa, geometric_mean, recall_<class index>, the loss, and for
binary tasks pr_auc (average precision of class 1) and roc_auc.

The training loss is logged as ``train/loss_step`` (on the steps the logger writes, every
``trainer.log_every_n_steps``, and the epoch's last step) and ``train/loss_epoch`` (the epoch's mean over rows),
giving the values and rows in ``metrics.csv`` and the callback metrics that ``self.log("train/loss", loss,
on_step=True, on_epoch=True)`` in every step gives, but summed on the loss's device: no per-step ``self.log`` and no
per-step host sync (see :class:`_MeanLoss`). ``val/loss`` and ``test/loss`` are summed the same way and logged once
an epoch.

Checkpointing, per-batch reseeding and resuming are Trainer configuration, not the model's: see
:mod:`imbalance_xfmr.training` and the ``checkpoints`` keys of :mod:`imbalance_xfmr.cli`.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import Tensor

from imbalance_xfmr.metrics import StreamingBinaryRanking, StreamingConfusionMatrix

from .encoder import Activation, EncoderConfig, Pooling, Positional, TransformerClassifier
from .losses import LossName, make_loss

Decay = Literal["cosine", "linear"]
_SCALAR_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "precision_macro",
    "recall_macro",
    "mcc",
    "cohen_kappa",
    "geometric_mean",
)


def validation_metric_names(num_classes: int) -> list[str]:
    """Every name :class:`TextClassifier` logs once per validation epoch (what ``checkpoints.monitor`` may name)."""
    names = ["loss", *_SCALAR_METRICS, *(f"recall_{c}" for c in range(num_classes))]
    if num_classes == 2:
        names += ["pr_auc", "roc_auc"]
    return [f"val/{name}" for name in names]


def warmup_then_decay(step: int, *, warmup_steps: int, total_steps: int, decay: Decay, min_lr_ratio: float) -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based): linear warmup from 1 / warmup_steps to
    1 over the first ``warmup_steps`` steps, then cosine or linear decay to ``min_lr_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if decay == "cosine" else 1.0 - progress
    return min_lr_ratio + (1.0 - min_lr_ratio) * shape


class _MeanLoss:
    """The mean of a logged loss over an epoch's rows, summed on the loss's device (no host sync), as Lightning's
    ``self.log(..., on_epoch=True, batch_size=n)`` reduces it: the same float operations in the same order
    (``value = value + loss * n`` in float32, ``rows = rows + n`` in int64, ``value / rows``), so the logged mean is
    bit for bit the one ``self.log`` would have given, at the cost of three small tensor operations a step."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.value: Tensor | None = None
        self.rows: Tensor | None = None
        self.last: Tensor | None = None

    def update(self, loss: Tensor, n: int) -> None:
        loss = loss.detach()
        if loss.dtype not in (torch.float32, torch.float64):  # Lightning keeps logged values in float32 or wider
            loss = loss.to(_default_float_dtype())
        if self.value is None:
            self.value = torch.tensor(0.0, dtype=_default_float_dtype(), device=loss.device)
            self.rows = torch.tensor(0, device=loss.device)
        self.value = self.value + loss * n
        self.rows = self.rows + n
        self.last = loss

    @property
    def empty(self) -> bool:
        return self.value is None

    def compute(self) -> Tensor:
        return self.value / self.rows


def _default_float_dtype() -> torch.dtype:
    """The dtype Lightning accumulates logged values in: torch's default float dtype when float32 or float64."""
    dtype = torch.get_default_dtype()
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


class TextClassifier(pl.LightningModule):
    """Transformer text classifier with losses for imbalanced classes, AdamW and a warmup-decay schedule.

    Args:
        vocab_size: tokenizer vocabulary size (linked from the DataModule by the CLI).
        num_classes: number of classes C >= 2 (linked from the DataModule).
        class_counts: training rows per class in encoded label order (linked from the DataModule); needed by
            ``weighted_ce``, ``logit_adjusted`` and ``focal_alpha="balanced"``.
        max_length, d_model, n_heads, n_layers, d_ff, dropout, activation, norm_first, positional, pooling,
            pad_token_id: the encoder, see :class:`~imbalance_xfmr.model.encoder.EncoderConfig`.
        loss, label_smoothing, focal_gamma, focal_alpha, logit_adjust_tau: the training loss, see
            :func:`~imbalance_xfmr.model.losses.make_loss`; validation and test losses use the same one.
        lr: peak learning rate of AdamW.
        weight_decay: AdamW decoupled weight decay, applied to weight matrices and embeddings only (not to
            biases and layer-norm parameters).
        betas: AdamW's moment coefficients.
        warmup_fraction: fraction of all optimizer steps spent warming the learning rate up linearly.
        decay: ``"cosine"`` or ``"linear"`` decay after the warmup, stepped every optimizer step.
        min_lr_ratio: final learning rate as a fraction of ``lr``.
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int,
        class_counts: list[int] | None = None,
        max_length: int = 512,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        d_ff: int = 512,
        dropout: float = 0.1,
        activation: Activation = "gelu",
        norm_first: bool = True,
        positional: Positional = "sinusoidal",
        pooling: Pooling = "cls",
        pad_token_id: int = 0,
        loss: LossName = "ce",
        label_smoothing: float = 0.0,
        focal_gamma: float = 2.0,
        focal_alpha: float | list[float] | Literal["balanced"] | None = None,
        logit_adjust_tau: float = 1.0,
        lr: float = 3e-4,
        weight_decay: float = 0.01,
        betas: tuple[float, float] = (0.9, 0.999),
        warmup_fraction: float = 0.1,
        decay: Decay = "cosine",
        min_lr_ratio: float = 0.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if class_counts is not None and len(class_counts) != num_classes:
            raise ValueError(f"class_counts has {len(class_counts)} entries but num_classes is {num_classes}.")
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

        self.model = TransformerClassifier(
            EncoderConfig(
                vocab_size=vocab_size,
                num_classes=num_classes,
                max_length=max_length,
                d_model=d_model,
                n_heads=n_heads,
                n_layers=n_layers,
                d_ff=d_ff,
                dropout=dropout,
                activation=activation,
                norm_first=norm_first,
                positional=positional,
                pooling=pooling,
                pad_token_id=pad_token_id,
            )
        )
        self.criterion = make_loss(
            loss,
            class_counts,
            label_smoothing=label_smoothing,
            focal_gamma=focal_gamma,
            focal_alpha=focal_alpha,
            logit_adjust_tau=logit_adjust_tau,
        )
        # One metric object per stage: a validation epoch inside fit must not mix with a test run.
        self.val_confusion = StreamingConfusionMatrix(num_classes)
        self.test_confusion = StreamingConfusionMatrix(num_classes)
        self.val_ranking = StreamingBinaryRanking() if num_classes == 2 else None
        self.test_ranking = StreamingBinaryRanking() if num_classes == 2 else None
        # Epoch means of the losses, summed on their device and logged once per epoch (and the training loss on
        # the steps the logger writes): what self.log(..., on_epoch=True) would log, without its per-step cost.
        self._train_loss = _MeanLoss()
        self._eval_loss = _MeanLoss()

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets `_current_fx_name` around every hook call (about 50 times a training step); nn.Module's
        # __setattr__ (isinstance checks against Parameter, Module, Tensor) costs several times a plain attribute's.
        # It is a plain attribute (a str or None), never a parameter, buffer or submodule.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """input_ids (B, T), attention_mask (B, T) bool -> logits (B, C)."""
        return self.model(input_ids, attention_mask)

    # ------------------------------------------------------------------------------------------------------
    # Steps

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        logits = self(batch["input_ids"], batch["attention_mask"])
        loss = self.criterion(logits, batch["labels"])
        self._train_loss.update(loss, len(logits))
        return loss

    def on_train_epoch_start(self) -> None:
        self._train_loss.reset()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # The step's loss goes to the logger (and the progress bar) on the steps the logger writes, and on the
        # epoch's last step (callback_metrics and the progress bar then hold the last loss, as with a per-step
        # self.log); as a CPU copy: one host sync each time, and the progress bar reads it every step without one.
        trainer = self.trainer
        last_batch = batch_idx + 1 == trainer.num_training_batches
        if self._train_loss.last is not None and (last_batch or _logger_writes_this_step(trainer)):
            self.log("train/loss_step", self._train_loss.last.cpu(), on_step=True, on_epoch=False, prog_bar=True,
                     batch_size=1)

    def on_train_epoch_end(self) -> None:
        if self._train_loss.empty:
            return
        mean = self._train_loss.compute()
        self._train_loss.reset()
        self.log("train/loss_epoch", mean, on_step=False, on_epoch=True, prog_bar=True, batch_size=1)
        # callback_metrics["train/loss"]: the epoch mean, as self.log("train/loss", on_step=True, on_epoch=True) has it
        self.log("train/loss", mean, on_step=False, on_epoch=True, logger=False, batch_size=1)

    def validation_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluation_step(batch, self.val_confusion, self.val_ranking)

    def test_step(self, batch: dict[str, Tensor], batch_idx: int) -> None:
        self._evaluation_step(batch, self.test_confusion, self.test_ranking)

    def on_validation_epoch_start(self) -> None:
        self._eval_loss.reset()

    def on_test_epoch_start(self) -> None:
        self._eval_loss.reset()

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val", self.val_confusion, self.val_ranking)

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test", self.test_confusion, self.test_ranking)

    def predict_step(self, batch: dict[str, Tensor], batch_idx: int, dataloader_idx: int = 0) -> Tensor:
        """Class probabilities, float32 (B, C), rows summing to 1."""
        logits = self(batch["input_ids"], batch["attention_mask"])
        return torch.softmax(logits.float(), dim=-1)

    def _evaluation_step(
        self,
        batch: dict[str, Tensor],
        confusion: StreamingConfusionMatrix,
        ranking: StreamingBinaryRanking | None,
    ) -> None:
        logits = self(batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        loss = self.criterion(logits, labels)
        self._eval_loss.update(loss, len(labels))
        confusion.update(logits.detach(), labels)
        if ranking is not None:
            ranking.update(torch.softmax(logits.detach().float(), dim=-1)[:, 1], labels)

    def _log_epoch_metrics(
        self, stage: str, confusion: StreamingConfusionMatrix, ranking: StreamingBinaryRanking | None
    ) -> None:
        if not self._eval_loss.empty:
            # sync_dist: under DDP each rank holds its shard's mean (a no-op in one process).
            self.log(f"{stage}/loss", self._eval_loss.compute(), on_epoch=True, prog_bar=True, batch_size=1,
                     sync_dist=True)
            self._eval_loss.reset()
        if not confusion.update_called:  # e.g. an empty validation set: nothing to report
            return
        values = confusion.compute()
        logged = {f"{stage}/{name}": values[name] for name in _SCALAR_METRICS}
        logged.update({f"{stage}/recall_{c}": recall for c, recall in enumerate(values["recall"])})
        if ranking is not None:
            ranks = ranking.compute()
            logged[f"{stage}/pr_auc"] = ranks["average_precision"]
            logged[f"{stage}/roc_auc"] = ranks["roc_auc"]
            ranking.reset()
        confusion.reset()
        shown = {f"{stage}/f1_macro", f"{stage}/balanced_accuracy"}  # the progress bar has room for few
        self.log_dict({name: value.float() for name, value in logged.items() if name in shown}, prog_bar=True)
        self.log_dict({name: value.float() for name, value in logged.items() if name not in shown})

    # ------------------------------------------------------------------------------------------------------
    # Optimisation

    def configure_optimizers(self) -> dict[str, Any]:
        """AdamW (no weight decay on biases and layer norms) and a per-step warmup-then-decay schedule."""
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": self.hparams.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.hparams.lr, betas=tuple(self.hparams.betas))
        total_steps = self.trainer.estimated_stepping_batches
        if not math.isfinite(total_steps):
            raise ValueError(
                "The learning-rate schedule needs a finite number of steps: "
                "set trainer.max_epochs or trainer.max_steps."
            )
        schedule = partial(
            warmup_then_decay,
            warmup_steps=round(self.hparams.warmup_fraction * total_steps),
            total_steps=int(total_steps),
            decay=self.hparams.decay,
            min_lr_ratio=self.hparams.min_lr_ratio,
        )
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def _logger_writes_this_step(trainer: pl.Trainer) -> bool:
    """Whether Lightning writes this training step's logged values to the loggers (it asks this after
    ``on_train_batch_end``): every ``log_every_n_steps``, on the step training stops, every step of a fast_dev_run.
    True if this Lightning has no such test (then the step loss is logged every step, as before)."""
    connector = getattr(trainer, "_logger_connector", None)
    writes = getattr(connector, "should_update_logs", True)
    return bool(writes or trainer.fast_dev_run)
