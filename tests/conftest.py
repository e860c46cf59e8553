"""Shared fixtures: the repository's notebooks, and `hw5 grade` run as a user would.

Slow tests (``@pytest.mark.slow``: they execute notebooks or train) are deselected by default so
that plain ``pytest`` stays fast; ``pytest --run-slow`` runs everything, and a ``-m`` expression
that names ``slow`` (``pytest -m slow``) is obeyed as written.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from hw5.grading.report import from_gradescope
from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
GRADESCOPE_TEST_KEYS = {"name", "number", "score", "max_score", "output", "output_format",
                        "visibility", "extra_data"}


# ---------------------------------------------------------------------------------------------
# Slow tests: opt in
# ---------------------------------------------------------------------------------------------
def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true",
                     help="also run the slow tests (notebooks executed, models trained)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-slow") or "slow" in (config.getoption("markexpr") or ""):
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


# ---------------------------------------------------------------------------------------------
# The repository's notebooks
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repo:
    root: Path

    @property
    def solution_path(self) -> Path:
        return self.root / "solutions" / spec.NOTEBOOK_NAME

    @property
    def template_path(self) -> Path:
        return self.root / "student_template" / spec.NOTEBOOK_NAME

    def solution(self):
        """A fresh copy of the solution notebook."""
        return nbformat.read(self.solution_path, as_version=4)

    def template(self):
        """A fresh copy of the student template."""
        return nbformat.read(self.template_path, as_version=4)


@pytest.fixture(scope="session")
def repo() -> Repo:
    return Repo(ROOT)


def write_nb(nb, path: Path) -> Path:
    nbformat.write(nb, str(path))
    return path


def add_cell(nb, source: str, index: int | None = None):
    nb.cells.insert(len(nb.cells) if index is None else index, nbformat.v4.new_code_cell(source))
    return nb


# ---------------------------------------------------------------------------------------------
# Grading as a user does, and reading the results
# ---------------------------------------------------------------------------------------------
def grade(path: Path, out: Path | None = None, timeout: int = 900, submitter_ids=()) -> dict:
    """Run `hw5 grade` in a subprocess; assert the contract (exit 0, valid results.json)."""
    out = out or path.with_name("results.json")
    ids = [a for sid in submitter_ids for a in ("--submitter-id", sid)]
    proc = subprocess.run([sys.executable, "-m", "hw5", "grade", str(path), "-o", str(out), *ids],
                          capture_output=True, text=True, timeout=timeout, cwd=path.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    assert_gradescope_schema(results)
    results["_stdout"] = proc.stdout
    return results


def assert_gradescope_schema(results: dict) -> None:
    assert isinstance(results["score"], (int, float))
    assert isinstance(results["execution_time"], int)
    assert isinstance(results["output"], str) and results["output_format"] == "md"
    for test in results["tests"]:
        assert GRADESCOPE_TEST_KEYS <= set(test), test
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
        assert test.get("status", "passed") in ("passed", "failed")
    assert results["score"] == sum(t["score"] for t in results["tests"])
    numbers = [t["number"] for t in results["tests"]]
    assert numbers == sorted(numbers), numbers  # Gradescope's order is the spec's
    assert from_gradescope(results) is not None


def scores(results: dict) -> dict:
    """question id -> score, from the result model results.json carries."""
    return {q.question.id: q.score for q in from_gradescope(results).questions}


def output_of(results: dict, question_id: str) -> str:
    """Everything the student reads about one question (all its tests)."""
    return "\n\n".join(t["output"] for t in results["tests"]
                       if t["extra_data"]["hw5"]["question"] == question_id)


def full_scores() -> dict:
    return {q.id: (q.points if q.kind == spec.AUTO else 0) for q in spec.QUESTIONS}


@dataclass(frozen=True)
class Grading:
    """The helpers above, as one fixture."""

    grade = staticmethod(grade)
    scores = staticmethod(scores)
    output_of = staticmethod(output_of)
    full_scores = staticmethod(full_scores)
    write_nb = staticmethod(write_nb)
    add_cell = staticmethod(add_cell)
    assert_gradescope_schema = staticmethod(assert_gradescope_schema)


@pytest.fixture(scope="session")
def grading() -> Grading:
    return Grading()
