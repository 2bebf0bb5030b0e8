"""Tomek-link cleaning, matching ``imblearn.under_sampling.TomekLinks`` (imbalanced-learn 0.14).

A Tomek link is a pair of rows of different classes that are each other's nearest neighbour, where "nearest
neighbour" means the second column of ``NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)`` (the first is
usually the row itself; with duplicate rows it can be the duplicate). Rows of the cleaned classes that sit in a
link are removed.

imbalanced-learn asks every row for its neighbour, which is quadratic in the number of rows. A link always joins two
classes, so it has at least one end outside the largest class: asking the rows outside that class, then the
largest-class rows they point at (the reverse check), finds every link with at most twice the minority's
queries. The answers are those of the full query (see :class:`ExactNearestNeighbors.kneighbors_rows`).
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np

from ._base import CLEANING_STRATEGY, BaseSampler, SamplerEstimatorTags, take_rows
from ._neighbors import ExactNearestNeighbors


def tomek_link_mask(X: Any, codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Boolean mask of shape (n_samples,): rows that belong to a Tomek link.

    ``X`` is an ndarray or CSR/CSC matrix of shape (n_samples, n_features), ``codes`` the integer class of each row
    in ``[0, n_classes)``.
    """
    n_rows = codes.shape[0]
    search = ExactNearestNeighbors(n_neighbors=2).fit(X)
    nearest = np.full(n_rows, -1, dtype=np.intp)
    largest = np.argmax(np.bincount(codes, minlength=n_classes))

    def ask(rows: np.ndarray) -> None:
        nearest[rows] = search.kneighbors_rows(X, rows, return_distance=False)[:, 1]

    others = np.flatnonzero(codes != largest)
    ask(others)
    across = others[codes[nearest[others]] != codes[others]]
    partners = nearest[across]
    ask(np.unique(partners[nearest[partners] < 0]))

    mutual = nearest[partners] == across
    linked = np.zeros(n_rows, dtype=bool)
    linked[across[mutual]] = True
    linked[partners[mutual]] = True
    return linked


class TomekLinks(BaseSampler):
    """Remove the rows of the cleaned classes that belong to a Tomek link; matches ``imblearn``'s ``TomekLinks``.

    Parameters
    ----------
    sampling_strategy : str, list or callable, default='auto'
        Classes to clean (cleaning meaning of :func:`~imbalance_xfmr.sampling.check_sampling_strategy`);
        'auto' cleans every class but the minority.
    n_jobs : int or None, default=None
        Accepted for compatibility with imbalanced-learn; the search uses torch's threads.

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: int}
        The cleaned classes (keys).
    sample_indices_ : ndarray of shape (n_rows_kept,), int64
        Rows of X kept, ascending.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "clean-sampling"
    _parameter_constraints: dict = {"sampling_strategy": CLEANING_STRATEGY, "n_jobs": [Integral, None]}

    def __init__(self, *, sampling_strategy: Any = "auto", n_jobs: int | None = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.n_jobs = n_jobs

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        target = self._target
        linked = tomek_link_mask(X, target.codes, len(target.classes))
        cleaned = np.isin(target.classes, list(self.sampling_strategy_))
        self.sample_indices_ = np.flatnonzero(~(linked & cleaned[target.codes])).astype(np.int64, copy=False)
        return take_rows(X, self.sample_indices_), y[self.sample_indices_]

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        tags = super().__sklearn_tags__()
        tags.sampler_tags.sample_indices = True
        return tags
