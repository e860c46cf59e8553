"""Grading as a pipeline: load → execute untrusted → export → trusted checks → result.

Each step is its own process and this coordinator stays small (no TensorFlow, no Jupyter
libraries), which keeps the whole process tree inside Gradescope's memory: first
`python -m hw5.sandbox` runs the student's notebook in a sandboxed kernel and writes its result
(status, cell errors, export); when it has ended, `python -m hw5.grading.trusted` checks the
export (plain data: models rebuilt, grade-time training) in a separate trusted process.

One deadline covers the whole grade. The trusted step's share is reserved first, so however long
the notebook runs, its checks still run and results.json is written before Gradescope's container
timeout.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from hw5 import settings
from hw5.kit import spec

from . import evidence
from .report import STAFF_CONTACT, items_from_json
from .results import INTERNAL_ERROR, STATUSES, SubmissionResult

# The sandbox ends itself by the deadline it is given; the coordinator stops it this much later.
SANDBOX_SLACK_S = 15
_STDERR_TAIL = 3


@dataclass
class Step:
    """How running one child process went."""

    ok: bool
    timed_out: bool = False
    detail: str = ""
    """For the staff: exit code and the last lines of stderr, or the timeout."""
    seconds: float = 0.0


@dataclass
class SandboxOutcome:
    """The sandbox's result (interface 2), normalised."""

    status: str
    export: dict | None = None
    messages: list = field(default_factory=list)
    cell_errors: list = field(default_factory=list)
    staff_notes: list = field(default_factory=list)


def grade_submission(path, *, submitter_ids=(), deadline_s: float = settings.GRADE_DEADLINE_S,
                     checker=None, sandbox_step=None) -> SubmissionResult:
    """Grade one notebook; never raises for anything the submission contains. `checker` runs the
    trusted checks, with `run_trusted_checks`'s signature and answer (default: that function,
    a fresh process; `grade-all` passes a long-lived worker's). `sandbox_step(args, timeout)`
    runs `python -m hw5.sandbox`'s main with `args` and returns a Step (default: `run_step`, a
    fresh process; `grade-all` passes a long-lived runner's, which starts a fresh kernel too)."""
    start = time.monotonic()
    deadline = start + deadline_s
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="hw5-grade-") as tmp:
        sandbox = run_sandbox(path, Path(tmp), deadline - settings.TRUSTED_RESERVE_S,
                              sandbox_step)
        status, messages = sandbox.status, list(sandbox.messages)
        staff = list(sandbox.staff_notes)
        items: dict = {}
        if sandbox.export is not None:
            items, step = (checker or run_trusted_checks)(
                sandbox.export, Path(tmp),
                max(deadline - time.monotonic(), settings.TRUSTED_RESERVE_S))
            if not step.ok:
                status = INTERNAL_ERROR
                messages.append(f"The grader's checks failed. {STAFF_CONTACT}")
                staff.append(f"trusted step: {step.detail}")
    staff += student_id_notes(sandbox.export, submitter_ids)
    result = SubmissionResult.from_items(
        items, status=status, messages=messages, cell_errors=sandbox.cell_errors,
        staff_notes=staff, evidence=evidence.saved_output_notes(path))
    result.execution_time = time.monotonic() - start
    return result


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW5_")}
    keep = (settings.SANDBOX_USER_ENV_VAR, settings.CONTAINER_MEMORY_ENV_VAR,  # deployment
            settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR)  # settings the children must see
    env.update({k: os.environ[k] for k in keep if k in os.environ})
    env.update(TF_CPP_MIN_LOG_LEVEL="2", MALLOC_ARENA_MAX="2", MPLBACKEND="Agg")
    return env


def run_step(module: str, args: list, timeout: float) -> Step:
    """Run `python -m module *args` with a wall-clock limit; on timeout the step's whole process
    tree goes (a kernel the sandbox started must not outlive it)."""
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", module, *map(str, args)], env=_child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _out, err = proc.communicate(timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        _kill_tree(proc.pid)
        proc.communicate()
        return Step(False, True, f"python -m {module} stopped after {timeout:.0f} s",
                    time.monotonic() - start)
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        tail = " | ".join((err or "").strip().splitlines()[-_STDERR_TAIL:]) or "no output"
        return Step(False, False, f"python -m {module} exited {proc.returncode}: {tail}", seconds)
    return Step(True, seconds=seconds)


def _kill_tree(pid: int) -> None:
    import psutil

    try:
        parent = psutil.Process(pid)
        family = parent.children(recursive=True) + [parent]
    except psutil.Error:
        return
    for p in family:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(family, timeout=5)


def run_sandbox(path: Path, tmp: Path, deadline: float, sandbox_step=None) -> SandboxOutcome:
    """Run the untrusted notebook (`python -m hw5.sandbox`) until `deadline` (time.monotonic())
    at the latest."""
    out = tmp / "sandbox.json"
    args = [str(path), str(out), "--deadline", f"{deadline:.3f}"]
    timeout = deadline - time.monotonic() + SANDBOX_SLACK_S
    if sandbox_step is None:
        step = run_step("hw5.sandbox", args, timeout)
    else:
        step = sandbox_step(args, timeout)
    data = None
    if step.ok:
        try:
            data = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            step.detail = f"unreadable sandbox result ({type(exc).__name__}: {exc})"
    if not isinstance(data, dict):
        return SandboxOutcome(INTERNAL_ERROR, messages=[
            f"The grader failed while running your notebook. {STAFF_CONTACT}"],
            staff_notes=[f"sandbox: {step.detail or 'no result'}"])
    return sandbox_outcome(data)


def sandbox_outcome(data: dict) -> SandboxOutcome:
    """Interface 2's JSON as a SandboxOutcome; `export` is kept whatever the status (what was
    answered before a kernel died still counts)."""
    raw = str(data.get("status"))
    status = raw if raw in STATUSES else INTERNAL_ERROR
    staff = [] if raw in STATUSES else [f"sandbox: unknown status {raw!r}"]
    export = data.get("export")
    return SandboxOutcome(
        status, export if isinstance(export, dict) else None,
        [str(m) for m in data.get("messages") or []],
        [e for e in data.get("cell_errors") or [] if isinstance(e, dict)], staff)


def run_trusted_checks(export: dict, tmp: Path, timeout: float) -> tuple:
    """Run the trusted checks (`python -m hw5.grading.trusted`): (item id -> ItemResult, Step)."""
    export_path, out_path = tmp / "export.json", tmp / "items.json"
    export_path.write_text(json.dumps(export), encoding="utf-8")
    step = run_step("hw5.grading.trusted", [export_path, out_path], timeout)
    return read_items(out_path, step)


def read_items(out_path: Path, step: Step) -> tuple:
    """(item id -> ItemResult, Step) from the trusted step's ITEMS.json."""
    if not step.ok:
        return {}, step
    try:
        items = items_from_json(json.loads(out_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        return {}, Step(False, detail=f"unreadable items ({type(exc).__name__}: {exc})")
    return {i.id: i for i in items}, step


def student_id_notes(export: dict | None, submitter_ids) -> list:
    """A staff note when the notebook's `student_id` answer is none of the submitters' ids."""
    ids = [str(s).strip() for s in submitter_ids or () if str(s).strip()]
    if not ids or export is None:
        return []
    answer = ((export.get("answers") or {}).get(spec.STUDENT_ID_VARIABLE) or {})
    value = answer.get("value") if isinstance(answer, dict) else None
    written = "" if value is None else str(value).strip()
    if not written:
        return [f"{spec.STUDENT_ID_VARIABLE} is not set in the notebook (submitted by "
                f"{', '.join(ids)})"]
    if any(_same_id(written, s) for s in ids):
        return []
    return [f"{spec.STUDENT_ID_VARIABLE} in the notebook is {written!r}, but the submission is "
            f"by {', '.join(ids)}"]


def _same_id(a: str, b: str) -> bool:
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a.casefold() == b.casefold()
