"""The ``--pdf`` part of ``hw5 export-written``: runs `export.export_pdfs`, says what it wrote."""
from __future__ import annotations

import sys
import time
from pathlib import Path

from hw5.ta.exports import ExportError

from .layout import fixed_pages


def export_pdfs_command(export, output, jobs: int = 1) -> int:
    try:
        import markdown_it  # noqa: F401
        import mdit_py_plugins  # noqa: F401
        import weasyprint  # noqa: F401 - loads Pango: OSError when the library is missing

        from .export import CUTS_CSV, OUTLINE, OVERFLOW_CSV, PDF_DIR, export_pdfs
    except (ImportError, OSError) as exc:  # the TA extra is not installed, or Pango is missing
        print(f"hw5 export-written --pdf: {exc}. Install the TA tools: pip install "
              "'hw5-cnn[ta]' (WeasyPrint needs the Pango library of the system).",
              file=sys.stderr)
        return 2
    start = time.monotonic()

    def progress(n, total):
        print(f"\r{n}/{total} PDFs", end="" if n < total else "\n", file=sys.stderr, flush=True)

    try:
        results = export_pdfs(export, output, jobs=jobs,
                              progress=progress if sys.stderr.isatty() else None)
    except ExportError as exc:
        print(f"hw5 export-written: {exc}", file=sys.stderr)
        return 2
    out = Path(output)
    overflowing = sum(1 for r in results if r.overflow)
    print(f"{out / PDF_DIR}/: {len(results)} PDFs of {fixed_pages()} pages"
          + (f" ({overflowing} with overflow pages: {out / OVERFLOW_CSV})" if overflowing else ""))
    print(f"{out / OUTLINE}: the Gradescope template ({fixed_pages()} pages)")
    cut = sum(1 for r in results if r.cuts or r.shrunk)
    print(f"{out / CUTS_CSV}: {cut} submission(s) with something shrunk, cut or not shown")
    print(f"{time.monotonic() - start:.1f} s")
    return 0
