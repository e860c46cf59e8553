"""Each student's own numbers for P3, derived from their student ID.

``p3_numbers(student_id)`` gives the input and the kernel (small integers, in the ranges of
``spec.P3_INPUT_RANGE`` / ``spec.P3_KERNEL_RANGE``). The same ID always gives the same numbers, on
every machine and Python version (SHAKE-256 of the normalised ID, no random generator whose stream
could change), so the grader can recompute them from the ID the notebook exports. This module
only hands out the question: it never computes the answer.
"""
from __future__ import annotations

import hashlib
import re

from . import spec

_ID = re.compile(spec.STUDENT_ID_PATTERN)
_ATTEMPTS = 1000  # draws until the numbers make a fair question (a few at most in practice)


def student_id_problem(value) -> str:
    """Why ``value`` cannot be used as a student ID ('' when it can)."""
    var = spec.STUDENT_ID_VARIABLE
    example = f'{var} = "{spec.STUDENT_ID_EXAMPLE}"'
    if value is None or value is Ellipsis or (isinstance(value, str) and not value.strip()):
        return (f"{var} is not set: write your student ID as a string in the cell at the top of "
                f"the notebook (for example {example}) and run that cell")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return (f"{var} must be your student ID as a string (for example {example}), found a "
                f"{type(value).__name__}")
    text = str(value).strip()
    if not _ID.fullmatch(text):
        return (f"{var} {text[:80]!r} is not a student ID: use letters, digits and . _ @ + - "
                "only, at most 64 characters, exactly as the course has it")
    return ""


def normalise_student_id(value) -> str:
    """The ID as the numbers are derived from it: surrounding spaces and case do not matter."""
    problem = student_id_problem(value)
    if problem:
        raise ValueError(problem)
    return str(value).strip().casefold()


def _draw(key: str, attempt: int):
    rows, cols = spec.P3_INPUT_SHAPE
    krows, kcols = spec.P3_KERNEL_SHAPE
    lo, hi = spec.P3_INPUT_RANGE
    klo, khi = spec.P3_KERNEL_RANGE
    need = rows * cols + krows * kcols
    data = hashlib.shake_256(f"hw5-p3|{key}|{attempt}".encode("utf-8")).digest(need)
    values = [lo + b % (hi - lo + 1) for b in data[:rows * cols]]
    kvalues = [klo + b % (khi - klo + 1) for b in data[rows * cols:]]
    image = tuple(tuple(values[r * cols:(r + 1) * cols]) for r in range(rows))
    kernel = tuple(tuple(kvalues[r * kcols:(r + 1) * kcols]) for r in range(krows))
    return image, kernel


def _fair(image, kernel) -> bool:
    """The usual mistakes (flipped kernel, swapped axes) must give a different output: a kernel
    that reads the same rotated by 180° or transposed, or an input equal to its transpose, could
    make a wrong method right. Positive and negative weights make it a real computation."""
    flat = [v for row in kernel for v in row]
    rotated = tuple(tuple(reversed(row)) for row in reversed(kernel))
    transposed = tuple(zip(*kernel))
    return (kernel != rotated and kernel != transposed and tuple(zip(*image)) != image
            and any(v < 0 for v in flat) and sum(v > 0 for v in flat) >= 2)


def p3_numbers(student_id):
    """(input, kernel) for this student ID, as tuples of tuples of ints.

    Raises ValueError (saying what to write) when the ID is missing or malformed."""
    key = normalise_student_id(student_id)
    for attempt in range(_ATTEMPTS):
        image, kernel = _draw(key, attempt)
        if _fair(image, kernel):
            return image, kernel
    raise RuntimeError("no fair P3 numbers found")  # pragma: no cover (probability ~0)


def show_numbers(student_id):
    """Print this student's P3 input and kernel and return them as NumPy arrays, or print what
    to do and return (None, None) when the ID is not set."""
    import numpy as np

    try:
        image, kernel = p3_numbers(student_id)
    except ValueError as exc:
        print(f"{exc}; then run this cell again to see your numbers.")
        return None, None
    image, kernel = np.array(image), np.array(kernel)
    print(f"P3 numbers for student ID {str(student_id).strip()!r}")
    print(f"input ({'×'.join(map(str, image.shape))}):")
    print(image)
    print(f"kernel ({'×'.join(map(str, kernel.shape))}):")
    print(kernel)
    return image, kernel
