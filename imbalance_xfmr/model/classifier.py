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
per-step host sync (see :class:`~imbalance_xfmr.model.epoch_mean.EpochMean`). ``val/loss`` and ``test/loss`` are
summed the same way and logged once an epoch.

Three options build on pretraining and on the encoder's pooled representation, all off by default:

- ``pretrained``: fine-tune a pretrained Hugging Face checkpoint folder (BERT, DistilBERT, RoBERTa, ELECTRA, MiniLM,
  sentence-transformers; :mod:`imbalance_xfmr.model.hf_checkpoint`): the encoder, architecture and weights, and its
  pooling come from the folder, the head is new. With ``layerwise_lr_decay`` below 1 the layers nearer the input
  learn more slowly (:func:`~imbalance_xfmr.model.optimization.layerwise_lr_scales`).
- ``init_from``: start the encoder (every weight but the head) from an ``imbalance-xfmr pretrain`` checkpoint
  (:mod:`imbalance_xfmr.model.pretraining`); when that pretraining started from a folder, its architecture too.
- ``latent_oversampling="smote"``: each training batch also trains the head on SMOTE-style interpolations between
  same-class pooled vectors of the minority classes (:mod:`imbalance_xfmr.model.latent_smote`).

Checkpointing, per-batch reseeding and resuming are Trainer configuration, not the model's: see
:mod:`imbalance_xfmr.training` and the ``checkpoints`` keys of :mod:`imbalance_xfmr.cli`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import pytorch_lightning as pl
import torch
from torch import Tensor

from imbalance_xfmr._compat import PlainHookName, logger_writes_this_step
from imbalance_xfmr.metrics import StreamingBinaryRanking, StreamingConfusionMatrix

from .encoder import (
    Activation,
    EncoderConfig,
    Pooling,
    Positional,
    TransformerClassifier,
)
from .epoch_mean import EpochMean
from .latent_smote import (
    LATENT_OVERSAMPLINGS,
    interpolate_within_class,
    minority_classes,
)
from .losses import LossName, make_loss
from .optimization import (
    Decay,
    check_optimization_args,
    configure_adamw,
    warmup_then_decay,
)
from .pretraining import checkpoint_encoder, load_pretrained_encoder, read_pretraining_checkpoint

__all__ = ["TextClassifier", "validation_metric_names", "warmup_then_decay"]

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


class TextClassifier(PlainHookName, pl.LightningModule):
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
        init_from: an ``imbalance-xfmr pretrain`` checkpoint (its ``last.ckpt``): after the usual random
            initialisation, every encoder weight (all but the head) is loaded from it. The encoder hyper-parameters
            must be the pretraining's, and the tokenizer too (``data.tokenizer_path``: the same checkpoint); a
            pretraining started from a checkpoint folder (``MaskedLanguageModel(pretrained=...)``) gives the
            architecture itself, as ``pretrained`` does. Only read here: a checkpoint of this model holds the
            weights, so loading one never needs this file.
        pretrained: a Hugging Face checkpoint folder (config.json plus weights; nothing is downloaded): the encoder,
            architecture and weights, comes from it (:func:`~imbalance_xfmr.model.hf_checkpoint.read_hf_checkpoint`)
            and the head is new. Beside it the encoder arguments d_model, n_heads, n_layers, d_ff, activation,
            norm_first and positional must be left at their defaults (or equal the checkpoint's: anything else is a
            ValueError); ``max_length`` (the longest sequence) must not exceed its positions, ``vocab_size`` and
            ``pad_token_id`` must be its tokenizer's (``data.pretrained_tokenizer``, which the CLI sets to the same
            folder); ``pooling`` ``'cls'`` (the default) keeps the checkpoint's pooling (sentence-transformers'
            mean or max, else [CLS] through BERT's pooler), ``'mean'`` or ``'max'`` replace it; a ``dropout`` other
            than 0.1 replaces its dropout rates. Only read here, like ``init_from``: the checkpoint of this model
            rebuilds the encoder from ``encoder_config``.
        encoder_config: the :class:`~imbalance_xfmr.model.encoder.EncoderConfig` of an encoder that comes from a
            checkpoint, as a dict of plain values: the model sets it from ``pretrained`` (or ``init_from``) and saves
            it with its hyper-parameters, so that its Lightning checkpoint rebuilds the encoder without the folder.
            Not for a config file; with it, ``pretrained`` must be None (``load_from_checkpoint(path,
            pretrained=None)``; the CLI does so).
        layerwise_lr_decay: layer-wise learning-rate decay (Howard & Ruder, 2018; Sun et al., 2019), in (0, 1]: the
            head (and BERT's pooler) learn at ``lr``, the top encoder layer at ``lr * layerwise_lr_decay``, each
            layer below at one factor less, the embeddings at ``lr * layerwise_lr_decay ** (n_layers + 1)``. 1: off.
        latent_oversampling: ``"smote"``: every training step also classifies, for each row of a class smaller than
            the largest (by ``class_counts``) that has another row of its class in the batch, a point drawn
            uniformly on the segment between their pooled vectors (SMOTE, Chawla et al. 2002, in the encoder's
            pooled space), labelled with that class. ``"none"``: off.
        latent_weight: weight of the synthetic rows' loss (the same criterion, their mean) added to the batch's.
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
        init_from: str | None = None,
        latent_oversampling: Literal["none", "smote"] = "none",
        latent_weight: float = 1.0,
        pretrained: str | None = None,
        encoder_config: dict[str, Any] | None = None,
        layerwise_lr_decay: float = 1.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if class_counts is not None and len(class_counts) != num_classes:
            raise ValueError(f"class_counts has {len(class_counts)} entries but num_classes is {num_classes}.")
        check_optimization_args(lr=lr, weight_decay=weight_decay, warmup_fraction=warmup_fraction, decay=decay,
                                min_lr_ratio=min_lr_ratio, layerwise_lr_decay=layerwise_lr_decay)
        if latent_oversampling not in LATENT_OVERSAMPLINGS:
            raise ValueError(f"latent_oversampling must be one of {LATENT_OVERSAMPLINGS}, got {latent_oversampling!r}.")
        if not 0.0 <= latent_weight < float("inf"):
            raise ValueError(f"latent_weight must be a finite number >= 0, got {latent_weight!r}.")
        if latent_oversampling == "smote" and class_counts is None:
            raise ValueError("latent_oversampling='smote' needs class_counts (linked from the DataModule by the CLI): "
                             "they tell which classes are minorities.")

        pretraining = None if init_from is None else read_pretraining_checkpoint(init_from)
        arguments = dict(vocab_size=vocab_size, num_classes=num_classes, max_length=max_length, d_model=d_model,
                         n_heads=n_heads, n_layers=n_layers, d_ff=d_ff, dropout=dropout, activation=activation,
                         norm_first=norm_first, positional=positional, pooling=pooling, pad_token_id=pad_token_id)
        from_checkpoint = checkpoint_encoder(arguments, pretrained=pretrained, encoder_config=encoder_config,
                                             pretraining=pretraining, init_from=init_from)
        if from_checkpoint is None:
            self.model = TransformerClassifier(EncoderConfig(**arguments))
        else:
            self.model = from_checkpoint.build()
            # Plain types only: the checkpoint loads with weights_only=True and rebuilds this encoder from it.
            self.save_hyperparameters({"encoder_config": dataclasses.asdict(from_checkpoint.config)})
        if init_from is not None:
            load_pretrained_encoder(self.model, init_from, pretraining)
        # bool (C,), True for the classes latent SMOTE synthesises; None: off. A buffer, so it follows the device.
        latent_classes = minority_classes(class_counts) if latent_oversampling == "smote" else None
        self.register_buffer("latent_classes", latent_classes, persistent=False)
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
        self._train_loss = EpochMean()
        self._eval_loss = EpochMean()

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        """input_ids (B, T), attention_mask (B, T) bool -> logits (B, C)."""
        return self.model(input_ids, attention_mask)

    # ------------------------------------------------------------------------------------------------------
    # Steps

    def training_step(self, batch: dict[str, Tensor], batch_idx: int) -> Tensor:
        labels = batch["labels"]
        if self.latent_classes is None:
            loss = self.criterion(self(batch["input_ids"], batch["attention_mask"]), labels)
        else:
            loss = self._latent_smote_loss(batch["input_ids"], batch["attention_mask"], labels)
        self._train_loss.update(loss, len(labels))
        return loss

    def _latent_smote_loss(self, input_ids: Tensor, attention_mask: Tensor, labels: Tensor) -> Tensor:
        """The batch's loss plus ``latent_weight`` times the loss of its synthetic minority rows (none: nothing
        added): input_ids (B, T), attention_mask (B, T) bool, labels (B,) -> a scalar."""
        pooled = self.model.pooled(input_ids, attention_mask)  # (B, D)
        loss = self.criterion(self.model.logits(pooled), labels)
        synthetic, synthetic_labels = interpolate_within_class(pooled, labels, self.latent_classes)
        if len(synthetic_labels) == 0:
            return loss
        return loss + self.hparams.latent_weight * self.criterion(self.model.logits(synthetic), synthetic_labels)

    def on_train_epoch_start(self) -> None:
        self._train_loss.reset()

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # The step's loss goes to the logger (and the progress bar) on the steps the logger writes, and on the
        # epoch's last step (callback_metrics and the progress bar then hold the last loss, as with a per-step
        # self.log); as a CPU copy: one host sync each time, and the progress bar reads it every step without one.
        trainer = self.trainer
        last_batch = batch_idx + 1 == trainer.num_training_batches
        if self._train_loss.last is not None and (last_batch or logger_writes_this_step(trainer)):
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
        return configure_adamw(self)
