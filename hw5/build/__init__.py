"""``hw5 build``: regenerate the distributed files from the master notebook.

``assignment/hw5.ipynb`` (otter-assign format, hand-edited) is the only source of notebook content:

=====================================  ====================================================
``student_template/hw5.ipynb``         solutions stripped, public checks (``grader.check``)
``student_template/tests/*.py``        otter exception-based public tests
``student_template/hw5kit/``           copy of ``hw5/kit`` less ``student.KIT_EXCLUDE``
``student_template/README.md``         running locally / on Colab, points table
``solutions/hw5.ipynb``                the solution notebook
``solutions/rubric.md``                points table and rubric of the manual questions
``README.md`` (generated blocks only)  the points tables (``readme``)
``autograder/hw5-autograder.zip``      Gradescope autograder (see ``autograder_zip``)
``dist/hw5-student.zip``               student handout with MNIST (not committed; ``student_zip``)
``dist/rubric.pdf``                    the rubric as PDF, if pandoc + TeX exist (``rubric_pdf``)
=====================================  ====================================================

Building twice gives byte-identical files; nothing is executed. Nothing is built while the spec
is inconsistent (``hw5.kit.spec_problems``): the build stops with the list of problems.

Conventions of the master notebook (checked by ``master.validate``):

- one ``# ASSIGNMENT CONFIG`` raw cell (``run_tests: false``, ``generate: false``, test files in the
  exception-based format);
- one ``# BEGIN QUESTION`` block per ``spec.QUESTIONS`` entry, in order, named by its id, with the
  spec's ``points`` and ``manual: true`` for manual questions; its first Markdown cell starts with
  ``master.heading(question)`` (title and points);
- autograded questions have a ``# BEGIN TESTS`` block calling ``hw5kit.public`` (public, fast);
- manual questions have one Markdown solution cell with the sections ``**Model answer.**``,
  ``**A full answer mentions:**`` and ``**Common partial-credit cases:**`` (they become the rubric);
- code the student writes starts with a ``# TODOn`` line and sits in a ``# BEGIN SOLUTION`` block;
- one code cell before the first question sets ``spec.STUDENT_ID_VARIABLE``: tagged
  ``otter_assign_solution_cell`` with a prompt block, so the template's ID is blank and the
  solution's is filled in (P3's numbers come from it);
- Markdown text writes numbers as ``{{placeholders}}`` (``fill.values``: spec, measured reference
  results, and the course's due date, late and collaboration policy from
  ``assignment/course.yaml``); ``master.read`` fills them, so every output (notebooks, rubric,
  ``export-written``) reads the same text.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from hw5.kit import spec, spec_problems

from . import assign, autograder_zip, master, readme, rubric, rubric_pdf, student, student_zip

STUDENT_DIR = "student_template"
SOLUTIONS_DIR = "solutions"
AUTOGRADER_DIR = "autograder"
RUBRIC_NAME = "rubric.md"


def _write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


def outputs(root: Path) -> dict[str, bytes]:
    """Every generated file except the zip: relative POSIX path -> content."""
    master_nb = master.read(root / master.MASTER_PATH)
    master.validate(master_nb)
    result = assign.run_otter_assign(master_nb)

    files: dict[str, bytes] = {}
    nb_name = spec.NOTEBOOK_NAME
    files[f"{STUDENT_DIR}/{nb_name}"] = assign.dumps(result.student).encode()
    for name, text in result.tests.items():
        files[f"{STUDENT_DIR}/tests/{name}"] = text.encode()
    kit = root / student.KIT_DIR
    for rel in student.kit_files(root):
        files[f"{STUDENT_DIR}/{student.KIT_PACKAGE}/{rel.as_posix()}"] = \
            student.kit_copy(rel, (kit / rel).read_bytes())
    files[f"{STUDENT_DIR}/README.md"] = student.readme().encode()
    files[f"{SOLUTIONS_DIR}/{nb_name}"] = assign.dumps(result.solution).encode()
    files[f"{SOLUTIONS_DIR}/{RUBRIC_NAME}"] = rubric.render(master_nb).encode()
    readme_path = root / readme.README_NAME
    if readme_path.is_file():
        files[readme.README_NAME] = readme.render(readme_path.read_text(encoding="utf-8")).encode()
    return files


def build_all(root=".", out=None) -> list[Path]:
    """Build from the repository at ``root`` into ``out`` (default: ``root``); return the files written.

    ``student_template/`` is entirely generated and is replaced; in ``solutions/`` and
    ``autograder/`` only the generated files are (over)written.
    """
    spec_problems.require_consistent()
    root = Path(root).resolve()
    out = Path(out).resolve() if out is not None else root
    files = outputs(root)  # everything is computed before anything is touched

    shutil.rmtree(out / STUDENT_DIR, ignore_errors=True)
    written = [_write(out / rel, data) for rel, data in sorted(files.items())]
    written.append(autograder_zip.build(root, out / AUTOGRADER_DIR))
    written.append(student_zip.build(root, files, out / student_zip.DIST_DIR, STUDENT_DIR))
    pdf = rubric_pdf.build(out / SOLUTIONS_DIR / RUBRIC_NAME, out / student_zip.DIST_DIR)
    if pdf is not None:
        written.append(pdf)
    for path in written:
        print(f"wrote {path.relative_to(out).as_posix()}")
    return written
