"""Finding and reading a submitted notebook: the one rule for which file of a submission is
graded (Gradescope's entry and `hw5 grade-all` both use it), and a lenient reader of notebook
JSON that never trusts the file (the sandbox, the saved-output evidence and `export-written`).

The rule (`pick_notebook`):
  (a) only files whose name ends in ``.ipynb``, in any letter case;
  (b) never AppleDouble ``._*`` files, hidden files or anything inside a hidden folder or
      ``__MACOSX/`` (or ``__pycache__/``);
  (c) a file named ``hw5.ipynb`` (any case) if there is one, else the first candidate; candidates
      are ordered by depth, then by path, so a file at the top wins over one in a subfolder.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

from hw5.kit import spec

NOTEBOOK_SUFFIX = ".ipynb"
IGNORED_FOLDERS = {"__MACOSX", "__pycache__"}
_SHOWN_FILES = 5


def is_candidate(rel: str) -> bool:
    """Whether the file at relative posix path `rel` may be the submitted notebook."""
    parts = PurePosixPath(rel).parts
    return (bool(parts) and parts[-1].lower().endswith(NOTEBOOK_SUFFIX)
            and not any(p.startswith(".") or p in IGNORED_FOLDERS for p in parts))


def candidates(folder) -> list:
    """Relative posix paths of the notebooks in `folder` that the rule considers, in its order."""
    folder = Path(folder)
    found = [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]
    return sorted((rel for rel in found if is_candidate(rel)),
                  key=lambda rel: (rel.count("/"), rel))


def pick_notebook(folder) -> tuple:
    """(path of the notebook to grade or None, a note for the student and the staff: "" when
    the choice was obvious)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None, f"no folder {folder.name}/"
    notebooks = candidates(folder)
    if not notebooks:
        files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
        shown = ", ".join(files[:_SHOWN_FILES]) + (
            f" and {len(files) - _SHOWN_FILES} more" if len(files) > _SHOWN_FILES else "")
        return None, (f"No .ipynb file in the submission (files: {shown})." if files
                      else "No .ipynb file in the submission (it is empty).")
    preferred = [rel for rel in notebooks
                 if PurePosixPath(rel).name.lower() == spec.NOTEBOOK_NAME.lower()]
    chosen = (preferred or notebooks)[0]
    note = ""
    if len(notebooks) > 1:
        note = (f"{len(notebooks)} notebooks submitted ({', '.join(notebooks)}); only {chosen} "
                "was graded.")
    return folder / chosen, note


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


def read_notebook(path, max_bytes: int = spec.SANDBOX_NOTEBOOK_MAX_BYTES) -> tuple:
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
