"""TeX math to images with Matplotlib's mathtext (no TeX installation): a PNG ``data:`` URI sized
in points and aligned on the text's baseline. What mathtext cannot typeset gives None, and the
caller shows the TeX source instead."""
from __future__ import annotations

import base64
import functools
import io

from .layout import MAX_FORMULA_CHARS

DPI = 200  # sharp when printed; a formula is a few kilobytes
FONT_PT = 11.5  # Computer Modern looks smaller than DejaVu Sans at the same size
MAX_PIXELS = (3000, 800)  # wider or taller than a page at DPI: shown as source


@functools.lru_cache(maxsize=1)
def _parser():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import mathtext
    from matplotlib.font_manager import FontProperties

    # Computer Modern glyphs read like the TeX the students wrote; set once, for this process
    matplotlib.rcParams["mathtext.fontset"] = "cm"
    return mathtext.MathTextParser("agg"), FontProperties(size=FONT_PT)


def _prepare(tex: str) -> str:
    return "$" + " ".join(tex.split()) + "$"  # mathtext has no display style: one line of math


@functools.lru_cache(maxsize=4096)
def formula_img(tex: str, display: bool = False) -> str | None:
    """An ``<img>`` element of the typeset formula, or None when it cannot be typeset."""
    if not tex.strip() or len(tex) > MAX_FORMULA_CHARS:
        return None
    try:
        import numpy as np
        from PIL import Image

        parser, prop = _parser()
        parsed = parser.parse(_prepare(tex), dpi=DPI, prop=prop)
        ink = np.asarray(parsed.image)
        if ink.size == 0 or ink.shape[1] > MAX_PIXELS[0] or ink.shape[0] > MAX_PIXELS[1]:
            return None
        black = np.zeros_like(ink)
        image = Image.fromarray(np.dstack([black, ink]), "LA")
        buf = io.BytesIO()
        image.save(buf, "PNG")
    except Exception:  # noqa: BLE001 - any parse or layout failure of untrusted TeX: show source
        return None
    scale = 72.0 / DPI
    width, height = ink.shape[1] * scale, ink.shape[0] * scale
    depth = float(parsed.depth) * scale
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cls = "math display" if display else "math inline"
    return (f'<img class="{cls}" alt="" src="data:image/png;base64,{data}" '
            f'style="width:{width:.2f}pt;height:{height:.2f}pt;'
            f'vertical-align:{-depth:.2f}pt">')
