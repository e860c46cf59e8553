"""`hw5 grade` end to end: the real solution, the real template, mutants and equivalent
spellings, each graded through the CLI (real kernel, real data, real training)."""
from __future__ import annotations

from pathlib import Path

import pytest

from hw5 import mutants, settings
from hw5.kit import spec

pytestmark = pytest.mark.slow


def test_solution_gets_full_marks_identically_twice(tmp_path, repo, grading):
    nb = repo.solution()
    runs = []
    for name in ("hw5.ipynb", "my Ünïcode submission (1).ipynb"):
        results = grading.grade(grading.write_nb(nb, tmp_path / name), tmp_path / f"{name}.json")
        assert grading.scores(results) == grading.full_scores(), results["tests"]
        runs.append([(t["name"], t["score"], t["output"]) for t in results["tests"]])
    assert runs[0] == runs[1]
    assert results["score"] == spec.AUTO_POINTS
    assert results["extra_data"]["hw5"]["status"] == "graded"
    assert "autograded total" in results["_stdout"]  # the readable table


def test_unmodified_template_gets_zero_and_names_what_is_missing(tmp_path, repo, grading):
    output_of = grading.output_of
    results = grading.grade(grading.write_nb(repo.template(), tmp_path / "hw5.ipynb"))
    assert results["score"] == 0
    assert "returned None, not a Keras model" in output_of(results, "todo3")
    assert "model_2_layer" in output_of(results, "todo6")
    manual = [t for t in results["tests"] if t["max_score"] == 0 and "manual" in t["output"]]
    assert len(manual) == sum(q.kind == spec.MANUAL for q in spec.QUESTIONS)


def _with_mutants(nb, names):
    chosen = [m for m in mutants.MUTANTS + mutants.EQUIVALENT_SPELLINGS if m.name in names]
    assert len(chosen) == len(names)
    for m in chosen:
        nb = mutants.apply_to_notebook(nb, m.builder, m.source)
    return nb, chosen


@pytest.mark.parametrize("names", [
    ("momentum_hardcoded", "two_conv_no_second_pool"),
    ("zero_init", "two_conv_32"),
])
def test_mutants_lose_their_points_with_a_message_naming_the_fault(tmp_path, names, repo,
                                                                   grading):
    nb, chosen = _with_mutants(repo.solution(), names)
    results = grading.grade(grading.write_nb(nb, tmp_path / "hw5.ipynb"))
    got, full, output_of = grading.scores(results), grading.full_scores(), grading.output_of
    for m in chosen:
        question = "todo3" if m.builder == "define_model_with_momentum" else "todo5"
        assert got[question] < full[question], (question, output_of(results, question))
        for text in m.expect:
            assert text in output_of(results, question)
    for q in ("p1_1", "p3", "todo1", "todo2"):
        assert got[q] == full[q], output_of(results, q)


def test_equivalent_spellings_get_full_marks(tmp_path, repo, grading):
    nb, _ = _with_mutants(repo.solution(),
                          ("functional", "functional_two_conv", "baseline_tf_keras"))
    results = grading.grade(grading.write_nb(nb, tmp_path / "hw5.ipynb"))
    assert grading.scores(results) == grading.full_scores(), results["tests"]


def test_a_notebook_past_the_grading_deadline_is_a_student_timeout(tmp_path, repo, grading):
    """The coordinator's whole-grade deadline stops the notebook (and its kernel): the student
    gets a timeout, grade-all shows a student timeout, not a grader error."""
    import shutil
    import tempfile

    import psutil

    from hw5.grading import pipeline
    from hw5.grading.report import to_gradescope
    from hw5.grading.results import NOTEBOOK_TIMEOUT
    from hw5.ta import grade_all as ga
    from hw5.ta.exports import Submission

    public = Path(tempfile.mkdtemp(prefix="hw5-test-"))  # the kernel runs as another uid
    public.chmod(0o777)
    pid_file = public / "kernel.pid"
    nb = grading.add_cell(repo.solution(), "import os, time\n"
                          f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                          "time.sleep(100)", index=1)
    path = grading.write_nb(nb, tmp_path / "hw5.ipynb")
    try:
        result = pipeline.grade_submission(path, deadline_s=settings.TRUSTED_RESERVE_S + 45)
        pid = int(pid_file.read_text())
    finally:
        shutil.rmtree(public, ignore_errors=True)
    assert result.status == NOTEBOOK_TIMEOUT and result.score == 0
    assert "ran out of time" in " ".join(result.messages)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    row = ga.row_from_results(Submission("1", [], path), to_gradescope(result), skipped=False)
    assert row.status == NOTEBOOK_TIMEOUT
