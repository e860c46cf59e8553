"""Grading of the autograded written answers (P1.1, P3): trusted side only, never shipped.

Everything that could reveal an answer lives here or in ``hw5.answer_key``: the P1.1 key and its
hints, and the computation of each student's P3 output from the student ID their notebook
exports (``hw5.kit.p3`` only hands out the question). The student's kit checks the format only.

``answer_checks()`` is what the trusted process passes to ``checks.run_item`` as its
``reference``. P3 earns credit per output cell: its CheckResult is a ``ScoredCheck`` whose
``fraction`` is the share of right cells, and ``item_fraction`` turns an item's results into the
share of its points earned. The feedback gives the number of wrong cells and the kind of mistake,
never which cells are wrong (with resubmissions that would be an oracle).
"""
from __future__ import annotations

from hw5 import answer_key
from hw5.kit import checks, p3, spec
from hw5.kit.checks import CheckResult


class ScoredCheck(CheckResult):
    """A CheckResult that earns part of its item: ``fraction`` in [0, 1].

    A plain subclass (not a dataclass field) so that it keeps working whatever fields and
    frozenness ``CheckResult`` has."""

    def __init__(self, *args, fraction: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        object.__setattr__(self, "fraction", float(fraction))

    def __repr__(self) -> str:
        return f"{super().__repr__()[:-1]}, fraction={self.fraction!r})"


def item_fraction(results) -> float:
    """Share of an item's points earned: 1 when every check passes; otherwise the smallest
    ``fraction`` of the failing checks, or 0 when a failing check is all-or-nothing."""
    results = list(results)
    if checks.item_passed(results):
        return 1.0
    failing = [r for r in results if not r.passed]
    if not failing or not all(isinstance(r, ScoredCheck) for r in failing):
        return 0.0
    return max(0.0, min(1.0, min(r.fraction for r in failing)))


# ---------------------------------------------------------------------------------------------
# P1.1
# ---------------------------------------------------------------------------------------------
def check_p1_1(value, answer=answer_key.P1_1_ANSWER) -> CheckResult:
    """``value``: the student's answer (raw, or the export's ``{"status", "value", "repr"}``)."""
    fmt = checks.check_p1_1_format(value)
    if not fmt.passed:
        return CheckResult("p1_1", False, fmt.message)
    letter = checks.option_letter(checks.answer_value(value)[1])
    if letter == checks.option_letter(answer):
        return CheckResult("p1_1", True, f"{spec.P1_1_VARIABLE}: {letter} is correct")
    hint = answer_key.P1_1_HINTS.get(letter, "")
    return CheckResult("p1_1", False, f"{spec.P1_1_VARIABLE}: {letter} is not the right option. "
                                      f"{hint}".strip())


# ---------------------------------------------------------------------------------------------
# P3
# ---------------------------------------------------------------------------------------------
def correlate_valid(image, kernel):
    """What Keras' Conv2D computes: cross-correlation, stride 1, no padding."""
    import numpy as np

    image, kernel = np.asarray(image), np.asarray(kernel)
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijab,ab->ij", windows, kernel)


def p3_expected(student_id):
    """The right P3 output (integer array) for this student ID; ValueError for a bad ID."""
    image, kernel = p3.p3_numbers(student_id)
    return correlate_valid(image, kernel)


def _mistakes(student_id):
    """(output a common mistake gives, what to tell the student), for the recognised mistakes."""
    import numpy as np

    image, kernel = (np.asarray(a) for a in p3.p3_numbers(student_id))
    expected = correlate_valid(image, kernel)
    return [
        (correlate_valid(image, kernel[::-1, ::-1]),
         "you flipped the kernel (a true convolution); a CNN layer (Keras' Conv2D) computes the "
         "cross-correlation: slide the kernel over the input without flipping it"),
        (expected.T, "rows and columns are swapped: row i of the output comes from the kernel's "
                     "i-th vertical position, column j from its j-th horizontal one"),
        (-expected, "the signs are flipped: multiply input by kernel element-wise and add, "
                    "without negating"),
    ]


def check_p3(value, student_id) -> CheckResult:
    """Credit per output cell for the student's ``value`` given their ``student_id`` (each raw or
    an export entry). Returns a ScoredCheck unless the answer cannot be graded at all."""
    import numpy as np

    var = spec.P3_VARIABLE
    points = spec.ITEMS["answer_p3"].points
    id_present, sid, _ = checks.answer_value(student_id)
    problem = p3.student_id_problem(sid if id_present else None)
    if problem:
        return ScoredCheck("p3", False, f"{var} cannot be graded: {problem}", fraction=0.0)
    fmt = checks.check_p3_format(value)
    if not fmt.passed:
        return ScoredCheck("p3", False, fmt.message, fraction=0.0)
    found = checks.as_matrix(checks.answer_value(value)[1])[0]
    expected = p3_expected(sid)
    right = np.isclose(found, expected, atol=1e-6)
    n_right, total = int(right.sum()), expected.size
    if n_right == total:
        return ScoredCheck("p3", True, f"{var}: all {total} entries are right", fraction=1.0)
    earned = points * n_right / total
    message = (f"{var}: {total - n_right} of {total} entries are wrong ({n_right} right: "
               f"{earned:g} of {points:g} points)")
    for output, advice in _mistakes(sid):
        if np.allclose(output, expected, atol=1e-6):
            continue  # this mistake would give the right numbers: nothing to tell apart
        matches = int(np.isclose(found, output, atol=1e-6).sum())
        if matches == total:
            return ScoredCheck("p3", False, f"{message}: {advice}", fraction=n_right / total)
        if matches > n_right and matches * 2 >= total:
            return ScoredCheck("p3", False, f"{message}; most entries look as if {advice}",
                               fraction=n_right / total)
    return ScoredCheck("p3", False, f"{message}; for each window, multiply the input by the kernel "
                                    "element by element and add the products, then check your "
                                    "arithmetic", fraction=n_right / total)


def answer_checks() -> dict:
    """``checks.run_item``'s ``reference``: answer variable -> check of the export's answers."""
    return {
        spec.P1_1_VARIABLE: lambda answers: [check_p1_1(answers.get(spec.P1_1_VARIABLE))],
        spec.P3_VARIABLE: lambda answers: [check_p3(answers.get(spec.P3_VARIABLE),
                                                    answers.get(spec.STUDENT_ID_VARIABLE))],
    }
