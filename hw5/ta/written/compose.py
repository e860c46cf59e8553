"""The sections of a submission's PDF and of the outline: the cover, then each manual question's
prompt, figures and answer (or, in the outline, empty space for them)."""
from __future__ import annotations

from hw5.kit import spec
from hw5.text import points_text

from .layout import COVER_PAGES, Span, fixed_pages, spans
from .markdown import AnswerRenderer
from .notebook import Written
from .pdf import Section, h

NO_ANSWER = "(no answer)"
NO_PLOT = "(no plot saved in the notebook)"
MAX_COVER_NOTES = 12


def _heading(span: Span) -> str:
    q = span.question
    return f'<h1 class="q">{h(q.title)} ({h(points_text(q.points))})</h1>'


def _prompt(span: Span, prompts: dict, renderer: AnswerRenderer) -> str:
    text = prompts.get(span.question.id, "")
    return f'<div class="prompt">{renderer.render(text)}</div>' if text else ""


def _figures(figures: list) -> str:
    shown = [f for f in figures if f.data_uri]
    if not shown:
        return f'<p class="placeholder">{NO_PLOT}</p>'
    return "".join(f'<div class="figure"><img alt="figure {n}" src="{f.data_uri}"></div>'
                   for n, f in enumerate(shown, 1))


def question_section(span: Span, prompts: dict, written: Written | None) -> tuple[Section, list]:
    """The section of one question (``written`` None: the outline's) and what its rendering cut."""
    renderer = AnswerRenderer(written.attachments if written else {})
    parts = [_heading(span), _prompt(span, prompts, renderer)]
    cuts: list = []
    if written is None:
        if span.with_figures:
            parts.append('<h2 class="part">Plots</h2><div class="figure-space">the plots saved in '
                         "the student's notebook above the question</div>")
        parts.append('<h2 class="part">Answer</h2><div class="space">the student\'s answer'
                     "</div>")
    else:
        if span.with_figures:
            parts.append('<h2 class="part">Plots</h2>'
                         + _figures(written.figures.get(span.question.id, [])))
        text = written.answers.get(span.question.id, "")
        answer = renderer.render(text) if text else f'<p class="placeholder">{NO_ANSWER}</p>'
        cuts = list(renderer.cuts)
        parts.append(f'<h2 class="part">Answer</h2><div class="answer">{answer}</div>')
        notes = [what for qid, what in written.cuts if qid == span.question.id] + cuts
        if notes:
            parts.append("".join(f'<p class="note">Note: {h(n)}.</p>' for n in notes))
    space = 6.0 if span.pages == 1 else 7.0  # the outline's answer box; the region is the pages
    if span.with_figures and written is None:
        space = 4.0
    return Section(span.question.id, span.question.title, span.first_page, span.pages,
                   "".join(parts), space_in=space), cuts


def cover_section(sub=None, written: Written | None = None, notes=()) -> Section:
    """The cover: who submitted (blank lines in the outline), the pages of each question, and
    what was odd or cut."""
    def row(label, value):
        return f"<tr><td>{h(label)}</td><td><b>{h(value)}</b></td></tr>"

    who = (row("Name", sub.names or "(unknown)") + row("Student ID", sub.sids or "(unknown)")
           + row("Submission", sub.id)) if sub is not None else (
        row("Name", "") + row("Student ID", "") + row("Submission", ""))
    pages = "".join(
        f"<tr><td>{h(s.question.title)}</td><td>{h(points_text(s.question.points))}</td>"
        f"<td>{s.first_page}" + (f"–{s.last_page}" if s.pages > 1 else "") + "</td></tr>"
        for s in spans())
    total = sum(s.question.points for s in spans())
    body = (f'<div class="cover"><h1>{h(spec.ASSIGNMENT)}</h1><p>Written answers graded by the '
            f"course staff: {h(points_text(total))}. Pages 1–{fixed_pages()} are the same for "
            "every student; pages after them continue answers that did not fit.</p>"
            f'<table class="who">{who}</table>'
            '<table class="pages"><tr><th>question</th><th>points</th><th>pages</th></tr>'
            f"{pages}</table>")
    notes = list(notes)
    if written is not None and written.problem:
        notes.insert(0, written.problem)
    if notes:
        shown = notes[:MAX_COVER_NOTES]
        more = len(notes) - len(shown)
        body += "<h2 class=\"part\">Notes</h2><ul>" + "".join(
            f"<li class=\"note\">{h(n)}</li>" for n in shown) + (
            f"<li class=\"note\">… {more} more in cuts.csv</li>" if more else "") + "</ul>"
    body += "</div>"
    return Section("cover", "Cover", 1, COVER_PAGES, body)
