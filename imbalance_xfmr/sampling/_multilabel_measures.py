"""Multilabel targets: validation of a 0/1 indicator matrix, and Charte et al.'s imbalance measures.

The measures are those of Charte, Rivera, del Jesus & Herrera (2015), "Addressing imbalance in multilabel
classification: Measures and random resampling algorithms", Neurocomputing 163, section 3:

- ``IRLbl(λ) = max_λ' count(λ') / count(λ)``, the imbalance ratio of each label: 1 for the most frequent label,
  larger for rarer ones (:func:`imbalance_ratio_per_label`);
- ``MeanIR``, the mean of IRLbl over the labels (:func:`mean_imbalance_ratio`). The resampling algorithms call a
  label a *minority* label when its IRLbl is above MeanIR, a *majority* label when it is below.

A label with no positive row has no finite IRLbl (a division by zero in the paper's formula). It gets ``inf``, and
MeanIR is the mean over the labels that occur: a label missing from a cross-validation fold would otherwise make
MeanIR infinite and every other label a majority label.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from ._base import _is_pandas


def check_indicator(Y: Any, *, hint: str = "") -> np.ndarray:
    """``Y`` as a 2-D ndarray of shape (n_samples, n_labels) holding only 0 and 1 (its own dtype kept).

    Accepts an ndarray, a list of rows or a pandas DataFrame (bool, integer or float 0/1 values). Raises a
    ``ValueError`` that says what is wrong for 1-D labels, a sparse matrix, an empty matrix, missing values or
    values other than 0 and 1; ``hint`` is appended to the 1-D message (what to use instead for one class per row).
    """
    if sparse.issparse(Y):
        raise ValueError(
            "Y must be a dense (n_samples, n_labels) 0/1 indicator; got a sparse matrix. Pass Y.toarray()."
        )
    array = Y.to_numpy() if _is_pandas(Y, "DataFrame") or _is_pandas(Y, "Series") else np.asarray(Y)
    if array.ndim != 2:
        raise ValueError(
            "Y must be a 2-D (n_samples, n_labels) 0/1 indicator, one column per label (e.g. from "
            f"sklearn.preprocessing.MultiLabelBinarizer); got an array of shape {array.shape}.{hint}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Y must have at least one row and one label column; got shape {array.shape}.")
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind not in "iuf":
        raise ValueError(
            f"Y must hold numbers 0 and 1 (bool, int or float); got dtype {array.dtype}. "
            "Encode the labels as a 0/1 indicator first (sklearn.preprocessing.MultiLabelBinarizer)."
        )
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise ValueError("Y contains NaN: every row needs a 0 or a 1 for every label.")
    bad = (array != 0) & (array != 1)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise ValueError(
            f"Y must hold only 0 and 1; found {array[row, col]!r} at row {row}, label column {col}. "
            "Binarize it first (e.g. Y >= 0.5 for probabilities)."
        )
    return array


def imbalance_ratio_from_counts(counts: np.ndarray) -> np.ndarray:
    """IRLbl from per-label positive counts (n_labels,): ``max(counts) / counts``, float64, ``inf`` where 0."""
    counts = np.asarray(counts)
    if counts.max() == 0:
        raise ValueError(
            "Y has no positive label at all (every row is all zeros): the imbalance ratios are undefined."
        )
    with np.errstate(divide="ignore"):
        return np.divide(float(counts.max()), counts, dtype=np.float64)


def mean_from_ratios(ratios: np.ndarray) -> float:
    """MeanIR from IRLbl values: their mean over the labels that occur (finite ratios)."""
    return float(ratios[np.isfinite(ratios)].mean())


def label_imbalance(indicator: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-label positive counts (int64, (n_labels,)), IRLbl (float64, (n_labels,)) and MeanIR of a checked
    (n_samples, n_labels) indicator: what the resampling algorithms start from."""
    counts = np.count_nonzero(indicator, axis=0).astype(np.int64)
    ratios = imbalance_ratio_from_counts(counts)
    return counts, ratios, mean_from_ratios(ratios)


def imbalance_ratio_per_label(Y: Any) -> np.ndarray:
    """IRLbl of every label of a multilabel indicator (Charte et al. 2015, Neurocomputing, eq. 1).

    Parameters
    ----------
    Y : array-like or DataFrame of shape (n_samples, n_labels), 0/1 values

    Returns
    -------
    ndarray of shape (n_labels,), float64
        ``count(most frequent label) / count(label)``: 1.0 for the most frequent label, ``inf`` for a label with no
        positive row. Raises ``ValueError`` when no label occurs at all.

    Examples
    --------
    >>> imbalance_ratio_per_label([[1, 0, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]]).tolist()
    [1.0, 4.0, 4.0]
    """
    indicator = check_indicator(Y)
    return imbalance_ratio_from_counts(np.count_nonzero(indicator, axis=0))


def mean_imbalance_ratio(Y: Any) -> float:
    """MeanIR of a multilabel indicator: the mean of :func:`imbalance_ratio_per_label` (Charte et al. 2015, eq. 2).

    Labels with no positive row (IRLbl ``inf``) are left out of the mean, so it stays finite.

    Parameters
    ----------
    Y : array-like or DataFrame of shape (n_samples, n_labels), 0/1 values

    Returns
    -------
    float

    Examples
    --------
    >>> mean_imbalance_ratio([[1, 0, 1], [1, 0, 0], [1, 1, 0], [1, 0, 0]])
    3.0
    """
    return mean_from_ratios(imbalance_ratio_per_label(Y))
