"""What a student wrote in a notebook: code (TODO cells, added cells) and prose (written answers),
with what the handout gives (the template's cells and lines) left out as boilerplate.

A code cell identical to one of the template's (whitespace at the ends aside) is given code and
dropped; every other code cell is the student's, kept whole (what is left of the template inside
it, such as a TODO's first comment, is removed later by the fingerprints' boilerplate). Prose is
every Markdown line that is in no template Markdown cell and is not otter's answer placeholder.
Nothing in a notebook is trusted: an unreadable one yields empty work.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from hw5.submissions import UnreadableNotebook, cell_source, read_notebook

PLACEHOLDER = re.compile(r"^_?Type your answer here, replacing this text\._?$", re.IGNORECASE)
MAX_CELL_CHARS = 20_000  # one pasted blob must not dominate (or slow) the comparison


@dataclass
class Part:
    """One cell's share of a student's work."""

    cell: int
    """Position in the notebook, from 1 (as Jupyter shows it)."""
    text: str


@dataclass
class Work:
    """The student-written code and prose of one notebook."""

    id: str
    label: str
    code: list = field(default_factory=list)
    """`Part`s of code, in notebook order"""
    prose: list = field(default_factory=list)
    """`Part`s of prose, in notebook order"""
    note: str = ""
    """Why nothing was read (an unreadable notebook)."""


@dataclass
class Boilerplate:
    """What the handout gives: the template's code cells and Markdown lines."""

    code_cells: set
    code_text: str
    prose_lines: set
    prose_text: str

    @classmethod
    def of(cls, template: Path) -> Boilerplate:
        cells = _cells(template)
        code = [s for kind, s in cells if kind == "code"]
        prose = [s for kind, s in cells if kind == "markdown"]
        return cls({_key(s) for s in code}, "\n\n".join(code),
                   {_line_key(line) for s in prose for line in s.splitlines()},
                   "\n\n".join(prose))


def _key(source: str) -> str:
    return source.strip()


def _line_key(line: str) -> str:
    return " ".join(line.split()).casefold()


def _cells(path: Path) -> list:
    """(cell_type, source) of every cell; UnreadableNotebook when the file is not a notebook."""
    nb, _ = read_notebook(path)
    cells = nb.get("cells") if isinstance(nb, dict) else None
    out = []
    for cell in cells if isinstance(cells, list) else []:
        source = cell_source(cell)
        if source is not None and isinstance(cell, dict):
            out.append((str(cell.get("cell_type")), source[:MAX_CELL_CHARS]))
    return out


def student_work(sub_id: str, label: str, path: Path | None, given: Boilerplate) -> Work:
    work = Work(sub_id, label)
    if path is None:
        work.note = "no notebook"
        return work
    try:
        cells = _cells(path)
    except UnreadableNotebook as exc:
        work.note = f"unreadable notebook ({exc})"
        return work
    for n, (kind, source) in enumerate(cells, 1):
        if kind == "code" and source.strip() and _key(source) not in given.code_cells:
            work.code.append(Part(n, source.strip("\n")))
        elif kind == "markdown":
            lines = [line for line in source.splitlines()
                     if line.strip() and _line_key(line) not in given.prose_lines
                     and not PLACEHOLDER.match(line.strip())]
            if lines:
                work.prose.append(Part(n, "\n".join(lines)))
    return work
