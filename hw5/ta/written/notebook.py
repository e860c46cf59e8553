"""What one submission's PDF shows, read from its notebook: the answers (found exactly as the
Markdown export finds them), the figures each notebook question is about (the image outputs of
the code cells between the previous question's heading and its own), and the images attached
to Markdown cells. Nothing in the notebook is trusted; every cut is listed in `Written.cuts`."""
from __future__ import annotations

from dataclasses import dataclass, field

from hw5.build.master import CELL_META
from hw5.submissions import UnreadableNotebook, cell_source, read_notebook
from hw5.ta import export_written as ew

from .figures import IMAGE_TYPES, Figure, decode_b64, embeddable
from .layout import (MAX_ANSWER_CHARS, MAX_ANSWER_LINES, MAX_FIGURES, MAX_OUTPUTS_SCANNED,
                     manual_questions)


@dataclass
class Written:
    """A submission's written answers and what goes with them."""

    answers: dict = field(default_factory=dict)
    """question id -> the answer's Markdown ("" = no answer), cut at MAX_ANSWER_CHARS"""
    figures: dict = field(default_factory=dict)
    """question id -> [Figure] (notebook questions only)"""
    attachments: dict = field(default_factory=dict)
    """attachment name -> (mime type, base64 text) of the Markdown cells' attachments"""
    cuts: list = field(default_factory=list)
    """(question id or "", what was cut or changed)"""
    problem: str = ""
    """why the notebook could not be read ("" when it was)"""


def read_written(path, layout: ew.Layout | None = None) -> Written:
    """The answers, figures and attachments of the notebook at `path` (never raises for a bad
    notebook: `problem` says what was wrong)."""
    out = Written()
    try:
        raw, _ = read_notebook(path)
        answers = ew.find_answers(ew.load_cells(path), layout)
    except UnreadableNotebook as exc:
        out.problem = f"the notebook could not be read ({exc.kind})"
        return out
    cells = [c for c in raw["cells"] if isinstance(c, dict)]
    for q in manual_questions():
        out.answers[q.id] = bounded_answer(answers.get(q.id, ""), q.id, out.cuts)
    out.attachments = _attachments(cells)
    starts = _question_starts(cells)
    for q in manual_questions():
        if q.part == "notebook":
            out.figures[q.id] = _figures_before(cells, starts, q.id, out.cuts)
    return out


def bounded_answer(text: str, qid: str, cuts: list) -> str:
    """`text` cut at MAX_ANSWER_CHARS characters and MAX_ANSWER_LINES lines (listed in `cuts`)."""
    if len(text) > MAX_ANSWER_CHARS:
        cuts.append((qid, f"answer cut at {MAX_ANSWER_CHARS:,} of {len(text):,} characters"))
        text = text[:MAX_ANSWER_CHARS] + "\n\n…"
    lines = text.split("\n")
    if len(lines) > MAX_ANSWER_LINES:
        cuts.append((qid, f"answer cut at {MAX_ANSWER_LINES} of {len(lines):,} lines"))
        text = "\n".join(lines[:MAX_ANSWER_LINES]) + "\n\n…"
    return text


def _question_starts(cells: list) -> dict:
    """question id (any spec question) -> index of the cell with its heading (or, when the
    heading is gone, of the first cell the build tagged with it)."""
    starts: dict = {}
    tagged: dict = {}
    for i, cell in enumerate(cells):
        meta = cell.get("metadata")
        tag = meta.get(CELL_META) if isinstance(meta, dict) else None
        if isinstance(tag, dict) and isinstance(tag.get("question"), str):
            tagged.setdefault(tag["question"], i)
        if cell.get("cell_type") != "markdown":
            continue
        source = cell_source(cell) or ""
        for _level, text in ew.headings(source):
            q = ew.question_of_heading(text)
            if q is not None:
                starts.setdefault(q.id, i)
    return {**tagged, **starts}


def _figures_before(cells: list, starts: dict, qid: str, cuts: list) -> list:
    end = starts.get(qid)
    if end is None:
        cuts.append((qid, "question heading not found: no figures looked for"))
        return []
    begin = max([i for i in starts.values() if i < end], default=-1) + 1
    found, scanned = [], 0
    for cell in cells[begin:end]:
        if cell.get("cell_type") != "code" or not isinstance(cell.get("outputs"), list):
            continue
        for output in cell["outputs"]:
            scanned += 1
            if scanned > MAX_OUTPUTS_SCANNED:
                break
            data = output.get("data") if isinstance(output, dict) else None
            if isinstance(data, dict):
                mime = next((m for m in IMAGE_TYPES if m in data), None)
                if mime:
                    found.append(data[mime])
    if scanned > MAX_OUTPUTS_SCANNED:
        cuts.append((qid, f"only the first {MAX_OUTPUTS_SCANNED:,} outputs before the question "
                          "were searched for figures"))
    if len(found) > MAX_FIGURES:
        cuts.append((qid, f"{len(found) - MAX_FIGURES} earlier figure(s) left out: the last "
                          f"{MAX_FIGURES} before the question are shown"))
        found = found[-MAX_FIGURES:]
    figures = []
    for n, value in enumerate(found, 1):
        fig = embeddable(decode_b64(value), f"figure {n}")
        if fig.note:
            cuts.append((qid, fig.note))
        figures.append(fig)
    return figures


def _attachments(cells: list) -> dict:
    out: dict = {}
    for cell in cells:
        att = cell.get("attachments")
        if cell.get("cell_type") != "markdown" or not isinstance(att, dict):
            continue
        for name, bundle in att.items():
            if not isinstance(name, str) or not isinstance(bundle, dict) or name in out:
                continue
            mime = next((m for m in IMAGE_TYPES if m in bundle), None)
            if mime:
                out[name] = bundle[mime]
    return out


def attachment_figure(attachments: dict, name: str) -> Figure:
    if name not in attachments:
        return Figure(note=f"attachment {name!r} not shown: not in the notebook")
    return embeddable(decode_b64(attachments[name]), f"attachment {name!r}")
