"""`hw5 grade-all EXPORT -o OUTDIR`: grade every submission of a Gradescope export (or a folder of
notebooks) in parallel, exactly as `hw5 grade` does one.

Writes, under OUTDIR:
  results/<id>.json   the Gradescope results.json of each submission
  feedback/<id>.txt   the score table and every question's output, for the student
  grades.csv          one row per submission: students, per-question autograded scores, total
  histogram.png       totals; question_means.png: mean score / max per autograded question

A submission whose results/<id>.json exists is not graded again unless --force. Nothing a
submission contains stops the batch: a worker that crashes or raises leaves a zero row with a note.
"""
from __future__ import annotations

import csv
import json
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from hw5.kit import spec

from .exports import ExportError, Submission, open_export

RESULTS_DIR = "results"
FEEDBACK_DIR = "feedback"
GRADES_CSV = "grades.csv"
HISTOGRAM_PNG = "histogram.png"
QUESTION_MEANS_PNG = "question_means.png"
DEFAULT_WORKERS = 2
AUTO_QUESTIONS = tuple(q for q in spec.QUESTIONS if q.kind == spec.AUTO)
# A submission whose worker process died is retried once, alone; a second death is recorded.
MAX_ATTEMPTS = 2

OK = "ok"  # graded, nothing to report
NOTES = "notes"  # graded; the grader left submission-level messages (failed cells, limits...)
NO_NOTEBOOK = "no notebook"
ERROR = "error"  # the grader itself failed: zero, to be looked at by the staff
NOT_GRADED = "not graded"  # outside --only and no earlier results


@dataclass
class Row:
    """One line of grades.csv."""

    submission: Submission
    scores: dict
    """autograded question id -> score"""
    total: float
    status: str
    notes: list = field(default_factory=list)
    skipped: bool = False
    """Taken from an earlier run's results json."""


def register(sub) -> None:
    p = sub.add_parser("grade-all", help="grade every submission of a Gradescope export (zip or "
                                         "folder) or a folder of notebooks, in parallel")
    p.add_argument("export", help="Gradescope 'Export Submissions' zip or folder, or a folder "
                                  "of .ipynb files")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR",
                   help="folder for results/, feedback/, grades.csv and the plots")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                   help=f"submissions graded at once (default {DEFAULT_WORKERS})")
    p.add_argument("--force", action="store_true",
                   help="grade again the submissions that already have results")
    p.add_argument("--only", nargs="+", metavar="ID",
                   help="grade only these submission ids (the csv and plots still cover all)")
    p.set_defaults(func=grade_all_command)


def grade_all_command(args) -> int:
    try:
        rows = grade_all(args.export, args.output, workers=args.workers, force=args.force,
                         only=args.only)
    except ExportError as exc:
        print(f"hw5 grade-all: {exc}", file=sys.stderr)
        return 2
    print(summary(rows, Path(args.output)))
    return 0


# ---------------------------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------------------------
def grade_all(export, outdir, workers: int = DEFAULT_WORKERS, force: bool = False,
              only=None, progress: bool = True) -> list[Row]:
    outdir = Path(outdir)
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
                rows[s.id] = _row_from_results(s, previous, skipped=True)
            elif wanted is not None and s.id not in wanted:
                rows[s.id] = Row(s, {}, 0.0, NOT_GRADED, [], skipped=True)
            elif s.notebook is None:
                rows[s.id] = _record(outdir, s, _empty_grading(s.notes), NO_NOTEBOOK)
            else:
                todo.append(s)
        for s, graded, status in _run_pool(todo, workers, progress):
            rows[s.id] = _record(outdir, s, graded, status)
        ordered = [rows[s.id] for s in subs]
    write_csv(ordered, outdir / GRADES_CSV)
    write_plots(ordered, outdir)
    return ordered


def results_path(outdir: Path, sub: Submission) -> Path:
    return outdir / RESULTS_DIR / f"{sub.id}.json"


def feedback_path(outdir: Path, sub: Submission) -> Path:
    return outdir / FEEDBACK_DIR / f"{sub.id}.txt"


def _run_pool(todo: list, workers: int, progress: bool, fn=None):
    """Yield (submission, graded, status) as the workers finish; `graded` is what `fn` (a
    picklable function of the notebook path, default `grade_one`) returns."""
    fn = fn or grade_one
    if not todo:
        return
    import multiprocessing

    from tqdm import tqdm

    ctx = multiprocessing.get_context("spawn")
    attempts: dict[str, int] = {}
    bar = tqdm(total=len(todo), desc="grading", unit="nb", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    queue, isolate = list(todo), False
    try:
        while queue:
            # After a worker died, the suspects run alone, one pool each, so that one broken
            # submission cannot take an innocent one down with it.
            batches = [[s] for s in queue] if isolate else [queue]
            queue = []
            for batch in batches:
                with ProcessPoolExecutor(max_workers=1 if isolate else max(1, workers),
                                         mp_context=ctx) as pool:
                    futures = {pool.submit(fn, str(s.notebook)): s for s in batch}
                    for fut in as_completed(futures):
                        s = futures[fut]
                        try:
                            graded = fut.result()
                        except BrokenProcessPool:
                            attempts[s.id] = attempts.get(s.id, 0) + 1
                            if attempts[s.id] < MAX_ATTEMPTS:
                                queue.append(s)
                                continue
                            graded = _empty_grading(s.notes + [
                                "Internal grader error: the grading process died (crash or out "
                                "of memory). Please contact the course staff."])
                            yield s, graded, ERROR
                        except Exception as exc:  # noqa: BLE001 - one submission, one row
                            graded = _empty_grading(s.notes + [
                                f"Internal grader error ({type(exc).__name__}: {exc}). Please "
                                "contact the course staff."])
                            yield s, graded, ERROR
                        else:
                            yield s, graded, NOTES if (graded["notes"] or s.notes) else OK
                        bar.set_postfix_str(f"last: {s.id}", refresh=False)
                        bar.update(1)
            isolate = True
    finally:
        bar.close()


def grade_one(notebook: str) -> dict:
    """Worker: grade one notebook (runs in a spawned process). Plain data back."""
    from hw5.grading.pipeline import grade_submission

    report = grade_submission(Path(notebook))
    return {"results": report.to_gradescope(), "table": report.table(),
            "notes": list(report.notes), "error": _internal_error(report.notes)}


def _internal_error(notes: list) -> bool:
    return any("Internal grader error" in n or "did not finish within" in n for n in notes)


def _empty_grading(notes: list) -> dict:
    """Zero for everything, with `notes`, in the same shape as `grade_one`'s answer."""
    from hw5.grading.pipeline import assemble

    report = assemble({}, list(notes))
    return {"results": report.to_gradescope(), "table": report.table(), "notes": list(notes),
            "error": True}


def _record(outdir: Path, sub: Submission, graded: dict, status: str) -> Row:
    """Write results/<id>.json and feedback/<id>.txt; return the csv row."""
    results = graded["results"]
    if graded.get("error") and status in (OK, NOTES):
        status = ERROR
    _write_atomic(results_path(outdir, sub),
                  json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    _write_atomic(feedback_path(outdir, sub), feedback_text(sub, graded["table"], results))
    row = _row_from_results(sub, results, skipped=False)
    row.status = status
    row.notes = _dedupe(list(sub.notes) + list(graded.get("notes", [])))
    return row


def _dedupe(items: list) -> list:
    return list(dict.fromkeys(items))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _read_results(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("tests"), list) else None


def _row_from_results(sub: Submission, results: dict, skipped: bool) -> Row:
    by_title = {q.title: q.id for q in AUTO_QUESTIONS}
    scores = {q.id: 0.0 for q in AUTO_QUESTIONS}
    for test in results.get("tests", []):
        if isinstance(test, dict) and test.get("name") in by_title:
            scores[by_title[test["name"]]] = float(test.get("score") or 0)
    notes = _notes_from_output(str(results.get("output", "")))
    status = OK
    if any("Internal grader error" in n or "could not grade" in n or "did not finish within" in n
           for n in notes):
        status = ERROR
    elif sub.notebook is None:
        status = NO_NOTEBOOK
    elif notes or sub.notes:
        status = NOTES
    return Row(sub, scores, float(results.get("score") or 0), status,
               _dedupe(list(sub.notes) + notes), skipped)


def _notes_from_output(output: str) -> list:
    """The submission-level messages of a results.json `output` (its first line says the score,
    its second the manual part; see `Report.to_gradescope`)."""
    lines = [line for line in output.splitlines() if line.strip()]
    if lines and lines[0].startswith(f"{spec.ASSIGNMENT}: autograded"):
        lines = lines[2:]
    return lines


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------
def feedback_text(sub: Submission, table: str, results: dict) -> str:
    rule = "=" * 78
    lines = [f"{spec.ASSIGNMENT}: autograder feedback", f"Submission {sub.id}"]
    if sub.names:
        lines.append(f"Student(s): {sub.names}")
    if sub.notebook is not None:
        lines.append(f"Notebook: {sub.notebook.name}")
    lines += [f"Note: {n}" for n in sub.notes]
    lines += ["", results.get("output", ""), "", table, ""]
    manual = {q.title for q in spec.QUESTIONS if q.kind == spec.MANUAL}
    for test in results.get("tests", []):
        mark = ("graded by the course staff" if test.get("name") in manual
                else f"{_fmt(test['score'])}/{_fmt(test['max_score'])}")
        lines += [rule, f"{test['name']}  ({mark})", rule,
                  test.get("output", "") or "(no output)", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def csv_header() -> list:
    return (["submission_id", "sid", "name", "email"] + [q.id for q in AUTO_QUESTIONS]
            + ["autograded_total", "status", "notes"])


def write_csv(rows: list, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(csv_header())
        for r in rows:
            s = r.submission
            w.writerow([s.id, s.sids, s.names, s.emails]
                       + [_fmt(r.scores.get(q.id, 0.0)) for q in AUTO_QUESTIONS]
                       + [_fmt(r.total), r.status, " | ".join(r.notes)])
    os.replace(tmp, path)


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
    ax.set_xlabel(f"autograded total (out of {_fmt(top)})")
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
    lines = []
    table = [("submission", "student(s)", "total", "status")]
    for r in rows:
        who = r.submission.names or r.submission.sids or "-"
        table.append((r.submission.id, who[:40], f"{_fmt(r.total)}/{_fmt(spec.AUTO_POINTS)}",
                      r.status + (" (earlier run)" if r.skipped else "")))
    widths = [max(len(t[i]) for t in table) for i in range(4)]
    for n, t in enumerate(table):
        lines.append("  ".join(c.ljust(w) if i != 2 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(t, widths))).rstrip())
        if n == 0:
            lines.append("-" * len(lines[0]))
    lines.append("")
    if totals:
        lines.append(f"{len(rows)} submissions ({len(graded)} graded now, "
                     f"{len(rows) - len(graded)} from an earlier run); autograded total: mean "
                     f"{statistics.fmean(totals):.2f}, median {statistics.median(totals):g}, "
                     f"min {min(totals):g}, max {max(totals):g} (of {_fmt(spec.AUTO_POINTS)})")
    problems = [r for r in rows if r.status in (ERROR, NO_NOTEBOOK)]
    if problems:
        lines.append(f"{len(problems)} to look at: " + ", ".join(
            f"{r.submission.id} ({r.status})" for r in problems))
    lines.append(f"wrote {outdir / GRADES_CSV}, {outdir / RESULTS_DIR}/, {outdir / FEEDBACK_DIR}/, "
                 f"{outdir / HISTOGRAM_PNG}, {outdir / QUESTION_MEANS_PNG}")
    return "\n".join(lines)


def _fmt(x) -> str:
    return f"{float(x):g}"
