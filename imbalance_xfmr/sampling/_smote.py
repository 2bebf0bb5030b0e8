"""SMOTE and Borderline-SMOTE, matching ``imblearn.over_sampling.SMOTE`` / ``BorderlineSMOTE`` (0.14).

A synthetic row is ``x + u * (x_nn - x)``: ``x`` a row of the class being over-sampled, ``x_nn`` one of its
``k_neighbors`` nearest neighbours, ``u ~ U[0, 1)``. The RandomState is consumed as imbalanced-learn consumes it:
per over-sampled class (sorted-label order), ``check_random_state(random_state)`` (a fresh generator for an int
seed, the shared one for a RandomState), then one ``randint(0, n_rows * k, n_new)`` picking (row, neighbour)
pairs and one ``uniform(size=n_new)`` for the steps; Borderline-SMOTE-2 then calls ``check_random_state`` again
and draws ``uniform(0, 0.5)`` shrink factors for the pairs whose neighbour is of another class.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
from sklearn.utils._param_validation import StrOptions

from ._base import OVER_SAMPLING_STRATEGY, BaseSampler, take_rows
from ._neighbors import NEIGHBORS_PARAMETER, neighbors_estimator

# Synthetic rows computed per chunk (float64 intermediates of about 1 MiB at 32 features).
_INTERPOLATION_CHUNK = 4096


def interpolate(
    X: Any,
    neighbours_of: np.ndarray,
    pool: Any,
    n_new: int,
    random_state: Any,
    *,
    pool_labels: np.ndarray | None = None,
    label: Any = None,
    out: np.ndarray | None = None,
) -> Any:
    """``n_new`` SMOTE rows between rows of X and their neighbours in ``pool``.

    X : ndarray or CSR/CSC (n_rows, n_features); neighbours_of : (n_rows, k) indices into ``pool`` (same kind as X);
    ``pool_labels``/``label`` (Borderline-SMOTE-2 only): pairs whose neighbour is not of ``label`` move at most
    half-way. Returns rows of X's dtype (and sparse format), written into ``out`` (n_new, n_features) when given
    (dense X only); consumes ``random_state`` as imbalanced-learn does, and rounds as it does: the difference in X's
    dtype, then ``x + step * difference`` in float64, then a cast to X's dtype.
    """
    rng = check_random_state(random_state)
    picks = rng.randint(low=0, high=neighbours_of.size, size=n_new)
    steps = rng.uniform(size=n_new)[:, np.newaxis]
    rows, cols = np.divmod(picks, neighbours_of.shape[1])
    partners = neighbours_of[rows, cols]
    shrink = None
    if pool_labels is not None:
        other_class = pool_labels[partners] != label
        shrink = np.ones((n_new, 1))
        shrink[other_class] = check_random_state(random_state).uniform(
            low=0.0, high=0.5, size=(other_class.sum(), 1)
        )
    if sparse.issparse(X):  # (Borderline-SMOTE-2, the only user of shrink, refuses sparse X)
        X_rows = X[rows]
        diffs = pool[partners] - X_rows
        return (X_rows + getattr(sparse, type(X).__name__)(steps).multiply(diffs)).astype(X.dtype)
    if out is None:
        out = np.empty((n_new, X.shape[1]), dtype=X.dtype)

    def fill(start: int) -> None:
        chunk = slice(start, start + _INTERPOLATION_CHUNK)
        X_rows = X[rows[chunk]]
        diffs = pool[partners[chunk]] - X_rows
        if shrink is not None:
            diffs *= shrink[chunk]  # a factor of exactly 1.0 leaves same-class pairs bit for bit unchanged
        moved = steps[chunk] * diffs
        moved += X_rows
        np.copyto(out[chunk], moved, casting="unsafe")

    # Cache-sized chunks (the float64 intermediates never exist at full size) on parallel threads (numpy releases
    # the GIL); each output row depends on its own draws only, so the result does not depend on the order.
    chunks = range(0, n_new, _INTERPOLATION_CHUNK)
    if len(chunks) > 1:
        with ThreadPoolExecutor(_openmp_effective_n_threads()) as pool_of_threads:
            list(pool_of_threads.map(fill, chunks))
    else:
        for start in chunks:
            fill(start)
    return out


class _BaseSMOTE(BaseSampler):
    _sampling_type = "over-sampling"
    _parameter_constraints: dict = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": ["random_state"],
        "k_neighbors": NEIGHBORS_PARAMETER,
    }

    def __init__(self, *, sampling_strategy: Any = "auto", random_state: Any = None, k_neighbors: Any = 5) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.k_neighbors = k_neighbors


def stack_rows(blocks: list, X: Any) -> Any:
    """Stack X-like row blocks: ``np.vstack`` for arrays, ``sparse.vstack`` in X's format for sparse X."""
    if sparse.issparse(X):
        return sparse.vstack(blocks, format=X.format)
    return np.vstack(blocks)


class SMOTE(_BaseSMOTE):
    """Synthetic Minority Over-sampling TEchnique; matches ``imblearn.over_sampling.SMOTE``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Number of rows to add per class (over-sampling meaning); 'auto' brings every class to the majority count.
    random_state : int, RandomState instance or None, default=None
    k_neighbors : int or estimator with ``kneighbors``, default=5
        Neighbours to interpolate towards (an estimator must count the row itself, as in imbalanced-learn).

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_added}
    nn_k_ : the kNN estimator used.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.

    The output is X's rows followed by the new rows, class by class in sorted-label order.
    """

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.nn_k_ = neighbors_estimator(self.k_neighbors, additional_neighbor=1)
        rows_of_class = dict(zip(self._target.classes.tolist(), self._target.indices_by_class()))
        plan = [(label, n_new) for label, n_new in self.sampling_strategy_.items() if n_new > 0]
        n_rows = X.shape[0]
        y_res = np.concatenate([y, *(np.full(n_new, fill_value=label, dtype=y.dtype) for label, n_new in plan)])
        # Dense output is allocated once and filled in place (no copy of X then a vstack of everything).
        X_res = None if sparse.issparse(X) else np.empty((y_res.size, X.shape[1]), dtype=X.dtype)
        if X_res is not None:
            X_res[:n_rows] = X
        blocks, start = [X], n_rows
        for label, n_new in plan:
            X_class = take_rows(X, rows_of_class[label])
            neighbours = self.nn_k_.fit(X_class).kneighbors(X_class, return_distance=False)[:, 1:]
            out = None if X_res is None else X_res[start : start + n_new]
            blocks.append(interpolate(X_class, neighbours, X_class, n_new, self.random_state, out=out))
            start += n_new
        return (stack_rows(blocks, X) if X_res is None else X_res), y_res


class BorderlineSMOTE(_BaseSMOTE):
    """SMOTE from the "danger" rows only; matches ``imblearn.over_sampling.BorderlineSMOTE``.

    A row is in danger when at least half, but not all, of its ``m_neighbors`` nearest rows (any class) are of
    another class. 'borderline-1' interpolates towards same-class neighbours; 'borderline-2' towards neighbours
    of any class, moving at most half-way towards other-class ones.

    Parameters
    ----------
    sampling_strategy, random_state, k_neighbors : as in :class:`SMOTE`.
    m_neighbors : int or estimator with ``kneighbors``, default=10
        Neighbourhood that decides whether a row is in danger.
    kind : {'borderline-1', 'borderline-2'}, default='borderline-1'

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_added}
    nn_k_, nn_m_ : the kNN estimators used.
    in_danger_indices : dict {class: ndarray of row indices in danger} (imbalanced-learn's name, no underscore).
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _parameter_constraints: dict = {
        **_BaseSMOTE._parameter_constraints,
        "m_neighbors": NEIGHBORS_PARAMETER,
        "kind": [StrOptions({"borderline-1", "borderline-2"})],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        k_neighbors: Any = 5,
        m_neighbors: Any = 10,
        kind: str = "borderline-1",
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy, random_state=random_state, k_neighbors=k_neighbors)
        self.m_neighbors = m_neighbors
        self.kind = kind

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        if self.kind == "borderline-2" and sparse.issparse(X):
            # imbalanced-learn 0.14 fails here too (a ValueError from scipy's matmul), just less readably.
            raise ValueError(
                "BorderlineSMOTE(kind='borderline-2') does not support sparse X: pass a dense array "
                "(X.toarray()) or use kind='borderline-1'."
            )
        self.nn_k_ = neighbors_estimator(self.k_neighbors, additional_neighbor=1)
        self.nn_m_ = neighbors_estimator(self.m_neighbors, additional_neighbor=1)
        codes = self._target.codes
        code_of = {label: code for code, label in enumerate(self._target.classes.tolist())}
        rows_of_class = dict(zip(code_of, self._target.indices_by_class()))
        self.in_danger_indices = {}
        X_res, y_res = X, y
        for label, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            rows = rows_of_class[label]
            X_class = take_rows(X, rows)
            neighbours = self.nn_m_.fit(X).kneighbors(X_class, return_distance=False)[:, 1:]
            n_other = np.sum(codes[neighbours] != code_of[label], axis=1)
            m = self.nn_m_.n_neighbors - 1
            in_danger = (n_other >= m / 2) & (n_other < m)
            if not in_danger.any():
                continue
            X_danger = take_rows(X_class, np.flatnonzero(in_danger))
            self.in_danger_indices[label] = rows[in_danger]
            if self.kind == "borderline-1":
                pool, pool_labels = X_class, None
            else:
                pool, pool_labels = X, y
            neighbours = self.nn_k_.fit(pool).kneighbors(X_danger, return_distance=False)[:, 1:]
            X_new = interpolate(
                X_danger, neighbours, pool, n_new, self.random_state, pool_labels=pool_labels, label=label
            )
            X_res = sparse.vstack([X_res, X_new]) if sparse.issparse(X_new) else np.vstack((X_res, X_new))
            y_res = np.hstack((y_res, np.full(n_new, fill_value=label, dtype=y.dtype)))
        return X_res, y_res
