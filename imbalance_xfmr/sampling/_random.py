"""Random under- and over-sampling, bit-identical to imbalanced-learn 0.14.

Same ``random_state`` → same ``X_res``, ``y_res`` and ``sample_indices_`` as
``imblearn.under_sampling.RandomUnderSampler`` and ``imblearn.over_sampling.RandomOverSampler``: the
``RandomState`` is consumed in the same order (one ``choice`` per resampled class in sorted-label order,
followed, with ``shrinkage``, by one ``randn`` block for that class). What differs is the cost: classes are
counted once, X is gathered into one preallocated output instead of stacked piecewise.

Both samplers only select rows, so X may be anything row-indexable: numeric or object ndarray (NaN
allowed), pandas DataFrame, CSR/CSC matrix, or — beyond imbalanced-learn — a 1-D array, list or pandas
Series of raw texts, resampled by index (``RandomOverSampler().fit_resample(np.array(texts, dtype=object), y)``;
imbalanced-learn needs ``texts.reshape(-1, 1)``). X comes back in its own type; pandas row labels follow
imbalanced-learn: RandomUnderSampler keeps the kept rows' index labels, RandomOverSampler numbers its
rows afresh (``RangeIndex``), and y (Series) gets X's index.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any, ClassVar

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_array

from ._base import (
    OVER_SAMPLING_STRATEGY,
    UNDER_SAMPLING_STRATEGY,
    BaseSampler,
    RowSelectingMixin,
    SamplerEstimatorTags,
    take_rows,
)


class RandomUnderSampler(RowSelectingMixin, BaseSampler):
    """Keep a random subset of each targeted class; matches ``imblearn.under_sampling.RandomUnderSampler``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Number of rows to keep per class (under-sampling meaning of
        :func:`~imbalance_xfmr.sampling.check_sampling_strategy`); 'auto' keeps the minority count in every class.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.
    replacement : bool, default=False
        Draw with replacement (a bootstrap of each targeted class).

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_kept}
    sample_indices_ : ndarray of shape (n_rows_new,), int64
        Rows of X kept, classes in sorted-label order, in draw order within a targeted class.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "under-sampling"
    _parameter_constraints: ClassVar[dict] = {
        "sampling_strategy": UNDER_SAMPLING_STRATEGY,
        "replacement": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, *, sampling_strategy: Any = "auto", random_state: Any = None, replacement: bool = False) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.replacement = replacement

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        random_state = check_random_state(self.random_state)
        kept = []
        for label, rows in zip(self._target.classes, self._target.indices_by_class()):
            if label in self.sampling_strategy_:
                # choice(n) draws exactly what imbalanced-learn's choice(range(n)) draws.
                rows = rows[
                    random_state.choice(rows.size, size=self.sampling_strategy_[label], replace=self.replacement)
                ]
            kept.append(rows)
        self.sample_indices_ = np.concatenate(kept).astype(np.int64, copy=False)
        return take_rows(X, self.sample_indices_), y[self.sample_indices_]


class RandomOverSampler(RowSelectingMixin, BaseSampler):
    """Add random copies (or a smoothed bootstrap) of each targeted class.

    Matches ``imblearn.over_sampling.RandomOverSampler``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Number of rows to add per class (over-sampling meaning of
        :func:`~imbalance_xfmr.sampling.check_sampling_strategy`); 'auto' brings every class to the majority count.
    random_state : int, RandomState instance or None, default=None
        Seeds the draws.
    shrinkage : float, dict {class: float} or None, default=None
        None: plain bootstrap (exact copies). Otherwise a smoothed bootstrap: each copy gets Gaussian noise
        of per-feature std ``shrinkage * (4 / ((n_features + 2) * n_samples)) ** (1 / (n_features + 4)) *
        std(class rows)``. Needs numeric X; the new rows are float64 (as in imbalanced-learn).

    Attributes
    ----------
    sampling_strategy_ : OrderedDict {class: n_rows_added}
    shrinkage_ : dict {class: float} or None
    sample_indices_ : ndarray of shape (n_rows_new,), int64
        ``arange(n_rows)`` followed by the bootstrapped rows, class by class in sorted-label order.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _sampling_type = "over-sampling"
    _parameter_constraints: ClassVar[dict] = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": ["random_state"],
        "shrinkage": [Interval(Real, 0, None, closed="left"), dict, None],
    }

    def __init__(self, *, sampling_strategy: Any = "auto", random_state: Any = None, shrinkage: Any = None) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.shrinkage = shrinkage

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        random_state = check_random_state(self.random_state)
        self.shrinkage_ = self._check_shrinkage()
        if self.shrinkage_ is not None:
            try:
                X = check_array(X, accept_sparse=["csr", "csc"], dtype="numeric")
            except ValueError as exc:
                raise ValueError(
                    "When shrinkage is not None, X needs to contain only numerical data to later generate a "
                    "smoothed bootstrap sample. Convert X to numbers or use shrinkage=None."
                ) from exc

        rows_of_class = dict(zip(self._target.classes.tolist(), self._target.indices_by_class()))
        bootstraps, smoothed = [], []
        for label, n_new in self.sampling_strategy_.items():
            rows = rows_of_class[label]
            bootstraps.append(random_state.choice(rows, size=n_new, replace=True))
            if self.shrinkage_ is not None:
                # Drawn inside the loop: imbalanced-learn interleaves each class's choice and randn.
                smoothed.append(_smoothed_bootstrap(X, rows, bootstraps[-1], self.shrinkage_[label], random_state))
        self.sample_indices_ = np.concatenate([np.arange(X.shape[0], dtype=np.int64), *bootstraps])
        y_res = y[self.sample_indices_]
        if self.shrinkage_ is None:
            X_res = take_rows(X, self.sample_indices_)
            if hasattr(X_res, "reset_index"):
                # Fresh row labels, as imbalanced-learn's re-stacked frame has.
                X_res = X_res.reset_index(drop=True)
            return X_res, y_res
        return _stack_rows(X, smoothed), y_res

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        tags = super().__sklearn_tags__()
        # The smoothed bootstrap does arithmetic on X: finite numbers only.
        tags.input_tags.allow_nan = tags.input_tags.string = self.shrinkage is None
        return tags

    def _check_shrinkage(self) -> dict | None:
        if self.shrinkage is None:
            return None
        if isinstance(self.shrinkage, Real):
            return {label: self.shrinkage for label in self.sampling_strategy_}
        shrinkage = dict(self.shrinkage) if isinstance(self.shrinkage, Mapping) else self.shrinkage
        missing = self.sampling_strategy_.keys() - shrinkage.keys()
        if missing:
            raise ValueError(
                "`shrinkage` should contain a shrinkage factor for each class that will be resampled. "
                f"The missing classes are: {missing!r}"
            )
        for label, factor in shrinkage.items():
            if factor < 0:
                raise ValueError(f"The shrinkage factor needs to be >= 0. Got {factor} for class {label}.")
        return shrinkage


def _smoothed_bootstrap(X: Any, rows: np.ndarray, bootstrap: np.ndarray, shrinkage: float, random_state) -> Any:
    """Rows ``bootstrap`` of X plus Gaussian noise scaled per feature like imbalanced-learn's smoothed bootstrap.

    Returns float64 rows (dense X) or a CSR matrix of X's dtype (sparse X), as imbalanced-learn does.
    """
    n_samples, n_features = X.shape
    bandwidth = (4 / ((n_features + 2) * n_samples)) ** (1 / (n_features + 4))
    if sparse.issparse(X):
        _, variance = mean_variance_axis(X[rows, :], axis=0)
        class_scale = np.sqrt(variance, out=variance)
    else:
        class_scale = np.std(X[rows, :], axis=0)
    # Same expression order and dtype as imbalanced-learn so the scale rounds identically; the row-wise
    # product equals its product with the diagonal matrix it builds. In place: these blocks are large.
    new_rows = random_state.randn(len(bootstrap), n_features)
    new_rows *= shrinkage * bandwidth * class_scale
    if sparse.issparse(X):
        new_rows += X[bootstrap].toarray()
        return sparse.csr_matrix(new_rows, dtype=X.dtype)
    new_rows += X[bootstrap]
    return new_rows


def _stack_rows(X: Any, blocks: list[Any]) -> Any:
    """X followed by ``blocks``, in one allocation (dense) or in X's sparse format."""
    if sparse.issparse(X):
        return sparse.vstack([X, *blocks], format=X.format)
    out = np.empty((X.shape[0] + sum(len(b) for b in blocks), X.shape[1]), dtype=np.result_type(X, *blocks))
    out[: X.shape[0]] = X
    start = X.shape[0]
    for block in blocks:
        out[start : start + len(block)] = block
        start += len(block)
    return out
