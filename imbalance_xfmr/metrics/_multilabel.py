"""Multilabel-indicator targets: two (n_samples, n_labels) 0/1 matrices, one column per label.

The reference is scikit-learn 1.9's multilabel branch of ``multilabel_confusion_matrix`` (and of ``accuracy_score``,
``hamming_loss``): a label's counts are the column's tp/fp/fn/tn, a sample's (``samplewise``) the row's, labels are
column indices. scikit-learn converts both matrices to CSR and counts non-zeros; we keep them dense and boolean,
which gives the same counts with one vectorised reduction each.
"""

from __future__ import annotations

import numpy as np


class IndicatorTargets:
    """Validated multilabel-indicator ``(y_true, y_pred)``.

    Attributes
    ----------
    y_type : str
        Always 'multilabel-indicator' (sklearn's target type of the pair).
    true, pred : ndarray of shape (n_samples, n_labels), bool
    n_samples, n_labels : int
    """

    __slots__ = ("true", "pred", "n_samples", "n_labels")
    y_type = "multilabel-indicator"

    def __init__(self, y_true: np.ndarray, y_pred: np.ndarray):
        if y_true.shape[1] != y_pred.shape[1]:
            raise ValueError(
                "Multi-label binary indicator input with different numbers of labels: y_true has "
                f"{y_true.shape[1]} columns, y_pred {y_pred.shape[1]}; pass one column per label in both."
            )
        # Validated as 0/1 (or False/True) already: non-zero is the positive label.
        self.true = y_true.astype(bool, copy=False)
        self.pred = y_pred.astype(bool, copy=False)
        self.n_samples, self.n_labels = y_true.shape

    def columns(self, labels: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(true, pred) restricted to the label columns ``labels`` (column indices, in that order; None: all)."""
        if labels is None:
            return self.true, self.pred
        positions = self.column_indices(labels)
        return self.true[:, positions], self.pred[:, positions]

    def column_indices(self, labels: np.ndarray) -> np.ndarray:
        """``labels`` as intp column indices. TypeError unless they are integers (an integral float too),
        ValueError unless they are in [0, n_labels)."""
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError(
                f"labels must be a 1-D list of column indices; got an array of shape {labels.shape}."
            )
        if labels.size == 0:
            return labels.astype(np.intp)
        integral = labels.dtype.kind in "biu" or (
            labels.dtype.kind == "f" and np.isfinite(labels).all() and (labels == np.trunc(labels)).all()
        )
        if not integral:
            # (sklearn floors a float column index and fails deep in NumPy on a string: say what is wrong.)
            raise TypeError(
                "For multilabel-indicator targets, labels are column indices (integers in "
                f"[0, {self.n_labels})); got {labels.tolist()}."
            )
        positions = labels.astype(np.intp)
        if positions.max() >= self.n_labels:
            raise ValueError(
                "All labels must be in [0, n labels) for multilabel targets. "
                f"Got {positions.max()} > {self.n_labels - 1}"
            )
        if positions.min() < 0:
            raise ValueError(
                f"All labels must be in [0, n labels) for multilabel targets. Got {positions.min()} < 0"
            )
        return positions

    def counts(
        self, labels: np.ndarray | None, sample_weight: np.ndarray | None, samplewise: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(tp, fp, fn, tn) per label column (``samplewise``: per sample), as ``multilabel_confusion_matrix``.

        Shapes (n_selected_labels,) or (n_samples,). Dtypes follow sklearn: int64 without weights; with weights,
        float64 per label (a weighted bincount) and the weights' dtype per sample (row counts times weights).
        """
        true, pred = self.columns(labels)
        axis = 1 if samplewise else 0
        tp_sum = np.count_nonzero(true & pred, axis=axis)
        pred_sum = np.count_nonzero(pred, axis=axis)
        true_sum = np.count_nonzero(true, axis=axis)
        if sample_weight is None:
            total = true.shape[axis]  # labels per sample, or samples per label
        elif samplewise:
            tp_sum, pred_sum, true_sum = tp_sum * sample_weight, pred_sum * sample_weight, true_sum * sample_weight
            total = sample_weight * true.shape[1]
        else:
            weights = sample_weight.astype(np.float64, copy=False)
            tp_sum, pred_sum, true_sum = weights @ (true & pred), weights @ pred, weights @ true
            total = sample_weight.sum()
        fp, fn = pred_sum - tp_sum, true_sum - tp_sum
        return tp_sum, fp, fn, total - tp_sum - fp - fn

    def exact_match(self) -> np.ndarray:
        """(n_samples,) bool: whether a sample's predicted label set equals its true one (subset accuracy)."""
        return ~np.not_equal(self.true, self.pred).any(axis=1)

    def differences(self) -> np.ndarray:
        """(n_samples,) int64: how many labels each sample's prediction gets wrong (Hamming distance)."""
        return np.count_nonzero(np.not_equal(self.true, self.pred), axis=1).astype(np.int64, copy=False)

