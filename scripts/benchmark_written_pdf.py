"""CPU and wall time of ``hw5 export-written --pdf`` for N submissions (default 100).

The export holds the solution notebook with real plots saved in its plotting cells and its model
answers (without the rubric that follows them there), each copy with a formula and a sentence of
its own in every answer (so nothing is served from a cache that real students would miss), and
one template in ten (no answers). It prints the CPU seconds of the whole process tree (the
rendering processes included) per 100 submissions, the wall time and the size of the PDFs.

    python scripts/benchmark_written_pdf.py                  # 100 submissions, 2 processes
    python scripts/benchmark_written_pdf.py -n 20 --jobs 1
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from written_helpers import answer_cell_index, with_plots, write_export  # noqa: E402

from hw5.ta.written.export import OUTLINE, PDF_DIR, export_pdfs  # noqa: E402
from hw5.ta.written.layout import manual_questions  # noqa: E402


def make_notebooks(n: int) -> dict:
    solution = nbformat.read(ROOT / "solutions" / "hw5.ipynb", as_version=4)
    with_plots(solution)
    template = nbformat.read(ROOT / "student_template" / "hw5.ipynb", as_version=4)
    out = {}
    for i in range(1, n + 1):
        if i % 10 == 0:
            out[str(1000 + i)] = template
            continue
        nb = nbformat.from_dict(solution)
        for q in manual_questions():
            # the model answer without the rubric after it, with a sentence and formula of its own
            j = answer_cell_index(nb, q.id)
            model = nb.cells[j + 1].source.split("**A full answer mentions")[0]
            nb.cells[j].source = (f"Submission {i} writes $w_{{{i}}} = \\alpha^{{{i % 7}}} x_{i}$ "
                                  "in its own words.")
            nb.cells[j + 1].source = model.replace("**Model answer.**", "")
        out[str(1000 + i)] = nb
    return out


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--submissions", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hw5-bench-pdf-") as tmp:
        tmp = Path(tmp)
        export = write_export(tmp / "export", make_notebooks(args.submissions))
        cpu0, wall0 = cpu_seconds(), time.monotonic()
        results = export_pdfs(export, tmp / "out", jobs=args.jobs)
        cpu, wall = cpu_seconds() - cpu0, time.monotonic() - wall0
        sizes = [p.stat().st_size for p in (tmp / "out" / PDF_DIR).glob("*.pdf")]
        outline = (tmp / "out" / OUTLINE).stat().st_size
    n = len(results)
    print(f"{n} submissions, {args.jobs} process(es): {cpu:.1f} CPU-s "
          f"({cpu / n * 100:.1f} CPU-s per 100), wall {wall:.1f} s")
    print(f"PDFs: {sum(sizes) / 2**20:.1f} MB in all, {max(sizes) / 1024:.0f} kB the largest; "
          f"outline {outline / 1024:.0f} kB; {sum(1 for r in results if r.overflow)} with "
          f"overflow, {sum(1 for r in results if r.shrunk)} shrunk")
    return 0


if __name__ == "__main__":
    sys.exit(main())
