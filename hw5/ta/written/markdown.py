"""A student's Markdown to inert HTML for the PDF.

markdown-it-py (CommonMark, tables, strikethrough) with raw HTML off, so ``<img>``, ``<link>``,
``<iframe>``, ``<style>`` and ``<script>`` are shown as text. Links become underlined text with
their address written out (no ``href``: the PDF has no links to follow). Images appear only when
they come from the notebook itself: a cell attachment (``attachment:name``) or a PNG/JPEG
``data:`` URI, checked and bounded like the figures; any other address is shown as text. Math
(``$...$``, ``$$...$$``) is typeset by `formulas`; what cannot be typeset, and formulas beyond
MAX_FORMULAS, are shown as TeX source.
"""
from __future__ import annotations

import functools
from html import escape

from .figures import data_uri_image
from .formulas import formula_img
from .layout import MAX_FORMULAS
from .notebook import attachment_figure


class AnswerRenderer:
    """Renders one answer at a time; collects what it left out in `cuts`."""

    def __init__(self, attachments: dict | None = None):
        self.attachments = attachments or {}
        self.cuts: list[str] = []
        self._formulas = 0
        self._md = _markdown_it()

    def render(self, text: str) -> str:
        self.cuts, self._formulas = [], 0
        env = {"renderer": self}
        tokens = self._md.parse(text, env)
        return self._md.renderer.render(tokens, self._md.options, env)

    # -- math -----------------------------------------------------------------------------------
    def math(self, tex: str, display: bool) -> str:
        self._formulas += 1
        img = formula_img(tex, display) if self._formulas <= MAX_FORMULAS else None
        if self._formulas == MAX_FORMULAS + 1:
            self.cuts.append(f"formulas after the first {MAX_FORMULAS} shown as TeX source")
        if img is None:
            if display:
                return f'<pre class="tex">{escape("$$" + tex.strip() + "$$")}</pre>'
            return f'<code class="tex">{escape("$" + tex + "$")}</code>'
        return f'<span class="display-math">{img}</span>' if display else img

    # -- images ---------------------------------------------------------------------------------
    def image(self, src: str, alt: str) -> str:
        if src.startswith("attachment:"):
            fig = attachment_figure(self.attachments, src[len("attachment:"):])
        elif src.lower().startswith("data:"):
            fig = data_uri_image(src, "embedded image")
        else:
            self.cuts.append(f"image {_short(src, 60)} not shown: only images saved in the "
                             "notebook are")
            return (f'<span class="blocked">[image {escape(alt)!s}: '
                    f'{escape(_short(src))} — not shown, only images saved in the notebook '
                    f'are]</span>')
        if fig.note:
            self.cuts.append(fig.note)
        if not fig.data_uri:
            return f'<span class="blocked">[{escape(fig.note)}]</span>'
        return f'<img class="answer-image" alt="{escape(alt)}" src="{fig.data_uri}">'


def _short(url: str, limit: int = 120) -> str:
    return url if len(url) <= limit else url[:limit] + "…"


def _render_image(self, tokens, idx, options, env):
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    return env["renderer"].image(str(token.attrGet("src") or ""), alt)


def _render_link_open(self, tokens, idx, options, env):
    return '<span class="link">'


def _render_link_close(self, tokens, idx, options, env):
    # the address of the matching link_open, written out after the text
    depth = 0
    for j in range(idx - 1, -1, -1):
        t = tokens[j]
        if t.type == "link_close":
            depth += 1
        elif t.type == "link_open":
            if depth == 0:
                href = str(t.attrGet("href") or "")
                return f'</span> <span class="url">⟨{escape(_short(href))}⟩</span>'
            depth -= 1
    return "</span>"


@functools.lru_cache(maxsize=1)
def _markdown_it():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, allow_labels=False, allow_space=True, allow_digits=False,
           double_inline=True)

    def math_rule(display):
        def render(self, tokens, idx, options, env):
            return env["renderer"].math(tokens[idx].content, display)
        return render

    md.add_render_rule("math_inline", math_rule(False))
    md.add_render_rule("math_inline_double", math_rule(True))
    md.add_render_rule("math_block", math_rule(True))
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    return md
