"""Shared helpers for the end-to-end grading tests: run `hw5 grade` as a user would."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat

from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / spec.NOTEBOOK_NAME
TEMPLATE = ROOT / "student_template" / spec.NOTEBOOK_NAME
GRADESCOPE_TEST_KEYS = {"name", "score", "max_score", "output", "visibility"}


def solution():
    return nbformat.read(SOLUTION, as_version=4)


def write(nb, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def add_cell(nb, source: str, index: int | None = None):
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.insert(len(nb.cells) if index is None else index, cell)
    return nb


def grade(path: Path, out: Path | None = None, timeout: int = 900) -> dict:
    """Run `hw5 grade` in a subprocess; assert the contract (exit 0, valid results.json)."""
    out = out or path.with_name("results.json")
    proc = subprocess.run([sys.executable, "-m", "hw5", "grade", str(path), "-o", str(out)],
                          capture_output=True, text=True, timeout=timeout, cwd=path.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert_gradescope_schema(results)
    results["_stdout"] = proc.stdout
    return results


def assert_gradescope_schema(results: dict) -> None:
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], (int, float))
    assert isinstance(results["output"], str)
    for test in results["tests"]:
        assert GRADESCOPE_TEST_KEYS <= set(test), test
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
        assert test.get("status", "passed") in ("passed", "failed")
    assert results["score"] == sum(t["score"] for t in results["tests"])


def scores(results: dict) -> dict:
    """question id -> score"""
    by_title = {q.title: q.id for q in spec.QUESTIONS}
    return {by_title[t["name"]]: t["score"] for t in results["tests"]}


def output_of(results: dict, question_id: str) -> str:
    title = spec.QUESTIONS_BY_ID[question_id].title
    return next(t["output"] for t in results["tests"] if t["name"] == title)


def full_scores() -> dict:
    return {q.id: (q.points if q.kind == spec.AUTO else 0) for q in spec.QUESTIONS}
