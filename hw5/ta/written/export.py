"""``hw5 export-written EXPORT -o OUTDIR --pdf``: OUTDIR/pdf/<submission id>.pdf per submission,
OUTDIR/outline.pdf (the Gradescope template), OUTDIR/overflow.csv (answers continued after the
fixed pages) and OUTDIR/cuts.csv (everything left out or changed)."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from hw5.ta import export_written as ew
from hw5.ta.exports import open_export

from . import pdf
from .compose import cover_section, question_section
from .layout import fixed_pages, spans
from .notebook import Written, read_written

PDF_DIR = "pdf"
OUTLINE = "outline.pdf"
OVERFLOW_CSV = "overflow.csv"
CUTS_CSV = "cuts.csv"
SUBMISSIONS_PER_WORKER = 10


@dataclass
class Result:
    """What one submission's PDF became."""

    submission: str
    path: Path
    pages: int
    overflow: list = field(default_factory=list)
    """(question id, "first-last") of the overflow pages"""
    shrunk: list = field(default_factory=list)
    """(question id, scale) of the answers shown smaller"""
    cuts: list = field(default_factory=list)
    """(question id or "", what)"""


def _label(sub) -> str:
    return f"{sub.names or 'submission'} · submission {sub.id}" if sub else "Outline"


def render_pdf(target, prompts: dict, written: Written | None, sub=None) -> Result:
    """Write the PDF of one submission (``written`` None: the outline) to `target`."""
    sections, cuts = [], list(written.cuts) if written else []
    for span in spans():
        section, rendered_cuts = question_section(span, prompts, written)
        sections.append(section)
        cuts += [(span.question.id, c) for c in rendered_cuts]
    notes = list(sub.notes) if sub is not None else []
    short = {s.question.id: s.question.title.split()[0] for s in spans()}  # "P1.2", "Q1"
    notes += [f"{short.get(qid, 'notebook')}: {what}" for qid, what in cuts]
    cover = cover_section(sub, written, notes) if written is not None or sub is not None \
        else cover_section()
    left = _label(sub)
    placed, overflow_at = [pdf.place(cover, left, fixed_pages() + 1)], fixed_pages() + 1
    result = Result(sub.id if sub else "outline", Path(target), 0, cuts=cuts)
    for section in sections:
        p = pdf.place(section, left, overflow_at)
        if p.overflow:
            last = overflow_at + len(p.overflow) - 1
            result.overflow.append((section.key, f"{overflow_at}-{last}"))
            overflow_at += len(p.overflow)
        if p.scale != 1.0:
            result.shrunk.append((section.key, p.scale))
        placed.append(p)
    pdf.write(placed, target)
    result.pages = overflow_at - 1
    return result


def _render_submission(sub, layout: ew.Layout, pdf_dir: Path) -> Result:
    if sub.notebook is None:
        written = Written(problem="no notebook in the submission")
    else:
        written = read_written(sub.notebook, layout)
    target = pdf_dir / f"{sub.id}.pdf"
    try:
        return render_pdf(target, layout.prompts, written, sub)
    except Exception as exc:  # noqa: BLE001 - one odd notebook must not stop the batch
        problem = (f"the answers could not be rendered ({type(exc).__name__}): read them in "
                   "the Markdown files")
        result = render_pdf(target, layout.prompts, Written(problem=problem), sub)
        result.cuts.append(("", problem))
        return result


def export_pdfs(export, outdir, jobs: int = 1, progress=None,
                per_worker: int = SUBMISSIONS_PER_WORKER) -> list[Result]:
    """The outline and one PDF per submission of `export` (on up to `jobs` processes, each with
    at least `per_worker` submissions); the two CSVs beside them."""
    outdir = Path(outdir)
    pdf_dir = outdir / PDF_DIR
    pdf_dir.mkdir(parents=True, exist_ok=True)
    layout = ew.template_layout()
    outline = render_pdf(outdir / OUTLINE, layout.prompts, None)
    assert outline.pages == fixed_pages()
    with open_export(export) as subs:
        # a worker costs a second or two of imports: worth it from a few dozen submissions
        jobs = max(1, min(jobs, len(subs) // max(1, per_worker)))
        if jobs == 1:
            results = []
            for n, sub in enumerate(subs, 1):
                results.append(_render_submission(sub, layout, pdf_dir))
                if progress:
                    progress(n, len(subs))
        else:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # spawn: a fresh interpreter per worker, nothing inherited from the caller's threads
            with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as ex:
                futures = [ex.submit(_render_submission, sub, layout, pdf_dir) for sub in subs]
                results = []
                for n, future in enumerate(futures, 1):
                    results.append(future.result())
                    if progress:
                        progress(n, len(subs))
    _write_csvs(outdir, results)
    return results


def _write_csvs(outdir: Path, results: list[Result]) -> None:
    titles = {s.question.id: s.question.title for s in spans()}
    with open(outdir / OVERFLOW_CSV, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", "question", "pages"])
        for r in results:
            for qid, pages in r.overflow:
                w.writerow([r.submission, titles.get(qid, qid), pages])
    with open(outdir / CUTS_CSV, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["submission", "question", "what"])
        for r in results:
            for qid, scale in r.shrunk:
                w.writerow([r.submission, titles.get(qid, qid),
                            f"shown at {round(scale * 100)}% size to fit its pages"])
            for qid, what in r.cuts:
                w.writerow([r.submission, titles.get(qid, qid or ""), what])
