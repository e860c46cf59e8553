"""What the class got wrong: `checks.csv`, `summary.md` and `mistakes.png`, written by every
`grade-all` run from the result model each results.json carries (never from message text).

A *mistake* is one failing check of one item with the same expected and found values: students
who share it made the same error. An item lost with no failing check (the notebook timed out, the
grader failed, no notebook) is counted under the check name `NOT_CHECKED` and, as "found", the
submission's status. Every count is a number of submissions; a submission that lost an item is
counted once under each of the item's failing checks, and once in the item's "lost" count.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from hw5.grading.report import from_gradescope, write_text_atomic
from hw5.grading.results import SubmissionResult
from hw5.kit import spec
from hw5.text import md_table, number, shorten

CHECKS_CSV = "checks.csv"
SUMMARY_MD = "summary.md"
MISTAKES_PNG = "mistakes.png"
NOT_CHECKED = "(not checked)"
EXAMPLES = 5  # example submission ids per mistake
PLOT_MISTAKES = 15  # the most shared mistakes in mistakes.png
AUTO_QUESTIONS = tuple(q for q in spec.QUESTIONS if q.kind == spec.AUTO)


@dataclass
class Mistake:
    """Submissions that failed one check of one item with the same expected / found."""

    question: str
    item: str
    check: str
    expected: str
    found: str
    submissions: list = field(default_factory=list)


@dataclass
class ClassSummary:
    results: dict
    """submission id -> SubmissionResult (graded submissions only)"""
    lost: dict
    """item id -> [submission ids that lost it]"""
    mistakes: list
    """`Mistake`s, most shared first"""

    def question_lost(self, question: spec.Question) -> list:
        """Submission ids that lost points on `question` (in graded order)."""
        return [sid for sid, r in self.results.items()
                if _question_score(r, question) < question.points]


def summarize(results: dict) -> ClassSummary:
    """`results`: submission id -> SubmissionResult, in the order of grades.csv."""
    lost: dict = {i.id: [] for q in AUTO_QUESTIONS for i in q.items}
    groups: dict = {}
    for sid, result in results.items():
        for q in result.questions:
            if q.question.kind != spec.AUTO:
                continue
            for item in q.items:
                if item.passed:
                    continue
                lost.setdefault(item.id, []).append(sid)
                failing = [c for c in item.checks if not c.passed]
                keys = [(c.name, c.expected or "", c.found or "") for c in failing] or \
                    [(NOT_CHECKED, "", f"status: {result.status}")]
                for name, expected, found in dict.fromkeys(keys):
                    key = (q.question.id, item.id, name, expected, found)
                    groups.setdefault(key, Mistake(*key)).submissions.append(sid)
    order = {i.id: n for n, i in enumerate(i for q in AUTO_QUESTIONS for i in q.items)}
    mistakes = sorted(groups.values(),
                      key=lambda m: (-len(m.submissions), order.get(m.item, len(order)), m.check,
                                     m.found))
    return ClassSummary(results, lost, mistakes)


def _question_score(result: SubmissionResult, question: spec.Question) -> float:
    return next((q.score for q in result.questions if q.question.id == question.id), 0.0)


def load_results(outdir: Path, ids) -> dict:
    """submission id -> SubmissionResult, for the ids whose results/<id>.json carries the model."""
    import json

    out = {}
    for sid in ids:
        try:
            data = json.loads((outdir / "results" / f"{sid}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        result = from_gradescope(data)
        if result is not None:
            out[sid] = result
    return out


# ---------------------------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------------------------
def write_all(results: dict, outdir: Path) -> ClassSummary:
    s = summarize(results)
    write_checks_csv(s, outdir / CHECKS_CSV)
    write_text_atomic(outdir / SUMMARY_MD, summary_markdown(s))
    write_plot(s, outdir / MISTAKES_PNG)
    return s


def checks_header() -> list:
    return ["question", "item", "check", "expected", "found", "submissions", "share",
            "example_ids"]


def write_checks_csv(s: ClassSummary, path: Path) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(checks_header())
    n = max(1, len(s.results))
    for m in s.mistakes:
        w.writerow([m.question, m.item, m.check, m.expected, m.found, len(m.submissions),
                    f"{len(m.submissions) / n:.3f}", " ".join(m.submissions[:EXAMPLES])])
    write_text_atomic(path, buf.getvalue())


def summary_markdown(s: ClassSummary) -> str:
    n = len(s.results)
    lines = [f"# {spec.ASSIGNMENT}: what the class got wrong", "",
             f"{n} graded submissions. Counts are submissions; read from the result model of "
             f"each `results/<id>.json` (see `{CHECKS_CSV}` for every mistake).", ""]
    rows = []
    for q in AUTO_QUESTIONS:
        lost = s.question_lost(q)
        mean = sum(_question_score(r, q) for r in s.results.values()) / n if n else 0.0
        rows.append((q.title, number(q.points), f"{mean:.2f}", str(len(lost)),
                     _examples(lost)))
    lines += ["## Per question", "",
              md_table(("question", "points", "mean", "lost points", "e.g."), rows), ""]
    lines += ["## Most shared mistakes", ""]
    if s.mistakes:
        lines.append(md_table(("item", "check", "expected", "found", "submissions", "e.g."), [
            (m.item, m.check, shorten(m.expected, 60), shorten(m.found, 60),
             str(len(m.submissions)), _examples(m.submissions))
            for m in s.mistakes[:PLOT_MISTAKES]]))
    else:
        lines.append("Nobody lost a point.")
    lines.append("")
    lines += ["## Per item", ""]
    for q in AUTO_QUESTIONS:
        for item in q.items:
            who = s.lost.get(item.id, [])
            if not who:
                continue
            lines += [f"### {q.title}: `{item.id}` ({number(item.points)} points): lost by "
                      f"{len(who)} of {n}", ""]
            mine = [m for m in s.mistakes if m.item == item.id]
            lines.append(md_table(("check", "expected", "found", "submissions", "e.g."), [
                (m.check, shorten(m.expected, 60), shorten(m.found, 80),
                 str(len(m.submissions)), _examples(m.submissions)) for m in mine]))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _examples(ids: list) -> str:
    return ", ".join(ids[:EXAMPLES]) + (", ..." if len(ids) > EXAMPLES else "")


def write_plot(s: ClassSummary, path: Path) -> None:
    """The most shared mistakes as horizontal bars (an empty chart says nobody lost a point)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = s.mistakes[:PLOT_MISTAKES][::-1]
    fig, ax = plt.subplots(figsize=(9, 1.2 + 0.35 * max(1, len(top))))
    labels = [shorten(f"{m.item}: {m.check}" + (f" (found {m.found})" if m.found else ""), 70)
              for m in top]
    ax.barh(range(len(top)), [len(m.submissions) for m in top], color="#C44E52")
    ax.set_yticks(range(len(top)), labels, fontsize=8)
    ax.set_xlabel(f"submissions (of {len(s.results)})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_title(f"{spec.ASSIGNMENT}: most shared mistakes" if top else
                 f"{spec.ASSIGNMENT}: nobody lost a point")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
