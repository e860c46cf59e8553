"""The student's wording for what happened while the grader ran the notebook.

Statuses are decided in `outcome.decide` from facts; nothing reads these sentences back.
"""
from __future__ import annotations

STAFF = "This is not your fault; please tell the course staff."


def cell_name(cell: int, todo: str | None) -> str:
    """How the student finds a cell: its position in the notebook, counted from 1 (markdown
    cells included), and its TODO."""
    return f"cell {cell + 1}" + (f" ({todo})" if todo else "")


def short(text: str, n: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def cell_error_messages(cell_errors, cell_timeout_s: float, memory_mb: int) -> list[str]:
    """Notes on cells that raised but did not end the kernel."""
    out = []
    for e in cell_errors:
        if e.fatal:
            continue
        where = cell_name(e.cell, e.todo).capitalize()
        if e.ename == "CellTimeoutError":
            out.append(
                f"{where} was stopped after {int(cell_timeout_s)} s (the grader's limit per "
                "cell). When grading, fit() trains nothing, so a cell this slow is usually "
                "stuck in a loop or waiting for input.")
        elif e.ename == "MemoryError":
            out.append(f"{where} ran out of memory (MemoryError): the grader allows about "
                       f"{memory_mb} MB for your notebook.")
    return out


def render(reasons: list[tuple[str, dict]]) -> list[str]:
    """One sentence (or two) per reason code of `outcome.decide`."""
    out = []
    for code, p in reasons:
        if code == "not-a-notebook":
            out.append(p["message"])
        elif code == "prelude-error":
            out.append(f"The grader's setup cell failed ({p['detail']}); results may be "
                       "incomplete. Please tell the course staff.")
        elif code == "fatal-cell":
            out.append(_fatal(p))
        elif code == "out-of-time":
            out.append(f"The grader ran out of time for your notebook, so {p['count']} cell(s) "
                       f"from cell {p['first'] + 1} on were not run; everything before them was "
                       "graded.")
        elif code == "internal-error":
            out.append(f"The grader failed while running the notebook ({p['detail']}). {STAFF}")
        elif code == "kernel-start-failed":
            out.append("The grader's Python kernel failed to start or to load TensorFlow "
                       f"before any of your code ran. {STAFF}")
        elif code == "no-export":
            out.append("The grader could not read your functions and variables although your "
                       f"notebook ran. {STAFF}")
        elif code == "nothing-exported":
            out.append("Nothing could be graded automatically: the notebook stopped before the "
                       "grader could read any of your functions and variables.")
    return out


def _fatal(p: dict) -> str:
    where = cell_name(p["cell"], p["todo"])
    rest = (f" The grader ran the rest of the notebook without {where} and graded what "
            "stands; fix that cell and check that the notebook runs from top to bottom with "
            "Kernel → Restart & Run All.")
    if p["cause"] == "memory":
        return (f"Your notebook used more than {p['memory_mb']} MB of memory in {where}, so the "
                "grader stopped it. Look for very large arrays or lists (for example copies of "
                "the whole dataset inside a loop)." + rest)
    if p["cause"] == "cell-timeout":
        return (f"{where.capitalize()} kept running after the grader interrupted it at "
                f"{int(p['cell_timeout_s'])} s, so the grader stopped the kernel." + rest)
    if p["cause"] == "deadline":
        return (f"The grader's time for your notebook ran out during {where}; the cells "
                "before it were graded.")
    return (f"The Python kernel stopped during {where} (for example through os._exit(), "
            "a crash, or the system ending it)." + rest)
