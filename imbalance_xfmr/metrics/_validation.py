"""Input checking and label encoding shared by every metric.

The reference is scikit-learn 1.9's ``sklearn.utils.validation`` / ``sklearn.utils.multiclass`` /
``sklearn.metrics._classification._check_targets``: the same target types, the same errors, with the same
exception types and messages. The implementation is our own and is built for speed: scikit-learn discovers
labels with several ``np.unique`` sorts per call; we find them with one joint histogram (integers spanning at most
1024 values, counted in cache-sized chunks) or one hash-based factorisation (anything else), both O(n).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._multilabel import IndicatorTargets

# Integer labels spanning up to this many consecutive values (0-1023, -1/1, 1000-1004 ...) take the O(n) bincount
# path; others are factorised.
_MAX_DIRECT_LABEL = 1024
# Samples counted per chunk on that path: the chunk's codes and scratch (256 KiB each) stay in L2 cache, so each
# label array is read from memory once and no full-length temporary is written.
_COUNT_CHUNK = 1 << 15
# With few labels, up to this many joint codes are packed into one bincount element, keeping the packed
# histogram at most this many bins (128 KiB).
_MAX_PACK = 4
_MAX_PACKED_BINS = 1 << 14


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a bad type or value; like sklearn's ``InvalidParameterError`` it is both a
    ``ValueError`` and a ``TypeError``, so ``except`` clauses written for scikit-learn keep working."""


def check_option(func: str, name: str, value: Any, options: Sequence[Any]) -> None:
    """Raise :class:`InvalidParameterError` unless ``value`` is one of ``options`` (``None`` allowed when listed)."""
    for option in options:
        if (option is None and value is None) or (
            option is not None and type(value) is type(option) and value == option
        ):
            return
    strings = sorted(repr(o) for o in options if isinstance(o, str))
    described = f"a str among {{{', '.join(strings)}}}" if strings else ""
    others = [repr(o) for o in options if not isinstance(o, str)]
    if others:
        described = " or ".join([described] + others) if described else " or ".join(others)
    raise InvalidParameterError(
        f"The '{name}' parameter of {func} must be {described}. Got {value!r} instead."
    )


def check_zero_division(func: str, zero_division: Any) -> float:
    """Validate ``zero_division`` ('warn', 0, 1 or nan) and return the value it stands for."""
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0.0
    elif isinstance(zero_division, numbers.Real) and not isinstance(zero_division, bool):
        if zero_division in (0, 1):
            return float(zero_division)
        if np.isnan(zero_division):
            return np.nan
    raise InvalidParameterError(
        f"The 'zero_division' parameter of {func} must be a float among {{0.0, 1.0, nan}} or a str "
        f"among {{'warn'}}. Got {zero_division!r} instead."
    )


def to_array(y: Any, name: str) -> np.ndarray:
    """Convert a list, tuple, NumPy array, pandas Series/DataFrame or torch tensor to a NumPy array.

    The array keeps its dimensionality; raises ``ValueError`` for strings, scalars and ragged sequences.
    """
    if isinstance(y, np.ndarray):
        return y
    if isinstance(y, (pd.Series, pd.DataFrame, pd.Index)):
        return y.to_numpy()
    if type(y).__module__.startswith("torch"):
        return y.detach().cpu().numpy()
    if isinstance(y, str) or not (isinstance(y, Sequence) or hasattr(y, "__array__")):
        raise InvalidParameterError(
            f"The '{name}' parameter must be an array-like (a list, array, Series or tensor). Got {y!r} instead."
        )
    try:
        return np.asarray(y)
    except ValueError as error:
        raise ValueError(
            f"{name} could not be turned into an array ({error}); pass a flat list or 1-D array of labels."
        ) from None


def num_samples(y: np.ndarray) -> int:
    return 1 if y.ndim == 0 else int(y.shape[0])


def check_consistent_length(*arrays: np.ndarray | None) -> None:
    """Raise sklearn's ``ValueError`` when the non-None arrays differ in their first dimension."""
    lengths = [num_samples(a) for a in arrays if a is not None]
    if len(set(lengths)) > 1:
        raise ValueError(
            f"Found input variables with inconsistent numbers of samples: {lengths!r}"
        )


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray | None:
    """Return sample weights as a 1-D float or integer array of length ``n_samples`` (None stays None).

    Mirrors ``sklearn.utils.validation._check_sample_weight(..., force_float_dtype=False)``: a scalar is
    broadcast, weights must be finite; negative weights are allowed.
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        weights = np.full(n_samples, sample_weight)
        if sample_weight == 0:
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return weights
    weights = to_array(sample_weight, "sample_weight")
    if weights.dtype.kind not in "biuf":
        try:
            weights = weights.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"sample_weight must be numeric, got dtype {weights.dtype}; pass one number per sample."
            ) from None
    if weights.ndim != 1:
        raise ValueError(
            f"Sample weights must be 1D array or scalar, got {weights.ndim}D array. Expected either a scalar "
            f"value or a 1D array of length {n_samples}."
        )
    if weights.shape[0] != n_samples:
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected {(n_samples,)}!")
    if weights.dtype.kind == "f" and not np.isfinite(weights).all():
        kind = "NaN" if np.isnan(weights).any() else "infinity or a value too large for dtype('float64')"
        raise ValueError(f"Input sample_weight contains {kind}.")
    if not weights.any():
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def _check_label_array(y: np.ndarray, name: str) -> np.ndarray:
    """Reject label arrays scikit-learn rejects before looking at their values."""
    if y.dtype.kind == "c":
        raise ValueError("Complex data not supported\n{}\n".format(y))
    if y.dtype.kind == "S" or (y.dtype.kind == "O" and y.size and isinstance(y.flat[0], bytes)):
        raise TypeError(
            "Support for labels represented as bytes is not supported. Convert "
            "the labels to a string or integer format."
        )
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(
            f"{name} must be a 1-D array of labels; got an array of shape {y.shape}."
        )
    return y


def _factorize(y: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Hash-based factorisation: (codes (n,) intp, uniques (k,)). Missing labels are an error."""
    codes, uniques = pd.factorize(y, use_na_sentinel=True)
    if codes.size and codes.min() < 0:
        where = np.flatnonzero(codes < 0)[:5].tolist()
        if y.dtype.kind == "f":
            raise ValueError(f"Input {name} contains NaN.")
        raise ValueError(
            f"Input {name} contains missing labels (None/NaN), e.g. at positions {where}; "
            "drop or fill those rows before scoring."
        )
    return codes, np.asarray(uniques)


# Integer labels spanning fewer values than this are counted with one bincount instead of a sort or a hash table.
_MAX_BINCOUNT_SPAN = 1 << 16


def _distinct_values(y: np.ndarray, name: str) -> np.ndarray:
    """Sorted distinct values of a label array in O(n) (bincount for bool and small integers, hashing otherwise,
    then a sort of the few distinct values). Raises ValueError for NaN/None and for a mix of strings and numbers."""
    if y.size == 0:
        return y.ravel()
    if y.dtype.kind == "b":
        return np.flatnonzero([not y.all(), y.any()]).astype(bool)
    if y.dtype.kind in "iu":
        low, high = y.min(), y.max()
        if int(high) - int(low) < _MAX_BINCOUNT_SPAN:
            shifted = y.ravel() if low == 0 else y.ravel() - low  # labels from 0: no copy
            present = np.flatnonzero(np.bincount(shifted.astype(np.intp, copy=False)))
            return (present + low).astype(y.dtype)
        return np.unique(y)
    values = pd.unique(y.ravel())
    if pd.isna(values).any():
        raise ValueError(f"Input {name} contains NaN." if y.dtype.kind == "f" else f"Input {name} contains None/NaN.")
    if y.dtype.kind == "O":
        is_str = np.array([isinstance(v, str) for v in values], dtype=bool)
        if is_str.any() and not is_str.all():
            raise ValueError(f"Mix of label input types (string and number) in {name}: {values.tolist()[:10]}")
    return np.sort(np.asarray(values))


def _is_unknown(y: np.ndarray) -> bool:
    """sklearn's 'unknown' target: more than 2 dimensions, or objects that are neither strings nor numbers."""
    return y.ndim > 2 or (
        y.dtype.kind == "O" and y.size > 0 and not isinstance(y.flat[0], (str, int, float, np.number))
    )


def _label_type(values: np.ndarray, y: np.ndarray, name: str) -> str:
    """sklearn's ``type_of_target`` of a 1-D label array ``y`` whose distinct values are ``values``."""
    if y.dtype.kind == "f" and values.size:
        if not np.isfinite(values).all():
            raise ValueError(f"Input {name} contains infinity or a value too large for dtype('float64').")
        if (values != np.trunc(values)).any():
            return "continuous"
    return "multiclass" if values.size > 2 else "binary"


def type_of_target(y: np.ndarray, name: str = "y_true") -> tuple[str, np.ndarray]:
    """(sklearn's ``type_of_target`` name, sorted distinct values) of a label array, in one O(n) pass.

    Types: 'binary', 'multiclass', 'continuous', 'multilabel-indicator', 'multiclass-multioutput',
    'continuous-multioutput' or 'unknown'.
    """
    if y.ndim == 2 and y.shape[1] > 1:
        if y.dtype.kind not in "biuf":
            return "multiclass-multioutput", y.ravel()[:0]
        values = _distinct_values(y, name)
        if values.size <= 2 and np.isin(values, (0, 1)).all():
            return "multilabel-indicator", values
        if y.dtype.kind == "f" and (values != np.trunc(values)).any():
            return "continuous-multioutput", values
        return "multiclass-multioutput", values
    if _is_unknown(y):
        return "unknown", y.ravel()[:0]
    values = _distinct_values(y, name)
    return _label_type(values, y, name), values


def unique_labels(*ys: np.ndarray) -> np.ndarray:
    """Sorted union of the labels of 1-D arrays; ValueError for a mix of string and number labels."""
    parts = [_distinct_values(y, "y_true") for y in ys]
    kinds = {part.dtype.kind in "OUS" for part in parts if part.size}
    if len(kinds) > 1:
        raise ValueError(f"Mix of label input types (string and number): {[p.tolist() for p in parts]}")
    if len(parts) == 1:
        return parts[0]
    return _distinct_values(np.concatenate(parts), "labels")


def _sorted_union(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> np.ndarray:
    """Sorted union of two small arrays of labels; errors on a mix of string and number labels."""
    both = np.concatenate([a.astype(object), b.astype(object)]) if a.dtype != b.dtype else np.concatenate([a, b])
    is_str = np.array([isinstance(v, str) for v in both.tolist()], dtype=bool)
    if is_str.any() and not is_str.all():
        raise ValueError(
            "Mix of label input types (string and number); "
            f"Got {np.asarray(a).tolist()} in {names[0]} and {np.asarray(b).tolist()} in {names[1]}."
        )
    union = np.unique(both)
    if union.dtype == object:
        # Keep NumPy-native dtypes for uniform labels, like sklearn's ``np.asarray(sorted(set))``.
        union = np.asarray(union.tolist())
    return union


class Targets:
    """Validated ``(y_true, y_pred)`` reduced to their joint label histogram.

    Attributes
    ----------
    y_type : str
        'binary' or 'multiclass' (sklearn's target type of the pair).
    classes : ndarray of shape (n_classes,)
        Sorted union of the labels present in y_true or y_pred (``sklearn.utils.multiclass.unique_labels``).
    cm : ndarray of shape (n_classes, n_classes)
        ``cm[i, j]`` = (weighted) number of samples with true label ``classes[i]`` and predicted ``classes[j]``;
        int64 without weights or with integer weights, float64 otherwise.
    in_true : ndarray of shape (n_classes,), bool
        Whether each class occurs in y_true (whatever its weight).
    n_samples : int
    weighted_sums : (tp, predicted, true) float64 arrays of shape (n_classes,), or None without weights
        Per-class weighted sums accumulated in sample order, as sklearn's ``bincount`` calls do, so that
        float sums (and the supports a report prints) are bit-identical to the reference's.
    """

    __slots__ = ("y_type", "classes", "cm", "in_true", "n_samples", "weighted_sums")

    def __init__(
        self,
        y_type: str,
        classes: np.ndarray,
        cm: np.ndarray,
        in_true: np.ndarray,
        n_samples: int,
        weighted_sums: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ):
        self.y_type = y_type
        self.classes = classes
        self.cm = cm
        self.in_true = in_true
        self.n_samples = n_samples
        self.weighted_sums = weighted_sums

    def label_positions(self, labels: np.ndarray) -> np.ndarray:
        """Index of each of ``labels`` in ``classes``; -1 where a label is absent from both arrays."""
        labels = np.asarray(labels)
        positions = np.full(labels.shape[0], -1, dtype=np.intp)
        if labels.size == 0 or self.classes.size == 0:
            return positions
        label_is_str = labels.dtype.kind in "UO" and isinstance(labels.flat[0], str)
        class_is_str = self.classes.dtype.kind in "UO" and isinstance(self.classes.flat[0], str)
        if label_is_str != class_is_str:
            return positions
        lookup = {value: i for i, value in enumerate(self.classes.tolist())}
        return np.array([lookup.get(v, -1) for v in labels.tolist()], dtype=np.intp)

    def select(self, labels: np.ndarray | None) -> np.ndarray:
        """The confusion matrix restricted to ``labels``, in that order (zeros for absent labels)."""
        if labels is None:
            return self.cm
        positions = self.label_positions(labels)
        padded = np.zeros((self.cm.shape[0] + 1,) * 2, dtype=self.cm.dtype)
        padded[:-1, :-1] = self.cm
        return padded[np.ix_(positions, positions)]


def _as_label_vector(y: Any, name: str) -> tuple[np.ndarray, str | None]:
    """1-D label array plus the 2-D target type that makes it unusable (None when usable)."""
    y = _check_label_array(to_array(y, name), name)
    if y.ndim == 2:
        if y.shape[1] == 1:
            return y[:, 0], None
        return y, type_of_target(y)[0] if y.size else "unknown"
    return y, None


def _direct_counts(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, int] | None:
    """Joint histogram of two integer (or bool) label arrays whose labels span at most ``_MAX_DIRECT_LABEL``
    consecutive values, and its lowest label: ``(counts, low)``, ``counts[t - low, p - low]`` (int64,
    (width, width)) the number of samples labelled ``t`` and predicted ``p``, ``width`` = the highest label - ``low``
    + 1 (``low`` is 0 when every label is in [0, _MAX_DIRECT_LABEL)). None when the labels span more values, when
    the arrays are empty or not of an integer kind, or when they hold labels below 0 or from ``_MAX_DIRECT_LABEL``
    on and differ in dtype (factorising handles those).

    The O(n) replacement for sklearn's repeated ``np.unique`` sorts, counted in chunks of ``_COUNT_CHUNK`` samples
    so that every intermediate stays in cache and each label array is read from memory once (non-contiguous arrays
    in place). Per chunk: the range of its labels (labels from 0 up: the largest of the unsigned views, where a
    negative label is huge; otherwise the minimum and maximum of each), the joint codes ``(t - low) * width +
    (p - low)``, and one bincount. Bincount costs about a nanosecond per element whatever the data, so with few
    labels ``_pack_factor`` codes are first packed into one (the chunk cut into that many parts, added as digits in
    base ``width**2``): bincount then reads a half to a quarter of the elements, and every part's histogram is
    recovered at the end as a marginal of the packed one. A chunk whose labels fall outside the range seen so far
    widens it (the counts so far are moved into the wider histogram).
    """
    if y_true.dtype.kind not in "biu" or y_pred.dtype.kind not in "biu" or y_true.size == 0:
        return None
    y_true = y_true.view(np.uint8) if y_true.dtype.kind == "b" else y_true
    y_pred = y_pred.view(np.uint8) if y_pred.dtype.kind == "b" else y_pred
    unsigned_true = y_true.view(f"u{y_true.dtype.itemsize}")
    unsigned_pred = y_pred.view(f"u{y_pred.dtype.itemsize}")
    n = y_true.shape[0]
    step = min(n, _COUNT_CHUNK)
    codes = np.empty(step, dtype=np.intp)
    low, width, total = 0, 0, np.zeros((0, 0), dtype=np.int64)
    packed = _PackedHistogram(0, 1)
    from_zero = True  # every label so far in [0, _MAX_DIRECT_LABEL): one unsigned maximum per array and chunk
    start = 0
    while start < n:
        stop = min(n, start + step)
        m = stop - start
        chunk_low, chunk_high = 0, max(int(unsigned_true[start:stop].max()), int(unsigned_pred[start:stop].max()))
        if not from_zero or chunk_high >= _MAX_DIRECT_LABEL:
            if y_true.dtype != y_pred.dtype:
                return None
            if from_zero and width:  # the range so far started at 0: from its lowest label on, from now on
                total = packed.add_to(total)
                trim = int(np.flatnonzero(total.sum(axis=0) + total.sum(axis=1))[0])
                low, width, total = trim, width - trim, total[trim:, trim:]
                packed = _PackedHistogram(width, _pack_factor(width * width, step))
            from_zero = False
            true_part, pred_part = y_true[start:stop], y_pred[start:stop]
            chunk_low = min(int(true_part.min()), int(pred_part.min()))
            chunk_high = max(int(true_part.max()), int(pred_part.max()))
        new_low = min(low, chunk_low) if width else chunk_low
        new_high = max(low + width - 1, chunk_high) if width else chunk_high
        if new_high - new_low >= _MAX_DIRECT_LABEL:
            return None
        if new_low < low or new_high >= low + width or not width:  # labels outside the range so far
            total = packed.add_to(total)
            grown = np.zeros((new_high - new_low + 1,) * 2, dtype=np.int64)
            shift = low - new_low
            grown[shift : shift + width, shift : shift + width] = total
            low, width, total = new_low, new_high - new_low + 1, grown
            packed = _PackedHistogram(width, _pack_factor(width * width, step))
            if 2 * width * width > step:  # many labels: chunks long enough to amortise their histograms
                step = min(n, 2 * width * width)
                codes = np.empty(step, dtype=np.intp)
        joint = _joint_codes(y_true[start:stop], y_pred[start:stop], width, low, out=codes[:m])
        packed.count(joint)
        start = stop
    return packed.add_to(total), low


def _pack_factor(n_codes: int, chunk: int) -> int:
    """How many joint codes (of ``n_codes`` values) to pack into one bincount element: the most, up to
    ``_MAX_PACK``, whose packed histogram has at most ``_MAX_PACKED_BINS`` bins and a chunk's parts stay long."""
    factor = 1
    while (
        factor < _MAX_PACK
        and n_codes ** (factor + 1) <= _MAX_PACKED_BINS
        and n_codes ** (factor + 1) * 4 <= chunk // (factor + 1)
    ):
        factor += 1
    return factor


class _PackedHistogram:
    """Histogram of joint codes (``width**2`` values) counted ``factor`` codes per bincount element.

    :meth:`count` cuts a chunk of codes into ``factor`` equal parts and counts the digits-in-base-``width**2``
    number they make, position by position (the few codes left over are counted on their own); :meth:`add_to`
    adds the codes' histogram (the sum of the packed histogram's ``factor`` marginals) to a (width, width) matrix.
    """

    __slots__ = ("width", "factor", "n_codes", "packed", "single", "scratch")

    def __init__(self, width: int, factor: int):
        self.width, self.factor, self.n_codes = width, factor, width * width
        self.packed = np.zeros(self.n_codes**factor if factor > 1 else 0, dtype=np.int64)
        self.single = np.zeros(self.n_codes, dtype=np.int64)
        self.scratch = np.empty(0, dtype=np.intp)

    def count(self, codes: np.ndarray) -> None:
        part = codes.shape[0] // self.factor if self.factor > 1 else 0
        if part:
            if self.scratch.shape[0] < part:
                self.scratch = np.empty(part, dtype=np.intp)
            number = np.multiply(codes[:part], self.n_codes, out=self.scratch[:part])
            for k in range(1, self.factor):
                number += codes[k * part : (k + 1) * part]
                if k + 1 < self.factor:
                    number *= self.n_codes
            self.packed += np.bincount(number, minlength=self.packed.shape[0])
        rest = codes[self.factor * part :]
        if rest.size:
            self.single += np.bincount(rest, minlength=self.n_codes)

    def add_to(self, total: np.ndarray) -> np.ndarray:
        if self.n_codes == 0:
            return total
        counts = self.single.copy()
        if self.factor > 1:
            digits = self.packed.reshape((self.n_codes,) * self.factor)
            for axis in range(self.factor):
                counts += digits.sum(axis=tuple(a for a in range(self.factor) if a != axis))
        total[: self.width, : self.width] += counts.reshape(self.width, self.width)
        return total


def _mapped_counts(
    true_codes: np.ndarray, true_map: np.ndarray, pred_codes: np.ndarray, pred_map: np.ndarray, width: int
) -> np.ndarray:
    """Joint histogram (int64, (width, width)) of ``true_map[true_codes]`` and ``pred_map[pred_codes]``, the class
    positions of factorised labels, counted in cache-sized chunks like :func:`_direct_counts` (no full-length
    temporary)."""
    n = true_codes.shape[0]
    step = min(n, max(_COUNT_CHUNK, 2 * width * width))
    histogram = _PackedHistogram(width, _pack_factor(width * width, step))
    true_map, pred_map = true_map.astype(np.intp, copy=False), pred_map.astype(np.intp, copy=False)
    codes, scratch = np.empty(step, dtype=np.intp), np.empty(step, dtype=np.intp)
    for start in range(0, n, step):
        stop = min(n, start + step)
        joint = np.take(true_map, true_codes[start:stop], out=codes[: stop - start], mode="clip")
        joint *= width
        joint += np.take(pred_map, pred_codes[start:stop], out=scratch[: stop - start], mode="clip")
        histogram.count(joint)
    return histogram.add_to(np.zeros((width, width), dtype=np.int64))


def _wrapped(value: int) -> int:
    """``value`` modulo 2**64 as a signed 64-bit integer: intp arithmetic that wraps around stays exact for results
    that fit, so labels above 2**63 (uint64) and negative offsets need no wider type."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _joint_codes(
    y_true: np.ndarray, y_pred: np.ndarray, width: int, low: int = 0, out: np.ndarray | None = None
) -> np.ndarray:
    """Joint codes ``(y_true - low) * width + (y_pred - low)`` (intp) of labels in ``[low, low + width)``, written
    into ``out`` (full length when None: a weighted bincount needs them whole, to add the weights in sample order
    as sklearn does)."""
    y_true = y_true.view(np.uint8) if y_true.dtype.kind == "b" else y_true
    y_pred = y_pred.view(np.uint8) if y_pred.dtype.kind == "b" else y_pred
    joint = np.multiply(y_true, width, out=out, dtype=np.intp, casting="unsafe")
    np.add(joint, y_pred, out=joint, dtype=np.intp, casting="unsafe")
    if low:
        joint -= _wrapped(low * (width + 1))
    return joint


def _label_positions(y: np.ndarray, low: int) -> np.ndarray:
    """``y - low`` as intp, for labels in ``[low, low + _MAX_DIRECT_LABEL)``."""
    positions = y.view(np.uint8) if y.dtype.kind == "b" else y
    positions = positions.astype(np.intp)
    if low:
        positions -= _wrapped(low)
    return positions


def _combine_types(type_true: str, type_pred: str, multilabel: bool) -> str:
    types = {type_true, type_pred}
    if "multiclass-multioutput" in types:
        # (sklearn takes a 2-D array of two integer values, {0, 2} or {1, 2} too, for an indicator, and then
        # counts every non-zero as a positive in some metrics and compares the values in others.)
        raise ValueError(
            "multiclass-multioutput targets are not supported: a 2-D y_true/y_pred must be a multilabel "
            "indicator holding only 0 and 1 (or False/True), one column per label."
        )
    if types == {"binary", "multiclass"}:
        types = {"multiclass"}
    if len(types) > 1:
        raise ValueError(
            f"Classification metrics can't handle a mix of {type_true} and {type_pred} targets"
        )
    y_type = types.pop()
    if y_type == "multilabel-indicator":
        if multilabel:
            return y_type
        raise ValueError(
            "multilabel-indicator is not supported by this metric (its scikit-learn/imbalanced-learn namesake "
            "rejects it too): pass one label per sample (a 1-D array), or score each label's column separately."
        )
    if y_type not in ("binary", "multiclass"):
        raise ValueError(f"{y_type} is not supported")
    return y_type


def check_targets(
    y_true: Any,
    y_pred: Any,
    sample_weight: Any = None,
    names: tuple[str, str] = ("y_true", "y_pred"),
    multilabel: bool = False,
) -> tuple[Targets | IndicatorTargets, np.ndarray | None]:
    """Validate a pair of label arrays as sklearn's ``_check_targets`` does and count them jointly.

    Returns the :class:`Targets` and the checked sample weights (or None); with ``multilabel``, a pair of
    multilabel-indicator matrices gives an :class:`IndicatorTargets` instead (without it, they are an error).
    Raises, in sklearn's order: ValueError for inconsistent lengths, NaN/None/infinite labels, empty input, bad
    sample weights, a mix of target types, continuous or multi-output targets, a mix of string and number labels,
    indicator matrices with different numbers of columns; TypeError for bytes labels.
    """
    true, true_2d = _as_label_vector(y_true, names[0])
    pred, pred_2d = _as_label_vector(y_pred, names[1])
    weights_array = None
    if sample_weight is not None and not isinstance(sample_weight, numbers.Number):
        weights_array = to_array(sample_weight, "sample_weight")
    check_consistent_length(true, pred, weights_array)
    n = num_samples(true)

    counted = None if (true_2d or pred_2d) else _direct_counts(true, pred)
    direct = counted is not None
    if direct:
        counts, low = counted
        width = counts.shape[0]
        true_uniques = np.flatnonzero(counts.sum(axis=1))
        pred_uniques = np.flatnonzero(counts.sum(axis=0))
        type_true = "multiclass" if true_uniques.size > 2 else "binary"
        type_pred = "multiclass" if pred_uniques.size > 2 else "binary"
    else:
        if true_2d is None:
            true_codes, true_uniques = _factorize(true, names[0])
            type_true = "unknown" if _is_unknown(true) else _label_type(true_uniques, true, names[0])
        else:
            type_true = true_2d
        if pred_2d is None:
            pred_codes, pred_uniques = _factorize(pred, names[1])
            type_pred = "unknown" if _is_unknown(pred) else _label_type(pred_uniques, pred, names[1])
        else:
            type_pred = pred_2d
    if n == 0:
        raise ValueError(
            "Found empty input array (e.g., `y_true` or `y_pred`) while a minimum of 1 sample is required."
        )
    weights = check_sample_weight(sample_weight, n)
    y_type = _combine_types(type_true, type_pred, multilabel)
    if y_type == "multilabel-indicator":
        return IndicatorTargets(true, pred), weights

    if direct:
        present = np.flatnonzero(counts.sum(axis=0) + counts.sum(axis=1))
        in_true = counts.sum(axis=1)[present] > 0
        if weights is not None:
            joint = _joint_codes(true, pred, width, low)
            counts = np.bincount(joint, weights=weights, minlength=width * width).reshape(width, width)
        cm = counts[np.ix_(present, present)]
        if true.dtype.kind == "b" and pred.dtype.kind == "b":
            classes = present.astype(bool)
        else:
            dtype = np.result_type(true.dtype, pred.dtype)
            classes = (present.astype(object) + low).astype(dtype) if low else present.astype(dtype)
    else:
        classes = _sorted_union(true_uniques, pred_uniques, names)
        n_classes = classes.shape[0]
        true_to_class = np.searchsorted(classes, true_uniques) if true_uniques.size else true_uniques
        pred_to_class = np.searchsorted(classes, pred_uniques) if pred_uniques.size else pred_uniques
        if weights is None:
            cm = _mapped_counts(true_codes, true_to_class, pred_codes, pred_to_class, n_classes)
        else:  # the weights are added in sample order, as sklearn's bincount adds them
            joint = true_to_class.astype(np.intp)[true_codes] * n_classes
            joint += pred_to_class.astype(np.intp)[pred_codes]
            cm = np.bincount(joint, weights=weights, minlength=n_classes * n_classes)
            cm = cm.reshape(n_classes, n_classes)
        in_true = np.zeros(n_classes, dtype=bool)
        in_true[true_to_class] = True
    if weights is None or weights.dtype.kind in "biu":
        cm = cm.astype(np.int64, copy=False)
    if y_type == "binary" and classes.shape[0] > 2:
        y_type = "multiclass"
    weighted_sums = None
    if weights is not None:
        if direct:
            to_class = np.full(width, -1, dtype=np.intp)
            to_class[present] = np.arange(present.size)
            true_idx, pred_idx = to_class[_label_positions(true, low)], to_class[_label_positions(pred, low)]
        else:
            true_idx, pred_idx = true_to_class[true_codes], pred_to_class[pred_codes]
        weighted_sums = _weighted_label_sums(true_idx, pred_idx, weights, classes.shape[0])
    return Targets(y_type, classes, cm, in_true, n, weighted_sums), weights


def _weighted_label_sums(
    true_idx: np.ndarray, pred_idx: np.ndarray, weights: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    match = true_idx == pred_idx
    return (
        np.bincount(true_idx[match], weights=weights[match], minlength=n_classes),
        np.bincount(pred_idx, weights=weights, minlength=n_classes),
        np.bincount(true_idx, weights=weights, minlength=n_classes),
    )
