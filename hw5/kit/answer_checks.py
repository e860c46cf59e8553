"""The written answers' format (P1.1's letter, P3's array, the student ID): the public checks
and the helpers the grading side reuses to read an answer (``answer_value``, ``option_letter``,
``as_matrix``). Whether an answer is right is decided by the grading side, never here: this module
is shipped to students.
"""
from __future__ import annotations

import re

from . import spec
from .check_result import CheckResult, never_raises, shape_text

_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\s*(?:[.):]|\s|$)")


def option_letter(value):
    """The option letter an answer names (``"c"``, ``" (C) "``, ``"C."``), None if none."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _LETTER.match(text)
    if not match:
        return None
    letter = match.group(1).upper()
    return letter if letter in spec.P1_1_OPTIONS else None


def answer_value(answer):
    """The value of an export answer entry (or a raw value)."""
    if isinstance(answer, dict) and "status" in answer and "value" in answer:
        return (answer["status"] == "ok"), answer.get("value"), answer.get("repr", "")
    return True, answer, repr(answer)


@never_raises
def check_p1_1_format(value) -> CheckResult:
    """One of the option letters, as a string (case and spaces do not matter)."""
    present, value, shown = answer_value(value)
    options = ", ".join(spec.P1_1_OPTIONS)
    if not present or value is None:
        return CheckResult("p1_1_format", False, f"{spec.P1_1_VARIABLE} is not set: write "
                                                 f"{spec.P1_1_VARIABLE} = 'A' (one of {options})")
    if option_letter(value) is None:
        return CheckResult("p1_1_format", False,
                           f"{spec.P1_1_VARIABLE} must be one letter among {options} as a string, "
                           f"found {shown or repr(value)}")
    return CheckResult("p1_1_format", True,
                       f"{spec.P1_1_VARIABLE} is option {option_letter(value)}")


@never_raises
def check_student_id_format(value) -> CheckResult:
    """A usable student ID (P3's numbers are derived from it)."""
    from . import p3

    present, value, _ = answer_value(value)
    problem = p3.student_id_problem(value if present else None)
    if problem:
        return CheckResult("student_id", False, problem)
    return CheckResult("student_id", True, f"{spec.STUDENT_ID_VARIABLE} is set")


def as_matrix(value):
    """(array or None, problem text)."""
    import numpy as np

    if value is None:
        return None, "is not set"
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None, "must contain numbers only"
    if array.size and not np.all(np.isfinite(array)):
        return None, "contains values that are not finite numbers"
    return array, ""


@never_raises
def check_p3_format(value) -> CheckResult:
    """A 4x4 array of finite numbers; hints when the size points at the wrong padding."""
    present, value, shown = answer_value(value)
    var = spec.P3_VARIABLE
    rows, cols = spec.P3_OUTPUT_SHAPE
    n_in, k = spec.P3_INPUT_SHAPE[0], spec.P3_KERNEL_SHAPE[0]
    if not present or value is None:
        return CheckResult("p3_format", False, f"{var} is not set: write {var} = "
                                               f"np.array([[...], ...]) ({rows}×{cols} numbers)")
    array, problem = as_matrix(value)
    if array is None:
        return CheckResult("p3_format", False, f"{var} {problem}: found {shown or repr(value)}")
    if array.shape == (rows, cols):
        return CheckResult("p3_format", True, f"{var} is a {rows}×{cols} array of numbers")
    if array.shape == (n_in, n_in):
        hint = (f"that is the size of a 'same' (zero-padded) output; the question asks for "
                f"the 'valid' output (no padding), which is {rows}×{cols}")
    elif array.shape == (n_in + k - 1, n_in + k - 1):
        hint = (f"that is the size of a 'full' output (padding {k - 1} on every side); the "
                f"question asks for the 'valid' output (no padding), which is {rows}×{cols}")
    elif array.size == rows * cols:
        hint = f"arrange the {rows * cols} numbers as {rows} rows of {cols}"
    else:
        hint = (f"a {k}×{k} kernel sliding over a {n_in}×{n_in} input without padding, stride 1, "
                f"gives {rows}×{cols}")
    return CheckResult("p3_format", False,
                       f"{var}: expected a {rows}×{cols} array, found shape "
                       f"{shape_text(array.shape)}: {hint}")
