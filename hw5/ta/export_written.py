"""`hw5 export-written EXPORT -o OUTDIR`: one Markdown file per manually graded question, with the
rubric at the top and every student's answer below it, for grading written answers side by side.

Answers are found by content, not by cell position: a question starts at the Markdown cell holding
its heading (``### <spec title> (<points>)``, see `hw5.build.master.heading`), which is the
prompt; the answer is the cells after it, up to the next question heading, a ``grader.check`` cell,
an otter ``<!-- END QUESTION -->`` marker or the notebook's next section heading. The otter
placeholder left unchanged counts as no answer. Text a student typed into the prompt cell itself is
kept too (lines the template's prompt does not have). When the heading is gone, the cells tagged
with the question in their metadata (``hw5.question``, written by the build) are used instead.
"""
from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from hw5.build.master import CELL_META
from hw5.kit import spec
from hw5.submissions import UnreadableNotebook, cell_source, read_notebook
from hw5.text import points_text

from .exports import ExportError, Submission, add_export_arguments, open_export

ROOT = Path(__file__).resolve().parents[2]
NO_ANSWER = "(no answer)"
PLACEHOLDER = re.compile(r"_?Type your answer here, replacing this text\._?", re.IGNORECASE)
OTTER_MARKER = re.compile(r"<!--\s*(BEGIN|END)\s+QUESTION\s*-->", re.IGNORECASE)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
MANUAL_QUESTIONS = tuple(q for q in spec.QUESTIONS if q.kind == spec.MANUAL)


def register(sub) -> None:
    p = sub.add_parser("export-written", help="collect the written answers of a Gradescope export "
                                              "into one Markdown file per manually graded question")
    add_export_arguments(p, "folder for <question id>.md")
    p.add_argument("--pdf", action="store_true",
                   help="also one PDF per submission for Gradescope (OUTDIR/pdf/<id>.pdf, same "
                        "pages per question), the template OUTDIR/outline.pdf, overflow.csv and "
                        "cuts.csv")
    p.add_argument("-j", "--jobs", type=int, default=min(2, os.cpu_count() or 1),
                   help="processes rendering PDFs (default: %(default)s)")
    p.set_defaults(func=export_written_command)


def export_written_command(args) -> int:
    try:
        written = export_written(args.export, args.output)
    except ExportError as exc:
        print(f"hw5 export-written: {exc}", file=sys.stderr)
        return 2
    for path, answered, total in written:
        print(f"{path}: {answered}/{total} answered")
    if getattr(args, "pdf", False):
        from hw5.ta.written.command import export_pdfs_command

        return export_pdfs_command(args.export, args.output, max(1, args.jobs))
    return 0


# ---------------------------------------------------------------------------------------------
# Reading notebooks leniently
# ---------------------------------------------------------------------------------------------
@dataclass
class Cell:
    cell_type: str
    source: str
    question: str | None = None
    """``metadata.hw5.question`` when the cell still has it."""


def load_cells(path) -> list[Cell]:
    """The cells of the notebook at `path` (read leniently; raises UnreadableNotebook)."""
    raw, _ = read_notebook(path)
    out = []
    for c in raw["cells"]:
        src = cell_source(c)
        if src is None:
            continue
        meta = c.get("metadata")
        tag = meta.get(CELL_META) if isinstance(meta, dict) else None
        question = tag.get("question") if isinstance(tag, dict) else None
        out.append(Cell(str(c.get("cell_type", "")), src,
                        question if isinstance(question, str) else None))
    return out


# ---------------------------------------------------------------------------------------------
# Finding answers
# ---------------------------------------------------------------------------------------------
def _norm(text: str) -> str:
    return " ".join(text.replace("*", "").replace("`", "").split()).casefold()


def headings(source: str) -> list[tuple[int, str]]:
    """(level, normalised text) of every Markdown heading line in `source`."""
    out = []
    for line in source.splitlines():
        m = _HEADING.match(line)
        if m:
            out.append((len(m.group(1)), _norm(m.group(2))))
    return out


def _is_title(text: str, question: spec.Question) -> bool:
    title = _norm(question.title)
    return text == title or (text.startswith(title) and not text[len(title)].isalnum())


def question_of_heading(text: str) -> spec.Question | None:
    matches = [q for q in spec.QUESTIONS if _is_title(text, q)]
    return max(matches, key=lambda q: len(q.title)) if matches else None


def _first_heading(source: str) -> tuple[int, str] | None:
    stripped = OTTER_MARKER.sub("", source).strip()
    if not stripped:
        return None
    m = _HEADING.match(stripped.splitlines()[0])
    return (len(m.group(1)), _norm(m.group(2))) if m else None


@dataclass
class Layout:
    """What the template tells us about the notebook's structure (when the template is there)."""

    prompt_lines: dict = field(default_factory=dict)
    """question id -> normalised lines of its prompt cell"""
    prompts: dict = field(default_factory=dict)
    """question id -> the prompt's text (heading and otter markers removed)"""
    section_headings: set | None = None
    """normalised texts of the template's non-question headings; None = unknown"""


def template_layout(template=None) -> Layout:
    template = Path(template) if template else ROOT / "student_template" / spec.NOTEBOOK_NAME
    try:
        cells = load_cells(template)
    except (UnreadableNotebook, OSError):
        return Layout()
    layout = Layout(section_headings=set())
    for cell in cells:
        if cell.cell_type != "markdown":
            continue
        for _level, text in headings(cell.source):
            q = question_of_heading(text)
            if q is None:
                layout.section_headings.add(text)
            else:
                layout.prompt_lines.setdefault(q.id, {_norm(line) for line in
                                                      cell.source.splitlines()})
                layout.prompts.setdefault(q.id, "\n".join(
                    line for line in OTTER_MARKER.sub("", cell.source).splitlines()
                    if not _HEADING.match(line)).strip())
    return layout


def _is_boundary(cell: Cell, layout: Layout) -> bool:
    if cell.cell_type == "code":
        return "grader.check(" in cell.source
    if cell.cell_type != "markdown":
        return False
    if re.match(r"\s*<!--\s*END\s+QUESTION", cell.source, re.IGNORECASE):
        return True
    if any(question_of_heading(text) for _lvl, text in headings(cell.source)):
        return True
    first = _first_heading(cell.source)
    if first is None:
        return False
    level, text = first
    if level <= 2:
        return True
    if level == 3:  # a section heading of the notebook, not one the student wrote
        return layout.section_headings is None or text in layout.section_headings
    return False


def _clean_markdown(source: str) -> str:
    text = OTTER_MARKER.sub("", source)
    text = PLACEHOLDER.sub("", text)
    return text.strip()


def _clean_code(source: str) -> str:
    text = source.strip()
    if not text or text in ("...", "pass"):
        return ""
    return f"```python\n{text}\n```"


def _answer_from(cells: list[Cell]) -> str:
    parts = []
    for cell in cells:
        if cell.cell_type == "code":
            part = _clean_code(cell.source)
        else:
            part = _clean_markdown(cell.source)
        if part:
            parts.append(part)
    return "\n\n".join(parts)


def _prompt_extra(prompt: Cell, question: spec.Question, layout: Layout) -> str:
    """Lines a student typed into the prompt cell itself (the template's prompt lacks them)."""
    known = layout.prompt_lines.get(question.id)
    if known is None:
        return ""
    extra = [line for line in prompt.source.splitlines()  # an edited heading is not an answer
             if line.strip() and _norm(line) not in known and not _HEADING.match(line)]
    return _clean_markdown("\n".join(extra))


def find_answers(cells: list[Cell], layout: Layout | None = None) -> dict[str, str]:
    """manual question id -> the student's answer ("" when none)."""
    layout = layout or Layout()
    heading_at: dict[str, int] = {}
    for i, cell in enumerate(cells):
        if cell.cell_type != "markdown":
            continue
        for _lvl, text in headings(cell.source):
            q = question_of_heading(text)
            if q is not None:
                heading_at.setdefault(q.id, i)
    answers = {}
    for q in MANUAL_QUESTIONS:
        if q.id in heading_at:
            start = heading_at[q.id]
            body = []
            for cell in cells[start + 1:]:
                if _is_boundary(cell, layout):
                    break
                body.append(cell)
            text = _answer_from(body)
            extra = _prompt_extra(cells[start], q, layout)
        else:  # heading edited away: fall back on the build's metadata tags
            tagged = [c for c in cells if c.question == q.id]
            if tagged and tagged[0].cell_type == "markdown":
                extra, tagged = _prompt_extra(tagged[0], q, layout), tagged[1:]
            else:
                extra = ""
            text = _answer_from([c for c in tagged if not _is_boundary(c, layout)])
        answers[q.id] = "\n\n".join(p for p in (extra, text) if p)
    return answers


# ---------------------------------------------------------------------------------------------
# The rubric
# ---------------------------------------------------------------------------------------------
def load_rubrics(root: Path = ROOT) -> dict[str, str]:
    """question id -> rubric Markdown; from the master notebook when present (the source of
    truth), else from ``solutions/rubric.md``; {} when neither is there."""
    try:
        from hw5.build import master

        rubrics = master.manual_rubrics(master.read(root / master.MASTER_PATH))
        return {qid: "\n\n".join([
            "**A full answer mentions:**", r["mentions"],
            "**Model answer:**", r["model_answer"],
            "**Common partial-credit cases:**", r["partial"]]) for qid, r in rubrics.items()}
    except Exception:  # noqa: BLE001 - not in a source checkout: try the generated rubric
        pass
    try:
        text = (root / "solutions" / "rubric.md").read_text(encoding="utf-8")
    except OSError:
        return {}
    return rubric_md_sections(text)


def rubric_md_sections(text: str) -> dict[str, str]:
    """question id -> the body of its ``### <title> (...)`` section in ``rubric.md``."""
    out, current, lines = {}, None, []
    for line in text.splitlines() + ["## end"]:
        m = _HEADING.match(line)
        if m and len(m.group(1)) <= 3:
            if current is not None:
                out[current] = "\n".join(lines).strip()
            q = question_of_heading(_norm(m.group(2))) if len(m.group(1)) == 3 else None
            current = q.id if q is not None and q.kind == spec.MANUAL else None
            lines = []
        elif current is not None:
            lines.append(line)
    return out


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
def export_written(export, outdir) -> list[tuple[Path, int, int]]:
    """Write OUTDIR/<question id>.md for every manual question; return (path, answered, total)."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    layout = template_layout()
    rubrics = load_rubrics()
    with open_export(export) as subs:
        per_sub: list[tuple[Submission, dict, str]] = []
        for s in subs:
            problems = list(s.notes)
            answers: dict = {}
            if s.notebook is not None:
                try:
                    answers = find_answers(load_cells(s.notebook), layout)
                except UnreadableNotebook as exc:
                    problems.append(f"{s.notebook.name} could not be read ({exc.kind})")
            per_sub.append((s, answers, "; ".join(problems)))
    written = []
    for q in MANUAL_QUESTIONS:
        answered = sum(1 for _s, a, _p in per_sub if a.get(q.id))
        lines = [f"# {q.title} ({points_text(q.points)})", "",
                 f"{spec.ASSIGNMENT}. Written answers of {len(per_sub)} submissions "
                 f"({answered} answered), collected by `hw5 export-written`.", "",
                 "## Rubric", "", rubrics.get(q.id, "(rubric not found: see solutions/rubric.md)"),
                 ""]
        if layout.prompts.get(q.id):
            lines[4:4] = ["## Question", "", layout.prompts[q.id], ""]
        lines += ["## Answers", ""]
        for s, answers, problem in per_sub:
            lines += [f"### {s.label}", ""]
            text = answers.get(q.id, "")
            lines.append(text if text else NO_ANSWER)
            if problem:
                lines += ["", f"_Note: {problem}._"]
            lines += ["", "---", ""]
        path = outdir / f"{q.id}.md"
        path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
        written.append((path, answered, len(per_sub)))
    return written
