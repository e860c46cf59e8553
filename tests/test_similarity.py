"""The similarity report on real notebooks (the template filled in by made-up students, see
tests/similarity_students.py): a pair that shares code and answers ranks first even with renamed
variables, changed comments and moved cells; honest, independent solutions of the same TODOs stay
below the flag threshold; student text is escaped in the HTML. No notebook is executed."""
from __future__ import annotations

import csv
import time

import nbformat
import pytest

from hw5.ta import similarity
from hw5.ta.exports import open_export
from hw5.ta.similarity import extract

import similarity_students as students

HOSTILE = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def batch(tmp_path_factory, repo):
    folder = tmp_path_factory.mktemp("similarity") / "notebooks"
    folder.mkdir()
    template = repo.template()
    for name, work in students.HONEST.items():
        nbformat.write(students.notebook(template, work), folder / f"{name}.ipynb")
    a = dict(students.COPIER_A, q4=students.COPIER_A["q4"] + " " + HOSTILE)
    b = students.copier_b()
    b["todo6"] += f"\nprint({HOSTILE!r})"
    nbformat.write(students.notebook(template, a), folder / "copier_a.ipynb")
    nbformat.write(students.notebook(template, b, moved_p3=True), folder / "copier_b.ipynb")
    nbformat.write(template, folder / "template.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    out = folder.parent / "out"
    start = time.monotonic()
    with open_export(folder) as subs:
        pairs = similarity.write_similarity(subs, out, [repo.solution_path])
    return pairs, out, time.monotonic() - start


def test_students_who_share_code_rank_first(batch):
    pairs, out, seconds = batch
    first = pairs[0]
    assert {first.a.id, first.b.id} == {"copier_a", "copier_b"}
    assert first.code.score >= similarity.THRESHOLD["code"]
    assert first.prose.score >= similarity.THRESHOLD["prose"]
    with open(out / similarity.SIMILARITY_CSV, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {rows[0]["submission_a"], rows[0]["submission_b"]} == {"copier_a", "copier_b"}
    assert rows[0]["flagged"] == "1" and all(r["flagged"] == "0" for r in rows[1:])
    print(f"\nsimilarity of {len({p.a.id for p in pairs} | {p.b.id for p in pairs})} notebooks: "
          f"{seconds:.1f} s")


def test_honest_independent_solutions_are_not_flagged(batch):
    pairs, _, _ = batch
    honest = set(students.HONEST) | {similarity.REFERENCE_ID}
    scores = [(p.a.id, p.b.id, p.code.score, p.prose.score) for p in pairs
              if {p.a.id, p.b.id} <= honest]
    assert len(scores) == 6
    assert all(c < similarity.THRESHOLD["code"] and s < similarity.THRESHOLD["prose"]
               for _, _, c, s in scores), scores


def test_template_text_and_empty_work_count_for_nothing(batch, repo):
    pairs, _, _ = batch
    for p in pairs:
        if {p.a.id, p.b.id} & {"template", "broken"}:
            assert p.score == 0
    given = extract.Boilerplate.of(repo.template_path)
    work = extract.student_work("t", "t", repo.template_path, given)
    assert work.code == [] and work.prose == []
    broken = next(p.a if p.a.id == "broken" else p.b for p in pairs
                  if "broken" in (p.a.id, p.b.id))
    assert broken.note.startswith("unreadable notebook")


def test_report_escapes_student_text(batch):
    _, out, _ = batch
    html = (out / similarity.SIMILARITY_HTML).read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert html.count('<div class="pair"') >= 1 and "<mark>" in html
