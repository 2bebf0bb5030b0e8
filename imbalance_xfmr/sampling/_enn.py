"""Edited-nearest-neighbours cleaning, matching ``imblearn.under_sampling.EditedNearestNeighbours`` (0.14).

A row of a cleaned class is kept when its ``n_neighbors`` nearest neighbours (its own first match excluded, as
``kneighbors(X_class)[:, 1:]``) all share its class (``kind_sel='all'``) or when their most common class, the
smallest label on ties as ``scipy.stats.mode`` picks, is its class (``kind_sel='mode'``).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._base import CLEANING_STRATEGY, BaseSampler, SamplerEstimatorTags, take_rows
from ._neighbors import NEIGHBORS_PARAMETER, neighbors_estimator


def most_common_code(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Row-wise mode of an integer array of shape (n_rows, n_cols) in ``[0, n_classes)``, smallest code on ties."""
    counts = np.stack([(codes == c).sum(axis=1) for c in range(n_classes)], axis=1)
    return np.argmax(counts, axis=1)


class EditedNearestNeighbours(BaseSampler):
    """Remove rows whose neighbourhood disagrees with their class; matches imbalanced-learn's class of that name.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        Classes to clean; 'auto' cleans every class but the minority.
    n_neighbors : int or estimator with ``kneighbors``, default=3
        Neighbourhood size, or a fitted-on-demand kNN estimator (then it must return the row itself first, so a
        3-neighbourhood needs ``n_neighbors=4`` there, as in imbalanced-learn).
    kind_sel : {'all', 'mode'}, default='all'
        Keep a row when all its neighbours share its class ('all') or when most of them do ('mode').
    n_jobs : int or None, default=None
        Passed to a user-supplied estimator's ``n_jobs``; our own search uses torch's threads.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: int}
    nn_ : the kNN estimator used.
    sample_indices_ : ndarray of shape (n_rows_kept,), int64
        Rows kept, class by class in sorted-label order, ascending within a class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "clean-sampling"
    _parameter_constraints: dict = {
        "sampling_strategy": CLEANING_STRATEGY,
        "n_neighbors": NEIGHBORS_PARAMETER,
        "kind_sel": [StrOptions({"all", "mode"})],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self, *, sampling_strategy: Any = "auto", n_neighbors: Any = 3, kind_sel: str = "all", n_jobs: int | None = None
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_neighbors = n_neighbors
        self.kind_sel = kind_sel
        self.n_jobs = n_jobs

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.nn_ = neighbors_estimator(self.n_neighbors, additional_neighbor=1)
        self.nn_.set_params(n_jobs=self.n_jobs)
        self.nn_.fit(X)
        target = self._target
        kept = []
        for code, (label, rows) in enumerate(zip(target.classes, target.indices_by_class())):
            if label in self.sampling_strategy_:
                neighbours = self.nn_.kneighbors(take_rows(X, rows), return_distance=False)[:, 1:]
                neighbour_codes = target.codes[neighbours]
                if self.kind_sel == "mode":
                    agrees = most_common_code(neighbour_codes, len(target.classes)) == code
                else:
                    agrees = np.all(neighbour_codes == code, axis=1)
                rows = rows[agrees]
            kept.append(rows)
        self.sample_indices_ = np.concatenate(kept).astype(np.int64, copy=False)
        return take_rows(X, self.sample_indices_), y[self.sample_indices_]

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
