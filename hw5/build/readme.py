"""The generated parts of the repository's ``README.md``: the assignment's points, from the spec.

The README is written by hand except between a line ``<!-- hw5 build: NAME -->`` and the next
``<!-- /hw5 build -->``: ``hw5 build`` rewrites those blocks (``BLOCKS``), so a course that gives P3
5 points or adds an experiment changes only ``hw5/kit/spec.py`` and the README follows; the
freshness checks (tests/test_build.py, ``hw5 validate``) fail when it was not rebuilt.
"""
from __future__ import annotations

import re

from hw5 import text
from hw5.kit import spec

README_NAME = "README.md"
_BLOCK = re.compile(r"(<!-- hw5 build: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- /hw5 build -->)",
                    re.S)


def _short(question) -> str:
    """``P1.1 (2)``: the question's number as the notebook shows it, with its points."""
    return f"{question.title.split()[0]} ({text.number(question.points)})"


def points_table() -> str:
    """Per part: the autograded and the staff-graded questions, with their points."""
    lines = ["| part | autograded | graded by the staff | points |", "|---|---|---|---:|"]
    for part in spec.PARTS:
        questions = [q for q in spec.QUESTIONS if q.part == part]
        auto = ", ".join(_short(q) for q in questions if q.kind == spec.AUTO)
        manual = ", ".join(_short(q) for q in questions if q.kind == spec.MANUAL)
        lines.append(f"| {part} | {auto} | {manual} | {text.number(spec.PART_POINTS[part])} |")
    lines.append(f"| **total** | **{text.number(spec.AUTO_POINTS)}** | "
                 f"**{text.number(spec.MANUAL_POINTS)}** | **{text.number(spec.TOTAL_POINTS)}** |")
    return "\n".join(lines) + "\n"


def gradescope_points() -> str:
    """What the Gradescope assignment is worth, autograder and manual questions."""
    return (f"The autograder scores {text.number(spec.AUTO_POINTS)} points (`spec.AUTO_POINTS`); "
            f"the {text.number(spec.MANUAL_POINTS)} points of the questions graded by the staff "
            f"(`solutions/rubric.md`) are added on Gradescope as manually graded questions. "
            f"*Test Autograder* must give the solution {text.number(spec.AUTO_POINTS)}/"
            f"{text.number(spec.AUTO_POINTS)} and the template "
            f"0/{text.number(spec.AUTO_POINTS)}.\n")


BLOCKS = {"points": points_table, "gradescope_points": gradescope_points}


class ReadmeError(ValueError):
    """A generated block names nothing ``BLOCKS`` knows."""


def render(readme: str) -> str:
    """``readme`` with every generated block rewritten."""
    def block(m):
        if m.group("name") not in BLOCKS:
            raise ReadmeError(f"README.md: unknown generated block {m.group('name')!r}; known: "
                              f"{', '.join(BLOCKS)}")
        return m.group(1) + BLOCKS[m.group("name")]() + m.group(4)

    return _BLOCK.sub(block, readme)
