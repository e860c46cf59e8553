"""Grading as a pipeline: load → execute untrusted → export → trusted checks → report.

Each step is its own process and this coordinator stays small (no TensorFlow, no Jupyter
libraries), which keeps the whole process tree inside Gradescope's memory: first
`python -m hw5.sandbox` runs the student's notebook in a sandboxed kernel and writes the export;
when it has ended, `python -m hw5.grading.trusted` checks that plain data (rebuilding models,
grade-time training) in a separate trusted process.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hw5 import settings
from hw5.kit import spec

from .report import ItemResult, QuestionResult, Report, items_from_json

TRUSTED_TIMEOUT_S = 420
SANDBOX_SLACK_S = 60  # beyond the sandbox's own hard deadline (it kills its kernel by then)


def grade_submission(path) -> Report:
    """Grade one notebook; never raises for anything the submission contains."""
    start = time.monotonic()
    notes: list = []
    with tempfile.TemporaryDirectory(prefix="hw5-grade-") as tmp:
        export = run_sandbox(Path(path), Path(tmp), notes)
        items = run_trusted_checks(export, Path(tmp), notes)
    report = assemble(items, notes)
    report.execution_time = time.monotonic() - start
    return report


def _child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW5_")}
    keep = (settings.SANDBOX_USER_ENV_VAR, settings.CONTAINER_MEMORY_ENV_VAR,  # deployment
            settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR)  # settings the children must see
    env.update({k: os.environ[k] for k in keep if k in os.environ})
    env.update(TF_CPP_MIN_LOG_LEVEL="2", MALLOC_ARENA_MAX="2", MPLBACKEND="Agg")
    return env


def _run_step(module: str, args: list, timeout: float, what: str, notes: list) -> bool:
    """Run `python -m module *args`; on failure add a staff-facing note and return False."""
    try:
        proc = subprocess.run([sys.executable, "-m", module, *map(str, args)], env=_child_env(),
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        notes.append(f"Internal grader error: {what} did not finish within {timeout:.0f} s. "
                     "Please contact the course staff.")
        return False
    if proc.returncode != 0:
        detail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
        notes.append(f"Internal grader error in {what} (exit {proc.returncode}: {detail[0]}). "
                     "Please contact the course staff.")
        return False
    return True


def run_sandbox(path: Path, tmp: Path, notes: list) -> dict:
    """Run the untrusted notebook (`python -m hw5.sandbox`); return its export, or {}."""
    out = tmp / "sandbox.json"
    if not _run_step("hw5.sandbox", [path, out], settings.sandbox_budget_s() + SANDBOX_SLACK_S,
                     "running your notebook", notes):
        return {}
    result = json.loads(out.read_text(encoding="utf-8"))
    notes.extend(result.get("messages") or [])
    export = result.get("export")
    return export if isinstance(export, dict) else {}


def run_trusted_checks(export: dict, tmp: Path, notes: list) -> dict:
    """Run the trusted checks (`python -m hw5.grading.trusted`); item name -> ItemResult."""
    export_path, out_path = tmp / "export.json", tmp / "items.json"
    export_path.write_text(json.dumps(export), encoding="utf-8")
    if not _run_step("hw5.grading.trusted", [export_path, out_path], TRUSTED_TIMEOUT_S,
                     "the checks", notes):
        return {}
    return {i.item: i for i in items_from_json(json.loads(out_path.read_text(encoding="utf-8")))}


def assemble(items: dict, notes: list) -> Report:
    questions = []
    for q in spec.QUESTIONS:
        results = []
        for item, points in ((i.id, i.points) for i in q.items):
            results.append(items.get(item) or ItemResult(
                item, points, False, ["Not graded: see the messages at the top."]))
        questions.append(QuestionResult(q, results))
    return Report(questions, notes)
