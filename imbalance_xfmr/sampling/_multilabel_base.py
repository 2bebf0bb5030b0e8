"""The base class of the multilabel samplers: ``fit_resample(X, Y)`` with Y a (n_samples, n_labels) 0/1 indicator.

imbalanced-learn has no multilabel sampler (its open request #1123); :class:`BaseMultilabelSampler` gives ours
imbalanced-learn's sampler API all the same: ``fit_resample(X, Y) -> (X_res, Y_res)``, scikit-learn parameters
(``get_params``/``set_params``/``clone``), the sampler tags ``imblearn.pipeline.Pipeline`` looks for, and the types
of :class:`~imbalance_xfmr.sampling.BaseSampler`:

- X: as for the single-label samplers (``_input_kind`` 'any' for the row-selecting ones: NaN, strings, DataFrames
  untouched and 1-D arrays of raw texts; 'numeric' for MLSMOTE: a finite numeric ndarray or CSR/CSC matrix).
- Y: an ndarray (its dtype kept), a list of rows (returned as a list) or a DataFrame (returned with its columns and
  dtypes, re-indexed like X_res when X is a DataFrame, with a fresh ``RangeIndex`` otherwise).

Subclasses implement ``_fit_resample(X, Y, indicator) -> (X_res, Y_res)``: ``Y`` is the validated ndarray,
``indicator`` the same values as a C-ordered bool array; ``self.imbalance_ratio_per_label_`` and
``self.mean_imbalance_ratio_`` are set before it is called.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin
from sklearn.utils._tags import TargetTags
from sklearn.utils.validation import validate_data

from ._base import (
    SamplerEstimatorTags,
    _restore_x_type,
    _restore_y_type,
    sampler_estimator_tags,
    validate_any_X,
)
from ._multilabel_measures import check_indicator, label_imbalance

_ONE_LABEL_PER_ROW_HINT = (
    " For one class label per row use the single-label samplers (RandomOverSampler, SMOTE, ...)."
)


class BaseMultilabelSampler(OneToOneFeatureMixin, BaseEstimator):
    """Base class of the multilabel samplers; not to be used directly."""

    _input_kind: str = "numeric"

    def fit(self, X: Any, Y: Any) -> BaseMultilabelSampler:
        """Validate ``X`` and ``Y`` and compute the imbalance measures; use :meth:`fit_resample` to resample.

        Returns
        -------
        self
        """
        self._validate_params()
        self._validate(X, Y)
        return self

    def fit_resample(self, X: Any, Y: Any) -> tuple[Any, Any]:
        """Resample the data set.

        Parameters
        ----------
        X : {array-like, DataFrame, sparse matrix} of shape (n_samples, n_features)
            Features; the row-selecting samplers also take a 1-D array of raw texts.
        Y : array-like or DataFrame of shape (n_samples, n_labels)
            0/1 label indicator, one column per label.

        Returns
        -------
        X_resampled : same type as X, (n_samples_new, n_features)
        Y_resampled : same type as Y, (n_samples_new, n_labels)
        """
        self._validate_params()
        X_checked, Y_array, indicator = self._validate(X, Y)
        X_res, Y_res = self._fit_resample(X_checked, Y_array, indicator)
        return _restore_x_type(X_res, X), _restore_y_type(Y_res, Y, X_res)

    def _fit_resample(self, X: Any, Y: np.ndarray, indicator: np.ndarray) -> tuple[Any, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit_resample(X, Y, indicator).")

    def _validate(self, X: Any, Y: Any) -> tuple[Any, np.ndarray, np.ndarray]:
        """Check X and Y; set the feature attributes and the imbalance measures."""
        Y_array = check_indicator(Y, hint=_ONE_LABEL_PER_ROW_HINT)
        if self._input_kind == "any":
            X_checked = validate_any_X(self, X)
        else:
            X_checked = validate_data(self, X=X, reset=True, accept_sparse=["csr", "csc"])
        if X_checked.shape[0] != Y_array.shape[0]:
            raise ValueError(
                f"X and Y must have the same number of rows: X has {X_checked.shape[0]} rows and Y has "
                f"{Y_array.shape[0]}."
            )
        indicator = np.ascontiguousarray(Y_array, dtype=bool)
        _, self.imbalance_ratio_per_label_, self.mean_imbalance_ratio_ = label_imbalance(indicator)
        return X_checked, Y_array, indicator

    def __sklearn_tags__(self) -> SamplerEstimatorTags:
        target_tags = TargetTags(required=True, multi_output=True, single_output=False)
        return sampler_estimator_tags(super().__sklearn_tags__(), target_tags)
