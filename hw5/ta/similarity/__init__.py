"""Which submissions look alike: `hw5 similarity EXPORT -o OUTDIR` (and every `grade-all` run)
writes `similarity.html` and `similarity.csv`. It flags pairs for the staff to read; it never
changes a grade. See `compare` for the method and `THRESHOLD` for how the flags were set.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hw5.kit import spec

from ..exports import ExportError, add_export_arguments, open_export
from .compare import compare_all
from .extract import Boilerplate, student_work
from .report import is_flagged, write_csv, write_html

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "student_template" / spec.NOTEBOOK_NAME
SIMILARITY_HTML = "similarity.html"
SIMILARITY_CSV = "similarity.csv"
REFERENCE_ID = "reference"
# Flag a pair from these scores up. Chosen on real notebooks (tests/test_similarity.py): the
# honest, independently written solutions there score at most 0.15 (code) and 0 (prose), a pair
# sharing code with renamed variables and moved cells 0.89 (code) and 0.85 (prose).
THRESHOLD = {"code": 0.5, "prose": 0.5}


def register(sub) -> None:
    p = sub.add_parser("similarity", help="rank the pairs of submissions whose student-written "
                                          "code or answers look alike (HTML report)")
    add_export_arguments(p, f"folder for {SIMILARITY_HTML} and {SIMILARITY_CSV}")
    add_reference_argument(p)
    p.set_defaults(func=similarity_command)


def add_reference_argument(p) -> None:
    p.add_argument("--reference", metavar="NOTEBOOK", action="append", default=[],
                   help="a notebook the similarity report compares every submission with, e.g. "
                        "the solution (to catch copies of a leaked solution); repeatable")


def similarity_command(args) -> int:
    try:
        with open_export(args.export) as subs:
            pairs = write_similarity(subs, Path(args.output), args.reference)
    except ExportError as exc:
        print(f"hw5 similarity: {exc}", file=sys.stderr)
        return 2
    print(similarity_line(pairs, Path(args.output)))
    return 0


def write_similarity(subs: list, outdir: Path, references=(), template: Path = TEMPLATE) -> list:
    """Compare every pair of `subs` (exports.Submission) and the reference notebooks; write the
    report into `outdir`; return the ranked pairs."""
    given = Boilerplate.of(template)
    works = [student_work(s.id, s.label, s.notebook, given) for s in subs]
    for n, ref in enumerate(references, 1):
        ref_id = REFERENCE_ID if len(references) == 1 else f"{REFERENCE_ID}{n}"
        works.append(student_work(ref_id, f"reference: {Path(ref).name}", Path(ref), given))
    pairs, sides = compare_all(works, given)
    outdir.mkdir(parents=True, exist_ok=True)
    write_html(pairs, sides, outdir / SIMILARITY_HTML, THRESHOLD, works)
    write_csv(pairs, outdir / SIMILARITY_CSV, THRESHOLD)
    return pairs


def similarity_line(pairs: list, outdir: Path) -> str:
    flagged = [p for p in pairs if is_flagged(p, THRESHOLD)]
    return (f"similarity: {len(flagged)} of {len(pairs)} pairs flagged; wrote "
            f"{outdir / SIMILARITY_HTML}, {outdir / SIMILARITY_CSV}")
