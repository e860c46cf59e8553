"""Which notebook of a submitted folder is graded: one rule for Gradescope and `grade-all`.

Only files whose names end in ``.ipynb`` (any case) count; hidden files and folders (which
include macOS AppleDouble ``._*`` files and ``.ipynb_checkpoints/``) and anything under
``__MACOSX/`` are ignored. ``hw5.ipynb`` (any case; the shallowest one) wins, else the first
notebook in sorted order (shallowest first).
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from hw5.kit import spec

IGNORED_FOLDERS = {"__MACOSX"}
SHOWN_FILES = 10  # files listed when the submission holds no notebook


def _ignored(rel: PurePosixPath) -> bool:
    return any(part.startswith(".") or part in IGNORED_FOLDERS for part in rel.parts)


def _order(rel: PurePosixPath):
    return (len(rel.parts), rel.as_posix())


def notebooks_in(folder: Path) -> list[PurePosixPath]:
    """The notebooks of ``folder`` (relative paths) in the order the rule ranks them."""
    if not folder.is_dir():
        return []
    found = []
    for path in folder.rglob("*"):
        rel = PurePosixPath(path.relative_to(folder).as_posix())
        if rel.name.lower().endswith(".ipynb") and not _ignored(rel) and path.is_file():
            found.append(rel)
    return sorted(found, key=_order)


def pick_notebook(folder: Path) -> tuple[Path | None, str]:
    """(the notebook to grade or None, a note for the student: which one was graded among
    several, or what to upload when there is none; "" when there is exactly one)."""
    notebooks = notebooks_in(folder)
    if not notebooks:
        return None, _no_notebook_note(folder)
    preferred = [rel for rel in notebooks if rel.name.lower() == spec.NOTEBOOK_NAME.lower()]
    chosen = (preferred or notebooks)[0]
    note = ""
    if len(notebooks) > 1:
        note = (f"Your submission holds {len(notebooks)} notebooks; only {chosen.as_posix()} "
                f"was graded.")
    return folder / chosen, note


def _no_notebook_note(folder: Path) -> str:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
        if folder.is_dir() else []
    seen = ", ".join(files[:SHOWN_FILES]) + (", ..." if len(files) > SHOWN_FILES else "")
    return (f"No notebook found in your submission (received: {seen or 'no files'}). "
            f"Upload {spec.NOTEBOOK_NAME}, the .ipynb file itself, and resubmit.")
