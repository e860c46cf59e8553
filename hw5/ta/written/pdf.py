"""Pages with WeasyPrint: each section (the cover, one question) is rendered on its own, in its
fixed span of pages, and the pages of all sections are put into one PDF.

A section is rendered with its first page numbered as in the final PDF, then `span` empty pages
after its content: the first `span` pages are kept (content and padding), so every PDF has the
same pages per question. Content longer than the span is rendered again at smaller `SCALES`;
what still does not fit goes to overflow pages at the end of the PDF, and the last page of the
span says where it continues. The only URLs WeasyPrint may open are ``data:`` URIs (the images
this package embedded); everything else is refused without a request.
"""
from __future__ import annotations

import contextlib
import functools
import logging
from dataclasses import dataclass, field
from html import escape

from .layout import PAGE_SIZE, SCALES

BASE_FONT_PT = 10.5
FIGURE_MAX_HEIGHT_IN = 3.2
END_ID = "hw5-section-end"


def _fetcher():
    import weasyprint.urls

    class DataOnly(weasyprint.urls.URLFetcher):
        """WeasyPrint's fetcher limited to ``data:`` URIs; records what it refused."""

        def __init__(self):
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if not url.lower().startswith("data:"):
                self.refused.append(url)
                raise ValueError(f"not fetched: {url[:80]}")
            return super().fetch(url, headers)

    return DataOnly()


PAGE_STYLE = """
@page {{ size: {page_size}; margin: 0.75in 0.75in 0.7in 0.75in;
  @top-left {{ content: "{left}"; font-size: 8pt; color: #555; }}
  @top-right {{ content: "{right} · page " counter(page); font-size: 8pt; color: #555; }} }}
@page :first {{ counter-reset: page {first_page}; }}
{extra_pages}
"""

STYLE = """
html {{ font-family: "DejaVu Sans", sans-serif; font-size: {font_pt:.2f}pt; line-height: 1.35; }}
body {{ margin: 0; }}
h1.q {{ font-size: 1.35em; margin: 0 0 0.4em 0; border-bottom: 1px solid #999; }}
.prompt {{ background: #f2f2f2; padding: 0.4em 0.7em; margin-bottom: 0.8em; }}
.prompt p {{ margin: 0.3em 0; }}
h2.part {{ font-size: 0.95em; text-transform: uppercase; letter-spacing: 0.05em; color: #444;
  margin: 0.8em 0 0.3em 0; }}
.answer h1, .answer h2, .answer h3, .answer h4 {{ font-size: 1.05em; margin: 0.6em 0 0.3em 0; }}
.figure {{ text-align: center; margin: 0.3em 0; }}
.figure img {{ max-width: 100%; max-height: {fig_in:.2f}in; }}
img.answer-image {{ max-width: 100%; max-height: {fig_in:.2f}in; }}
.placeholder {{ color: #777; font-style: italic; }}
.note {{ color: #8a4b00; font-size: 0.85em; }}
pre, code {{ font-family: "DejaVu Sans Mono", monospace; font-size: 0.88em; }}
pre {{ background: #f6f6f6; padding: 0.4em; white-space: pre-wrap; overflow-wrap: anywhere; }}
p, li, td, th {{ overflow-wrap: break-word; }}
table {{ border-collapse: collapse; margin: 0.4em 0; }}
th, td {{ border: 1px solid #bbb; padding: 0.15em 0.4em; }}
blockquote {{ border-left: 3px solid #ccc; margin: 0.4em 0; padding-left: 0.8em; color: #333; }}
.display-math {{ display: block; text-align: center; margin: 0.4em 0; }}
.link {{ text-decoration: underline; }}
.url, .blocked {{ color: #666; font-size: 0.85em; }}
.space {{ border: 1px dashed #aaa; height: {space_in:.2f}in; color: #999; padding: 0.3em; }}
.figure-space {{ border: 1px dashed #aaa; height: 2.6in; color: #999; padding: 0.3em; }}
.pad {{ break-before: page; }}
.cover h1 {{ font-size: 1.6em; }}
.cover table.who td {{ border: none; padding: 0.3em 0.6em 0.3em 0; font-size: 1.15em; }}
.cover table.pages td, .cover table.pages th {{ font-size: 0.95em; }}
"""


@dataclass
class Section:
    """One section of a PDF: its fixed pages and its HTML body."""

    key: str
    """"cover" or the question id"""
    title: str
    first_page: int
    span: int
    body: str
    space_in: float = 6.0
    """height of the empty answer box (outline only)"""


@dataclass
class Placed:
    """A rendered section: the pages kept in its span, and its overflow pages."""

    pages: list
    overflow: list = field(default_factory=list)
    scale: float = 1.0
    first_document: object = None


def _css_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


@functools.lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@functools.lru_cache(maxsize=64)
def _static_css(scale: float, space_in: float):
    import weasyprint

    css = STYLE.format(font_pt=BASE_FONT_PT * scale, fig_in=FIGURE_MAX_HEIGHT_IN * scale,
                       space_in=space_in)
    return weasyprint.CSS(string=css, url_fetcher=_fetcher(), font_config=_font_config())


def _page_css(section: Section, left: str, overflow_at: int | None, note: bool):
    import weasyprint

    extra = ""
    if overflow_at is not None:
        extra += (f"@page :nth({section.span + 1}) {{ counter-reset: page {overflow_at}; }}\n"
                  f"@page :nth(n+{section.span + 1}) {{ @top-right {{ content: "
                  f"\"{_css_text(section.title)} (continued) · page \" counter(page); "
                  "font-size: 8pt; color: #555; } }\n")
        if note:
            extra += (f"@page :nth({section.span}) {{ @bottom-center {{ content: \"continued on "
                      f"page {overflow_at}\"; font-size: 9pt; color: #8a4b00; }} }}\n")
    css = PAGE_STYLE.format(page_size=PAGE_SIZE, left=_css_text(left),
                            right=_css_text(section.title), first_page=section.first_page,
                            extra_pages=extra)
    return weasyprint.CSS(string=css, url_fetcher=_fetcher(), font_config=_font_config())


def _render(section: Section, left: str, scale: float, overflow_at: int | None, note: bool):
    import weasyprint

    # span - 1 empty pages after the content: enough to fill the span whatever it takes
    html = (f'<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
            f'<div class="section">{section.body}</div><div id="{END_ID}"></div>'
            + '<div class="pad"></div>' * (section.span - 1) + "</body></html>")
    fetcher = _fetcher()
    with _quiet():
        doc = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None).render(
            stylesheets=[_static_css(scale, section.space_in),
                         _page_css(section, left, overflow_at, note)],
            font_config=_font_config())
    if fetcher.refused:  # cannot happen with the HTML this package writes: stop loudly if so
        raise RuntimeError(f"the PDF asked for non-data URLs: {fetcher.refused[:3]}")
    content_pages = next((i + 1 for i, page in enumerate(doc.pages) if END_ID in page.anchors),
                         len(doc.pages))
    return doc, content_pages


def place(section: Section, left: str, overflow_at: int) -> Placed:
    """Render `section` into its span: shrunk when that can make it fit, overflow pages numbered
    from `overflow_at` when not (then rendered once more, for the "continued on" note)."""
    scale = SCALES[0]
    doc, n = _render(section, left, scale, overflow_at, note=False)
    if n <= section.span:
        return Placed(doc.pages[:section.span], [], scale, doc)
    if n <= 2 * section.span:  # far longer answers would not fit at any scale: spare the tries
        for scale in SCALES[1:]:
            doc, n = _render(section, left, scale, overflow_at, note=False)
            if n <= section.span:
                return Placed(doc.pages[:section.span], [], scale, doc)
    doc, n = _render(section, left, scale, overflow_at, note=True)
    return Placed(doc.pages[:section.span], doc.pages[section.span:n], scale, doc)


def write(placed: list[Placed], target) -> None:
    """One PDF of the sections' pages in order, then all overflow pages."""
    pages = [p for s in placed for p in s.pages] + [p for s in placed for p in s.overflow]
    with _quiet():
        placed[0].first_document.copy(pages).write_pdf(target)


@contextlib.contextmanager
def _quiet():
    """WeasyPrint's warnings (CSS it ignores, its slower font subsetting without HarfBuzz's)
    would repeat for every PDF; URLs it was refused are recorded by the fetcher instead."""
    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def h(text) -> str:
    return escape(str(text))
