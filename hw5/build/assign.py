"""Master notebook -> student and solution notebooks, with ``otter assign``.

Otter does the transformation (solution stripping, prompts, response cells, check cells, test
files); it runs with ``run_tests: false`` and ``generate: false`` (set in the master's ASSIGNMENT
CONFIG, and ``no_run_tests=True`` here), so nothing is executed. Its output is then normalised so
that two builds give byte-identical files:

* cell ids are derived from the question and the position (otter adds cells with random ids);
* cell metadata keeps only ``tags``, ``editable``, ``deletable`` and the build's ``hw5`` question tag;
* outputs and execution counts are cleared; notebook metadata is reduced to a fixed set of keys;
* the solution notebook loses otter's markers (``# BEGIN SOLUTION``, prompt blocks, ``# SOLUTION``).
"""
from __future__ import annotations

import copy
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from hw5.kit import spec

from . import master as master_mod

KEEP_CELL_METADATA = ("tags", "editable", "deletable", master_mod.CELL_META)
NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}
SOLUTION_TAG = "otter_assign_solution_cell"
ANSWER_TAG = "otter_answer_cell"
_CHECK_CALL = re.compile(r"""grader\.check\(["'](\w+)["']\)""")


@dataclass
class AssignOutput:
    """What the build takes from one otter-assign run."""

    student: nbformat.NotebookNode
    """the student notebook (solutions stripped, public checks)"""
    solution: nbformat.NotebookNode
    """the solution notebook (otter's autograder notebook, markers removed)"""
    tests: dict
    """test file name -> text, for the student's ``tests/`` folder"""


def run_otter_assign(master_nb: nbformat.NotebookNode) -> AssignOutput:
    """Run ``otter assign`` on an annotated copy of the master in a temporary directory."""
    from otter.assign import main as otter_assign  # import late: otter is slow to import

    nb = master_mod.annotate(copy.deepcopy(master_nb))
    with tempfile.TemporaryDirectory(prefix="hw5-build-") as tmp:
        tmp = Path(tmp)
        src = tmp / "master" / spec.NOTEBOOK_NAME
        src.parent.mkdir()
        nbformat.write(nb, str(src))
        out = tmp / "out"
        # otter leaves a tempfile.mkdtemp() of test files behind: keep it inside our temp dir.
        saved, tempfile.tempdir = tempfile.tempdir, str(tmp)
        try:
            otter_assign(str(src), str(out), no_pdfs=True, no_run_tests=True)
        finally:
            tempfile.tempdir = saved
        student = nbformat.read(str(out / "student" / spec.NOTEBOOK_NAME), as_version=4)
        solution = nbformat.read(str(out / "autograder" / spec.NOTEBOOK_NAME), as_version=4)
        tests_dir = out / "student" / "tests"
        tests = {p.name: p.read_text(encoding="utf-8")
                 for p in sorted(tests_dir.glob("*.py"))} if tests_dir.is_dir() else {}
    return AssignOutput(normalise(student), normalise(clean_solution(solution)), tests)


# ------------------------------------------------------------------------------------------------
# Solution notebook: drop otter's markers
# ------------------------------------------------------------------------------------------------
_MARKER_LINE = re.compile(r"^\s*#\s*(BEGIN SOLUTION( NO PROMPT)?|END SOLUTION)\s*$")
_SOLUTION_SUFFIX = re.compile(r"\s*#\s*SOLUTION( NO PROMPT)?\s*$")


def clean_solution_source(source: str) -> str:
    """Remove otter's solution markers and prompt blocks from a solution cell's code."""
    out, in_prompt = [], False
    for line in source.split("\n"):
        stripped = line.rstrip()
        if stripped.endswith("# BEGIN PROMPT"):
            in_prompt = True
            continue
        if stripped.endswith("# END PROMPT"):
            in_prompt = False
            continue
        if in_prompt or _MARKER_LINE.match(line):
            continue
        out.append(_SOLUTION_SUFFIX.sub("", line))
    return "\n".join(out).strip("\n")


def clean_solution(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and SOLUTION_TAG in cell.metadata.get("tags", []):
            cell.source = clean_solution_source(cell.source)
    return nb


# ------------------------------------------------------------------------------------------------
# Normalisation (determinism)
# ------------------------------------------------------------------------------------------------
def question_of(cell) -> str | None:
    return (cell.metadata.get(master_mod.CELL_META) or {}).get("question")


def normalise(nb) -> nbformat.NotebookNode:
    """A copy of ``nb`` with deterministic ids, metadata and no outputs."""
    nb = copy.deepcopy(nb)
    otter_meta = nb.metadata.get("otter")
    nb.metadata = copy.deepcopy(NOTEBOOK_METADATA)
    if otter_meta:
        nb.metadata["otter"] = otter_meta
    nb.nbformat, nb.nbformat_minor = 4, 5

    previous_question = None
    counters: dict[str, int] = {}
    for cell in nb.cells:
        meta = {k: cell.metadata[k] for k in KEEP_CELL_METADATA if k in cell.metadata}
        question = question_of(cell)
        if question is None:
            # Cells otter adds: check cells name their question; response cells follow it.
            m = _CHECK_CALL.search(cell.source) if cell.cell_type == "code" else None
            if m:
                question = m.group(1)
            elif ANSWER_TAG in meta.get("tags", []):
                question = previous_question
            if question is not None:
                meta[master_mod.CELL_META] = {"question": question}
        if "tags" in meta:
            meta["tags"] = list(dict.fromkeys(meta["tags"]))
        cell.metadata = meta
        group = question or "text"
        counters[group] = counters.get(group, 0) + 1
        cell.id = f"{group}-{counters[group]}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        previous_question = question
    nbformat.validate(nb)
    return nb


def dumps(nb) -> str:
    """The notebook as stable JSON text (sorted keys, one-space indent, trailing newline)."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"
