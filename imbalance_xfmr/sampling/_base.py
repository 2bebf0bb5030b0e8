"""The base class of every sampler: input validation, ``sampling_strategy_``, output types.

:class:`BaseSampler` mirrors ``imblearn.base.BaseSampler`` (imbalanced-learn 0.14): ``fit(X, y)`` and
``fit_resample(X, y)`` validate the inputs, resolve ``self.sampling_strategy_`` and hand the subclass hook
``_fit_resample(X, y) -> (X_res, y_res)`` clean data; the result is converted back to the caller's types:

- X: ndarray, list (returned as a list), pandas DataFrame (returned with the same columns and dtypes),
  SciPy sparse (CSR/CSC; other formats become CSR, as in scikit-learn's ``check_array``).
- y: 1-D labels of any sortable dtype, a list, a pandas Series/DataFrame (returned as the same type, name
  and dtype, re-indexed like X_res when X is a DataFrame), or one-hot (``multilabel-indicator`` with one 1
  per row), decoded with ``argmax`` and re-encoded with ``label_binarize`` like imbalanced-learn (so a
  two-column one-hot comes back as one column, as there).

Subclasses set two class attributes:

- ``_sampling_type``: 'over-sampling', 'under-sampling' or 'clean-sampling' (see ``_strategy.py``).
- ``_input_kind``: ``'numeric'`` (the default): X reaches ``_fit_resample`` as a finite numeric ndarray or
  CSR/CSC matrix (scikit-learn's ``check_X_y``, as imbalanced-learn's kNN samplers); ``'any'``: X is only
  made 2-D (NaN, strings and objects allowed; DataFrames are passed through untouched so per-column
  dtypes survive) and a 1-D array/list/Series of raw texts is accepted too (index-based samplers only:
  :class:`RowSelectingMixin` sets it, with the matching tags, for the single- and multilabel ones alike).

``_fit_resample`` receives y as a 1-D ndarray of the original labels, and can read ``self._target``
(a :class:`~imbalance_xfmr.sampling._strategy.TargetSummary`: sorted classes, per-row class codes, class
counts) instead of rescanning y. Subclasses that select rows set ``self.sample_indices_`` themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Real
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.preprocessing import label_binarize
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._tags import InputTags, Tags, TargetTags
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, column_or_1d, validate_data

from ._strategy import TargetSummary, resolve_sampling_strategy, summarize_target

# ``_parameter_constraints["sampling_strategy"]`` of each family, as imbalanced-learn declares them.
_RATIO = Interval(Real, 0, 1, closed="right")
OVER_SAMPLING_STRATEGY = [
    _RATIO,
    StrOptions({"auto", "minority", "not minority", "not majority", "all"}),
    Mapping,
    callable,
]
UNDER_SAMPLING_STRATEGY = [
    _RATIO,
    StrOptions({"auto", "majority", "not minority", "not majority", "all"}),
    Mapping,
    callable,
]
CLEANING_STRATEGY = [_RATIO, StrOptions({"auto", "majority", "not minority", "not majority", "all"}), list, callable]


@dataclass(slots=True)
class SamplerInputTags(InputTags):
    """scikit-learn's input tags plus ``dataframe``, the field imbalanced-learn's checks read."""

    dataframe: bool = False


@dataclass(slots=True)
class SamplerTags:
    """imbalanced-learn's sampler tags: ``sample_indices`` says whether ``sample_indices_`` is set."""

    sample_indices: bool = False


@dataclass(slots=True)
class SamplerEstimatorTags(Tags):
    """scikit-learn's ``Tags`` plus ``sampler_tags`` (what ``imblearn.base.is_sampler`` looks for)."""

    sampler_tags: SamplerTags | None = None
    input_tags: SamplerInputTags = field(default_factory=SamplerInputTags)


def _is_pandas(obj: Any, kind: str) -> bool:
    # Checked by name so pandas is only imported when the caller already uses it.
    return type(obj).__name__ == kind and type(obj).__module__.startswith("pandas")


def _is_text_vector(X: Any) -> bool:
    """True for a 1-D ndarray/list/Series of raw texts (strings or objects)."""
    if _is_pandas(X, "Series"):
        from pandas.api.types import is_string_dtype

        return X.dtype == object or is_string_dtype(X.dtype)
    if isinstance(X, list):
        # A list of rows holds sequences; a list of texts holds strings (looking at the first is enough).
        return bool(X) and isinstance(X[0], str)
    return isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype.kind in "OUS"


def take_rows(X: Any, indices: np.ndarray) -> Any:
    """Rows ``indices`` of an ndarray, sparse matrix or pandas DataFrame/Series (by position)."""
    if _is_pandas(X, "DataFrame") or _is_pandas(X, "Series"):
        return X.iloc[indices]
    if sparse.issparse(X):
        return X[indices]
    return np.take(X, indices, axis=0)


class BaseSampler(OneToOneFeatureMixin, BaseEstimator):
    """Base class of the samplers; not to be used directly.

    Parameters
    ----------
    sampling_strategy : float, str, dict, list or callable, default='auto'
        What to resample; see :func:`~imbalance_xfmr.sampling.check_sampling_strategy`.
    """

    _sampling_type: str = ""
    _input_kind: str = "numeric"

    def __init__(self, sampling_strategy: Any = "auto") -> None:
        self.sampling_strategy = sampling_strategy

    def fit(self, X: Any, y: Any) -> BaseSampler:
        """Validate ``X`` and ``y`` and set ``sampling_strategy_``; use :meth:`fit_resample` to resample.

        Returns
        -------
        self
        """
        self._validate_params()
        self._validate(X, y)
        return self

    def fit_resample(self, X: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        """Resample the data set.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
            Features; samplers with ``_input_kind == 'any'`` also take a 1-D array of raw texts.
        y : array-like of shape (n_samples,) or one-hot (n_samples, n_classes)
            Class labels.
        **params
            Passed to the subclass's ``_fit_resample``.

        Returns
        -------
        X_resampled : same type as X, (n_samples_new, n_features)
        y_resampled : same type as y, (n_samples_new,)
        """
        self._validate_params()
        X_checked, y_labels, one_hot = self._validate(X, y)
        X_res, y_res = self._fit_resample(X_checked, y_labels, **params)
        if one_hot:
            y_res = label_binarize(y_res, classes=self._target.classes)
        return _restore_x_type(X_res, X), _restore_y_type(y_res, y, X_res)

    def _fit_resample(self, X: Any, y: np.ndarray, **params: Any) -> tuple[Any, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_resample(X, y).")

    def _validate(self, X: Any, y: Any) -> tuple[Any, np.ndarray, bool]:
        """Check X and y like imbalanced-learn; set feature attributes, ``_target`` and ``sampling_strategy_``."""
        y_labels, one_hot = _check_target(y)
        if self._input_kind == "any":
            X_checked = validate_any_X(self, X)
        else:
            X_checked, y_labels = validate_data(self, X=X, y=y_labels, reset=True, accept_sparse=["csr", "csc"])
        n_rows = X_checked.shape[0]
        if n_rows != y_labels.shape[0]:
            raise ValueError(
                f"X and y must have the same number of rows: X has {n_rows} rows and y has {y_labels.shape[0]}."
            )
        self._target: TargetSummary = summarize_target(y_labels)
        self.sampling_strategy_ = resolve_sampling_strategy(
            self.sampling_strategy, y_labels, self._target, self._sampling_type
        )
        return X_checked, y_labels, one_hot

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        return sampler_estimator_tags(super().__sklearn_tags__(), TargetTags(required=True))


class RowSelectingMixin:
    """For samplers that only pick rows: X may hold anything (NaN, strings, objects, DataFrames untouched, a 1-D
    array of raw texts), and ``sample_indices_`` is set. Put it before the sampler base class."""

    _input_kind = "any"

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.sampler_tags.sample_indices = True
        return tags


def sampler_estimator_tags(base: Tags, target_tags: TargetTags) -> SamplerEstimatorTags:
    """The tags of every sampler (single- or multilabel, whose ``target_tags`` differ), from the estimator's
    ``BaseEstimator.__sklearn_tags__()`` (``base``)."""
    return SamplerEstimatorTags(
        estimator_type="sampler",
        target_tags=target_tags,
        array_api_support=base.array_api_support,
        non_deterministic=base.non_deterministic,
        input_tags=SamplerInputTags(two_d_array=True, sparse=True, dataframe=True),
        sampler_tags=SamplerTags(),
    )


def validate_any_X(estimator: BaseEstimator, X: Any) -> Any:
    """X of a sampler with ``_input_kind == 'any'``, checked as imbalanced-learn's row-selecting samplers do.

    A 1-D array/list/Series of raw texts comes back as is (a list as an object ndarray) and counts as one unnamed
    feature; a DataFrame comes back untouched (its per-column dtypes survive); anything else is only made 2-D
    (NaN, strings and objects allowed; CSR/CSC kept). Sets ``n_features_in_`` (and ``feature_names_in_``).
    """
    if _is_text_vector(X):
        X_checked = X if not isinstance(X, list) else np.asarray(X, dtype=object)
        # One text per row: a single (unnamed) input feature.
        estimator.n_features_in_ = 1
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
        return X_checked
    X_checked = X
    if not _is_pandas(X, "DataFrame"):
        X_checked = check_array(X, dtype=None, accept_sparse=["csr", "csc"], ensure_all_finite=False)
    validate_data(estimator, X=X_checked, reset=True, skip_check_array=True)
    return X_checked


def _check_target(y: Any) -> tuple[np.ndarray, bool]:
    """1-D labels from y, and whether y was one-hot encoded (imbalanced-learn's ``check_target_type``)."""
    values = y.to_numpy() if _is_pandas(y, "Series") and y.dtype.kind in "iub" else y
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iub":
        # Integer 1-D labels are binary or multiclass by construction: skip type_of_target's extra scans.
        return values, False
    check_classification_targets(y)
    if type_of_target(y) == "multilabel-indicator":
        indicator = check_array(y, accept_sparse=True, ensure_2d=True)
        if np.any(np.asarray(indicator.sum(axis=1)) > 1):
            raise ValueError(
                "Imbalanced-learn currently supports binary, multiclass and binarized encoded multiclasss "
                "targets. Multilabel and multioutput targets are not supported."
            )
        return np.asarray(indicator.argmax(axis=1)).reshape(-1), True
    return column_or_1d(y), False


def _restore_x_type(X_res: Any, X: Any) -> Any:
    if isinstance(X, list):
        return X_res.tolist() if hasattr(X_res, "tolist") else list(X_res)
    if _is_pandas(X, "DataFrame") and not _is_pandas(X_res, "DataFrame"):
        import pandas as pd

        if sparse.issparse(X_res):
            frame = pd.DataFrame.sparse.from_spmatrix(X_res, columns=X.columns)
        else:
            frame = pd.DataFrame(X_res, columns=X.columns)
        return frame.astype(X.dtypes.to_dict())
    return X_res


def _restore_y_type(y_res: np.ndarray, y: Any, X_res: Any) -> Any:
    if isinstance(y, list):
        return y_res.tolist()
    if not (_is_pandas(y, "Series") or _is_pandas(y, "DataFrame")):
        return y_res
    import pandas as pd

    if _is_pandas(y, "Series"):
        restored = pd.Series(y_res, dtype=y.dtype, name=y.name)
    else:
        restored = pd.DataFrame(y_res, columns=y.columns).astype(y.dtypes.to_dict())
    if _is_pandas(X_res, "DataFrame") or _is_pandas(X_res, "Series"):
        # Resampling loses y's index; X_res's is the one that lines up with the rows.
        restored.index = X_res.index
    return restored
