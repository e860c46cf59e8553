"""Read a submitted notebook defensively and turn it into the cells the sandbox will run.

Nothing here trusts the file: it may be empty, not JSON, truncated, an old nbformat, huge, or
hand-edited. Only code cells are kept (their source only: outputs, attachments, metadata and tags
are dropped), and shell / package-manager lines are disabled.
"""
from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from hw5.kit import spec
from hw5.submissions import UnreadableNotebook, read_notebook


class InvalidNotebook(ValueError):
    """The submission cannot be read as a notebook; the message is for the student."""


@dataclass
class CodeCell:
    index: int
    """Position in the submitted notebook (0-based, counting every cell, markdown included)."""
    source: str
    """The source as it will run (shell lines disabled)."""


@dataclass
class Submission:
    cells: list[CodeCell]
    """The code cells to run, in order."""
    messages: list[str] = field(default_factory=list)
    """Notes for the student about what was changed or skipped while reading."""
    disabled_lines: int = 0
    """How many shell / pip lines were disabled."""


_CLEAR_OUTPUTS_HINT = ("In Jupyter use Kernel → Restart Kernel and Clear All Outputs, save, "
                       "and submit the .ipynb file again.")

# Line magics that run a shell or install packages (`%matplotlib` and the like still run).
_SHELL_MAGICS = frozenset({"pip", "conda", "mamba", "micromamba", "uv", "sx", "system", "sc"})
_ASSIGN_TARGET_TOKENS = frozenset({",", ".", "[", "]", "(", ")", "*", ":"})
_TODO_LABEL = re.compile(spec.TODO_CELL_PATTERN, re.IGNORECASE)
# Cell magics that run the whole cell in a shell or another interpreter.
_SHELL_CELL = re.compile(
    r"^\s*%%(?:!|sh|bash|zsh|script|system|sx|perl|ruby|pip|conda|python2|python3|pypy)(?:\s|$)")


# What the student reads for each way a file is not a readable notebook
# (`hw5.submissions.UnreadableNotebook.kind`; its `info` fills the blanks).
_UNREADABLE = {
    "unreadable": "The submitted file could not be read ({error}).",
    "not-a-file": "The submission is not a file.",
    "empty": ("The submitted notebook file is empty (0 bytes). Make sure the notebook was saved "
              "before you submitted it."),
    "too-large": ("The submitted notebook is {size_mb:.0f} MB, more than the {limit_mb:.0f} MB the "
                  "grader accepts; large outputs (images, long printouts) are the usual cause. "
                  + _CLEAR_OUTPUTS_HINT),
    "not-utf8": ("The submitted file is not a text (UTF-8) file, so it is not a Jupyter "
                 "notebook. Submit the .ipynb file itself."),
    "blank": ("The submitted notebook file contains only whitespace. Make sure the notebook was "
              "saved before you submitted it."),
    "too-deep": "The submitted file is nested too deeply to be a notebook.",
    "truncated": ("The submitted notebook file is cut off (the JSON ends early, at line {line}); "
                  "it was probably saved or uploaded incompletely. Open it in Jupyter, save it "
                  "again and resubmit."),
    "bad-json": ("The submitted file is not a valid notebook: its JSON is broken at line {line}, "
                 "column {column} ({error}). Files edited by hand or merged with git often end "
                 "up like this; open it in Jupyter, save it, and resubmit."),
    "not-a-notebook": ("The submitted file is JSON but not a notebook (no notebook object at the "
                       "top level)."),
    "old-format": ("The submitted notebook uses the old notebook format {nbformat}, and converting "
                   "it failed ({error}). Open it in a current Jupyter, save it, and resubmit."),
    "no-cells": "The submitted notebook has no list of cells.",
}


def _unreadable_message(exc: UnreadableNotebook) -> str:
    info = dict(exc.info)
    if "size" in info:
        info["size_mb"], info["limit_mb"] = info["size"] / 1e6, info.get("limit", 0) / 1e6
    try:
        return _UNREADABLE[exc.kind].format(**info)
    except (KeyError, IndexError, ValueError):
        return "The submitted file could not be read as a notebook."


def read_submission(path: str | Path, max_bytes: int) -> Submission:
    """Return the code cells of the notebook at `path`, or raise InvalidNotebook saying why."""
    try:
        raw, converted_from = read_notebook(path, max_bytes)
    except UnreadableNotebook as exc:
        raise InvalidNotebook(_unreadable_message(exc)) from None
    messages: list[str] = []
    if converted_from is not None:
        messages.append(f"The notebook was in the old format nbformat {converted_from}; it was "
                        "converted to nbformat 4 for grading.")
    cells = raw["cells"]  # read_notebook guarantees a list
    out: list[CodeCell] = []
    disabled = 0
    notes: list[str] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if not isinstance(source, str):
            messages.append(f"Cell {index + 1}: its source is not text; it was skipped.")
            continue
        source, n_disabled, first = _disable_shell(source)
        if n_disabled:
            disabled += n_disabled
            notes.append(f"cell {index + 1} (`{first[:60]}`)")
        out.append(CodeCell(index, source))
    if not out:
        raise InvalidNotebook("The submitted notebook has no code cells, so there is nothing to "
                              "grade. Check that you submitted the right file.")
    if disabled:
        shown = ", ".join(notes[:5]) + (f" and {len(notes) - 5} more" if len(notes) > 5 else "")
        messages.append(
            f"{disabled} shell or package-install line(s) were not run by the grader: {shown}. "
            "Everything the assignment needs is already installed; nothing else can be.")
    return Submission(out, messages, disabled)


def todo_label(source: str) -> str | None:
    """``"TODO3"`` when the cell's first line is a ``# TODO3 ...`` comment, else None."""
    first = source.lstrip("\n").split("\n", 1)[0]
    match = _TODO_LABEL.match(first)
    return match.group(1).upper().replace(" ", "") if match else None


def _shell_lines(source: str) -> list[tuple[int, int]]:
    """(first, last) physical lines (0-based) of each logical line that IPython would run as a
    shell escape (`!cmd`, `x = !cmd`) or a shell / package-manager line magic (`%pip ...`,
    `x = %sx ...`). Logical lines come from IPython's own tokenizer helper, so a continuation
    line that starts with `!=` is never mistaken for one."""
    from IPython.core.inputtransformer2 import make_tokens_by_line

    found = []
    try:
        logical = make_tokens_by_line(source.splitlines(keepends=True))
    except Exception:
        return found
    for line in logical:
        toks = [t for t in line if t.type not in (tokenize.INDENT, tokenize.DEDENT,
                                                  tokenize.NEWLINE, tokenize.NL,
                                                  tokenize.ENDMARKER, tokenize.COMMENT)
                and t.string.strip()]
        if not toks:
            continue
        start = 0
        for ix, tok in enumerate(toks[:-1]):
            if tok.string == "=":
                if all(t.type == tokenize.NAME or t.string in _ASSIGN_TARGET_TOKENS
                       for t in toks[:ix]):
                    start = ix + 1
                break
        head = toks[start]
        after = toks[start + 1].string if start + 1 < len(toks) else ""
        if head.string in ("!", "!!") or (head.string == "%" and after in _SHELL_MAGICS):
            found.append((toks[0].start[0] - 1, line[-1].end[0] - 1))
    return found


def _disable_shell(source: str) -> tuple[str, int, str]:
    """Replace shell / pip lines by `pass` (keeping indentation); return (source, count, first)."""
    lines = source.split("\n")
    if lines and _SHELL_CELL.match(lines[0]):
        return ("# [this shell cell was not run by the grader]\n"
                + "\n".join("# " + line for line in lines), len(lines), lines[0].strip())
    count, first = 0, ""
    for begin, end in _shell_lines(source):
        line = lines[begin]
        indent = line[: len(line) - len(line.lstrip())]
        lines[begin] = f"{indent}pass  # [not run by the grader] {line.strip()}"
        for i in range(begin + 1, min(end, len(lines) - 1) + 1):
            lines[i] = f"{indent}# {lines[i]}"
        count += 1
        first = first or line.strip()
    return "\n".join(lines), count, first
