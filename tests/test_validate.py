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
from hw5.grading.report import to_gradescope
from hw5.grading.results import GRADED, KERNEL_DIED, ItemResult, SubmissionResult
from hw5.kit import spec
from hw5.ta import validate

ALL_ITEMS = tuple(spec.ITEMS)


def _results(failed=(), status=GRADED):
    """results.json of a submission that fails the items `failed` and passes the others."""
    items = {i.id: ItemResult(i.id, i.points, i.id not in failed,
                              [f"{i.id}: {'wrong' if i.id in failed else 'fine'}"])
             for i in spec.ITEMS.values()}
    return to_gradescope(SubmissionResult.from_items(items, status=status))


def test_judge_flags_every_surprise(tmp_path):
    sol = validate.Job("solution", tmp_path, "solution")
    tpl = validate.Job("template", tmp_path, "template")
    m = mutants.MUTANTS_BY_NAME["wrong_optimizer_define_model_with_momentum"]
    mut = validate.Job("mutant wrong_optimizer", tmp_path, "mutant", m.fails)
    assert validate.judge(sol, _results()).ok
    row = validate.judge(sol, _results(["variable_model_eta_large"]))
    assert not row.ok and "failed: variable_model_eta_large" in row.got
    row = validate.judge(sol, _results(status=KERNEL_DIED))  # full marks, but not really run
    assert not row.ok and KERNEL_DIED in row.got
    assert validate.judge(tpl, _results(ALL_ITEMS)).ok
    assert not validate.judge(tpl, _results(ALL_ITEMS[1:])).ok
    assert validate.judge(mut, _results(m.fails)).ok
    row = validate.judge(mut, _results(["variable_model_momentum"]))
    assert not row.ok and "NOT failed" in row.got  # lost points, but not where it should
    assert not validate.judge(mut, _results()).ok
    row = validate.judge(mut, {"score": 0, "tests": []})  # no result model: never guessed
    assert not row.ok and "result model" in row.got
    row = validate.judge(sol, {"error": "`hw5 grade` exited 1: boom"})
    assert not row.ok and "boom" in row.got
    text = validate.table([validate.judge(sol, _results()), row])
    assert "SURPRISE" in text and text.splitlines()[0].split() == ["what", "expected", "got", "ok"]


def test_quick_subset_names_real_mutants():
    known = {**mutants.MUTANTS_BY_NAME, **mutants.NOTEBOOK_MUTANTS_BY_NAME}
    assert set(validate.QUICK_MUTANTS) <= set(known)
    builders = {mutants.MUTANTS_BY_NAME[n].builder for n in validate.QUICK_MUTANTS
                if n in mutants.MUTANTS_BY_NAME}
    assert builders == {"define_model_with_momentum", "define_model_2_conv"}
    assert any(n in mutants.NOTEBOOK_MUTANTS_BY_NAME for n in validate.QUICK_MUTANTS)


def test_notebook_mutants_are_written_as_notebooks(tmp_path, repo):
    names = list(mutants.NOTEBOOK_MUTANTS_BY_NAME)
    jobs = validate.make_jobs(repo.root, names, tmp_path)
    written = {job.what: job for job in jobs if job.kind in ("mutant", "spelling")}
    for name in names:
        m = mutants.NOTEBOOK_MUTANTS_BY_NAME[name]
        job = written[f"{'mutant' if m.fails else 'spelling'} {name}"]
        assert (job.fails, job.expect) == (tuple(m.fails), tuple(m.expect))
        assert job.notebook.read_text(encoding="utf-8") != repo.solution_path.read_text(
            encoding="utf-8")


def _fresh_copy(tmp_path, root):
    """A copy of the repository with freshly built outputs, whatever the working tree's state."""
    copy = tmp_path / "repo"
    copy.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(root / name, copy / name)
    for name in ("hw5", "assignment", "student_template", "solutions", "autograder"):
        shutil.copytree(root / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    with contextlib.redirect_stdout(io.StringIO()):
        build_all(copy)
    return copy


def test_build_check_sees_stale_and_leftover_files(tmp_path, repo):
    copy = _fresh_copy(tmp_path, repo.root)
    row = validate.check_build(copy)
    assert row.ok, row.got
    (copy / "solutions" / "rubric.md").write_text("old rubric\n")
    (copy / "student_template" / "leftover.py").write_text("")
    row = validate.check_build(copy)
    assert not row.ok
    assert "stale: solutions/rubric.md" in row.got
    assert "not generated: student_template/leftover.py" in row.got


def test_unknown_mutant_is_a_usage_error(repo):
    proc = subprocess.run([sys.executable, "-m", "hw5", "validate", "--mutants", "nope"],
                          capture_output=True, text=True, cwd=repo.root, timeout=120)
    assert proc.returncode == 2 and "unknown mutant" in proc.stderr


@pytest.mark.slow
def test_validate_subset_passes(tmp_path, repo):
    """The real thing on a subset: spec, build, solution, template and three mutants (~2 min)."""
    names = ["filters_16", "frozen", "refit_eta_large_one_epoch"]
    copy = _fresh_copy(tmp_path, repo.root)  # the build check would fail on an unbuilt working tree
    proc = subprocess.run([sys.executable, "-m", "hw5", "validate", "--root", str(copy),
                           "--mutants", ",".join(names)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    for what in ["spec", "build", "solution", "template"] + [f"mutant {n}" for n in names]:
        row = next(line for line in lines if line.startswith(what + " "))
        assert row.rstrip().endswith(" ok"), row
    assert f"{4 + len(names)}/{4 + len(names)} as expected" in proc.stdout
