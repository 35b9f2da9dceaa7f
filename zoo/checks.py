"""Argument checks for the Python API: each names the argument as Python does and raises a built-in type
(``TypeError`` for a wrong type, ``ValueError`` for a wrong value), before any work or state is written."""

from __future__ import annotations

import math
import numbers

from zoo.errors import ArgumentTypeError, UsageError


def check_int(name: str, value: object, minimum: int, maximum: int) -> None:
    """``value`` is None or a whole number (not a bool, not 1.5, not "1") in [minimum, maximum]."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"`{name}` must be a whole number, got {value!r}")
    if not minimum <= value <= maximum:
        raise UsageError(f"`{name}` must be between {minimum:,} and {maximum:,}, got {value:,}")


def check_positive(**values: object) -> None:
    """Each value is None or a finite real number greater than zero."""
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ArgumentTypeError(f"`{name}` must be a number, got {value!r}")
        if not math.isfinite(value):
            raise UsageError(f"`{name}` must be a finite number, got {value}")
        if value <= 0:
            raise UsageError(f"`{name}` must be positive, got {value}")


def check_type(name: str, value: object, *types: type) -> None:
    """``value`` is an instance of one of ``types``."""
    if not isinstance(value, types):
        wanted = " or ".join(t.__name__ for t in types)
        raise ArgumentTypeError(f"`{name}` must be {wanted}, got {value!r}")
