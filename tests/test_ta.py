"""TA tools end to end: a Gradescope-style export zip (solution, template, a mutant, a corrupt file)
graded by `hw5 grade-all` (real kernels, real training), and `hw5 export-written` on it; plus fast
checks of the export reader and of how written answers are found."""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from hw5 import mutants
from hw5.grading import answers
from hw5.grading.report import from_gradescope
from hw5.grading.results import GRADED, INTERNAL_ERROR, NOT_A_NOTEBOOK
from hw5.kit import spec
from hw5.ta import exports
from hw5.ta import export_written as ew
from hw5.ta import grade_all as ga
from hw5.ta import summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SOLUTION_ID, TEMPLATE_ID, MUTANT_ID, CORRUPT_ID = "1001", "1002", "1003", "1004"
MANUAL = [q for q in spec.QUESTIONS if q.kind == spec.MANUAL]
AUTO = [q for q in spec.QUESTIONS if q.kind == spec.AUTO]

# As Gradescope's "Export Submissions" writes it (Ruby symbols, timestamps, BigDecimal scores).
METADATA = """\
---
submission_1001:
  :submitters:
  - :name: Zoë Ångström
    :sid: '1001'
    :email: zoe@example.edu
  :created_at: 2026-11-20 21:14:03.123456000 -08:00
  :score: 22.0
  :status: processed
  :history: []
submission_1002:
  :submitters:
  - :name: Jean-Luc Picard
    :sid: '2001'
    :email: picard@example.edu
  - :name: Beverly Crusher
    :sid: '2002'
    :email: crusher@example.edu
  :created_at: 2026-11-21 08:00:00.000000000 -08:00
  :score: !ruby/object:BigDecimal 18:0.0
  :history: []
submission_1003:
  :submitters:
  - :name: 李小龍
    :sid: '3001'
    :email: lee@example.edu
  :created_at: 2026-11-21 09:30:00.000000000 -08:00
  :score: 19.0
submission_1004:
  :submitters:
  - :name: Corrupt Carl
    :sid: '4001'
    :email: carl@example.edu
  :created_at: 2026-11-21 10:00:00.000000000 -08:00
  :score: 0.0
"""
NAMES = {SOLUTION_ID: "Zoë Ångström", TEMPLATE_ID: "Jean-Luc Picard; Beverly Crusher",
         MUTANT_ID: "李小龍", CORRUPT_ID: "Corrupt Carl"}


def make_export(folder: Path, repo) -> Path:
    """A Gradescope-style export zip (one top-level folder) of the four submissions."""
    top = folder / "assignment_98765_export"
    subs = {SOLUTION_ID: top / "submission_1001", TEMPLATE_ID: top / "submission_1002",
            MUTANT_ID: top / "submission_1003", CORRUPT_ID: top / "submission_1004"}
    for d in subs.values():
        d.mkdir(parents=True)
    (top / "submission_metadata.yml").write_text(METADATA, encoding="utf-8")
    solution = repo.solution()
    # The submitter's own ID, so P3 is answered with that ID's numbers.
    solution.cells.append(nbformat.v4.new_code_cell(
        f"{spec.STUDENT_ID_VARIABLE} = '1001'\n"
        f"{spec.P3_VARIABLE} = {answers.p3_expected('1001').tolist()}"))
    nbformat.write(solution, str(subs[SOLUTION_ID] / spec.NOTEBOOK_NAME))
    template = repo.template()
    nbformat.write(template, str(subs[TEMPLATE_ID] / "my hw5 (1).ipynb"))
    m = next(m for m in mutants.MUTANTS if m.name == "momentum_hardcoded")
    mutant = mutants.apply_to_notebook(repo.solution(), m.builder, m.source)
    mutant.cells.append(nbformat.v4.new_code_cell(f"{spec.STUDENT_ID_VARIABLE} = 9999"))
    nbformat.write(mutant, str(subs[MUTANT_ID] / spec.NOTEBOOK_NAME))
    nbformat.write(template, str(subs[MUTANT_ID] / "scratch copy.ipynb"))
    (subs[CORRUPT_ID] / spec.NOTEBOOK_NAME).write_text('{"cells": [{"cell_type": "code", "sour',
                                                        encoding="utf-8")
    zip_path = folder / "export.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(top.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder).as_posix())
    return zip_path


def run_hw5(*args, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "hw5", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def read_grades(out: Path) -> dict:
    with open(out / "grades.csv", newline="", encoding="utf-8") as f:
        return {row["submission_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def export_zip(tmp_path_factory, repo) -> Path:
    return make_export(tmp_path_factory.mktemp("export"), repo)


@pytest.fixture(scope="module")
def graded(export_zip):
    """grade-all on the export, once for the module: (out dir, wall seconds, stdout)."""
    out = export_zip.parent / "out"
    start = time.monotonic()
    proc = run_hw5("grade-all", export_zip, "-o", out, cwd=export_zip.parent)
    return out, time.monotonic() - start, proc.stdout


# ---------------------------------------------------------------------------------------------
# Reading the export (fast)
# ---------------------------------------------------------------------------------------------
def test_export_reader_finds_students_groups_and_notebooks(export_zip):
    with exports.open_export(export_zip) as subs:
        by_id = {s.id: s for s in subs}
        assert list(by_id) == [SOLUTION_ID, TEMPLATE_ID, MUTANT_ID, CORRUPT_ID]
        assert {k: s.names for k, s in by_id.items()} == NAMES
        assert by_id[TEMPLATE_ID].emails == "picard@example.edu; crusher@example.edu"
        assert by_id[TEMPLATE_ID].sids == "2001; 2002"
        assert by_id[TEMPLATE_ID].notebook.name == "my hw5 (1).ipynb"
        assert by_id[TEMPLATE_ID].notebook.is_file()
        assert by_id[MUTANT_ID].notebook.name == spec.NOTEBOOK_NAME  # preferred over the scratch
        assert "holds 2 notebooks" in by_id[MUTANT_ID].notes[0]
        assert by_id[SOLUTION_ID].created_at.startswith("2026-11-20")
        assert by_id[SOLUTION_ID].gradescope_score == 22.0
        assert by_id[TEMPLATE_ID].gradescope_score == 0.0  # Ruby BigDecimal
        assert not by_id[SOLUTION_ID].notes


def test_export_reader_odd_exports(tmp_path):
    root = tmp_path / "exp"
    (root / "submission_7").mkdir(parents=True)
    (root / "submission_7" / "answers.pdf").write_bytes(b"%PDF")
    (root / "submission_8").mkdir()  # on disk, not in the metadata
    (root / "submission_8" / "hw5 final.ipynb").write_text("{}", encoding="utf-8")
    (root / "submission_metadata.yml").write_text(
        "submission_7:\n  :submitters:\n  - :name: Ana\n    :sid: 7\n"
        "submission_9:\n  :submitters:\n  - :name: Bo\n", encoding="utf-8")
    by_id = {s.id: s for s in exports.read_export(root)}
    assert by_id["7"].notebook is None and "No notebook found" in by_id["7"].notes[0]
    assert "answers.pdf" in by_id["7"].notes[0] and by_id["7"].sids == "7"
    assert by_id["8"].notebook.name == "hw5 final.ipynb" and by_id["8"].submitters == []
    assert by_id["9"].notebook is None and "no folder" in by_id["9"].notes[0]

    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("Ünïcode student.ipynb", "b.ipynb", "notes.txt"):
        (plain / name).write_text("{}", encoding="utf-8")
    subs = exports.read_export(plain)
    assert [s.notebook.name for s in subs] == ["b.ipynb", "Ünïcode student.ipynb"]
    assert subs[1].id == "Ünïcode_student"


# ---------------------------------------------------------------------------------------------
# Finding written answers (fast)
# ---------------------------------------------------------------------------------------------
def _cells(nb, tmp_path):
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    return ew.find_answers(ew.load_cells(path), ew.template_layout())


def _prompt_index(nb, qid):
    title = spec.QUESTIONS_BY_ID[qid].title
    return next(i for i, c in enumerate(nb.cells)
                if c.cell_type == "markdown" and title in c.source)


def test_answers_found_by_content_without_metadata(tmp_path, repo):
    nb = repo.template()
    for c in nb.cells:
        c.metadata = {}
    i = _prompt_index(nb, "p1_3")
    nb.cells[i + 1].source = "Composition of affine maps is affine."
    nb.cells.insert(i + 2, nbformat.v4.new_markdown_cell("### My derivation\n$W_2 W_1 x$"))
    nb.cells.insert(i + 3, nbformat.v4.new_code_cell("W = W2 @ W1"))
    j = _prompt_index(nb, "q4")
    nb.cells[j].source += "\n\nIt generalised better."  # typed into the prompt cell
    answers = _cells(nb, tmp_path)
    assert answers["p1_3"].startswith("Composition of affine maps is affine.")
    assert "### My derivation" in answers["p1_3"] and "W = W2 @ W1" in answers["p1_3"]
    assert answers["q4"] == "It generalised better."
    assert all(answers[q.id] == "" for q in MANUAL if q.id not in ("p1_3", "q4"))


def test_answers_fall_back_on_metadata_when_the_heading_is_gone(tmp_path, repo):
    nb = repo.template()
    i = _prompt_index(nb, "q2")
    title = spec.QUESTIONS_BY_ID["q2"].title
    nb.cells[i].source = nb.cells[i].source.replace(f"### {title}", "### Question two")
    nb.cells[i + 1].source = "It learned slowly."
    assert _cells(nb, tmp_path)["q2"] == "It learned slowly."


def test_rubric_sections_from_rubric_md(repo):
    sections = ew.rubric_md_sections((repo.root / "solutions" / "rubric.md")
                                     .read_text(encoding="utf-8"))
    assert set(sections) == {q.id for q in MANUAL}
    assert all("**Model answer:**" in text for text in sections.values())


def test_export_written(export_zip, tmp_path, repo):
    out = tmp_path / "written"
    run_hw5("export-written", export_zip, "-o", out, cwd=tmp_path, timeout=120)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{q.id}.md" for q in MANUAL)
    rubrics = ew.load_rubrics()
    answers = ew.find_answers(ew.load_cells(repo.solution_path))
    for q in MANUAL:
        text = (out / f"{q.id}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {q.title}")
        rubric, _, body = text.partition("## Answers")
        assert rubrics[q.id] in rubric
        sections = dict(_sections(body))
        solution_part = sections[f"{NAMES[SOLUTION_ID]} (1001) — submission {SOLUTION_ID}"]
        model = rubrics[q.id].split("**Model answer:**")[1].split("**Common")[0].strip()
        assert model.splitlines()[0] in solution_part and answers[q.id] in solution_part
        assert sections[f"Corrupt Carl (4001) — submission {CORRUPT_ID}"].startswith(ew.NO_ANSWER)
        assert sections["Jean-Luc Picard (2001); Beverly Crusher (2002) — submission "
                        f"{TEMPLATE_ID}"].strip(" -\n") == ew.NO_ANSWER


def _sections(body: str):
    for chunk in body.split("\n### ")[1:]:
        head, _, rest = chunk.partition("\n")
        yield head.strip(), rest.strip()


def crash_on_marked(notebook: str, submitter_ids=()) -> dict:
    """A stand-in for `grade_all.grade_one` (runs in the spawned worker): dies on "crash*"."""
    if Path(notebook).name.startswith("crash"):
        os._exit(3)
    return ga._ungraded(GRADED, [])


def test_a_dying_worker_costs_only_its_own_submission():
    todo = [exports.Submission(n, [], Path(f"{name}.ipynb"))
            for n, name in (("1", "a"), ("2", "crash"), ("3", "b"), ("4", "c"))]
    done = {s.id: from_gradescope(graded["results"])
            for s, graded in ga._run_pool(todo, 2, progress=False, fn=crash_on_marked)}
    assert {k: r.status for k, r in done.items()} == {
        "1": GRADED, "2": INTERNAL_ERROR, "3": GRADED, "4": GRADED}
    assert "grading process died" in done["2"].staff_notes[-1]
    assert done["2"].score == 0
    rows = {s.id: ga.row_from_results(s, ga._ungraded(done[s.id].status, [])["results"], False)
            for s in todo}
    assert rows["2"].status == ga.ERROR and rows["1"].status == ga.OK


@pytest.mark.parametrize("cores, available_mb, workers", [
    (2, 24_000, 3),  # one more than the cores: a worker leaves its core idle part of the time
    (8, 24_000, 9),
    (8, 4_500, 4),  # no more than the memory holds
    (2, 300, 1),  # at least one
])
def test_default_workers_follow_cores_and_memory(cores, available_mb, workers):
    assert ga.workers_for(cores, available_mb) == workers
    assert 1 <= ga.default_workers() <= (os.cpu_count() or 1) + 1


def test_grade_all_without_notebooks_needs_no_worker(tmp_path):
    root = tmp_path / "exp"
    (root / "submission_5").mkdir(parents=True)
    (root / "submission_5" / "hw5.pdf").write_bytes(b"%PDF")
    (root / "submission_metadata.yml").write_text(
        "submission_5:\n  :submitters:\n  - :name: Ana Pdf\n    :sid: '5'\n", encoding="utf-8")
    out = tmp_path / "out"
    rows = ga.grade_all(root, out, progress=False)
    assert [(r.submission.id, r.total, r.status) for r in rows] == [("5", 0, ga.NO_NOTEBOOK)]
    grades = read_grades(out)
    assert grades["5"]["name"] == "Ana Pdf" and "hw5.pdf" in grades["5"]["notes"]
    results = json.loads((out / "results" / "5.json").read_text(encoding="utf-8"))
    assert results["score"] == 0 and "hw5.pdf" in results["output"]
    assert results["extra_data"]["hw5"]["status"] == NOT_A_NOTEBOOK
    assert (out / "histogram.png").read_bytes().startswith(PNG_MAGIC)
    again = ga.grade_all(root, out, progress=False)
    assert again[0].skipped and again[0].status == ga.NO_NOTEBOOK


# ---------------------------------------------------------------------------------------------
# grade-all (slow: real gradings on the default workers)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_grade_all_scores_names_feedback_and_plots(graded):
    out, seconds, stdout = graded
    rows = read_grades(out)
    assert set(rows) == {SOLUTION_ID, TEMPLATE_ID, MUTANT_ID, CORRUPT_ID}
    total = {k: float(r["autograded_total"]) for k, r in rows.items()}
    assert total[SOLUTION_ID] == spec.AUTO_POINTS
    assert total[TEMPLATE_ID] == 0
    assert 0 < total[MUTANT_ID] < spec.AUTO_POINTS
    assert total[CORRUPT_ID] == 0 and rows[CORRUPT_ID]["notes"]
    assert rows[CORRUPT_ID]["status"] == NOT_A_NOTEBOOK
    # graded in full; the committed solution was never run, so its saved outputs are empty
    assert rows[SOLUTION_ID]["status"] == ga.NOTES and rows[SOLUTION_ID]["notes"] == ""
    assert "no saved outputs" in rows[SOLUTION_ID]["staff_notes"]
    assert spec.STUDENT_ID_VARIABLE not in rows[SOLUTION_ID]["staff_notes"]  # '1001' is right
    assert "9999" in rows[MUTANT_ID]["staff_notes"]  # submitted by 3001
    assert "holds 2 notebooks" in rows[MUTANT_ID]["notes"]
    for k, r in rows.items():
        assert r["name"] == NAMES[k]
        assert sum(float(r[q.id]) for q in AUTO) == float(r["autograded_total"])
    assert rows[TEMPLATE_ID]["email"] == "picard@example.edu; crusher@example.edu"
    m = next(m for m in mutants.MUTANTS if m.name == "momentum_hardcoded")
    lost = {q.id for q in AUTO if any(item.id in m.fails for item in q.items)}
    assert all(float(rows[MUTANT_ID][q]) < spec.QUESTIONS_BY_ID[q].points for q in lost)

    for k in rows:
        results = json.loads((out / "results" / f"{k}.json").read_text(encoding="utf-8"))
        assert results["score"] == total[k]
        feedback = (out / "feedback" / f"{k}.txt").read_text(encoding="utf-8")
        assert "autograded total" in feedback
        assert all(q.title in feedback for q in spec.QUESTIONS)
    assert "TODO3" in (out / "feedback" / f"{MUTANT_ID}.txt").read_text(encoding="utf-8")
    for png in ("histogram.png", "question_means.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000
    assert "autograded total: mean" in stdout and "Zoë Ångström" in stdout
    print(f"\ngrade-all, 4 submissions, 2 workers: {seconds:.0f} s wall")


@pytest.mark.slow
def test_grade_all_rerun_skips_and_force_regrades(graded, export_zip):
    out, _, _ = graded
    before = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    csv_before = read_grades(out)
    start = time.monotonic()
    run_hw5("grade-all", export_zip, "-o", out, cwd=export_zip.parent)
    assert time.monotonic() - start < 30
    assert {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()} == before
    assert read_grades(out) == csv_before

    run_hw5("grade-all", export_zip, "-o", out, "--force", "--only", CORRUPT_ID,
            cwd=export_zip.parent)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "results").iterdir()}
    changed = {name for name in after if after[name] != before[name]}
    assert changed == {f"{CORRUPT_ID}.json"}
    assert read_grades(out) == csv_before


@pytest.mark.slow
def test_grade_all_summary_counts_equal_grades_csv(graded):
    """summary.md / checks.csv (from the result model) agree with grades.csv, question by
    question; the mutant's mistake is listed with what was expected and found."""
    out, _, stdout = graded
    rows = read_grades(out)
    text = (out / summary.SUMMARY_MD).read_text(encoding="utf-8")
    graded_ids = [k for k, r in rows.items() if r["status"] != ga.NOT_GRADED]
    s = summary.summarize(summary.load_results(out, graded_ids))
    assert list(s.results) == graded_ids
    for q in AUTO:
        lost = [k for k in graded_ids if float(rows[k][q.id]) < q.points]
        assert s.question_lost(q) == lost, q.id
        assert f"| {q.title} | {q.points:g} |" in text
        assert any(line.startswith(f"| {q.title} |") and f"| {len(lost)} |" in line
                   for line in text.splitlines()), q.id
    with open(out / summary.CHECKS_CSV, newline="", encoding="utf-8") as f:
        checks = list(csv.DictReader(f))
    m = next(m for m in mutants.MUTANTS if m.name == "momentum_hardcoded")
    mine = [c for c in checks if MUTANT_ID in c["example_ids"].split()]
    assert {c["item"] for c in mine} >= set(m.fails)
    assert any(c["expected"] and c["found"] for c in mine if c["item"] in m.fails)
    for c in checks:
        assert int(c["submissions"]) <= len(s.lost[c["item"]])
    assert (out / summary.MISTAKES_PNG).read_bytes().startswith(PNG_MAGIC)
    # the mutant is the solution with one builder changed: the closest pair of the export
    with open(out / "similarity.csv", newline="", encoding="utf-8") as f:
        first = next(csv.DictReader(f))
    assert {first["submission_a"], first["submission_b"]} == {SOLUTION_ID, MUTANT_ID}
    assert "summary.md" in stdout and "similarity.html" in stdout
