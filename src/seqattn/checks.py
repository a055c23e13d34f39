"""Argument checks shared by the modules: one message for one mistake, wherever it is made."""
import numbers


def check_whole_number(name, value, minimum):
    """Raises unless value is a whole number (a Python or NumPy int, not a bool) >= minimum:
    TypeError for another type, ValueError for a smaller number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, not {value!r}")
