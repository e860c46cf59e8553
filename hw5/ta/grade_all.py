"""`hw5 grade-all EXPORT -o OUTDIR`: grade every submission of a Gradescope export (or a folder of
notebooks) in parallel, exactly as `hw5 grade` does one.

Writes, under OUTDIR:
  results/<id>.json   the Gradescope results.json of each submission
  feedback/<id>.txt   the score table and every question's output, for the student
  grades.csv          one row per submission: students, per-question autograded scores, total,
                      status, notes (student and staff), staff_notes (ID mismatch, evidence)
  histogram.png       totals; question_means.png: mean score / max per autograded question
  checks.csv, summary.md, mistakes.png   what the class got wrong (`hw5.ta.summary`)
  similarity.html, similarity.csv        which submissions look alike (`hw5.ta.similarity`)

By default there is one worker more than cores (`default_workers`). Each worker runs its
notebooks through one long-lived sandbox runner (`hw5.ta.sandbox_worker`) and checks their
exports in one long-lived trusted process (`hw5.ta.trusted_worker`); each notebook still runs in
a fresh sandboxed kernel, as with `hw5 grade`. Every row is read from the result
model each results.json carries (`hw5.grading.report.from_gradescope`), never from message text.
A submission whose results/<id>.json exists is not graded again unless --force. Nothing a
submission contains stops the batch: a worker that crashes or raises leaves a zero row with
status "error" and a staff note.
"""
from __future__ import annotations

import csv
import io
import json
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from hw5.grading.report import (STAFF_CONTACT, from_gradescope, score_table, to_gradescope,
                                write_results, write_text_atomic)
from hw5.grading.results import (INTERNAL_ERROR, NOT_A_NOTEBOOK, STUDENT_STATUSES,
                                 SubmissionResult)
from hw5.kit import spec
from hw5.text import number, score_text, shorten, table

from . import summary as class_summary
from .exports import ExportError, Submission, add_export_arguments, open_export
from .similarity import SIMILARITY_HTML, add_reference_argument

RESULTS_DIR = "results"
FEEDBACK_DIR = "feedback"
GRADES_CSV = "grades.csv"
HISTOGRAM_PNG = "histogram.png"
QUESTION_MEANS_PNG = "question_means.png"
# One worker at its peak (its sandbox runner, the student's kernel, its trusted process):
# benchmark_grade_all.py measured 2.1 GB in all for 3 workers; rounded up.
WORKER_MEMORY_MB = 1000
AUTO_QUESTIONS = tuple(q for q in spec.QUESTIONS if q.kind == spec.AUTO)
# A submission whose worker process died is retried once, alone; a second death is recorded.
MAX_ATTEMPTS = 2

OK = "ok"  # graded, nothing to report
NOTES = "notes"  # graded; there are submission-level notes (failed cells, evidence, ...)
NO_NOTEBOOK = "no notebook"
ERROR = "error"  # the grader itself failed: zero, to be looked at by the staff
NOT_GRADED = "not graded"  # outside --only and no earlier results
# Otherwise the row's status is the student's notebook's: results.STUDENT_STATUSES.


@dataclass
class Row:
    """One line of grades.csv."""

    submission: Submission
    scores: dict
    """autograded question id -> score"""
    total: float
    status: str
    notes: list = field(default_factory=list)
    """For the student and the staff: picking the notebook, the grader's messages."""
    staff_notes: list = field(default_factory=list)
    """For the staff: student-ID mismatch, what the saved outputs show, grader failures."""
    skipped: bool = False
    """Taken from an earlier run's results json."""


def register(sub) -> None:
    p = sub.add_parser("grade-all", help="grade every submission of a Gradescope export (zip or "
                                         "folder) or a folder of notebooks, in parallel")
    add_export_arguments(p, "folder for results/, feedback/, grades.csv, the plots and reports")
    p.add_argument("--workers", type=int, default=None,
                   help="submissions graded at once (default: one more than the cores, fewer "
                        f"when the free memory is short of {WORKER_MEMORY_MB} MB a worker)")
    p.add_argument("--force", action="store_true",
                   help="grade again the submissions that already have results")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="grade only these submission ids (the csv and plots still cover all)")
    add_reference_argument(p)
    p.add_argument("--no-similarity", action="store_true",
                   help="do not write the similarity report")
    p.set_defaults(func=grade_all_command)


def grade_all_command(args) -> int:
    try:
        rows = grade_all(args.export, args.output, workers=args.workers, force=args.force,
                         only=args.only, similarity=not args.no_similarity,
                         references=args.reference)
    except ExportError as exc:
        print(f"hw5 grade-all: {exc}", file=sys.stderr)
        return 2
    print(summary(rows, Path(args.output)))
    return 0


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------
def default_workers() -> int:
    return workers_for(_cores(), _available_mb())


def workers_for(cores: int, available_mb: float) -> int:
    """One more worker than cores, as a worker leaves its core idle part of the time (its
    kernel starting, files written and read); no more than the memory holds; at least one."""
    return max(1, min(cores + 1, int(available_mb // WORKER_MEMORY_MB)))


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):  # the cores this process may use (Linux)
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _available_mb() -> float:
    import psutil

    return psutil.virtual_memory().available / 2**20


def grade_all(export, outdir, workers: int | None = None, force: bool = False,
              only=None, progress: bool = True, similarity: bool = True,
              references=()) -> list[Row]:
    outdir = Path(outdir)
    workers = workers or default_workers()
    with open_export(export) as subs:
        (outdir / RESULTS_DIR).mkdir(parents=True, exist_ok=True)
        (outdir / FEEDBACK_DIR).mkdir(parents=True, exist_ok=True)
        wanted = set(only) if only else None
        if wanted is not None:
            unknown = wanted - {s.id for s in subs}
            if unknown:
                raise ExportError(f"no submission with id {', '.join(sorted(unknown))}")
        rows: dict[str, Row] = {}
        todo = []
        for s in subs:
            previous = None if force and (wanted is None or s.id in wanted) else \
                _read_results(results_path(outdir, s))
            if previous is not None:
                rows[s.id] = row_from_results(s, previous, skipped=True)
            elif wanted is not None and s.id not in wanted:
                rows[s.id] = Row(s, {}, 0.0, NOT_GRADED, skipped=True)
            elif s.notebook is None:
                rows[s.id] = _record(outdir, s, _ungraded(NOT_A_NOTEBOOK, s.notes))
            else:
                todo.append(s)
        for s, graded in _run_pool(todo, workers, progress):
            rows[s.id] = _record(outdir, s, graded)
        ordered = [rows[s.id] for s in subs]
        write_csv(ordered, outdir / GRADES_CSV)
        write_plots(ordered, outdir)
        class_summary.write_all(class_summary.load_results(
            outdir, [r.submission.id for r in ordered if r.status != NOT_GRADED]), outdir)
        if similarity:
            from .similarity import write_similarity

            try:
                write_similarity(subs, outdir, references)
            except ImportError as exc:  # the grades are written; say what the report needs
                print(f"hw5 grade-all: no similarity report ({exc}); "
                      "pip install 'hw5-cnn[ta]'", file=sys.stderr)
    return ordered


def results_path(outdir: Path, sub: Submission) -> Path:
    return outdir / RESULTS_DIR / f"{sub.id}.json"


def feedback_path(outdir: Path, sub: Submission) -> Path:
    return outdir / FEEDBACK_DIR / f"{sub.id}.txt"


def _run_pool(todo: list, workers: int, progress: bool, fn=None):
    """Yield (submission, graded) as the workers finish; `graded` is what `fn` (a picklable
    function of the notebook path and the submitters' ids, default `grade_one`) returns. The
    workers of one call share their grade-time trainings (a private temporary directory)."""
    fn = fn or grade_one
    if not todo:
        return
    import multiprocessing
    import tempfile

    from tqdm import tqdm

    ctx = multiprocessing.get_context("spawn")
    attempts: dict[str, int] = {}
    bar = tqdm(total=len(todo), desc=f"grading ({workers} at once)", unit="nb",
               disable=not progress or not sys.stderr.isatty(),
               file=sys.stderr, dynamic_ncols=True)
    queue, isolate = list(todo), False
    try:
        with tempfile.TemporaryDirectory(prefix="hw5-trainings-") as trainings:
            while queue:
                # After a worker died, the suspects run alone, one pool each, so that one broken
                # submission cannot take an innocent one down with it.
                batches = [[s] for s in queue] if isolate else [queue]
                queue = []
                for batch in batches:
                    with ProcessPoolExecutor(max_workers=1 if isolate else max(1, workers),
                                             mp_context=ctx, initializer=_share_trainings,
                                             initargs=(trainings,)) as pool:
                        futures = {pool.submit(fn, str(s.notebook), _sids(s)): s for s in batch}
                        for fut in as_completed(futures):
                            s = futures[fut]
                            graded = _outcome(fut, s, attempts, queue)
                            if graded is None:
                                continue
                            yield s, graded
                            bar.set_postfix_str(f"last: {s.id}", refresh=False)
                            bar.update(1)
                isolate = True
    finally:
        bar.close()


def _outcome(fut, s: Submission, attempts: dict, queue: list) -> dict | None:
    """What a finished future graded; None when its worker died and `s` was queued again."""
    try:
        return fut.result()
    except BrokenProcessPool:
        attempts[s.id] = attempts.get(s.id, 0) + 1
        if attempts[s.id] < MAX_ATTEMPTS:
            queue.append(s)
            return None
        return _ungraded(INTERNAL_ERROR, [GRADER_FAILED], [
            "the grading process died (crash or out of memory)"])
    except Exception as exc:  # noqa: BLE001 - one submission, one row
        return _ungraded(INTERNAL_ERROR, [GRADER_FAILED], [f"{type(exc).__name__}: {exc}"])


GRADER_FAILED = f"The autograder failed. {STAFF_CONTACT}"


def _sids(sub: Submission) -> tuple:
    return tuple(s.sid for s in sub.submitters if s.sid)


_TRUSTED = None  # this worker process's long-lived trusted checker (hw5.ta.trusted_worker)
_RUNNER = None  # and its long-lived sandbox runner (hw5.ta.sandbox_worker)
_TRAININGS_DIR = None  # where the run's trusted workers share grade-time trainings


def _share_trainings(directory) -> None:
    """Pool initializer: this worker's trusted checker shares trainings in `directory`."""
    global _TRAININGS_DIR
    _TRAININGS_DIR = directory


def grade_one(notebook: str, submitter_ids=()) -> dict:
    """Worker: grade one notebook (runs in a spawned process) as `hw5 grade` does, except that
    the sandbox runner and the trusted checks are this worker's long-lived processes (each
    notebook still runs in a fresh kernel). Plain data back: results.json's content and the
    score table."""
    import atexit

    from hw5.grading.pipeline import grade_submission

    from .sandbox_worker import SandboxWorker
    from .trusted_worker import TrustedWorker

    global _TRUSTED, _RUNNER
    if _RUNNER is None:
        _RUNNER = SandboxWorker()
        atexit.register(_RUNNER.close)
    if _TRUSTED is None:
        _TRUSTED = TrustedWorker(trainings_dir=_TRAININGS_DIR)
        atexit.register(_TRUSTED.close)
    result = grade_submission(Path(notebook), submitter_ids=submitter_ids,
                              checker=_TRUSTED.check, sandbox_step=_RUNNER.run)
    return {"results": to_gradescope(result), "table": score_table(result)}


def _ungraded(status: str, messages, staff_notes=()) -> dict:
    """Zero for everything, in the same shape as `grade_one`'s answer."""
    result = SubmissionResult.ungraded(status, messages, staff_notes)
    return {"results": to_gradescope(result), "table": score_table(result)}


def _record(outdir: Path, sub: Submission, graded: dict) -> Row:
    """Write results/<id>.json and feedback/<id>.txt; return the csv row."""
    results = write_results(graded["results"], results_path(outdir, sub))
    write_text_atomic(feedback_path(outdir, sub), feedback_text(sub, graded["table"], results))
    return row_from_results(sub, results, skipped=False)


def _read_results(path: Path) -> dict | None:
    """An earlier run's results.json, when it carries the result model (else: grade again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if from_gradescope(data) is not None else None


def row_status(sub: Submission, result: SubmissionResult) -> str:
    if result.status == INTERNAL_ERROR:
        return ERROR
    if sub.notebook is None:
        return NO_NOTEBOOK
    if result.status in STUDENT_STATUSES:
        return result.status
    if sub.notes or result.messages or result.cell_errors or result.staff_notes \
            or result.evidence:
        return NOTES
    return OK


def row_from_results(sub: Submission, results: dict, skipped: bool) -> Row:
    """The csv row of a results.json: read from the result model it carries, never from text."""
    result = from_gradescope(results) or SubmissionResult.ungraded(
        INTERNAL_ERROR, staff_notes=["results.json without the hw5 result model"])
    scores = {q.question.id: q.score for q in result.questions if q.question in AUTO_QUESTIONS}
    return Row(sub, scores, result.score, row_status(sub, result),
               _dedupe(list(sub.notes) + result.messages),
               _dedupe(result.staff_notes + result.evidence), skipped)


def _dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------
def feedback_text(sub: Submission, score_table_text: str, results: dict) -> str:
    """For the student: what Gradescope shows (Markdown as plain text) and the score table."""
    rule = "=" * 78
    lines = [f"{spec.ASSIGNMENT}: autograder feedback", f"Submission {sub.id}"]
    if sub.names:
        lines.append(f"Student(s): {sub.names}")
    if sub.notebook is not None:
        lines.append(f"Notebook: {sub.notebook.name}")
    lines += [f"Note: {n}" for n in sub.notes]
    lines += ["", results.get("output", ""), "", score_table_text, ""]
    manual = {q.title for q in spec.QUESTIONS if q.kind == spec.MANUAL}
    for test in results.get("tests", []):
        mark = ("graded by the course staff" if test.get("name") in manual
                else score_text(test["score"], test["max_score"]))
        lines += [rule, f"{test['name']}  ({mark})", rule,
                  test.get("output", "") or "(no output)", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def csv_header() -> list:
    return (["submission_id", "sid", "name", "email"] + [q.id for q in AUTO_QUESTIONS]
            + ["autograded_total", "status", "notes", "staff_notes"])


def write_csv(rows: list, path: Path) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(csv_header())
    for r in rows:
        s = r.submission
        w.writerow([s.id, s.sids, s.names, s.emails]
                   + [number(r.scores.get(q.id, 0.0)) for q in AUTO_QUESTIONS]
                   + [number(r.total), r.status, " | ".join(r.notes), " | ".join(r.staff_notes)])
    write_text_atomic(path, buf.getvalue())


def write_plots(rows: list, outdir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    totals = [r.total for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    top = spec.AUTO_POINTS
    ax.hist(totals, bins=[x - 0.5 for x in range(int(top) + 2)], color="#4C72B0",
            edgecolor="white")
    ax.set_xlim(-1, top + 1)
    ax.set_xlabel(f"autograded total (out of {number(top)})")
    ax.set_ylabel("submissions")
    mean = statistics.fmean(totals) if totals else 0.0
    ax.set_title(f"{spec.ASSIGNMENT}\n{len(totals)} submissions, mean {mean:.1f}")
    ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    fig.savefig(outdir / HISTOGRAM_PNG, dpi=120)
    plt.close(fig)

    scored = [q for q in AUTO_QUESTIONS if q.points > 0]
    means = [statistics.fmean(r.scores.get(q.id, 0.0) for r in rows) / q.points if rows else 0.0
             for q in scored]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar([q.id for q in scored], means, color="#55A868")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("mean score / max")
    ax.set_title(f"Autograded questions: mean fraction of points ({len(rows)} submissions)")
    for i, m in enumerate(means):
        ax.text(i, m + 0.01, f"{m:.2f}", ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(outdir / QUESTION_MEANS_PNG, dpi=120)
    plt.close(fig)


def summary(rows: list, outdir: Path) -> str:
    graded = [r for r in rows if not r.skipped]
    totals = [r.total for r in rows]
    rows_text = [("submission", "student(s)", "total", "status")]
    for r in rows:
        who = r.submission.names or r.submission.sids or "-"
        rows_text.append((r.submission.id, shorten(who, 40),
                          score_text(r.total, spec.AUTO_POINTS),
                          r.status + (" (earlier run)" if r.skipped else "")))
    lines = [table(rows_text, "llrl")]
    lines.append("")
    if totals:
        lines.append(f"{len(rows)} submissions ({len(graded)} graded now, "
                     f"{len(rows) - len(graded)} from an earlier run); autograded total: mean "
                     f"{statistics.fmean(totals):.2f}, median {statistics.median(totals):g}, "
                     f"min {number(min(totals))}, max {number(max(totals))} "
                     f"(of {number(spec.AUTO_POINTS)})")
    problems = [r for r in rows if r.status in (ERROR, NO_NOTEBOOK, *STUDENT_STATUSES)]
    if problems:
        lines.append(f"{len(problems)} to look at: " + ", ".join(
            f"{r.submission.id} ({r.status})" for r in problems))
    lines.append(f"wrote {outdir / GRADES_CSV}, {outdir / RESULTS_DIR}/, {outdir / FEEDBACK_DIR}/, "
                 f"{outdir / HISTOGRAM_PNG}, {outdir / QUESTION_MEANS_PNG}, "
                 f"{outdir / class_summary.SUMMARY_MD}, {outdir / class_summary.CHECKS_CSV}"
                 + (f", {outdir / SIMILARITY_HTML}" if (outdir / SIMILARITY_HTML).exists() else ""))
    return "\n".join(lines)
