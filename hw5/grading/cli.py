"""`hw5 grade SUBMISSION.ipynb -o results.json`: always writes a valid Gradescope results.json."""
from __future__ import annotations

import traceback
from pathlib import Path

from .report import STAFF_CONTACT, score_table, to_gradescope, write_results
from .results import INTERNAL_ERROR, SubmissionResult


def register(sub) -> None:
    p = sub.add_parser("grade", help="grade one submission exactly as Gradescope does; always "
                                     "writes a valid results.json and exits 0")
    p.add_argument("submission", help="the student's .ipynb (any file name)")
    p.add_argument("-o", "--output", default="results.json", help="Gradescope results.json path")
    p.add_argument("--submitter-id", action="append", default=[], metavar="SID",
                   help="a submitter's student id; the notebook's student_id is compared with "
                        "them (a staff note on mismatch). Repeat for a group.")
    p.set_defaults(func=grade_command)


def grade_command(args) -> int:
    grade_to_file(Path(args.submission), Path(args.output), submitter_ids=args.submitter_id)
    return 0


def internal_error_result(exc: BaseException) -> SubmissionResult:
    """The result when grading itself failed: zero, status internal-error."""
    return fallback_result(f"{type(exc).__name__}: {exc}")


def fallback_result(reason: str, status: str = INTERNAL_ERROR) -> SubmissionResult:
    """A submission that was not graded: zero for every item. For INTERNAL_ERROR `reason` goes
    to the staff and the student reads that the grader failed; for any other status (e.g.
    NOT_A_NOTEBOOK: no notebook in the upload) `reason` is what the student reads."""
    if status == INTERNAL_ERROR:
        return SubmissionResult.ungraded(status, [f"The autograder failed. {STAFF_CONTACT}"],
                                         staff_notes=[reason])
    return SubmissionResult.ungraded(status, [reason])


def fallback_results(reason: str, status: str = INTERNAL_ERROR) -> dict:
    """`fallback_result` as results.json's content (write it with `write_results`)."""
    return to_gradescope(fallback_result(reason, status))


def grade_to_file(submission, out, *, submitter_ids=(), messages=()) -> dict:
    """Grade `submission`, write Gradescope's results.json to `out` whatever happens, print the
    score table; return the results written. `submitter_ids`: the submitters' student ids (a
    staff note when the notebook's `student_id` is none of them); `messages`: what the caller
    tells the student first (e.g. which of several notebooks was graded)."""
    try:
        from hw5.grading.pipeline import grade_submission

        result = grade_submission(Path(submission), submitter_ids=tuple(submitter_ids))
    except Exception as exc:  # the contract: results.json is written whatever happens
        traceback.print_exc()
        result = internal_error_result(exc)
    result.messages[:0] = list(messages)
    results = write_results(result, Path(out))
    print(score_table(result))
    print("\n" + results["output"])
    for note in result.staff_notes + result.evidence:
        print(f"staff note: {note}")
    print(f"\nwrote {out}")
    return results
