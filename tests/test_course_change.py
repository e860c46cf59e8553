"""Acceptance test of issue 18: a course changes the assignment without touching the engine.

Two scripted changes (``tests/course_changes.py``: a TODO7 Adam experiment, P3 worth 5 points)
are applied to a copy of the repository, touching only the master notebook and the spec; the
new run's reference is measured by ``scripts/reference_results.py --only model_adam --quick``;
then ``hw5 build`` and ``hw5 validate`` run on the copy, with the copy's own ``hw5`` package
(``PYTHONPATH``): the solution earns every point of the new spec, the template none, and the
wrong-optimizer mutant of the new builder loses exactly the new question's items.
About 2.5 minutes on 2 cores (the validation grades three notebooks).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hw5.kit import spec

import course_changes

ROOT = Path(__file__).resolve().parents[1]
MUTANT = f"wrong_optimizer_{course_changes.NEW_BUILDER}"
# What the change may alter: the course's edits, the measured data, and what `hw5 build` writes.
EDITED = {course_changes.SPEC.as_posix(), course_changes.MASTER.as_posix(),
          "hw5/kit/reference_results.py", "docs/reference_results.md"}
GENERATED = ("student_template/", "solutions/", "autograder/", "dist/", "README.md")


def _copy_repository(dest: Path) -> Path:
    """The repository's tracked files, as in the working tree."""
    dest.mkdir(parents=True)
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            (dest / rel).write_bytes((ROOT / rel).read_bytes())
    return dest


def _digests(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def _run(copy: Path, *args, timeout=900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(copy))
    for name in (spec.EPOCHS_ENV_VAR, spec.TRAIN_SUBSET_ENV_VAR):
        env.pop(name, None)
    return subprocess.run([sys.executable, *args], cwd=copy, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _row(stdout: str, what: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(what + " "))


@pytest.mark.slow
def test_a_course_adds_an_adam_experiment_and_gives_p3_five_points(tmp_path):
    copy = _copy_repository(tmp_path / "repo")
    before = _digests(copy)
    course_changes.add_adam_experiment(copy)
    course_changes.p3_worth_five(copy)

    refused = _run(copy, "-m", "hw5", "build", timeout=300)  # no reference run yet
    assert refused.returncode != 0
    assert "trained variable model_adam has no measured reference run" in refused.stderr

    measured = _run(copy, "scripts/reference_results.py", "--only", course_changes.NEW_RUN,
                    "--quick")
    assert measured.returncode == 0, measured.stderr[-3000:]
    built = _run(copy, "-m", "hw5", "build", timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    changed = {rel for rel, digest in _digests(copy).items() if before.get(rel) != digest}
    assert EDITED <= changed
    assert {rel for rel in changed - EDITED if not rel.startswith(GENERATED)} == set()

    validated = _run(copy, "-m", "hw5", "validate", "--root", str(copy), "--mutants", MUTANT)
    out = validated.stdout
    assert validated.returncode == 0, out + validated.stderr[-3000:]
    auto = spec.AUTO_POINTS + 1 + 2  # P3 one point more, TODO7 two points
    assert _row(out, "solution").split()[-2:] == [f"{auto:g}/{auto:g}", "ok"], out
    assert _row(out, "template").split()[-2:] == [f"0/{auto:g}", "ok"], out
    assert f"{auto - 2:g}/{auto:g}; failed: optimizer_{course_changes.NEW_BUILDER}, " \
           f"variable_{course_changes.NEW_RUN}" in _row(out, f"mutant {MUTANT}"), out

    written, notebook = spec.PART_POINTS["written"] + 1, spec.PART_POINTS["notebook"] + 5
    rubric = (copy / "solutions" / "rubric.md").read_text(encoding="utf-8")
    assert (f"Total {written + notebook:g} points: written part {written:g}, notebook part "
            f"{notebook:g}; autograded {auto:g}, manually graded {written + notebook - auto:g}."
            in rubric), rubric[:600]
    assert "| TODO7 Train with Adam | notebook | autograder | 2 |" in rubric
    assert "for judging Q1–Q5" in rubric  # spec.PLOT_QUESTIONS follows the new question
    readme = (copy / "README.md").read_text(encoding="utf-8")
    assert (f"| **total** | **{auto:g}** | **{written + notebook - auto:g}** | "
            f"**{written + notebook:g}** |") in readme
    assert "P3 (5)" in readme and "TODO7 (2)" in readme and "Q5 (3)" in readme
    template = (copy / "student_template" / spec.NOTEBOOK_NAME).read_text(encoding="utf-8")
    assert "## Section 5: Another optimizer (5 points)" in template
    assert "### P3 2-D convolution by hand (5 points)" in template
