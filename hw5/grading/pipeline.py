"""Grading as a pipeline: load → execute untrusted → export → trusted checks → report.

This process never imports TensorFlow: the student's notebook runs in a sandboxed kernel
(`hw5.sandbox`), and the checks run afterwards in a separate trusted process
(`python -m hw5.grading.trusted`) that reads only the exported plain data.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hw5.kit import spec

from .report import ItemResult, QuestionResult, Report, items_from_json

TRUSTED_TIMEOUT_S = 420


def grade_submission(path) -> Report:
    """Grade one notebook; never raises for anything the submission contains."""
    start = time.monotonic()
    notes: list = []
    export: dict = {}
    try:
        from hw5.sandbox import run_submission

        result = run_submission(Path(path))
        notes.extend(result.messages)
        export = result.export if isinstance(result.export, dict) else {}
    except Exception as exc:  # a grader bug must still produce results.json
        notes.append(f"Internal grader error while running your notebook ({type(exc).__name__}: "
                     f"{exc}). Please contact the course staff.")
    items = run_trusted_checks(export, notes)
    report = assemble(items, notes)
    report.execution_time = time.monotonic() - start
    return report


def run_trusted_checks(export: dict, notes: list) -> dict:
    """Run the trusted checks in a fresh process; returns item name -> ItemResult."""
    with tempfile.TemporaryDirectory(prefix="hw5-trusted-") as tmp:
        export_path, out_path = Path(tmp, "export.json"), Path(tmp, "items.json")
        export_path.write_text(json.dumps(export), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HW5_")}
        env.update(TF_CPP_MIN_LOG_LEVEL="2", MALLOC_ARENA_MAX="2", MPLBACKEND="Agg")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "hw5.grading.trusted", str(export_path), str(out_path)],
                env=env, capture_output=True, text=True, timeout=TRUSTED_TIMEOUT_S)
            if proc.returncode == 0 and out_path.is_file():
                return {i.item: i for i in items_from_json(json.loads(out_path.read_text()))}
            detail = (proc.stderr or "").strip().splitlines()[-1:] or ["no output"]
            notes.append(f"Internal grader error in the checks (exit {proc.returncode}: "
                         f"{detail[0]}). Please contact the course staff.")
        except subprocess.TimeoutExpired:
            notes.append(f"The checks did not finish within {TRUSTED_TIMEOUT_S} s. "
                         "Please contact the course staff.")
    return {}


def assemble(items: dict, notes: list) -> Report:
    questions = []
    for q in spec.QUESTIONS:
        results = []
        for item, points in q.items.items():
            results.append(items.get(item) or ItemResult(
                item, points, False, ["Not graded: see the messages at the top."]))
        questions.append(QuestionResult(q, results))
    return Report(questions, notes)
