"""Argument checks shared by the modules: one message for one mistake, wherever it is made."""
import numbers

import numpy as np


def check_whole_number(name, value, minimum):
    """Raises unless value is a whole number (a Python or NumPy int, not a bool) >= minimum:
    TypeError for another type, ValueError for a smaller number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")


def check_float_dtype(dtype):
    """Raises TypeError unless dtype is a floating-point type (np.float32, np.float64, ...)."""
    try:
        floating = np.issubdtype(np.dtype(dtype), np.floating)
    except TypeError:
        floating = False
    if not floating:
        raise TypeError(f"dtype must be a floating-point type such as np.float32, not {dtype!r}")
