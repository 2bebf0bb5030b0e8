"""Resampling for imbalanced classification, with imbalanced-learn 0.14's API and results.

Every sampler is a scikit-learn estimator whose ``fit_resample(X, y)`` returns what the imbalanced-learn
sampler of the same name returns for the same inputs and ``random_state`` (bit for bit), and works as a
step of ``imblearn.pipeline.Pipeline``:

- under-sampling: :class:`RandomUnderSampler`, :class:`NearMiss`;
- cleaning: :class:`TomekLinks`, :class:`EditedNearestNeighbours`;
- over-sampling: :class:`RandomOverSampler`, :class:`SMOTE`, :class:`BorderlineSMOTE`, :class:`ADASYN`;
- combined: :class:`SMOTETomek`, :class:`SMOTEENN`.

Multilabel targets (Y a (n_samples, n_labels) 0/1 indicator; imbalanced-learn has none, so these follow the papers,
with the same estimator API): the imbalance measures :func:`imbalance_ratio_per_label` (IRLbl) and
:func:`mean_imbalance_ratio` (MeanIR), and the samplers :class:`MLROS`, :class:`MLRUS` and :class:`MLSMOTE`
(Charte et al. 2015). :class:`imbalance_xfmr.model_selection.MultilabelStratifiedKFold` splits such data.

The random samplers also resample a 1-D array (or list, or pandas Series) of raw texts by index.
:mod:`imbalance_xfmr.sampling.torch_sampler` (import it explicitly) draws a fresh resample of a PyTorch
dataset's indices every epoch instead of materialising a resampled copy.
"""

from ._adasyn import ADASYN
from ._base import BaseSampler
from ._combine import SMOTEENN, SMOTETomek
from ._enn import EditedNearestNeighbours
from ._mlsmote import MLSMOTE
from ._multilabel_base import BaseMultilabelSampler
from ._multilabel_measures import imbalance_ratio_per_label, mean_imbalance_ratio
from ._multilabel_random import MLROS, MLRUS
from ._nearmiss import NearMiss
from ._random import RandomOverSampler, RandomUnderSampler
from ._smote import SMOTE, BorderlineSMOTE
from ._strategy import check_sampling_strategy
from ._tomek import TomekLinks

__all__ = [
    "ADASYN",
    "MLROS",
    "MLRUS",
    "MLSMOTE",
    "SMOTE",
    "SMOTEENN",
    "BaseMultilabelSampler",
    "BaseSampler",
    "BorderlineSMOTE",
    "EditedNearestNeighbours",
    "NearMiss",
    "RandomOverSampler",
    "RandomUnderSampler",
    "SMOTETomek",
    "TomekLinks",
    "check_sampling_strategy",
    "imbalance_ratio_per_label",
    "mean_imbalance_ratio",
]
