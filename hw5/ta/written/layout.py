"""The fixed layout every PDF shares, and the limits that bound the work per submission.

A cover page, then each manually graded question (spec order) on its own page span: one page for
a question answered in words, two for a notebook question (its plots, then the answer). The span
is fixed; an answer that does not fit is first shrunk (`SCALES`), then continued on overflow
pages after the last span, which the overflow CSV lists.
"""
from __future__ import annotations

from dataclasses import dataclass

from hw5.kit import spec

PAGE_SIZE = "Letter"  # Gradescope's templates are Letter; A4 pages would be scaled, not cut
COVER_PAGES = 1
TEXT_PAGES = 1
FIGURE_PAGES = 2
SCALES = (1.0, 0.85, 0.72)  # font scales tried, in order, before an answer overflows

# Bounds on what one submission can cost (all cuts are listed in the PDF and in cuts.csv).
MAX_ANSWER_CHARS = 20_000  # about 6 dense pages: far beyond any honest answer
MAX_ANSWER_LINES = 400  # a 400-row table is 8 pages already
MAX_FORMULAS = 150  # rendered per answer; the rest are shown as TeX source
MAX_FORMULA_CHARS = 500
MAX_FIGURES = 4  # per question: the last ones before it (the plots right above the question)
MAX_IMAGE_BYTES = 8 * 2**20  # one embedded image, decoded
MAX_DECODE_PIXELS = 60_000_000  # never decode a larger image
MAX_SHOWN_PIXELS = 2_500_000  # larger images are scaled down to this before embedding
MAX_OUTPUTS_SCANNED = 2_000  # code-cell outputs looked at per question


@dataclass(frozen=True)
class Span:
    """The pages of one question in every PDF (1-based page numbers)."""

    question: spec.Question
    first_page: int
    pages: int

    @property
    def with_figures(self) -> bool:
        """Notebook questions are about the plots above them."""
        return self.question.part == "notebook"

    @property
    def last_page(self) -> int:
        return self.first_page + self.pages - 1


def manual_questions() -> tuple:
    return tuple(q for q in spec.QUESTIONS if q.kind == spec.MANUAL)


def spans() -> tuple:
    """The page span of every manually graded question, in order."""
    out, page = [], COVER_PAGES + 1
    for q in manual_questions():
        n = FIGURE_PAGES if q.part == "notebook" else TEXT_PAGES
        out.append(Span(q, page, n))
        page += n
    return tuple(out)


def fixed_pages() -> int:
    """Pages of the outline, and of every PDF without overflow."""
    return COVER_PAGES + sum(s.pages for s in spans())
