"""What the notebook's public tests (``grader.check``) call in the student's kernel.

Fast (no training: a few model builds, seconds) and answer-free: P1.1 and P3 are checked for
FORMAT only (they are graded on the trusted side, never by this kit). Each function raises
``AssertionError`` with every failing message, or prints one short OK line and returns None;
either way it ends with one line on what it checked and what only the autograder does
(``spec.PUBLIC_CHECK_LINE``), so that a pass never reads as full marks.
"""
from __future__ import annotations

from . import checks, spec

_NOT_GIVEN = object()  # check_variable without a history: the model's own checks only

def coverage_line(kind: str) -> str:
    """What a public check of ``kind`` (a key of ``spec.PUBLIC_CHECK_COVERS``) verified, and what
    only the autograder does."""
    return spec.PUBLIC_CHECK_LINE.format(covers=spec.PUBLIC_CHECK_COVERS[kind],
                                         adds=spec.AUTOGRADER_ADDS)


def _report(what: str, results, kind: str, note: str = "") -> None:
    failures = [r for r in results if not r.passed]
    tail = (f"\n({note})" if note else "") + "\n" + coverage_line(kind)
    if failures:
        count = f"{len(failures)} problem" + ("s" if len(failures) > 1 else "")
        raise AssertionError(f"{what}: {count}\n- "
                             + "\n- ".join(r.message for r in failures) + tail)
    print(f"{what}: OK ({len(results)} check{'s' if len(results) > 1 else ''} passed)" + tail)


def check_data(x_train, y_train, x_test, y_test) -> None:
    """Images (N, 28, 28, 1) as floats in [0, 1]; labels one-hot with 10 columns."""
    _report("data", checks.check_data(x_train, y_train, x_test, y_test), "data")


def check_builder(name: str, fn) -> None:
    """Call the builder with the grader's probe arguments and check architecture, optimizer
    settings (learning rate / momentum honoured), loss, metrics, trainable weights."""
    from . import analyse, describe

    if name not in spec.BUILDERS:
        raise AssertionError(f"unknown builder {name!r}; expected one of {list(spec.BUILDERS)}")
    if not callable(fn):
        raise AssertionError(f"{name} is a {type(fn).__name__}, not a function")
    export = describe.describe_builder(fn, spec.BUILDERS[name])
    facts = analyse.analyse_builder(name, export)
    results = []
    for item_results in checks.builder_items(facts).values():
        for result in item_results:
            if result.name == "architecture":  # learns' gate: repeats the architecture's own
                continue
            if all(result.message != r.message for r in results):
                results.append(result)
    _report(name, results, "builder")


def check_variable(name: str, model, history=_NOT_GIVEN) -> None:
    """The trained model variable is built as asked: architecture, every compile setting
    (optimizer, learning rate, momentum, loss, metrics), trainable layers, random kernels; and,
    from ``history`` (the notebook's history variable), how it was trained (``live_history``)."""
    from . import analyse, describe, live_history

    if name not in spec.TRAINED_VARIABLES:
        raise AssertionError(f"unknown variable {name!r}; expected one of "
                             f"{list(spec.TRAINED_VARIABLES)}")
    facts = analyse.analyse_variable(name, describe.describe_variable(name, model))
    results, note = checks.variable_item(facts), ""
    if history is not _NOT_GIVEN and facts.status == "ok":
        runs, want = live_history.run_checks(name, model, history)
        results, note = results + runs, want.note()
    _report(name, results, "variable", note)


def check_student_id(value) -> None:
    """FORMAT only: a student ID the P3 numbers can be derived from."""
    _report(spec.STUDENT_ID_VARIABLE, [checks.check_student_id_format(value)], "answer")


def check_p1_1(value) -> None:
    """FORMAT only: one option letter as a string. Any option passes here."""
    _report(spec.P1_1_VARIABLE, [checks.check_p1_1_format(value)], "answer")


def check_p3(value, student_id=None) -> None:
    """FORMAT only: the student ID is set (the numbers come from it) and the answer is a 4×4
    array of numbers. Right and wrong numbers pass alike: the autograder grades them."""
    _report(spec.P3_VARIABLE, [checks.check_student_id_format(student_id),
                               checks.check_p3_format(value)], "answer")


def watch_todo_cells() -> None:
    """Remember, for the checklist before submitting, which TODO cells raised when last run."""
    from . import checklist

    checklist.watch_todo_cells()


def before_submitting(grader, env) -> None:
    """Run every public check through ``grader`` (otter's Notebook) against the notebook's
    ``globals()``, and print in plain words what would cost points or notes."""
    from . import checklist

    print(checklist.report(grader, env))
