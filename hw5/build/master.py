"""Read the master notebook (otter-assign format) and check it against ``hw5.kit.spec``.

The master notebook ``assignment/hw5.ipynb`` is the hand-edited source of the student template and
the solutions. This module finds its question blocks (``# BEGIN QUESTION`` raw cells with a YAML
config), tags every cell with the question it belongs to, extracts the rubric of the manually graded
questions, and refuses a master whose questions, points or headings disagree with the spec.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from hw5.kit import spec
from hw5.text import points_text  # noqa: F401 - the build's headings; tests use it

from . import fill

MASTER_PATH = Path("assignment") / spec.NOTEBOOK_NAME
# Cell metadata key under which the build records the question a cell belongs to:
# cell.metadata[CELL_META] == {"question": "<spec question id>"}.
CELL_META = "hw5"

# Section markers inside the solution Markdown cell of a manually graded question.
RUBRIC_MARKERS = {
    "model_answer": "**Model answer.**",
    "mentions": "**A full answer mentions:**",
    "partial": "**Common partial-credit cases:**",
}

_BOUNDARY = re.compile(r"#\s+(begin|end)\s+(question|solution|tests|prompt)\b", re.IGNORECASE)
_CONFIG = re.compile(r"#\s+assignment\s+config\b", re.IGNORECASE)


class MasterError(ValueError):
    """The master notebook is malformed or disagrees with the spec."""


@dataclass
class QuestionBlock:
    """One ``# BEGIN QUESTION`` ... ``# END QUESTION`` block of the master notebook."""

    id: str
    """the otter question name (a ``spec.QUESTIONS`` id)"""
    config: dict
    """the block's YAML config (name, manual, points)"""
    cells: list = field(default_factory=list)
    """indices of the master cells inside the block (boundary cells excluded)"""
    solution_cells: list = field(default_factory=list)
    """indices of the cells inside a ``# BEGIN SOLUTION`` block"""
    test_cells: list = field(default_factory=list)
    """indices of the cells inside a ``# BEGIN TESTS`` block"""


def heading(question: spec.Question) -> str:
    """The Markdown heading every question starts with, e.g. ``### P3 ... (4 points)``."""
    return f"### {question.title} ({points_text(question.points)})"


def read(path, filled: bool = True) -> nbformat.NotebookNode:
    """The master notebook; with ``filled``, its ``{{placeholders}}`` replaced (``fill``)."""
    nb = nbformat.read(str(path), as_version=4)
    return fill.fill(nb, Path(path).parent) if filled else nb


def _boundary(cell):
    if cell.cell_type != "raw":
        return None
    m = _BOUNDARY.match(cell.source.lstrip())
    return (m.group(1).lower(), m.group(2).lower()) if m else None


def question_blocks(nb) -> list[QuestionBlock]:
    """The question blocks of the master, in notebook order."""
    blocks, current, inner = [], None, None
    for i, cell in enumerate(nb.cells):
        b = _boundary(cell)
        if b == ("begin", "question"):
            if current is not None:
                raise MasterError(f"cell {i}: BEGIN QUESTION inside question {current.id!r}")
            config = yaml.safe_load(cell.source.split("\n", 1)[1] if "\n" in cell.source else "")
            if not isinstance(config, dict) or "name" not in config:
                raise MasterError(f"cell {i}: BEGIN QUESTION without a `name:` config")
            current = QuestionBlock(str(config["name"]), config)
            continue
        if b == ("end", "question"):
            if current is None:
                raise MasterError(f"cell {i}: END QUESTION without BEGIN QUESTION")
            blocks.append(current)
            current, inner = None, None
            continue
        if b is not None:
            if current is None:
                raise MasterError(f"cell {i}: {' '.join(b).upper()} outside a question")
            inner = b[1] if b[0] == "begin" else None
            continue
        if current is not None:
            current.cells.append(i)
            if inner == "solution":
                current.solution_cells.append(i)
            elif inner == "tests":
                current.test_cells.append(i)
    if current is not None:
        raise MasterError(f"question {current.id!r} has no END QUESTION")
    return blocks


def annotate(nb) -> nbformat.NotebookNode:
    """Record in each cell's metadata the question it belongs to (in place; returns ``nb``)."""
    for block in question_blocks(nb):
        for i in block.cells:
            nb.cells[i].metadata[CELL_META] = {"question": block.id}
    return nb


def rubric_sections(source: str) -> dict[str, str]:
    """Split a manual question's solution cell into its model answer, mentions and partial credit."""
    positions = {key: source.find(marker) for key, marker in RUBRIC_MARKERS.items()}
    missing = [RUBRIC_MARKERS[k] for k, pos in positions.items() if pos < 0]
    if missing:
        raise MasterError(f"solution cell lacks {missing}")
    order = sorted(positions, key=positions.get)
    if order != list(RUBRIC_MARKERS):
        raise MasterError(f"solution cell sections must come in the order {list(RUBRIC_MARKERS.values())}")
    out = {}
    for n, key in enumerate(order):
        start = positions[key] + len(RUBRIC_MARKERS[key])
        end = positions[order[n + 1]] if n + 1 < len(order) else len(source)
        out[key] = source[start:end].strip()
    return out


def manual_rubrics(nb) -> dict[str, dict[str, str]]:
    """question id -> rubric sections, for every manually graded question."""
    out = {}
    for block in question_blocks(nb):
        if not block.config.get("manual"):
            continue
        md = [i for i in block.solution_cells if nb.cells[i].cell_type == "markdown"]
        if len(md) != 1:
            raise MasterError(f"manual question {block.id!r} needs exactly one Markdown solution cell")
        try:
            out[block.id] = rubric_sections(nb.cells[md[0]].source)
        except MasterError as exc:
            raise MasterError(f"question {block.id!r}: {exc}") from None
    return out


STUDENT_ID_TAG = "otter_assign_solution_cell"  # otter strips the solution of a cell so tagged
_STUDENT_ID = re.compile(rf"^{spec.STUDENT_ID_VARIABLE}\s*=", re.M)


def _student_id_problems(nb, blocks) -> list[str]:
    """One code cell before the first question sets the student ID; otter's solution tag makes
    the template's copy blank and the solution's filled in."""
    first = min(blocks[0].cells) if blocks else len(nb.cells)
    cells = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and _STUDENT_ID.search(c.source)]
    if len(cells) != 1 or cells[0] >= first:
        return [f"exactly one code cell before the first question must set "
                f"{spec.STUDENT_ID_VARIABLE}"]
    if STUDENT_ID_TAG not in nb.cells[cells[0]].metadata.get("tags", []):
        return [f"the {spec.STUDENT_ID_VARIABLE} cell needs the tag {STUDENT_ID_TAG!r}"]
    return []


def validate(nb) -> list[QuestionBlock]:
    """Check the master against the spec; return its question blocks or raise MasterError."""
    config_cells = [c for c in nb.cells if c.cell_type == "raw" and _CONFIG.match(c.source.lstrip())]
    if len(config_cells) != 1:
        raise MasterError("the master needs exactly one `# ASSIGNMENT CONFIG` raw cell")
    blocks = question_blocks(nb)
    found = [b.id for b in blocks]
    expected = [q.id for q in spec.QUESTIONS]
    if found != expected:
        raise MasterError(f"questions in the master {found} differ from spec.QUESTIONS {expected}")
    problems = []
    for block in blocks:
        q = spec.QUESTIONS_BY_ID[block.id]
        if bool(block.config.get("manual", False)) != (q.kind == spec.MANUAL):
            problems.append(f"{q.id}: `manual:` must be {q.kind == spec.MANUAL}")
        if block.config.get("points") != q.points:
            problems.append(f"{q.id}: points {block.config.get('points')} != spec {q.points}")
        first_md = next((nb.cells[i] for i in block.cells if nb.cells[i].cell_type == "markdown"), None)
        if first_md is None or not first_md.source.startswith(heading(q)):
            problems.append(f"{q.id}: the first Markdown cell must start with {heading(q)!r}")
        if q.kind == spec.AUTO and not block.test_cells:
            problems.append(f"{q.id}: an autograded question needs a public test (BEGIN TESTS block)")
    problems += _student_id_problems(nb, blocks)
    if problems:
        raise MasterError("master notebook disagrees with the spec:\n  " + "\n  ".join(problems))
    manual_rubrics(nb)  # raises on a malformed rubric
    return blocks
