"""MLSMOTE: synthetic rows for the minority labels of multilabel data.

Charte, Rivera, del Jesus & Herrera (2015), "MLSMOTE: Approaching imbalanced multilabel learning through synthetic
instance generation", Knowledge-Based Systems 89, Algorithm 1. For every minority label (IRLbl > MeanIR, measured on
the input) and every row ``x`` carrying it (the label's *bag*):

1. the ``k`` nearest neighbours of ``x`` among the bag's other rows (Euclidean);
2. one of them at random, ``ref``;
3. the features ``x + u * (ref - x)``, with a fresh ``u ~ U[0, 1)`` for every feature (the paper draws inside its
   loop over the features; SMOTE draws one ``u`` per row);
4. the labelset from ``x`` and all ``k`` neighbours: 'ranking' (the paper's default) keeps the labels carried by
   more than half of these ``k + 1`` rows, 'union' those carried by any, 'intersection' those carried by all.

Where we depart from the paper's pseudo-code, and why:

- Bags and labelsets come from the input rows only, not from rows synthesised for an earlier label (the paper adds
  each synthetic row to D as it goes; its authors' R package mldr.resampling does as we do). The result then does
  not depend on the order of the labels.
- A bag of ``m <= k`` rows uses its ``m - 1`` other rows as neighbours; a bag of one row has no neighbour and gets no
  synthetic row.
- A row is never its own neighbour, duplicates included: it is dropped from its own neighbour list wherever the
  search put it (scikit-learn's SMOTE assumes it comes first, which ties between duplicates can break).
- Only numeric features (the paper also handles nominal ones, by majority vote among the neighbours).

Randomness, per minority label in column order, from ``check_random_state(random_state)``: one
``randint(0, k, size=m)`` choosing ``ref`` for the bag's ``m`` rows, then ``random_sample`` blocks for the steps,
one row of ``n_features`` values per synthetic row (for sparse X, one value per stored entry of ``ref - x``).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from ._base import take_rows
from ._multilabel_base import BaseMultilabelSampler
from ._multilabel_random import minority_labels
from ._neighbors import NEIGHBORS_PARAMETER, neighbors_estimator
from ._smote import stack_rows

# Synthetic rows interpolated per block (float64 steps of 1 MiB at 32 features).
_INTERPOLATION_CHUNK = 4096


def neighbours_without_self(estimator: Any, X_bag: Any, k: int) -> np.ndarray:
    """The ``k`` nearest other rows of every row of ``X_bag``, shape (m, k), indices into ``X_bag``.

    Asks ``estimator`` (fitted on ``X_bag``) for ``k + 1`` neighbours and removes each row from its own list (the
    last neighbour goes where the row itself is not among them: a tie with duplicates).
    """
    m = X_bag.shape[0]
    found = estimator.kneighbors(X_bag, n_neighbors=k + 1, return_distance=False)
    is_self = found == np.arange(m)[:, np.newaxis]
    is_self[~is_self.any(axis=1), -1] = True
    return found[~is_self].reshape(m, k)


def synthetic_labelsets(indicator_bag: np.ndarray, neighbours: np.ndarray, labelset: str) -> np.ndarray:
    """Labelsets of the synthetic rows, bool (m, n_labels), from each bag row and its neighbours (m, k)."""
    votes = indicator_bag.astype(np.int32)
    for column in neighbours.T:  # a loop over the k neighbours, not over rows
        votes += indicator_bag[column]
    voters = neighbours.shape[1] + 1
    if labelset == "ranking":
        return 2 * votes > voters
    if labelset == "union":
        return votes > 0
    return votes == voters


def interpolate_per_feature(X_bag: Any, references: np.ndarray, rng: np.random.RandomState) -> Any:
    """``x + u * (x_ref - x)`` for every row of ``X_bag`` with its reference row, a fresh ``u`` per feature.

    Returns rows of X's dtype: dense (m, n_features), or sparse in X's format; computed in float64 then cast, as
    SMOTE rounds.
    """
    if sparse.issparse(X_bag):
        differences = (X_bag[references] - X_bag).tocsr()
        differences.data = differences.data * rng.random_sample(differences.nnz)
        return (X_bag + differences).asformat(X_bag.format).astype(X_bag.dtype)
    out = np.empty(X_bag.shape, dtype=X_bag.dtype)
    for start in range(0, X_bag.shape[0], _INTERPOLATION_CHUNK):
        block = slice(start, start + _INTERPOLATION_CHUNK)
        rows = X_bag[block]
        moved = rng.random_sample(rows.shape) * (X_bag[references[block]] - rows)
        moved += rows
        np.copyto(out[block], moved, casting="unsafe")
    return out


class MLSMOTE(BaseMultilabelSampler):
    """Multilabel SMOTE (Charte et al. 2015, Knowledge-Based Systems 89); see the module docstring.

    Parameters
    ----------
    k_neighbors : int or estimator with ``kneighbors``, default=5
        Neighbours per row (an estimator must count the row itself, as imbalanced-learn's SMOTE expects: its
        ``n_neighbors - 1`` is k).
    labelset : {'ranking', 'union', 'intersection'}, default='ranking'
        How a synthetic row's labels come from the row and its k neighbours (module docstring).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    imbalance_ratio_per_label_ : ndarray of shape (n_labels,), float64
    mean_imbalance_ratio_ : float
    minority_labels_ : ndarray of int64
        Column indices of the labels whose bags were over-sampled (IRLbl > MeanIR).
    synthetic_sources_ : ndarray of shape (n_synthetic, 2), int64
        For each synthetic row (in output order): the input row it was made from and its reference neighbour.
    nn_k_ : the kNN estimator used.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.

    X_res is X's rows followed by the synthetic rows, label by label in column order, bag rows in row order; Y_res
    the same, with Y's dtype.
    """

    _parameter_constraints: ClassVar[dict] = {
        "k_neighbors": NEIGHBORS_PARAMETER,
        "labelset": [StrOptions({"ranking", "union", "intersection"})],
        "random_state": ["random_state"],
    }

    def __init__(self, *, k_neighbors: Any = 5, labelset: str = "ranking", random_state: Any = None) -> None:
        self.k_neighbors = k_neighbors
        self.labelset = labelset
        self.random_state = random_state

    def _fit_resample(self, X: Any, Y: np.ndarray, indicator: np.ndarray) -> tuple[Any, np.ndarray]:
        rng = check_random_state(self.random_state)
        self.nn_k_ = neighbors_estimator(self.k_neighbors, additional_neighbor=1)
        k_wanted = self.nn_k_.n_neighbors - 1
        if not isinstance(k_wanted, Integral) or k_wanted < 1:
            raise ValueError(
                "k_neighbors as an estimator must have n_neighbors >= 2 (the row itself plus at least one "
                f"neighbour); got n_neighbors={self.nn_k_.n_neighbors}."
            )
        self.minority_labels_ = minority_labels(self.imbalance_ratio_per_label_, self.mean_imbalance_ratio_)
        X_blocks, Y_blocks, sources = [X], [Y], []
        for label in self.minority_labels_:
            bag = np.flatnonzero(indicator[:, label])
            if bag.size < 2:
                continue
            k = min(k_wanted, bag.size - 1)
            X_bag = take_rows(X, bag)
            neighbours = neighbours_without_self(self.nn_k_.fit(X_bag), X_bag, k)
            references = neighbours[np.arange(bag.size), rng.randint(k, size=bag.size)]
            X_blocks.append(interpolate_per_feature(X_bag, references, rng))
            Y_blocks.append(synthetic_labelsets(indicator[bag], neighbours, self.labelset).astype(Y.dtype))
            sources.append(np.column_stack([bag, bag[references]]))
        self.synthetic_sources_ = (
            np.concatenate(sources).astype(np.int64) if sources else np.empty((0, 2), dtype=np.int64)
        )
        return stack_rows(X_blocks, X), np.concatenate(Y_blocks)
