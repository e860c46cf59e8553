"""`hw5 validate`: the pre-release check (build fresh, solution full marks, template 0, mutants
lose points) and its verdicts on surprises."""
from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys

import pytest

from hw5 import mutants
from hw5.build import build_all
from hw5.kit import spec
from hw5.ta import validate

from grading_helpers import ROOT


def _results(score, failed=()):
    output = "\n".join(f"[FAIL] {item} (0/1)\n    why" for item in failed)
    return {"score": score, "tests": [{"name": "x", "score": 0, "max_score": 1, "output": output}]}


def test_judge_flags_every_surprise(tmp_path):
    full = spec.AUTO_POINTS
    sol = validate.Job("solution", tmp_path, "solution")
    tpl = validate.Job("template", tmp_path, "template")
    m = mutants.MUTANTS_BY_NAME["adam"]
    mut = validate.Job("mutant adam", tmp_path, "mutant", m.fails)
    assert validate.judge(sol, _results(full)).ok
    assert not validate.judge(sol, _results(full - 1, ["variable_model"])).ok
    assert validate.judge(tpl, _results(0)).ok
    assert not validate.judge(tpl, _results(2)).ok
    assert validate.judge(mut, _results(full - 1, m.fails)).ok
    row = validate.judge(mut, _results(full - 1, ["variable_model_momentum"]))
    assert not row.ok and "NOT failed" in row.got  # lost points, but not where it should
    assert not validate.judge(mut, _results(full)).ok
    row = validate.judge(sol, {"error": "`hw5 grade` exited 1: boom"})
    assert not row.ok and "boom" in row.got
    text = validate.table([validate.judge(sol, _results(full)), row])
    assert "SURPRISE" in text and text.splitlines()[0].split() == ["what", "expected", "got", "ok"]


def test_quick_subset_names_real_mutants():
    assert set(validate.QUICK_MUTANTS) <= set(mutants.MUTANTS_BY_NAME)
    builders = {mutants.MUTANTS_BY_NAME[n].builder for n in validate.QUICK_MUTANTS}
    assert builders == {"define_model_with_momentum", "define_model_2_conv"}


def _fresh_copy(tmp_path):
    """A copy of the repository with freshly built outputs, whatever the working tree's state."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    for name in ("hw5", "assignment", "student_template", "solutions", "autograder"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    with contextlib.redirect_stdout(io.StringIO()):
        build_all(copy)
    return copy


def test_build_check_sees_stale_and_leftover_files(tmp_path):
    copy = _fresh_copy(tmp_path)
    row = validate.check_build(copy)
    assert row.ok, row.got
    (copy / "solutions" / "rubric.md").write_text("old rubric\n")
    (copy / "student_template" / "leftover.py").write_text("")
    row = validate.check_build(copy)
    assert not row.ok
    assert "stale: solutions/rubric.md" in row.got
    assert "not generated: student_template/leftover.py" in row.got


def test_unknown_mutant_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "hw5", "validate", "--mutants", "nope"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "unknown mutant" in proc.stderr


@pytest.mark.slow
def test_validate_subset_passes(tmp_path):
    """The real thing on a subset: build, solution, template and two mutants (~1.5 min)."""
    names = ["filters_16", "frozen"]
    copy = _fresh_copy(tmp_path)  # the build check would fail on an unbuilt working tree
    proc = subprocess.run([sys.executable, "-m", "hw5", "validate", "--root", str(copy),
                           "--mutants", ",".join(names)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    for what in ["build", "solution", "template"] + [f"mutant {n}" for n in names]:
        row = next(line for line in lines if line.startswith(what + " "))
        assert row.rstrip().endswith(" ok"), row
    assert "5/5 as expected" in proc.stdout
