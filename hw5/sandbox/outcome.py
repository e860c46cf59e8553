"""What a sandbox run produced, as plain data, and the pure decision of its status.

`decide(facts)` maps the plain facts of a run to a status (interface 2 of the grading pipeline)
and reason codes; `messages.render` turns reason codes into the student's wording, so wording
can change without changing a status.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hw5.statuses import (  # noqa: F401 - re-exported
    GRADED,
    INTERNAL_ERROR,
    KERNEL_DIED,
    MEMORY,
    NOT_A_NOTEBOOK,
    NOTEBOOK_TIMEOUT,
    STATUSES,
)

# Why a kernel ended during a cell (FatalCell.cause).
DIED = "died"  # the kernel process exited or was killed by something other than the grader
OUT_OF_MEMORY = "memory"  # the watchdog saw more private memory than allowed
CELL_HUNG = "cell-timeout"  # the cell ignored the interrupt and ran past the grace period
DEADLINE = "deadline"  # the whole-grade deadline passed while the cell ran


@dataclass
class CellError:
    """An error raised by (or a fatal end of) one of the student's cells."""

    cell: int
    """Index of the cell in the submitted notebook (0-based, markdown cells counted)."""
    ename: str
    """Exception class name; ``CellTimeoutError`` when the grader interrupted the cell;
    ``KernelDied`` / ``MemoryLimit`` / ``CellTimeoutError`` for a fatal cell."""
    evalue: str
    """The exception message, shortened."""
    todo: str | None = None
    """The TODO label of the cell (``TODO3``) from its ``# TODO3`` first line, else None."""
    fatal: bool = False
    """The kernel ended during this cell; later kernels ran without it."""


@dataclass(frozen=True)
class FatalCell:
    cell: int
    todo: str | None
    cause: str  # DIED, OUT_OF_MEMORY, CELL_HUNG, DEADLINE


@dataclass
class RunFacts:
    """Plain facts of one sandbox run (possibly several kernels), input of `decide`."""

    invalid_notebook: str | None = None  # the reader's message when the file is no notebook
    internal_error: str | None = None  # a grader failure ("ExcType: message")
    startup_failed: bool = False  # a kernel died or failed before any student cell ran
    prelude_error: str | None = None  # the grader's in-kernel setup raised
    fatal: list[FatalCell] = field(default_factory=list)
    skipped_for_time: list[int] = field(default_factory=list)  # cells never run: no time left
    export_present: bool = False  # at least one checkpoint was read
    memory_mb: int = 0
    cell_timeout_s: float = 0.0


def decide(facts: RunFacts) -> tuple[str, list[tuple[str, dict]]]:
    """(status, reasons): each reason is (code, parameters) for `messages.render`."""
    if facts.invalid_notebook is not None:
        return NOT_A_NOTEBOOK, [("not-a-notebook", {"message": facts.invalid_notebook})]
    reasons: list[tuple[str, dict]] = []
    if facts.prelude_error:
        reasons.append(("prelude-error", {"detail": facts.prelude_error}))
    for fatal in facts.fatal:
        reasons.append(("fatal-cell", {"cell": fatal.cell, "todo": fatal.todo,
                                       "cause": fatal.cause, "memory_mb": facts.memory_mb,
                                       "cell_timeout_s": facts.cell_timeout_s}))
    if facts.skipped_for_time:
        reasons.append(("out-of-time", {"first": min(facts.skipped_for_time),
                                        "count": len(facts.skipped_for_time)}))
    if facts.internal_error:
        return INTERNAL_ERROR, reasons + [("internal-error", {"detail": facts.internal_error})]
    if facts.startup_failed and not facts.export_present:
        return INTERNAL_ERROR, reasons + [("kernel-start-failed", {})]
    causes = {f.cause for f in facts.fatal}
    if OUT_OF_MEMORY in causes:
        status = MEMORY
    elif DIED in causes:
        status = KERNEL_DIED
    elif causes & {CELL_HUNG, DEADLINE} or facts.skipped_for_time:
        status = NOTEBOOK_TIMEOUT
    else:
        status = GRADED
    if not facts.export_present:
        if status == GRADED:
            return INTERNAL_ERROR, reasons + [("no-export", {})]
        reasons.append(("nothing-exported", {}))
    return status, reasons


@dataclass
class SandboxResult:
    """What running one submission produced (interface 2 of the grading pipeline)."""

    status: str
    """One of STATUSES."""
    export: dict | None = None
    """The newest checkpoint of the export (untrusted JSON), whatever the status, or None."""
    cell_errors: list[CellError] = field(default_factory=list)
    """Errors raised by the student's cells, fatal ones included (the run went on after each)."""
    skipped_cells: list[int] = field(default_factory=list)
    """Cells not run: fatal cells skipped by later kernels, and cells left when time ran out."""
    messages: list[str] = field(default_factory=list)
    """Explanations for the student, in the order things happened."""
    elapsed_s: float = 0.0
    """Wall-clock seconds for the whole run, preparation and cleanup included."""
    stats: dict = field(default_factory=dict)
    """Diagnostics for the staff: peak memory, output kept/dropped, kernels, kernel log tail."""

    @property
    def ok(self) -> bool:
        return self.status == GRADED

    def to_dict(self) -> dict:
        return asdict(self)
