"""Class counting and ``sampling_strategy`` resolution, with imbalanced-learn 0.14's semantics.

:func:`check_sampling_strategy` turns the user's ``sampling_strategy`` (float, str, dict, list or
callable) into an ``OrderedDict`` ``{class label: number of samples}`` sorted by class label, exactly
as ``imblearn.utils.check_sampling_strategy`` does, raising the same exception types. Its meaning
depends on the sampler family:

- ``'over-sampling'``: the value is the number of NEW samples to generate for that class.
- ``'under-sampling'``: the value is the number of samples to KEEP in that class.
- ``'clean-sampling'``: the keys are the classes to clean; the value (the minority count) is unused.

Counting is done once, by :func:`summarize_target` (one ``bincount`` for small non-negative
integer labels, one ``np.unique(return_inverse=True)`` otherwise), so the samplers never rescan ``y``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Real
from typing import Any

import numpy as np

SAMPLING_TYPES = ("over-sampling", "under-sampling", "clean-sampling", "ensemble", "bypass")
_STRATEGY_NAMES = ("minority", "majority", "not minority", "not majority", "all", "auto")


@dataclass(frozen=True)
class TargetSummary:
    """The classes of a 1-D label array, counted once.

    Attributes
    ----------
    classes : ndarray of shape (n_classes,)
        Sorted unique labels, as ``np.unique(y)`` returns them (same dtype, same scalar type).
    codes : ndarray of shape (n_samples,), integer
        ``classes[codes] == y``.
    counts : ndarray of shape (n_classes,), int64
        Number of rows of each class.
    """

    classes: np.ndarray
    codes: np.ndarray
    counts: np.ndarray

    def indices_by_class(self) -> list[np.ndarray]:
        """Row indices of each class, ascending (``np.flatnonzero(y == c)`` for every ``c``) in one pass."""
        n_classes = len(self.classes)
        if n_classes <= 4:
            # A few vectorised comparisons beat a sort when there are only a few classes.
            return [np.flatnonzero(self.codes == k) for k in range(n_classes)]
        # A stable sort groups rows by class and keeps them ascending within a class; small
        # unsigned codes make numpy use its O(n) radix sort.
        small = self.codes.astype(np.uint16 if n_classes <= 1 << 16 else np.intp, copy=False)
        order = np.argsort(small, kind="stable")
        return np.split(order, np.cumsum(self.counts)[:-1])


def summarize_target(y: np.ndarray) -> TargetSummary:
    """Count the classes of a 1-D label array ``y`` (any dtype ``np.unique`` can sort)."""
    y = np.asarray(y)
    if y.dtype.kind in "iub" and y.size:
        low, high = int(y.min()), int(y.max())
        # bincount is linear time where np.unique sorts; worth it while the label range is small.
        if high - low <= 4 * y.size + 1024:
            # Offsets from the smallest label, computed where they cannot overflow; labels rebuilt the same way.
            if y.dtype.kind == "u":
                offsets = (y - y.dtype.type(low)).astype(np.intp, copy=False)
            else:
                offsets = y.astype(np.intp, copy=False)
                offsets = offsets - low if low else offsets
            full_counts = np.bincount(offsets, minlength=high - low + 1)
            present = np.flatnonzero(full_counts)
            code_of_offset = np.cumsum(full_counts > 0) - 1
            if y.dtype.kind == "u":
                classes = present.astype(y.dtype) + y.dtype.type(low)
            else:
                classes = (present + low).astype(y.dtype)
            return TargetSummary(classes, code_of_offset[offsets], full_counts[present].astype(np.int64))
    classes, codes, counts = np.unique(y, return_inverse=True, return_counts=True)
    return TargetSummary(classes, codes.reshape(-1), counts.astype(np.int64))


def check_sampling_strategy(
    sampling_strategy: float | str | Mapping | list | Callable,
    y: Any,
    sampling_type: str,
    **kwargs: Any,
) -> OrderedDict:
    """Resolve ``sampling_strategy`` for the labels ``y``; matches ``imblearn.utils.check_sampling_strategy``.

    Parameters
    ----------
    sampling_strategy : float, str, dict, list or callable
        float (binary ``y`` only, in ``(0, 1]``): desired minority/majority ratio after resampling.
        str: one of ``'minority'``, ``'majority'``, ``'not minority'``, ``'not majority'``, ``'all'``,
        ``'auto'`` (= ``'not majority'`` for over-sampling, ``'not minority'`` otherwise).
        dict ``{class: n_samples}``: target count per class (over- and under-sampling only).
        list of classes: the classes to clean (cleaning samplers only).
        callable ``f(y, **kwargs) -> dict``: a dict computed from ``y``.
    y : array-like of shape (n_samples,)
        Class labels.
    sampling_type : {'over-sampling', 'under-sampling', 'clean-sampling', 'ensemble', 'bypass'}
        The sampler family; 'ensemble' and 'bypass' return ``sampling_strategy`` unchanged.
    **kwargs
        Passed to ``sampling_strategy`` when it is a callable.

    Returns
    -------
    OrderedDict
        ``{class label: n_samples}`` sorted by class label (see the module docstring for what
        ``n_samples`` means per family).
    """
    return resolve_sampling_strategy(sampling_strategy, y, summarize_target(np.asarray(y)), sampling_type, **kwargs)


def resolve_sampling_strategy(
    sampling_strategy: Any, y: Any, summary: TargetSummary, sampling_type: str, **kwargs: Any
) -> OrderedDict:
    """:func:`check_sampling_strategy` for labels ``y`` already counted in ``summary``."""
    if sampling_type not in SAMPLING_TYPES:
        raise ValueError(f"'sampling_type' should be one of {SAMPLING_TYPES}. Got '{sampling_type}' instead.")
    n_classes = len(summary.classes)
    if n_classes <= 1:
        raise ValueError(
            f"The target 'y' needs to have more than 1 class. Got {n_classes} class instead: "
            "resampling needs at least two classes to balance."
        )
    if sampling_type in ("ensemble", "bypass"):
        return sampling_strategy

    counts = dict(zip(summary.classes.tolist(), summary.counts.tolist()))
    # Keys keep numpy's scalar types, as imbalanced-learn's do (they come from np.unique).
    labels = list(summary.classes)
    if isinstance(sampling_strategy, str):
        if sampling_strategy not in _STRATEGY_NAMES:
            raise ValueError(
                f"When 'sampling_strategy' is a string, it needs to be one of {_STRATEGY_NAMES}. "
                f"Got '{sampling_strategy}' instead."
            )
        targets = _from_name(sampling_strategy, labels, summary.counts, sampling_type)
    elif isinstance(sampling_strategy, Mapping):
        targets = _from_dict(sampling_strategy, counts, sampling_type)
    elif isinstance(sampling_strategy, list):
        targets = _from_list(sampling_strategy, counts, summary.counts, sampling_type)
    elif isinstance(sampling_strategy, Real):
        if sampling_strategy <= 0 or sampling_strategy > 1:
            raise ValueError(
                "When 'sampling_strategy' is a float, it should be in the range (0, 1]. "
                f"Got {sampling_strategy} instead."
            )
        targets = _from_ratio(sampling_strategy, labels, summary.counts, sampling_type)
    elif callable(sampling_strategy):
        targets = _from_dict(sampling_strategy(y, **kwargs), counts, sampling_type)
    else:
        raise TypeError(
            "'sampling_strategy' must be a float, a str, a dict, a list or a callable. "
            f"Got {type(sampling_strategy).__name__} instead."
        )
    return OrderedDict(sorted(targets.items()))


def _from_name(name: str, labels: list, counts: np.ndarray, sampling_type: str) -> dict:
    # argmax/argmin return the first extreme in sorted-label order: imbalanced-learn's tie-breaking.
    majority, minority = labels[int(np.argmax(counts))], labels[int(np.argmin(counts))]
    if name == "auto":
        name = "not majority" if sampling_type == "over-sampling" else "not minority"
    if sampling_type == "over-sampling" and name == "majority":
        raise ValueError("'sampling_strategy'='majority' cannot be used with over-sampler.")
    if sampling_type != "over-sampling" and name == "minority":
        raise ValueError("'sampling_strategy'='minority' cannot be used with under-sampler and clean-sampler.")
    keep = {
        "all": lambda label: True,
        "majority": lambda label: label == majority,
        "minority": lambda label: label == minority,
        "not majority": lambda label: label != majority,
        "not minority": lambda label: label != minority,
    }[name]
    if sampling_type == "over-sampling":
        n_max = counts.max()
        return {label: n_max - count for label, count in zip(labels, counts) if keep(label)}
    n_min = counts.min()
    return {label: n_min for label in labels if keep(label)}


def _missing_classes_error(requested: Any, counts: dict) -> None:
    missing = set(requested) - set(counts)
    if missing:
        raise ValueError(
            f"The {missing} target class is/are not present in the data. Present classes: {sorted(counts)}."
        )


def _from_dict(sampling_strategy: Mapping, counts: dict, sampling_type: str) -> dict:
    _missing_classes_error(sampling_strategy.keys(), counts)
    if any(n_samples < 0 for n_samples in sampling_strategy.values()):
        raise ValueError(
            "The number of samples in a class cannot be negative. "
            f"'sampling_strategy' contains some negative value: {sampling_strategy}"
        )
    if sampling_type == "clean-sampling":
        raise ValueError(
            "'sampling_strategy' as a dict for cleaning methods is not supported. "
            "Please give a list of the classes to be targeted by the sampling."
        )
    if sampling_type not in ("over-sampling", "under-sampling"):
        raise NotImplementedError(f"dict 'sampling_strategy' has no meaning for {sampling_type!r}.")
    targets = {}
    for label, n_samples in sampling_strategy.items():
        n_present = counts[label]
        if sampling_type == "over-sampling":
            if n_samples < n_present:
                raise ValueError(
                    "With over-sampling methods, the number of samples in a class should be greater "
                    f"or equal to the original number of samples. Originally, there is {n_present} "
                    f"samples and {n_samples} samples are asked (class {label!r})."
                )
            targets[label] = np.int64(n_samples - n_present)
        else:
            if n_samples > n_present:
                raise ValueError(
                    "With under-sampling methods, the number of samples in a class should be less "
                    f"or equal to the original number of samples. Originally, there is {n_present} "
                    f"samples and {n_samples} samples are asked (class {label!r})."
                )
            targets[label] = n_samples
    return targets


def _from_list(classes: list, counts: dict, count_array: np.ndarray, sampling_type: str) -> dict:
    if sampling_type != "clean-sampling":
        raise ValueError(
            "'sampling_strategy' cannot be a list for samplers which are not cleaning methods. "
            "Use a dict {class: n_samples} instead."
        )
    _missing_classes_error(classes, counts)
    n_min = count_array.min()
    return {label: n_min for label in classes}


def _from_ratio(ratio: float, labels: list, counts: np.ndarray, sampling_type: str) -> dict:
    if len(labels) != 2:
        raise ValueError(
            '"sampling_strategy" can be a float only when the type of target is binary. For multi-class, use a dict.'
        )
    i_major, i_minor = int(np.argmax(counts)), int(np.argmin(counts))
    if sampling_type == "over-sampling":
        n_major = counts[i_major]
        targets = {
            label: int(n_major * ratio - count) for i, (label, count) in enumerate(zip(labels, counts)) if i != i_major
        }
        if any(n <= 0 for n in targets.values()):
            raise ValueError(
                "The specified ratio required to remove samples from the minority class while trying "
                "to generate new samples. Please increase the ratio."
            )
        return targets
    if sampling_type == "under-sampling":
        n_minor = counts[i_minor]
        targets = {label: int(n_minor / ratio) for i, label in enumerate(labels) if i != i_minor}
        if any(targets[label] > counts[i] for i, label in enumerate(labels) if label in targets):
            raise ValueError(
                "The specified ratio required to generate new sample in the majority class while trying "
                "to remove samples. Please increase the ratio."
            )
        return targets
    raise ValueError("'clean-sampling' methods do not let the user specify the sampling ratio.")
