"""Images from a notebook, bounded: decoded only when small enough, scaled down when large, and
always re-checked as real images before they reach the PDF."""
from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

from .layout import MAX_DECODE_PIXELS, MAX_IMAGE_BYTES, MAX_SHOWN_PIXELS

IMAGE_TYPES = ("image/png", "image/jpeg")


@dataclass
class Figure:
    """An image ready to embed, or the reason it is not shown."""

    data_uri: str = ""
    width: int = 0
    height: int = 0
    note: str = ""
    """What was changed or why nothing is shown ("" when shown as saved)."""


def decode_b64(value) -> bytes | None:
    """The bytes of a base64 output (nbformat stores a string or a list of lines)."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str) or len(value) > MAX_IMAGE_BYTES * 4 // 3 + 1024:
        return None
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None


def embeddable(raw: bytes | None, what: str = "image") -> Figure:
    """`raw` (PNG or JPEG bytes) as a `Figure`: passed through when small, scaled down to
    MAX_SHOWN_PIXELS when large, refused (with a note) when too large or not an image."""
    from PIL import Image, UnidentifiedImageError

    if raw is None:
        return Figure(note=f"{what} not shown: not a valid base64 image, or over "
                           f"{MAX_IMAGE_BYTES // 2**20} MB")
    try:
        with Image.open(io.BytesIO(raw)) as im:
            width, height, fmt = im.width, im.height, im.format
            if fmt not in ("PNG", "JPEG"):
                return Figure(note=f"{what} not shown: {fmt} is not PNG or JPEG")
            pixels = width * height
            if pixels > MAX_DECODE_PIXELS:
                return Figure(width=width, height=height,
                              note=f"{what} of {width}×{height} pixels not shown: over the "
                                   f"{MAX_DECODE_PIXELS / 1e6:.0f}-megapixel limit")
            if pixels <= MAX_SHOWN_PIXELS:
                im.verify()  # a corrupt file is refused here, not inside the PDF renderer
                mime = "png" if fmt == "PNG" else "jpeg"
                return Figure(_uri(mime, raw), width, height)
            factor = (pixels / MAX_SHOWN_PIXELS) ** 0.5
            size = (max(1, int(width / factor)), max(1, int(height / factor)))
            im.draft("RGB", size)  # JPEG decodes at a reduced size directly
            small = im.convert("RGBA").resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            buf = io.BytesIO()
            small.save(buf, "PNG", optimize=False, compress_level=3)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            SyntaxError) as exc:  # PIL raises SyntaxError for some broken PNG chunks
        return Figure(note=f"{what} not shown: not a readable PNG or JPEG ({type(exc).__name__})")
    return Figure(_uri("png", buf.getvalue()), *size,
                  note=f"{what} of {width}×{height} pixels scaled down to {size[0]}×{size[1]}")


def _uri(mime: str, raw: bytes) -> str:
    return f"data:image/{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def data_uri_image(uri: str, what: str = "image") -> Figure:
    """A ``data:image/...;base64,`` URI typed into the Markdown, checked like any image."""
    head, _, payload = uri.partition(",")
    if not head.lower().startswith(("data:image/png;base64", "data:image/jpeg;base64",
                                    "data:image/jpg;base64")):
        return Figure(note=f"{what} not shown: only PNG or JPEG images saved in the notebook "
                           "are shown")
    return embeddable(decode_b64(payload), what)
