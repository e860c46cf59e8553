"""``dist/rubric.pdf``: the rubric for printing, when pandoc and a TeX engine are installed.

Not committed (a PDF embeds dates, so it is not byte-stable); ``hw5 build`` says why it skipped
it when the tools are missing.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

PDF_NAME = "rubric.pdf"
TEX_ENGINES = ("xelatex", "lualatex", "pdflatex", "tectonic")  # pandoc --pdf-engine, in order


def find_tools() -> tuple[str | None, str | None]:
    """(pandoc path, TeX engine name): either is None when not installed."""
    engine = next((e for e in TEX_ENGINES if shutil.which(e)), None)
    return shutil.which("pandoc"), engine


def build(rubric_md: Path, out_dir: Path) -> Path | None:
    """Write ``out_dir/rubric.pdf`` from ``rubric_md``; None (with a message) when skipped."""
    pandoc, engine = find_tools()
    if pandoc is None or engine is None:
        missing = " and ".join(name for name, found in (("pandoc", pandoc), ("a TeX engine (" +
                               ", ".join(TEX_ENGINES) + ")", engine)) if found is None)
        print(f"skipped {PDF_NAME}: {missing} not installed (e.g. apt-get install pandoc "
              "texlive-xetex); solutions/rubric.md has the same content")
        return None
    out = (Path(out_dir) / PDF_NAME).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    # TeX leaves files such as missfont.log in its working directory: give it a throwaway one.
    with tempfile.TemporaryDirectory(prefix="hw5-rubric-pdf-") as work:
        proc = subprocess.run([pandoc, str(Path(rubric_md).resolve()), "-o", str(out),
                               f"--pdf-engine={engine}", "-V", "geometry:margin=2cm",
                               "-V", "mainfont=DejaVu Serif"],
                              capture_output=True, text=True, cwd=work)
    if proc.returncode != 0:  # an incomplete TeX install must not break the build
        why = next((line for line in proc.stderr.splitlines() if line.startswith("!")),
                   proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output")
        print(f"skipped {PDF_NAME}: pandoc with {engine} failed ({why.strip()})")
        return None
    return out
