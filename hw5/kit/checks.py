"""check_* functions: facts -> CheckResult (expected vs found, where, what to change).

In the style of scikit-learn's ``estimator_checks``: one small function per property, each
returning a ``CheckResult`` and never raising into its caller. The checks read the facts of
``analyse.py`` (never a live model) and the expectations of ``spec.py``. Reference answers, and
anything that would reveal them, are passed in by the grading side: this module is shipped to
students and must not hold them.

Here: the result type, formatting, the written answers' format, the data and the grade-time training
verdict. The checks of models, builders and trained-model variables live in ``model_checks``,
those of fits and of the given code in ``run_checks``; ``items`` maps each scored
``spec.Item`` to its checks (``run_item``). This module re-exports ``model_checks``' names and
``items.run_item`` / ``builder_items`` / ``variable_item`` / ``item_passed``, so
``checks.<name>`` reaches every check.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import spec


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


def _never_raises(fn):
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


# ---------------------------------------------------------------------------------------------
# Formatting
# ---------------------------------------------------------------------------------------------
def _n(value) -> str:
    """A number as a student wrote it: 0.01 for float32 0.009999999776, 1,199,882 for ints."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.6g}"


def _size(value) -> str:
    if value is None:
        return "none"
    return "×".join(str(v) for v in value)


def _shape(value) -> str:
    if value is None:
        return "unknown"
    return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------------
# Written answers
# ---------------------------------------------------------------------------------------------
_LETTER = re.compile(r"^\(?\s*([A-Za-z])\s*\)?\s*(?:[.):]|\s|$)")


def _letter(value):
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _LETTER.match(text)
    if not match:
        return None
    letter = match.group(1).upper()
    return letter if letter in spec.P1_1_OPTIONS else None


def _answer_value(answer):
    """The value of an export answer entry (or a raw value)."""
    if isinstance(answer, dict) and "status" in answer and "value" in answer:
        return (answer["status"] == "ok"), answer.get("value"), answer.get("repr", "")
    return True, answer, repr(answer)


@_never_raises
def check_p1_1_format(value) -> CheckResult:
    """One of the option letters, as a string (case and spaces do not matter)."""
    present, value, shown = _answer_value(value)
    options = ", ".join(spec.P1_1_OPTIONS)
    if not present or value is None:
        return CheckResult("p1_1_format", False, f"{spec.P1_1_VARIABLE} is not set: write "
                                                 f"{spec.P1_1_VARIABLE} = 'A' (one of {options})")
    if _letter(value) is None:
        return CheckResult("p1_1_format", False,
                           f"{spec.P1_1_VARIABLE} must be one letter among {options} as a string, "
                           f"found {shown or repr(value)}")
    return CheckResult("p1_1_format", True, f"{spec.P1_1_VARIABLE} is option {_letter(value)}")


@_never_raises
def check_student_id_format(value) -> CheckResult:
    """A usable student ID (P3's numbers are derived from it)."""
    from . import p3

    present, value, _ = _answer_value(value)
    problem = p3.student_id_problem(value if present else None)
    if problem:
        return CheckResult("student_id", False, problem)
    return CheckResult("student_id", True, f"{spec.STUDENT_ID_VARIABLE} is set")


def _as_matrix(value):
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


@_never_raises
def check_p3_format(value) -> CheckResult:
    """A 4x4 array of finite numbers; hints when the size points at the wrong padding."""
    present, value, shown = _answer_value(value)
    var = spec.P3_VARIABLE
    rows, cols = spec.P3_OUTPUT_SHAPE
    n_in, k = spec.P3_INPUT_SHAPE[0], spec.P3_KERNEL_SHAPE[0]
    if not present or value is None:
        return CheckResult("p3_format", False, f"{var} is not set: write {var} = "
                                               f"np.array([[...], ...]) ({rows}×{cols} numbers)")
    array, problem = _as_matrix(value)
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
                       f"{_shape(array.shape)}: {hint}")


# ---------------------------------------------------------------------------------------------
# Data (the notebook's preprocessing)
# ---------------------------------------------------------------------------------------------
@_never_raises
def check_images(x, name="x_train") -> CheckResult:
    import numpy as np

    shape = tuple(getattr(x, "shape", ()))
    want = tuple(spec.IMAGE_SHAPE)
    if len(shape) != 1 + len(want) or shape[1:] != want:
        hint = (": add the channel axis, e.g. x.reshape(-1, 28, 28, 1)"
                if shape[1:] == want[:2] else "")
        return CheckResult(f"{name}_shape", False, f"{name}: expected shape (N, "
                                                   f"{', '.join(map(str, want))}), found "
                                                   f"{_shape(shape) if shape else type(x).__name__}"
                                                   f"{hint}")
    dtype = np.asarray(x[:1]).dtype
    if not np.issubdtype(dtype, np.floating):
        return CheckResult(f"{name}_dtype", False,
                           f"{name}: expected floating-point pixels, found {dtype}: "
                           f"x.astype('float32') / {spec.PIXEL_SCALE:g}")
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo < 0 or hi > 1:
        return CheckResult(f"{name}_range", False,
                           f"{name}: expected pixels in [0, 1], found [{lo:g}, {hi:g}]: divide by "
                           f"{spec.PIXEL_SCALE:g}")
    if 0 < hi <= 1 / spec.PIXEL_SCALE + 1e-9:
        return CheckResult(f"{name}_range", False,
                           f"{name}: the brightest pixel is {hi:g}: the images were divided by "
                           f"{spec.PIXEL_SCALE:g} twice")
    return CheckResult(f"{name}_ok", True, f"{name}: {shape[0]:,} images {_shape(want)} in [0, 1]")


@_never_raises
def check_labels(y, name="y_train", n_images=None) -> CheckResult:
    import numpy as np

    shape = tuple(getattr(y, "shape", ()))
    k = spec.NUM_CLASSES
    if len(shape) != 2 or shape[1] != k:
        hint = (f": one-hot encode them with keras.utils.to_categorical({name}, {k})"
                if len(shape) == 1 else "")
        return CheckResult(f"{name}_shape", False,
                           f"{name}: expected one-hot labels of shape (N, {k}), found "
                           f"{_shape(shape) if shape else type(y).__name__}{hint}")
    if n_images is not None and shape[0] != n_images:
        return CheckResult(f"{name}_count", False,
                           f"{name}: {shape[0]:,} labels for {n_images:,} images")
    arr = np.asarray(y)
    if not (np.all((arr == 0) | (arr == 1)) and np.all(arr.sum(axis=1) == 1)):
        return CheckResult(f"{name}_onehot", False,
                           f"{name}: every row must hold a single 1 and {k - 1} zeros: "
                           f"keras.utils.to_categorical({name}, {k})")
    return CheckResult(f"{name}_ok", True, f"{name}: {shape[0]:,} one-hot labels")


def check_data(x_train, y_train, x_test, y_test) -> list:
    return [check_images(x_train, "x_train"),
            check_labels(y_train, "y_train", _len(x_train)),
            check_images(x_test, "x_test"),
            check_labels(y_test, "y_test", _len(x_test))]


def _len(x):
    try:
        return int(x.shape[0])
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# Grade-time training (the engine measures; this only words the result)
# ---------------------------------------------------------------------------------------------
def check_learns(accuracy, threshold, error=None, name="learns") -> CheckResult:
    if error or accuracy is None:
        return CheckResult(name, False, f"grade-time training failed: {error or 'no accuracy'}",
                           f"accuracy >= {float(threshold):.2f}", "training failed")
    accuracy, threshold = float(accuracy), float(threshold)
    where = (f"after {spec.GRADE_EPOCHS} epoch on the first {spec.GRADE_TRAIN_IMAGES:,} training "
             f"images (seed {spec.GRADE_SEED}), test accuracy on {spec.GRADE_TEST_IMAGES:,} images")
    expected, found = f"accuracy >= {threshold:.2f}", f"accuracy {accuracy:.3f}"
    if accuracy >= threshold:
        return CheckResult(name, True, f"{where} is {accuracy:.3f} (at least {threshold:.2f} "
                                       "needed)", expected, found)
    return CheckResult(name, False,
                       f"{where} is {accuracy:.3f}, expected at least {threshold:.2f}: check the "
                       "learning rate and momentum reach the optimizer, the activations, and "
                       "that no layer is frozen or initialised to zero", expected, found)


# ---------------------------------------------------------------------------------------------
# Items (hw5/kit/items.py), re-exported: checks.run_item is the entry point of the grader
# ---------------------------------------------------------------------------------------------
_ITEM_FUNCTIONS = ("builder_items", "item_passed", "run_item", "variable_item")


def __getattr__(name):  # PEP 562: model_checks / items import this module: re-export lazily
    if name in _ITEM_FUNCTIONS:
        from . import items

        return getattr(items, name)
    from . import model_checks

    if not name.startswith("__") and hasattr(model_checks, name):
        return getattr(model_checks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
