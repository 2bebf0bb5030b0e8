"""NearMiss under-sampling (versions 1, 2 and 3), matching ``imblearn.under_sampling.NearMiss`` (0.14).

Distances are to the minority class (the first-seen class among the smallest ones, as ``min(Counter(y))``):

- version 1 keeps the rows with the smallest sum of distances to their ``n_neighbors`` nearest minority rows;
- version 2 the smallest sum of distances to their ``n_neighbors`` farthest among all minority rows (the last
  columns of a kneighbors query for every minority row);
- version 3 first shortlists the rows that are among the ``n_neighbors_ver3`` nearest of some minority row, then
  keeps the shortlisted rows with the LARGEST sum of distances to their ``n_neighbors`` nearest minority rows.

Sorting is stable (Python's ``sorted`` in imbalanced-learn), so equal sums keep row order.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils._param_validation import Interval

from ._base import UNDER_SAMPLING_STRATEGY, BaseSampler, SamplerEstimatorTags, take_rows
from ._neighbors import NEIGHBORS_PARAMETER, neighbors_estimator


class NearMiss(BaseSampler):
    """Keep the rows of each under-sampled class that are nearest to (or farthest from) the minority class.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Number of rows to keep per class (under-sampling meaning); 'auto' keeps the minority count everywhere.
    version : {1, 2, 3}, default=1
        NearMiss heuristic (see the module docstring).
    n_neighbors : int or estimator with ``kneighbors``, default=3
        Number of minority neighbours whose distances are summed.
    n_neighbors_ver3 : int or estimator with ``kneighbors``, default=3
        Version 3 only: shortlist size per minority row.
    n_jobs : int or None, default=None
        Passed to user-supplied estimators' ``n_jobs``.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_kept}
    nn_, nn_ver3_ : the kNN estimators used (``nn_ver3_`` for version 3 only).
    sample_indices_ : ndarray of shape (n_rows_kept,), int64
        Rows kept, class by class in sorted-label order, in selection order within an under-sampled class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "under-sampling"
    _parameter_constraints: dict = {
        "sampling_strategy": UNDER_SAMPLING_STRATEGY,
        "version": [Interval(Integral, 1, 3, closed="both")],
        "n_neighbors": NEIGHBORS_PARAMETER,
        "n_neighbors_ver3": NEIGHBORS_PARAMETER,
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        version: int = 1,
        n_neighbors: Any = 3,
        n_neighbors_ver3: Any = 3,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.version = version
        self.n_neighbors = n_neighbors
        self.n_neighbors_ver3 = n_neighbors_ver3
        self.n_jobs = n_jobs

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.nn_ = neighbors_estimator(self.n_neighbors)
        self.nn_.set_params(n_jobs=self.n_jobs)
        if self.version == 3:
            self.nn_ver3_ = neighbors_estimator(self.n_neighbors_ver3)
            self.nn_ver3_.set_params(n_jobs=self.n_jobs)
        target = self._target
        rows_of_class = target.indices_by_class()
        minority_rows = rows_of_class[self._minority_code(target)]
        X_minority = take_rows(X, minority_rows)
        self.nn_.fit(X_minority)
        k = self.nn_.n_neighbors

        kept = []
        for label, rows in zip(target.classes, rows_of_class):
            if label in self.sampling_strategy_:
                n_keep = self.sampling_strategy_[label]
                X_class = take_rows(X, rows)
                if self.version == 3:
                    self.nn_ver3_.fit(X_class)
                    shortlist = np.unique(self.nn_ver3_.kneighbors(X_minority, return_distance=False))
                    dist, _ = self.nn_.kneighbors(take_rows(X_class, shortlist), n_neighbors=k)
                    rows = rows[shortlist[_select(dist[:, -k:].sum(axis=1), n_keep, farthest=True)]]
                else:
                    n_query = k if self.version == 1 else minority_rows.size
                    dist, _ = self.nn_.kneighbors(X_class, n_neighbors=n_query)
                    rows = rows[_select(dist[:, -k:].sum(axis=1), n_keep, farthest=False)]
            kept.append(rows)
        self.sample_indices_ = np.concatenate(kept).astype(np.int64, copy=False)
        return take_rows(X, self.sample_indices_), y[self.sample_indices_]

    @staticmethod
    def _minority_code(target: Any) -> int:
        """The smallest class; among equally small ones, the first to appear in y (``min`` over a ``Counter``)."""
        smallest = np.flatnonzero(target.counts == target.counts.min())
        if smallest.size == 1:
            return int(smallest[0])
        first_seen = [np.argmax(target.codes == code) for code in smallest]
        return int(smallest[np.argmin(first_seen)])

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags


def _select(scores: np.ndarray, n_keep: int, *, farthest: bool) -> np.ndarray:
    """Positions of the ``n_keep`` smallest (or largest) scores, stable on ties."""
    if scores.size < n_keep:
        warnings.warn(
            f"NearMiss was asked to keep {n_keep} rows of a class but only {scores.size} are candidates: all of "
            "them are kept, and the requested balance is not reached.",
            UserWarning,
        )
    order = np.argsort(-scores if farthest else scores, kind="stable")
    return order[:n_keep]
