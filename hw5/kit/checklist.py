"""The checklist of the notebook's last cell: every public check in one go, then, in plain words,
what would cost points or notes before submitting.

It runs the public checks through otter's ``grader.check`` (the same test files as the
notebook's check cells; in the grading kernel otter is a stand-in that returns nothing, so the
cell costs nothing there) and looks, without training or building anything, for: an answer or
TODO still ``...`` (or not defined), ``student_id`` unset, training shortened by the quick-run
shortcuts, and a TODO cell whose last run raised.

Which TODO cells raised is remembered by an IPython ``post_run_cell`` hook that the setup cell
installs (``watch_todo_cells``): IPython keeps the inputs (``In``) and the displayed results
(``Out``) of a session but not which cell raised (``sys.last_value`` holds the last error only,
and keeps it after the cell is fixed), so the hook records the outcome of each run of a cell
whose first line is ``# TODOn`` (``spec.TODO_CELL_PATTERN``); the newest run of each TODO wins.

Nothing here reads the P1.1 key or computes P3: the answers are checked for format only.
"""
from __future__ import annotations

import contextlib
import io
import re

from . import item_kinds, live_history, p3, spec

_TODO = re.compile(spec.TODO_CELL_PATTERN, re.IGNORECASE)
_OUTCOMES = {}  # "TODO3" -> None (its last run ended without an error) or the error's text
_WATCHED = []  # the shells the hook is registered with
_MISSING = object()


# ---------------------------------------------------------------------------------------------
# TODO cells that raised
# ---------------------------------------------------------------------------------------------
def todo_label(source) -> str | None:
    """``"TODO3"`` for a cell whose first line is ``# TODO3 ...``, else None."""
    match = _TODO.match(source or "") if isinstance(source, str) else None
    return re.sub(r"\s+", "", match.group(1)).upper() if match else None


def _error_text(error) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 200 else text[:200] + " ..."


def record_cell(result=None) -> None:
    """IPython ``post_run_cell`` callback: note whether a TODO cell's run raised."""
    try:
        label = todo_label(getattr(getattr(result, "info", None), "raw_cell", None))
        if label is None:
            return
        error = (getattr(result, "error_before_exec", None)
                 or getattr(result, "error_in_exec", None))
        _OUTCOMES[label] = None if error is None else _error_text(error)
    except Exception:  # noqa: BLE001 - a bookkeeping hook never disturbs the notebook
        pass


def watch_todo_cells(shell=None) -> None:
    """Register ``record_cell`` with the running IPython shell (once; nothing outside IPython)."""
    try:
        if shell is None:
            from IPython import get_ipython

            shell = get_ipython()
        if shell is None or any(s is shell for s in _WATCHED):
            return
        shell.events.register("post_run_cell", record_cell)
        _WATCHED.append(shell)
    except Exception:  # noqa: BLE001 - without IPython there is nothing to watch
        pass


def failed_todo_cells() -> dict:
    """TODO label -> the error its cell raised the last time it ran."""
    return {label: error for label, error in sorted(_OUTCOMES.items()) if error}


# ---------------------------------------------------------------------------------------------
# Answers still `...`
# ---------------------------------------------------------------------------------------------
def _stub():
    """A function whose body is still ``...``."""
    ...


def is_placeholder(value) -> bool:
    """``...``, an array or list holding ``...``, or a function whose body is only ``...``."""
    if value is Ellipsis:
        return True
    code = getattr(value, "__code__", None)
    if code is not None:
        return code.co_code == _stub.__code__.co_code and not code.co_names
    if isinstance(value, (list, tuple)):
        return any(is_placeholder(v) for v in value)
    if getattr(value, "dtype", None) is not None and str(value.dtype) == "object":
        return any(v is Ellipsis for v in value.flat)
    return False


def _names(question) -> list:
    """The notebook names an autograded question reads."""
    names = []
    for item in question.items:
        applies_to = item_kinds.ITEM_KINDS[item.kind].applies_to
        if applies_to == item_kinds.VARIABLE:
            tv = spec.TRAINED_VARIABLES[item.target]
            names += [tv.model, tv.history]
        elif applies_to == item_kinds.BUILDER:
            names.append(item.target)
        else:
            names.append(spec.ANSWER_ITEM_VARIABLES.get(item.target, item.target))
    return list(dict.fromkeys(names))


def _label(question) -> str:
    return question.title.split()[0]


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def unfinished(env) -> list:
    """One line per autograded question whose names are still ``...`` or not defined."""
    lines = []
    for q in spec.QUESTIONS:
        if q.kind != spec.AUTO or not q.points:
            continue
        values = {name: env.get(name, _MISSING) for name in _names(q)}
        stubs = [f"`{n}`" for n, v in values.items() if v is not _MISSING and is_placeholder(v)]
        missing = [f"`{n}`" for n, v in values.items() if v is _MISSING]
        problems = []
        if stubs:
            problems.append(f"{_and(stubs)} {'are' if len(stubs) > 1 else 'is'} still `...`")
        if missing:
            problems.append(f"{_and(missing)} {'are' if len(missing) > 1 else 'is'} not defined "
                            "(run its cell)")
        if problems:
            lines.append(f"{_label(q)} is not finished ({q.points:g} point"
                         f"{'s' if q.points != 1 else ''}): {'; '.join(problems)}.")
    return lines


# ---------------------------------------------------------------------------------------------
# The public checks, through otter
# ---------------------------------------------------------------------------------------------
def _reasons(test_file) -> list:
    """The failure lines of one otter TestFile (the kit's AssertionError text)."""
    lines = []
    for case in getattr(test_file, "test_case_results", []) or []:
        if getattr(case, "passed", True):
            continue
        message = str(getattr(case, "message", "") or "")
        start = message.find("AssertionError: ")
        text = message[start + len("AssertionError: "):] if start >= 0 else \
            (message.strip().splitlines() or ["the check raised an error"])[-1]
        lines += [line for line in text.strip().splitlines()
                  if not line.startswith(("Checked here:", "(judged with"))]
    return lines


def run_public_checks(grader, env) -> tuple[list, list, bool]:
    """(passed question ids, [(question, failure lines)], ran): every autograded question's
    public check run by ``grader.check``; ``ran`` is False when grader returned nothing."""
    passed, failed, ran = [], [], False
    for q in spec.QUESTIONS:
        if q.kind != spec.AUTO:
            continue
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                result = grader.check(q.id, env)
        except Exception as exc:  # noqa: BLE001 - a check that cannot run is reported
            failed.append((q, [f"the check could not run ({_error_text(exc)})"]))
            ran = True
            continue
        if result is None:
            continue
        ran = True
        if getattr(result, "passed_all", False):
            passed.append(q.id)
        else:
            failed.append((q, _reasons(result) or ["failed"]))
    return passed, failed, ran


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
def _checks_section(grader, env) -> list:
    passed, failed, ran = run_public_checks(grader, env)
    if not ran:
        return ["The public checks did not run here (grader.check returned nothing)."]
    total = len(passed) + len(failed)
    lines = [f"Public checks: {len(passed)} of {total} passed."]
    for q, reasons in failed:
        lines.append(f"- {q.id} ({_label(q)}, {q.points:g} point{'s' if q.points != 1 else ''})"
                     f" failed: run grader.check(\"{q.id}\") after its cell to see it alone")
        lines += [f"    {line}" for line in reasons]
    return lines


def warnings(env, environ=None) -> list:
    """What would cost points or notes, besides the public checks, one plain sentence each."""
    out = unfinished(env)
    problem = p3.student_id_problem(env.get(spec.STUDENT_ID_VARIABLE))
    if problem:
        out.append(f"{problem}: P3 is graded with the numbers it gives.")
    shortened = live_history.expected(environ).warning()
    if shortened:
        out.append(shortened)
    for label, error in failed_todo_cells().items():
        out.append(f"The {label} cell raised {error} the last time it ran: fix it, run it again "
                   "and check that it ends without an error.")
    return out


def report(grader, env, environ=None) -> str:
    """The checklist's text."""
    lines = ["Before submitting", ""]
    try:
        lines += _checks_section(grader, env)
    except Exception as exc:  # noqa: BLE001 - the checklist never breaks the notebook
        lines.append(f"The public checks could not run ({_error_text(exc)}).")
    try:
        found = warnings(env, environ)
    except Exception as exc:  # noqa: BLE001
        found = [f"The checklist could not finish ({_error_text(exc)})."]
    lines.append("")
    if found:
        lines.append("To fix before submitting:")
        lines += [f"- {line}" for line in found]
    else:
        lines.append("Nothing else found that would cost points.")
    lines += ["", "Passing the public checks is not full marks: only the autograder "
              f"{spec.AUTOGRADER_ADDS}; the course staff grade the written answers and "
              f"{spec.PLOT_QUESTIONS} "
              "from your saved outputs."]
    return "\n".join(lines)
