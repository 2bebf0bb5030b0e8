"""ADASYN over-sampling, matching ``imblearn.over_sampling.ADASYN`` (imbalanced-learn 0.14).

Each row of an over-sampled class gets new rows in proportion to the share of other-class rows among its
``n_neighbors`` nearest rows (any class); each new row interpolates towards one of its ``n_neighbors`` nearest
same-class rows. The RandomState is created once and consumed per class (sorted-label order) as
``choice(n_neighbors, n_new)`` then ``uniform(size=(n_new, 1))``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

from ._base import OVER_SAMPLING_STRATEGY, BaseSampler, take_rows
from ._neighbors import NEIGHBORS_PARAMETER, neighbors_estimator
from ._smote import stack_rows


class ADASYN(BaseSampler):
    """Adaptive synthetic sampling; matches ``imblearn.over_sampling.ADASYN``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Number of rows to add per class (over-sampling meaning; the actual number is rounded row by row).
    random_state : int, RandomState instance or None, default=None
    n_neighbors : int or estimator with ``kneighbors``, default=5

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_requested}
    nn_ : the kNN estimator used.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": ["random_state"],
        "n_neighbors": NEIGHBORS_PARAMETER,
    }

    def __init__(self, *, sampling_strategy: Any = "auto", random_state: Any = None, n_neighbors: Any = 5) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.n_neighbors = n_neighbors

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.nn_ = neighbors_estimator(self.n_neighbors, additional_neighbor=1)
        random_state = check_random_state(self.random_state)
        codes = self._target.codes
        code_of = {label: code for code, label in enumerate(self._target.classes.tolist())}
        rows_of_class = dict(zip(code_of, self._target.indices_by_class()))
        X_blocks, y_blocks = [X], [y]
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            X_class = take_rows(X, rows_of_class[label])
            k = self.nn_.n_neighbors - 1
            neighbours = self.nn_.fit(X).kneighbors(X_class, return_distance=False)[:, 1:]
            hardness = np.sum(codes[neighbours] != code_of[label], axis=1) / k
            if not np.sum(hardness):
                raise RuntimeError(
                    f"ADASYN found no neighbour of another class around any row of class {label!r}, so its "
                    "per-row weights are 0/0. ADASYN does not suit this data set; use SMOTE instead."
                )
            hardness /= np.sum(hardness)
            n_per_row = np.rint(hardness * n_new).astype(int)
            n_new = np.sum(n_per_row)
            if not n_new:
                raise ValueError(
                    "No samples will be generated with the provided ratio settings: every row's share rounds to "
                    "zero; ask for more samples (sampling_strategy) or use SMOTE."
                )
            neighbours = self.nn_.fit(X_class).kneighbors(X_class, return_distance=False)[:, 1:]
            rows = np.repeat(np.arange(X_class.shape[0]), n_per_row)
            cols = random_state.choice(k, size=n_new)
            X_rows = X_class[rows]
            diffs = X_class[neighbours[rows, cols]] - X_rows
            steps = random_state.uniform(size=(n_new, 1))
            if sparse.issparse(X):
                X_new = X_rows + getattr(sparse, type(X).__name__)(steps).multiply(diffs)
            else:
                X_new = X_rows + steps * diffs
            X_blocks.append(X_new.astype(X.dtype))
            y_blocks.append(np.full(n_new, fill_value=label, dtype=y.dtype))
        return stack_rows(X_blocks, X), np.hstack(y_blocks)
