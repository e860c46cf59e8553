"""Small text helpers shared by the grader, the build and the TA tools: numbers and points as a
person writes them, shortened text, plain-text and Markdown tables.

Pure Python, no third-party imports: the sandbox, the trusted checks and the build all use it.
"""
from __future__ import annotations

ELLIPSIS = "…"


def number(x) -> str:
    """``2.0`` -> ``'2'``, ``0.25`` -> ``'0.25'``, ``540900`` -> ``'540900'`` (never ``1e+06``
    for a whole number)."""
    x = float(x)
    return str(int(x)) if x.is_integer() else f"{x:g}"


def points_text(points) -> str:
    """``2`` -> ``'2 points'``, ``1`` -> ``'1 point'``, ``0.5`` -> ``'0.5 points'``."""
    text = number(points)
    return f"{text} point{'' if text == '1' else 's'}"


def score_text(score, max_score) -> str:
    """``'0.75/1'``"""
    return f"{number(score)}/{number(max_score)}"


def shorten(text, limit: int) -> str:
    """`text` as one string of at most `limit` characters, cut with an ellipsis."""
    text = str(text)
    return text if len(text) <= limit else text[: max(0, limit - 1)] + ELLIPSIS


def table(rows, align: str = "", rules=(1,)) -> str:
    """A plain-text table of string rows; `align` has one letter per column (``l``/``r``,
    default ``l``); a rule of dashes goes before each row index in `rules` (1: under the
    header). Trailing spaces are stripped."""
    rows = [[str(c) for c in row] for row in rows]
    if not rows:
        return ""
    ncol = max(len(r) for r in rows)
    rows = [r + [""] * (ncol - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(ncol)]
    align = align.ljust(ncol, "l")
    lines = ["  ".join(c.rjust(w) if a == "r" else c.ljust(w)
                       for c, w, a in zip(r, widths, align)).rstrip() for r in rows]
    width = max(len(line) for line in lines)
    for index in sorted(set(rules), reverse=True):
        lines.insert(index, "-" * width)
    return "\n".join(lines)


def md_escape(text) -> str:
    """`text` safe inside one Markdown table cell (pipes escaped, one line)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def md_table(header, rows) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
