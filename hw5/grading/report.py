"""Views of a `SubmissionResult`: Gradescope's results.json (Markdown feedback, the model itself
in `extra_data`), reading that file back, the score table, and the one results.json writer.

Gradescope layout: one test per question, in spec order (`number` sorts them), except that the
grade-time training items of a question get a test of their own, so that a course can show them
after the due date (`TRAINING_VISIBILITY`) while everything else stays visible.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from hw5 import settings
from hw5.kit import item_kinds, spec
from hw5.text import md_table, number, points_text, score_text, table

from .results import (EXTRA_KEY, GRADED, INTERNAL_ERROR, ItemResult, QuestionResult,
                      SubmissionResult)

TRAINING_VISIBILITY = settings.TRAINING_VISIBILITY
# What the student reads whenever the grader itself failed.
STAFF_CONTACT = "This is not your fault; please contact the course staff."
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
PASS, FAIL = "✓", "✗"


# ---------------------------------------------------------------------------------------------
# results.json
# ---------------------------------------------------------------------------------------------
def to_gradescope(result: SubmissionResult, training_visibility: str = TRAINING_VISIBILITY) \
        -> dict:
    """Gradescope's results.json for `result`."""
    if training_visibility not in VISIBILITIES:
        raise ValueError(f"visibility {training_visibility!r} is not one of {VISIBILITIES}")
    tests = []
    for q, num in zip(result.questions, question_numbers()):
        main = [i for i in q.items if not i.trained_by_grader]
        trained = [i for i in q.items if i.trained_by_grader]
        if main or not trained:
            tests.append(_test(q, main, q.question.title, num, "visible"))
        if trained:
            tests.append(_test(q, trained, f"{q.question.title}: trained by the grader",
                               f"{num}.1", training_visibility))
    return {
        "score": result.score,
        "execution_time": int(round(result.execution_time)),
        "output": summary_markdown(result),
        "output_format": "md",
        "test_output_format": "md",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {EXTRA_KEY: {
            "status": result.status,
            "cell_errors": list(result.cell_errors),
            "staff_notes": list(result.staff_notes),
            "evidence": list(result.evidence),
            "messages": list(result.messages),
            "score": result.score,
            "max_score": result.max_score,
        }},
        "tests": tests,
    }


def _test(q: QuestionResult, items: list, name: str, num: str, visibility: str) -> dict:
    test = {"name": name, "number": num, "score": sum(i.score for i in items),
            "max_score": sum(float(i.points) for i in items) if q.question.kind == spec.AUTO
            else 0.0,
            "output": question_markdown(q, items), "output_format": "md",
            "visibility": visibility,
            "extra_data": {EXTRA_KEY: {"question": q.question.id,
                                       "items": [i.to_dict() for i in items]}}}
    if q.question.kind == spec.AUTO:
        test["status"] = "passed" if all(i.passed for i in items) else "failed"
    return test


def question_numbers() -> list:
    """Gradescope `number` of each question, in spec order: ``<group>.<n>``, one group for the
    written part and one per notebook section, so that string and numeric sorts agree."""
    groups: dict = {}
    keys = [(q.part, q.section) for q in spec.QUESTIONS]
    for key in keys:
        groups.setdefault(key, [])
    counts = {key: keys.count(key) for key in groups}
    seen: dict = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        width = len(str(counts[key]))
        out.append(f"{list(groups).index(key) + 1}.{seen[key]:0{width}d}")
    return out


def from_gradescope(data: dict) -> SubmissionResult | None:
    """The `SubmissionResult` carried by a results.json, or None when it carries none."""
    top = ((data or {}).get("extra_data") or {}).get(EXTRA_KEY) if isinstance(data, dict) \
        else None
    if not isinstance(top, dict):
        return None
    items = {}
    for test in data.get("tests") or []:
        extra = (test.get("extra_data") or {}).get(EXTRA_KEY) if isinstance(test, dict) else None
        for d in (extra or {}).get("items") or []:
            if isinstance(d, dict):
                item = ItemResult.from_dict(d)
                items[item.id] = item
    return SubmissionResult.from_items(
        items, status=str(top.get("status") or INTERNAL_ERROR),
        messages=[str(m) for m in top.get("messages") or []],
        cell_errors=[e for e in top.get("cell_errors") or [] if isinstance(e, dict)],
        staff_notes=[str(n) for n in top.get("staff_notes") or []],
        evidence=[str(n) for n in top.get("evidence") or []],
        execution_time=float(data.get("execution_time") or 0))


def write_results(result, path) -> dict:
    """Write results.json (a `SubmissionResult` or an already made dict) atomically; return the
    dict written. The one writer of results.json."""
    data = to_gradescope(result) if isinstance(result, SubmissionResult) else result
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return data


def write_text_atomic(path, text: str) -> None:
    """Write `text` to `path` so that a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")  # the text's own line ends, as given
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# What the student reads
# ---------------------------------------------------------------------------------------------
def summary_markdown(result: SubmissionResult) -> str:
    if result.status == INTERNAL_ERROR:
        head = (f"**{spec.ASSIGNMENT}: the autograder could not grade this submission.** "
                + STAFF_CONTACT)
    else:
        head = (f"**{spec.ASSIGNMENT}: autograded {score_text(result.score, result.max_score)}.**"
                f" The written answers ({points_text(spec.MANUAL_POINTS)}) are graded by the "
                "course staff.")
    lines = [head]
    if result.messages:
        lines += [""] + [f"- {m}" for m in result.messages]
    raised = cell_error_lines(result.cell_errors)
    if raised:
        lines += ["", "Cells that raised an error when the grader ran your notebook:", ""] + raised
    if result.evidence:
        lines += ["", "Your saved outputs (no points: the written answers are graded from them):",
                  ""] + [f"- {m}" for m in result.evidence]
    return "\n".join(lines)


def cell_name(cell, todo) -> str:
    """A cell as the student finds it: its position counted from 1, and its TODO."""
    where = f"cell {cell + 1}" if isinstance(cell, int) else "a cell"
    return where + (f" ({todo})" if todo else "")


def cell_error_lines(cell_errors) -> list:
    """One line per cell that raised (fatal cells are explained by the messages above)."""
    lines = []
    for e in cell_errors:
        if not isinstance(e, dict) or e.get("fatal"):
            continue
        where = cell_name(e.get("cell"), e.get("todo"))
        detail = f"{e.get('ename') or 'Error'}: {e.get('evalue') or ''}".rstrip(": ")
        lines.append(f"- {where}: `{detail}`")
    return lines


def item_label(item: ItemResult) -> str:
    found = spec.ITEMS.get(item.id)
    kind = item_kinds.ITEM_KINDS.get(found.kind) if found is not None else None
    if kind is None:
        return item.id
    return kind.label.format(found.target)


def question_markdown(q: QuestionResult, items: list) -> str:
    if q.question.kind == spec.MANUAL:
        return f"Worth {points_text(q.question.points)}. {spec.MANUAL_GRADING_NOTE}"
    blocks = []
    for item in items:
        mark = PASS if item.passed else FAIL
        head = f"{mark} **{item_label(item)}** ({score_text(item.score, item.points)})"
        if item.passed:
            blocks.append(head + (f": {item.messages[0]}" if item.messages else ""))
            continue
        lines = [head]
        stated = [c for c in item.checks if not c.passed and (c.expected or c.found)]
        if stated:
            lines += ["", md_table(("property", "expected", "found"),
                                   [(c.name, c.expected or "", c.found or "") for c in stated])]
        if item.messages:
            lines += [""] + [f"- {m}" for m in item.messages]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def score_table(result: SubmissionResult) -> str:
    """The plain-text table `hw5 grade` prints: one row per question and the total."""
    rows = [("question", "score", "max", "status")]
    for q in result.questions:
        if q.question.kind == spec.MANUAL:
            rows.append((q.question.title, "-", number(q.question.points), "manual"))
        else:
            rows.append((q.question.title, number(q.score), number(q.max_score),
                         "ok" if q.score >= q.max_score else "lost points"))
    rows.append(("autograded total", number(result.score), number(result.max_score),
                 "" if result.status == GRADED else result.status))
    return table(rows, "lrrl", rules=(1, len(rows) - 1))


# Transitional names for hw5.grading.trusted (it builds ItemResults and writes their JSON).
def items_to_json(items: list) -> list:
    return [i.to_dict() for i in items]


def items_from_json(data: list) -> list:
    return [ItemResult.from_dict(d) for d in data if isinstance(d, dict)]
