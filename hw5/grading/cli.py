"""`hw5 grade SUBMISSION.ipynb -o results.json`: always writes a valid Gradescope results.json."""
from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path

from hw5.kit import spec


def fallback_results(reason: str) -> dict:
    """A valid results.json for when grading itself failed: zero, with the reason."""
    return {
        "score": 0.0, "execution_time": 0, "visibility": "visible",
        "output": f"{spec.ASSIGNMENT}: the autograder could not grade this submission.\n{reason}\n"
                  "Please contact the course staff.",
        "tests": [],
    }


def write_results(results: dict, out: Path) -> None:
    """Write Gradescope's results.json (the one writer: `hw5 grade` and `hw5 gradescope`)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def register(sub) -> None:
    p = sub.add_parser("grade", help="grade one submission exactly as Gradescope does; always "
                                     "writes a valid results.json and exits 0")
    p.add_argument("submission", help="the student's .ipynb (any file name)")
    p.add_argument("-o", "--output", default="results.json", help="Gradescope results.json path")
    p.set_defaults(func=grade_command)


def grade_command(args) -> int:
    grade_to_file(Path(args.submission), Path(args.output))
    return 0


def grade_to_file(submission: Path, out: Path) -> dict:
    """Grade `submission`, write Gradescope's results.json to `out` whatever happens, print the
    score table; return the results written."""
    try:
        from hw5.grading.pipeline import grade_submission

        report = grade_submission(Path(submission))
        results = report.to_gradescope()
        table = report.table()
    except Exception as exc:  # the contract: results.json is written whatever happens
        traceback.print_exc()
        results, table = fallback_results(f"{type(exc).__name__}: {exc}"), None
    write_results(results, out)
    if table:
        print(table)
    if results.get("output"):
        print("\n" + results["output"], file=sys.stderr if table is None else sys.stdout)
    print(f"\nwrote {out}")
    return results
