"""SMOTE followed by a cleaning step: ``SMOTETomek`` and ``SMOTEENN`` (imbalanced-learn 0.14's ``combine``).

As in imbalanced-learn, ``sampling_strategy`` and ``random_state`` configure the default SMOTE (ignored when
``smote=`` is given), the default cleaner cleans every class (``sampling_strategy='all'``), and the fitted
``sampling_strategy_`` is the raw ``sampling_strategy`` parameter.
"""

from __future__ import annotations

from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import clone

from ._base import OVER_SAMPLING_STRATEGY, BaseSampler
from ._enn import EditedNearestNeighbours
from ._smote import SMOTE
from ._tomek import TomekLinks


class _SMOTEThenClean(BaseSampler):
    """SMOTE, then the cleaner held by the parameter named ``_cleaner_param`` (fitted copy: that name + ``_``)."""

    _sampling_type = "over-sampling"
    _cleaner_param = ""

    def _default_cleaner(self) -> BaseSampler:
        raise NotImplementedError

    def _fit_resample(self, X: Any, y: np.ndarray) -> tuple[Any, np.ndarray]:
        self.smote_ = (
            clone(self.smote)
            if self.smote is not None
            else SMOTE(sampling_strategy=self.sampling_strategy, random_state=self.random_state)
        )
        cleaner = getattr(self, self._cleaner_param)
        cleaner = clone(cleaner) if cleaner is not None else self._default_cleaner()
        setattr(self, self._cleaner_param + "_", cleaner)
        self.sampling_strategy_ = self.sampling_strategy
        X_res, y_res = self.smote_.fit_resample(X, y)
        return cleaner.fit_resample(X_res, y_res)


class SMOTETomek(_SMOTEThenClean):
    """SMOTE, then remove Tomek links; matches ``imblearn.combine.SMOTETomek``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Passed to the default SMOTE.
    random_state : int, RandomState instance or None, default=None
        Passed to the default SMOTE.
    smote : SMOTE or None, default=None
        SMOTE to use instead of the default (cloned).
    tomek : TomekLinks or None, default=None
        Cleaner to use instead of ``TomekLinks(sampling_strategy='all')`` (cloned).
    n_jobs : int or None, default=None
        Passed to the default TomekLinks.

    Attributes
    ----------
    smote_, tomek_ : the fitted samplers.
    sampling_strategy_ : the ``sampling_strategy`` parameter, as imbalanced-learn sets it.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _cleaner_param = "tomek"
    _parameter_constraints: dict = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": ["random_state"],
        "smote": [SMOTE, None],
        "tomek": [TomekLinks, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: SMOTE | None = None,
        tomek: TomekLinks | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.smote = smote
        self.tomek = tomek
        self.n_jobs = n_jobs

    def _default_cleaner(self) -> TomekLinks:
        return TomekLinks(sampling_strategy="all", n_jobs=self.n_jobs)


class SMOTEENN(_SMOTEThenClean):
    """SMOTE, then edited-nearest-neighbours cleaning; matches ``imblearn.combine.SMOTEENN``.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default='auto'
        Passed to the default SMOTE.
    random_state : int, RandomState instance or None, default=None
        Passed to the default SMOTE.
    smote : SMOTE or None, default=None
        SMOTE to use instead of the default (cloned).
    enn : EditedNearestNeighbours or None, default=None
        Cleaner to use instead of ``EditedNearestNeighbours(sampling_strategy='all')`` (cloned).
    n_jobs : int or None, default=None
        Passed to the default EditedNearestNeighbours.

    Attributes
    ----------
    smote_, enn_ : the fitted samplers.
    sampling_strategy_ : the ``sampling_strategy`` parameter, as imbalanced-learn sets it.
    n_features_in_ : int
    feature_names_in_ : ndarray of str, only for DataFrame X with string column names.
    """

    _cleaner_param = "enn"
    _parameter_constraints: dict = {
        "sampling_strategy": OVER_SAMPLING_STRATEGY,
        "random_state": ["random_state"],
        "smote": [SMOTE, None],
        "enn": [EditedNearestNeighbours, None],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        random_state: Any = None,
        smote: SMOTE | None = None,
        enn: EditedNearestNeighbours | None = None,
        n_jobs: int | None = None,
    ) -> None:
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.smote = smote
        self.enn = enn
        self.n_jobs = n_jobs

    def _default_cleaner(self) -> EditedNearestNeighbours:
        return EditedNearestNeighbours(sampling_strategy="all", n_jobs=self.n_jobs)
