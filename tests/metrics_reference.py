"""Run one of our metrics and its reference on the same inputs and assert they agree.

Agreement means: both raise (an exception of the same kind: ValueError and/or TypeError), or both return
equal results (identical integer arrays, floats within 1e-12 relative, identical strings and dict keys)
and emit the same set of warning categories.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

RTOL = 1e-12
ATOL = 1e-12


def call_recorded(func: Callable, *args: Any, **kwargs: Any) -> tuple[Any, BaseException | None, set]:
    """(result or None, exception or None, warning categories other than deprecations) of one call."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result, error = func(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 - the comparison is the point
            result, error = None, exc
    return result, error, {w.category for w in caught if not issubclass(w.category, DeprecationWarning)}


def _error_kind(error: BaseException) -> tuple[bool, bool]:
    return isinstance(error, ValueError), isinstance(error, TypeError)


def assert_same_value(ours: Any, ref: Any, path: str = "result") -> None:
    if isinstance(ref, dict):
        assert isinstance(ours, dict), f"{path}: expected a dict, got {type(ours)}"
        assert list(ours) == list(ref), f"{path}: keys {list(ours)} != {list(ref)}"
        for key in ref:
            assert_same_value(ours[key], ref[key], f"{path}[{key!r}]")
    elif isinstance(ref, (tuple, list)):
        assert len(ours) == len(ref), f"{path}: length {len(ours)} != {len(ref)}"
        for i, (a, b) in enumerate(zip(ours, ref)):
            assert_same_value(a, b, f"{path}[{i}]")
    elif isinstance(ref, str):
        assert ours == ref, f"{path}: strings differ\nours:\n{ours}\nref:\n{ref}"
    elif ref is None:
        assert ours is None, f"{path}: expected None, got {ours!r}"
    else:
        ref_arr, ours_arr = np.asarray(ref), np.asarray(ours)
        assert ours_arr.shape == ref_arr.shape, f"{path}: shape {ours_arr.shape} != {ref_arr.shape}"
        if ref_arr.dtype.kind in "iub" and ours_arr.dtype.kind in "iub":
            np.testing.assert_array_equal(ours_arr, ref_arr, err_msg=path)
        else:
            ref_float = ref_arr.astype(np.float64)
            finite = np.abs(ref_float[np.isfinite(ref_float)])
            # Weighted counts are float sums whose order differs from the reference's, so an exact 0 can come
            # out as 1e-14: tolerance is relative to the array's scale, not to each element.
            scale = max(1.0, float(finite.max())) if finite.size else 1.0
            np.testing.assert_allclose(
                ours_arr.astype(np.float64), ref_float, rtol=RTOL, atol=ATOL * scale, equal_nan=True,
                err_msg=path,
            )


def assert_matches_reference(ours: Callable, ref: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call both; assert the same outcome. Returns our result (None when both raised)."""
    our_result, our_error, our_warnings = call_recorded(ours, *args, **kwargs)
    ref_result, ref_error, ref_warnings = call_recorded(ref, *args, **kwargs)
    if ref_error is not None:
        assert our_error is not None, (
            f"reference raised {type(ref_error).__name__}({ref_error}) but ours returned {our_result!r}"
        )
        assert _error_kind(our_error) == _error_kind(ref_error), (
            f"reference raised {type(ref_error).__name__}({ref_error}); ours raised "
            f"{type(our_error).__name__}({our_error})"
        )
        return None
    if our_error is not None:
        raise AssertionError(f"ours raised {type(our_error).__name__}: {our_error}; reference returned {ref_result!r}")
    assert_same_value(our_result, ref_result)
    assert our_warnings == ref_warnings, f"warnings {our_warnings} != reference {ref_warnings}"
    return our_result
