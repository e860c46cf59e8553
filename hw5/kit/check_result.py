"""What every check returns, and how checks write values: the one module all ``*_checks`` share.

``CheckResult`` is the outcome of one check (expected vs found, and what to change);
``never_raises`` turns a check's unexpected exception into a failing result; ``number``,
``size_text`` and ``shape_text`` write values the way students wrote them.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass


@dataclass
class CheckResult:
    """The outcome of one check."""

    name: str
    """Short identifier of the property checked (``layers``, ``learning_rate``, ...)."""
    passed: bool
    """True when the property holds."""
    message: str
    """What was expected, what was found, where, and what to change (empty text is never
    used: a passing check says what it confirmed)."""
    expected: str | None = None
    """The property as the assignment asks it, short (``categorical_crossentropy``)."""
    found: str | None = None
    """The property as found (``mean_squared_error``)."""


def never_raises(fn):
    """Turn an unexpected exception inside a check into a failing CheckResult."""
    name = fn.__name__[len("check_"):] if fn.__name__.startswith("check_") else fn.__name__

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            return CheckResult(name, False, f"{name}: the check could not run "
                                            f"({type(exc).__name__}: {exc})")

    return wrapper


def number(value) -> str:
    """A number as a student wrote it: 0.01 for float32 0.009999999776, 1,199,882 for ints."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.6g}"


def size_text(value) -> str:
    """``3×3`` for a kernel or pool size."""
    if value is None:
        return "none"
    return "×".join(str(v) for v in value)


def shape_text(value) -> str:
    """``(26, 26, 32)`` for a shape; ``(10,)`` for one axis."""
    if value is None:
        return "unknown"
    return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
