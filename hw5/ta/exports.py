"""Read a batch of submissions: a Gradescope "Export Submissions" zip or folder, or a plain folder
of notebooks, into `Submission` records (who submitted, which notebook to grade).

Gradescope's export holds ``submission_metadata.yml`` and one folder ``submission_<id>/`` per
submission, often below one top-level folder (``assignment_<n>_export/``). The YAML comes from
Ruby: its keys are symbols (``:submitters:``, ``:name:``, ``:sid:``, ``:email:``,
``:created_at:``, ``:score:``) and values may carry Ruby tags (``!ruby/object:BigDecimal``); both
are read leniently here. A group submission lists several submitters.

A plain folder of ``.ipynb`` files is read as one submission per file (the file's stem is the id,
no student details). Which notebook of a submission folder is graded follows the one rule of
`hw5.submissions.pick_notebook`, the same as on Gradescope.
"""
from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from hw5.submissions import is_candidate, pick_notebook

METADATA_NAME = "submission_metadata.yml"
SUBMISSION_PREFIX = "submission_"
IGNORED_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
# Largest export (uncompressed) we extract: far above a course's worth of notebooks.
MAX_EXTRACT_BYTES = 20 * 2**30


class ExportError(ValueError):
    """The export cannot be read at all (not a zip/folder, no submissions found)."""


@dataclass
class Submitter:
    """One student of a (possibly group) submission, as Gradescope lists them."""

    name: str = ""
    """Full name ("" when unknown)."""
    sid: str = ""
    """Student id ("" when unknown)."""
    email: str = ""
    """E-mail address ("" when unknown)."""


@dataclass
class Submission:
    """One submission of the export and the notebook to grade for it."""

    id: str
    """Gradescope's submission id (the folder name without ``submission_``), or the file stem."""
    submitters: list = field(default_factory=list)
    """`Submitter` records; several for a group submission, none when the export says nothing."""
    notebook: Path | None = None
    """The notebook to grade, or None when the submission holds no ``.ipynb``."""
    notes: list = field(default_factory=list)
    """What was odd about the submission (several notebooks, none, not in the metadata...)."""
    created_at: str = ""
    """Submission time as the metadata gives it ("" when unknown)."""
    gradescope_score: float | None = None
    """The score Gradescope recorded at export time, when the metadata has one."""

    @property
    def names(self) -> str:
        return "; ".join(s.name for s in self.submitters if s.name)

    @property
    def sids(self) -> str:
        return "; ".join(s.sid for s in self.submitters if s.sid)

    @property
    def emails(self) -> str:
        return "; ".join(s.email for s in self.submitters if s.email)

    @property
    def label(self) -> str:
        """A human label: ``Name (sid)[; ...] — submission <id>``."""
        people = "; ".join(f"{s.name or '(no name)'}" + (f" ({s.sid})" if s.sid else "")
                           for s in self.submitters)
        return f"{people} — submission {self.id}" if people else f"submission {self.id}"


# ---------------------------------------------------------------------------------------------
# Opening: zip or folder
# ---------------------------------------------------------------------------------------------
def add_export_arguments(parser, output_help: str) -> None:
    """The EXPORT and -o/--output arguments every TA verb over an export takes."""
    parser.add_argument("export", help="Gradescope 'Export Submissions' zip or folder, or a "
                                       "folder of .ipynb files")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help=output_help)


@contextlib.contextmanager
def open_export(path):
    """Yield the submissions of the export at `path` (zip or folder). A zip is extracted to a
    temporary folder that lives until the ``with`` block ends (the notebooks' paths point there).
    """
    path = Path(path)
    if path.is_dir():
        yield read_export(path)
        return
    if not path.is_file():
        raise ExportError(f"{path}: no such file or folder")
    if not zipfile.is_zipfile(path):
        raise ExportError(f"{path}: neither a folder nor a zip file")
    tmp = Path(tempfile.mkdtemp(prefix="hw5-export-"))
    try:
        extract_zip(path, tmp)
        yield read_export(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract_zip(zip_path, dest) -> None:
    """Extract `zip_path` into `dest`, refusing paths that escape it; names not flagged UTF-8 are
    decoded as UTF-8 when they can be (zip tools often write UTF-8 without the flag)."""
    dest = Path(dest).resolve()
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        if sum(i.file_size for i in infos) > MAX_EXTRACT_BYTES:
            raise ExportError(f"{zip_path}: more than {MAX_EXTRACT_BYTES / 2**30:.0f} GiB "
                              "uncompressed; extract it yourself and pass the folder")
        for info in infos:
            name = _member_name(info)
            parts = [p for p in PurePosixPath(name.replace("\\", "/")).parts
                     if p not in ("", ".", "/")]
            if not parts or ".." in parts or info.is_dir():
                continue
            target = dest.joinpath(*parts).resolve()
            if dest not in target.parents:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def _member_name(info: zipfile.ZipInfo) -> str:
    if info.flag_bits & 0x800:
        return info.filename
    try:  # zipfile decoded the raw bytes as cp437; try UTF-8 instead
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


# ---------------------------------------------------------------------------------------------
# Reading a folder
# ---------------------------------------------------------------------------------------------
def read_export(folder) -> list[Submission]:
    """The submissions of an extracted export or plain folder, sorted by id."""
    folder = Path(folder)
    root = find_root(folder)
    meta_path = root / METADATA_NAME
    if meta_path.is_file():
        subs = _from_metadata(root, load_metadata(meta_path))
    else:
        sub_dirs = [d for d in _children(root)
                    if d.is_dir() and d.name.startswith(SUBMISSION_PREFIX)]
        if sub_dirs:
            subs = [_from_folder(d, _submission_id(d.name), []) for d in sub_dirs]
            for s in subs:
                s.notes.append(f"no {METADATA_NAME}: student unknown")
        else:
            subs = _from_plain_folder(root)
    if not subs:
        raise ExportError(f"{folder}: no submissions found (expected {METADATA_NAME} with "
                          f"{SUBMISSION_PREFIX}<id>/ folders, or .ipynb files)")
    return sorted(subs, key=lambda s: _sort_key(s.id))


def find_root(folder: Path) -> Path:
    """The folder holding the metadata (or the notebooks): `folder` itself, or the single folder
    inside it (zips often wrap everything in one top-level folder)."""
    current = folder
    for _ in range(3):
        if (current / METADATA_NAME).is_file():
            return current
        entries = _children(current)
        dirs = [e for e in entries if e.is_dir()]
        files = [e for e in entries if e.is_file()]
        if len(dirs) == 1 and not files:
            current = dirs[0]
            continue
        break
    hits = sorted(folder.rglob(METADATA_NAME), key=lambda p: len(p.parts))
    hits = [h for h in hits if not (set(h.relative_to(folder).parts) & IGNORED_PARTS)]
    return hits[0].parent if hits else current


def _children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.name not in IGNORED_PARTS and not p.name.startswith("."))


class _LenientLoader(yaml.SafeLoader):
    """SafeLoader that reads unknown tags (``!ruby/object:...``, ``!ruby/sym``) as plain data."""


def _construct_untagged(loader, _suffix, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_LenientLoader.add_multi_constructor("!", _construct_untagged)
_LenientLoader.add_multi_constructor("tag:", _construct_untagged)


def load_metadata(path) -> dict:
    """``submission_metadata.yml`` as ``{folder name: record}`` with the Ruby-symbol colons
    stripped from every key (``:submitters:`` -> ``submitters``)."""
    text = Path(path).read_text(encoding="utf-8-sig", errors="replace")
    try:
        data = yaml.load(text, Loader=_LenientLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ExportError(f"{path}: not valid YAML ({exc})") from None
    data = _strip_symbols(data)
    if not isinstance(data, dict):
        raise ExportError(f"{path}: expected a mapping of submissions")
    return {str(k): v for k, v in data.items()}


def _strip_symbols(value):
    if isinstance(value, dict):
        return {(k.lstrip(":") if isinstance(k, str) else k): _strip_symbols(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_symbols(v) for v in value]
    return value


def _text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _score(value) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+:[-+0-9.eE]+", text):  # Ruby BigDecimal dump "18:0.1e2"
        text = text.split(":", 1)[1]
    try:
        return float(text)
    except ValueError:
        return None


def _submitters(record) -> list[Submitter]:
    people = record.get("submitters") if isinstance(record, dict) else None
    if isinstance(people, dict):
        people = [people]
    out = []
    for p in people if isinstance(people, list) else []:
        if isinstance(p, dict):
            out.append(Submitter(_text(p.get("name")), _text(p.get("sid")), _text(p.get("email"))))
    return out


def _submission_id(folder_name: str) -> str:
    raw = folder_name[len(SUBMISSION_PREFIX):] if folder_name.startswith(SUBMISSION_PREFIX) \
        else folder_name
    return safe_id(raw or folder_name)


def safe_id(raw: str) -> str:
    """A submission id usable as a file name."""
    cleaned = re.sub(r"[^\w.-]+", "_", raw.strip(), flags=re.UNICODE).strip("._")
    return cleaned or "unnamed"


def _from_metadata(root: Path, meta: dict) -> list[Submission]:
    subs, seen = [], set()
    for key, record in meta.items():
        record = record if isinstance(record, dict) else {}
        folder = root / key
        sub = _from_folder(folder, _submission_id(key), _submitters(record))
        sub.created_at = _text(record.get("created_at"))
        sub.gradescope_score = _score(record.get("score"))
        subs.append(sub)
        seen.add(key)
    for d in _children(root):
        if d.is_dir() and d.name not in seen and d.name.startswith(SUBMISSION_PREFIX):
            sub = _from_folder(d, _submission_id(d.name), [])
            sub.notes.append(f"folder not listed in {METADATA_NAME}: student unknown")
            subs.append(sub)
    return subs


def _from_folder(folder: Path, sub_id: str, submitters: list) -> Submission:
    sub = Submission(sub_id, submitters)
    if not folder.is_dir():
        sub.notes.append(f"no folder {folder.name}/ in the export")
        return sub
    sub.notebook, note = pick_notebook(folder)
    if note:
        sub.notes.append(note)
    return sub


def _from_plain_folder(root: Path) -> list[Submission]:
    notebooks = [p for p in _children(root) if p.is_file() and is_candidate(p.name)]
    subs, used = [], set()
    for nb in notebooks:
        sub_id = safe_id(nb.stem)
        n = 2
        while sub_id in used:  # "a b.ipynb" and "a_b.ipynb"
            sub_id, n = f"{safe_id(nb.stem)}_{n}", n + 1
        used.add(sub_id)
        subs.append(Submission(sub_id, [], nb))
    return subs


def _sort_key(sub_id: str):
    return (0, int(sub_id), "") if sub_id.isdigit() else (1, 0, sub_id)
