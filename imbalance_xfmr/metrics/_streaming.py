"""Streaming metrics for Lightning validation loops (``torchmetrics.Metric``).

``StreamingConfusionMatrix`` keeps one C x C count matrix, summed across DDP ranks, and computes every
confusion-matrix score at epoch end with the same count functions as the NumPy metrics, so its results equal
``imbalance_xfmr.metrics``' functions (and scikit-learn's) on the whole epoch. ``StreamingBinaryRanking`` keeps
the epoch's scores (gathered across ranks) for exact PR-AUC and ROC-AUC.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torchmetrics import Metric

from ._classification import (
    balanced_accuracy_from_cm,
    kappa_from_cm,
    label_counts,
    matthews_from_cm,
    prf_from_counts,
)


def _check_update(preds: torch.Tensor, target: torch.Tensor, what: str) -> None:
    if preds.shape[0] != target.shape[0]:
        raise ValueError(
            f"{what}.update got {preds.shape[0]} predictions for {target.shape[0]} targets; pass one "
            "prediction per target."
        )
    if target.ndim != 1:
        raise ValueError(f"{what}.update expects target of shape (N,), got {tuple(target.shape)}.")


class StreamingConfusionMatrix(Metric):
    """C x C confusion matrix accumulated over batches; ``compute()`` returns every score from it.

    ``update(preds, target)``: ``preds`` is (N,) class indices or (N, C) scores (argmax taken), ``target`` is
    (N,) class indices in ``[0, num_classes)``. ``compute()`` returns a dict of float64 tensors: scalars
    'accuracy', 'balanced_accuracy', 'f1_macro', 'precision_macro', 'recall_macro', 'mcc', 'cohen_kappa',
    'geometric_mean'; per-class (C,) 'precision', 'recall', 'f1'; and 'confusion_matrix' (C, C) int64.
    Averages run over the classes seen in the epoch (in target or predictions), as the NumPy functions do;
    0/0 scores are 0 without a warning (``zero_division=0``).
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, num_classes: int, **kwargs) -> None:
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}.")
        self.num_classes = num_classes
        self.add_state(
            "confusion_matrix", torch.zeros(num_classes, num_classes, dtype=torch.long), dist_reduce_fx="sum"
        )

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        _check_update(preds, target, type(self).__name__)
        if preds.ndim == 2:
            if preds.shape[1] != self.num_classes:
                raise ValueError(
                    f"preds has {preds.shape[1]} columns but num_classes is {self.num_classes}."
                )
            preds = preds.argmax(dim=1)
        target = target.long()
        preds = preds.long()
        # One host sync for the whole check (on a GPU each bool() of a device tensor waits for it).
        if target.numel() and bool(
            (torch.minimum(target.min(), preds.min()) < 0)
            | (torch.maximum(target.max(), preds.max()) >= self.num_classes)
        ):
            raise ValueError(
                f"Class indices must lie in [0, {self.num_classes}); encode labels before update()."
            )
        joint = target * self.num_classes + preds
        self.confusion_matrix += torch.bincount(joint, minlength=self.num_classes**2).view(
            self.num_classes, self.num_classes
        )

    def compute(self) -> dict[str, torch.Tensor]:
        full = self.confusion_matrix.cpu().numpy()
        seen = np.flatnonzero(full.sum(axis=0) + full.sum(axis=1))
        cm = full[np.ix_(seen, seen)]
        tp, fp, fn, _ = label_counts(full, full.sum())
        precision, recall, f1, _ = prf_from_counts(tp, tp + fp, tp + fn, zero_division=0)
        out: dict[str, object] = {"confusion_matrix": torch.as_tensor(full)}
        if seen.size == 0:
            nan = torch.tensor(float("nan"), dtype=torch.float64)
            names = ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro",
                     "mcc", "cohen_kappa", "geometric_mean")
            out.update({name: nan for name in names})
        else:
            seen_tp, seen_fp, seen_fn, _ = label_counts(cm, cm.sum())
            p_macro, r_macro, f_macro, _ = prf_from_counts(
                seen_tp, seen_tp + seen_fp, seen_tp + seen_fn, average="macro", zero_division=0
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                balanced = balanced_accuracy_from_cm(cm)
                kappa = kappa_from_cm(cm)
                row_sums = cm.sum(axis=1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    seen_recall = np.where(row_sums > 0, np.diagonal(cm) / np.where(row_sums > 0, row_sums, 1), 0.0)
                    gmean = float(np.exp(np.mean(np.log(seen_recall))))
            out.update(
                accuracy=np.trace(cm) / cm.sum(),
                balanced_accuracy=balanced,
                f1_macro=f_macro,
                precision_macro=p_macro,
                recall_macro=r_macro,
                mcc=matthews_from_cm(cm),
                cohen_kappa=kappa,
                geometric_mean=gmean,
            )
        out.update(precision=precision, recall=recall, f1=f1)
        return {
            name: value if isinstance(value, torch.Tensor) else torch.as_tensor(value, dtype=torch.float64)
            for name, value in out.items()
        }


class StreamingBinaryRanking(Metric):
    """Exact average precision (PR-AUC) and ROC-AUC over an epoch of binary scores.

    ``update(scores, target)``: scores (N,) float (probability or logit of the positive class), target (N,)
    in {0, 1}. ``compute()`` returns {'average_precision', 'roc_auc'} as float64 tensors, equal to
    ``average_precision_score`` / ``roc_auc_score`` on the concatenated epoch; NaN where a score is undefined
    (an epoch with a single class), so a validation loop never crashes on a small split.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = True

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_state("scores", [], dist_reduce_fx="cat")
        self.add_state("target", [], dist_reduce_fx="cat")

    def update(self, scores: torch.Tensor, target: torch.Tensor) -> None:
        _check_update(scores, target, type(self).__name__)
        if scores.ndim != 1:
            raise ValueError(
                f"scores must have shape (N,) (the positive class's score), got {tuple(scores.shape)}."
            )
        self.scores.append(scores.detach().double())
        self.target.append(target.detach().long())

    def compute(self) -> dict[str, torch.Tensor]:
        from ._ranking import average_precision_score, roc_auc_score

        scores = torch.cat(self.scores).cpu().numpy() if isinstance(self.scores, list) else self.scores.cpu().numpy()
        target = torch.cat(self.target).cpu().numpy() if isinstance(self.target, list) else self.target.cpu().numpy()
        nan = torch.tensor(float("nan"), dtype=torch.float64)
        if np.unique(target).size < 2:
            return {"average_precision": nan, "roc_auc": nan}
        return {
            "average_precision": torch.tensor(average_precision_score(target, scores), dtype=torch.float64),
            "roc_auc": torch.tensor(roc_auc_score(target, scores), dtype=torch.float64),
        }
