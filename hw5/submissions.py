"""Finding and reading a submitted notebook: the one rule for which file of a submission is
graded (Gradescope's entry and `hw5 grade-all` both use it), and a lenient reader of notebook
JSON that never trusts the file (the saved-output evidence, `export-written`, the sandbox).

The rule (`pick_notebook`): only files whose names end in ``.ipynb`` (any case) count; hidden
files and folders (which include macOS AppleDouble ``._*`` files and ``.ipynb_checkpoints/``) and
anything under ``__MACOSX/`` are ignored. ``hw5.ipynb`` (any case; the shallowest one) wins, else
the first notebook in sorted order (shallowest first).
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from hw5 import settings
from hw5.kit import spec

IGNORED_FOLDERS = {"__MACOSX"}
SHOWN_FILES = 10  # files listed when the submission holds no notebook


def is_candidate(rel) -> bool:
    """Whether the file at relative path `rel` may be the submitted notebook."""
    rel = PurePosixPath(str(rel).replace("\\", "/"))
    return (rel.name.lower().endswith(".ipynb")
            and not any(part.startswith(".") or part in IGNORED_FOLDERS for part in rel.parts))


def notebooks_in(folder) -> list[PurePosixPath]:
    """The notebooks of `folder` (relative paths) in the order the rule ranks them."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [PurePosixPath(p.relative_to(folder).as_posix()) for p in folder.rglob("*")]
    found = [rel for rel in found if is_candidate(rel) and (folder / rel).is_file()]
    return sorted(found, key=lambda rel: (len(rel.parts), rel.as_posix()))


def pick_notebook(folder) -> tuple[Path | None, str]:
    """(the notebook to grade or None, a note for the student: which one was graded among
    several, or what to upload when there is none; "" when there is exactly one)."""
    folder = Path(folder)
    notebooks = notebooks_in(folder)
    if not notebooks:
        return None, _no_notebook_note(folder)
    preferred = [rel for rel in notebooks if rel.name.lower() == spec.NOTEBOOK_NAME.lower()]
    chosen = (preferred or notebooks)[0]
    note = ""
    if len(notebooks) > 1:
        note = (f"Your submission holds {len(notebooks)} notebooks; only {chosen.as_posix()} "
                "was graded.")
    return folder / chosen, note


def _no_notebook_note(folder: Path) -> str:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) \
        if folder.is_dir() else []
    seen = ", ".join(files[:SHOWN_FILES]) + (", ..." if len(files) > SHOWN_FILES else "")
    return (f"No notebook found in your submission (received: {seen or 'no files'}). "
            f"Upload {spec.NOTEBOOK_NAME}, the .ipynb file itself, and resubmit.")


# ---------------------------------------------------------------------------------------------
# Reading a notebook file leniently
# ---------------------------------------------------------------------------------------------
class UnreadableNotebook(ValueError):
    """The file is not a notebook that can be read. `kind` says why (one of KINDS), `info` holds
    the particulars (``size``, ``line``, ``column``, ``error``, ``nbformat``) for a message."""

    KINDS = ("unreadable", "not-a-file", "empty", "too-large", "not-utf8", "blank", "too-deep",
             "truncated", "bad-json", "not-a-notebook", "old-format", "no-cells")

    def __init__(self, kind: str, **info):
        super().__init__(kind + (f" ({info})" if info else ""))
        self.kind = kind
        self.info = info


def read_notebook(path, max_bytes: int = settings.SANDBOX_NOTEBOOK_MAX_BYTES) -> tuple:
    """(notebook as a JSON dict in nbformat 4 when it was older, the nbformat it was converted
    from or None). Raises UnreadableNotebook; nothing in the file is trusted."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UnreadableNotebook("not-a-file")
        if size == 0:
            raise UnreadableNotebook("empty")
        if size > max_bytes:
            raise UnreadableNotebook("too-large", size=size, limit=max_bytes)
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise UnreadableNotebook("unreadable", error=exc.strerror or type(exc).__name__) from None
    try:
        text = raw_bytes.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableNotebook("not-utf8") from None
    del raw_bytes
    if not text.strip():
        raise UnreadableNotebook("blank")
    try:
        raw = json.loads(text)
    except RecursionError:
        raise UnreadableNotebook("too-deep") from None
    except json.JSONDecodeError as exc:
        kind = "truncated" if exc.pos >= len(text.rstrip()) - 1 else "bad-json"
        raise UnreadableNotebook(kind, line=exc.lineno, column=exc.colno, error=exc.msg) from None
    if not isinstance(raw, dict):
        raise UnreadableNotebook("not-a-notebook")
    converted_from = None
    major = raw.get("nbformat")
    if isinstance(major, int) and not isinstance(major, bool) and major < 4:
        try:
            import nbformat

            # reads() rejoins v3's line lists before converting; convert() alone does not
            raw = json.loads(nbformat.writes(nbformat.reads(text, as_version=4)))
        except Exception as exc:  # noqa: BLE001 - any failure of an old, hand-made file
            raise UnreadableNotebook("old-format", nbformat=major,
                                     error=type(exc).__name__) from None
        converted_from = major
    if not isinstance(raw.get("cells"), list):
        raise UnreadableNotebook("no-cells")
    return raw, converted_from


def cell_source(cell) -> str | None:
    """A cell's source as one string (notebooks store str or a list of lines), None if neither."""
    if not isinstance(cell, dict):
        return None
    src = cell.get("source", "")
    if isinstance(src, list):
        src = "".join(s for s in src if isinstance(s, str))
    return src if isinstance(src, str) else None
