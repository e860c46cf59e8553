"""The result model and its views (fast): results.json carries the model in `extra_data`, tools
read fields and never text, Gradescope's layout (Markdown, numbers, visibility), the one writer,
the coordinator's reading of the sandbox's result and of the submitters' ids."""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest

from hw5.grading import cli, pipeline, report
from hw5.grading.results import (GRADED, INTERNAL_ERROR, KERNEL_DIED, NOTEBOOK_TIMEOUT, Check,
                                 ItemResult, SubmissionResult)
from hw5.kit import spec
from hw5.ta import grade_all as ga
from hw5.ta import validate
from hw5.ta.exports import Submission, Submitter

FAILING = ("optimizer_define_model_with_momentum", "learns_define_model_2_conv",
           "variable_model_2_layer")


def _item(item: spec.Item, passed: bool) -> ItemResult:
    if passed:
        return ItemResult.from_checks(item.id, item.points, [
            Check("layers", True, "5 layers as asked")], summary=f"{item.target} as asked")
    return ItemResult.from_checks(item.id, item.points, [
        Check("layers", True, "5 layers as asked"),
        Check("learning_rate", False, "expected learning rate 0.01, found 0.1: pass "
              "learning_rate to SGD", "0.01", "0.1"),
        Check("loss", False, "expected categorical cross-entropy, found a | b", "categorical",
              "a | b"),
        Check("momentum", False, "momentum is checked once the learning rate is right")])


def _result(failing=FAILING, **fields) -> SubmissionResult:
    items = {i.id: _item(i, i.id not in failing) for i in spec.ITEMS.values()}
    fields.setdefault("messages", ["Cell 12 raised NameError: name 'x' is not defined."])
    return SubmissionResult.from_items(items, execution_time=31.0, **fields)


def test_results_json_carries_the_model_and_reads_back_unchanged():
    result = _result(status=KERNEL_DIED,
                     cell_errors=[{"cell": 12, "ename": "NameError", "evalue": "x", "todo": "TODO3",
                                   "fatal": False}],
                     staff_notes=["student_id in the notebook is '7', but the submission is by 8"],
                     evidence=["Cell 3: training ran for 1 epoch; the assignment asks for 10."])
    data = json.loads(json.dumps(report.to_gradescope(result)))
    assert report.from_gradescope(data) == result
    top = data["extra_data"]["hw5"]
    assert {"status", "cell_errors", "staff_notes", "score", "max_score"} <= set(top)
    assert top["status"] == KERNEL_DIED and top["max_score"] == spec.AUTO_POINTS
    assert top["score"] == data["score"] == spec.AUTO_POINTS - sum(
        spec.ITEMS[i].points for i in FAILING)
    item = next(i for t in data["tests"] for i in t["extra_data"]["hw5"]["items"]
                if i["id"] == FAILING[0])
    assert {"id", "passed", "points", "score", "checks"} <= set(item)
    assert item["checks"][1] == {"name": "learning_rate", "passed": False, "expected": "0.01",
                                 "found": "0.1", "message": item["checks"][1]["message"]}
    assert result.failed_items() == [i for i in spec.ITEMS if i in FAILING]
    # the staff-only notes never reach what the student reads
    shown = data["output"] + "".join(t["output"] for t in data["tests"])
    assert "student_id" not in shown and "training ran for 1 epoch" in data["output"]


def test_gradescope_layout_markdown_numbers_and_training_visibility(monkeypatch):
    data = report.to_gradescope(_result(), training_visibility="after_due_date")
    assert data["output_format"] == data["test_output_format"] == "md"
    assert data["visibility"] == "visible" and data["stdout_visibility"] == "hidden"
    tests = data["tests"]
    numbers = [t["number"] for t in tests]
    as_versions = [tuple(int(p) for p in n.split(".")) for n in numbers]
    assert numbers == sorted(numbers) and as_versions == sorted(as_versions)
    assert len(set(numbers)) == len(numbers)
    # every question once, in spec order; training items in their own test
    order = list(dict.fromkeys(t["extra_data"]["hw5"]["question"] for t in tests))
    assert order == [q.id for q in spec.QUESTIONS]
    trained = [t for t in tests if any(spec.ITEMS[i["id"]].kind == "learns"
                                       for i in t["extra_data"]["hw5"]["items"])]
    assert len(trained) == sum(i.kind == "learns" for i in spec.ITEMS.values())
    assert all(t["visibility"] == "after_due_date" and len(t["extra_data"]["hw5"]["items"]) == 1
               for t in trained)
    assert all(t["visibility"] == "visible" for t in tests if t not in trained)
    manual = [t for t in tests if spec.QUESTIONS_BY_ID[t["extra_data"]["hw5"]["question"]].kind
              == spec.MANUAL]
    assert manual and all("status" not in t and t["max_score"] == 0 for t in manual)
    # a failing item: a table of what was expected and found, then what to do
    todo3 = next(t for t in tests if t["extra_data"]["hw5"]["question"] == "todo3"
                 and t not in trained)
    assert todo3["status"] == "failed" and todo3["score"] == 0.25
    assert "| learning_rate | 0.01 | 0.1 |" in todo3["output"]
    assert "- expected learning rate 0.01, found 0.1: pass learning_rate to SGD" in todo3["output"]
    assert "| loss | categorical | a \\| b |" in todo3["output"]  # a value never breaks the table
    assert "- momentum is checked once" in todo3["output"]  # no expected/found: message only
    assert re.search(r"✓ \*\*Architecture of `define_model_with_momentum`\*\* \(0\.25/0\.25\): "
                     "define_model_with_momentum as asked", todo3["output"])
    with pytest.raises(ValueError):
        report.to_gradescope(_result(), training_visibility="later")
    assert report.TRAINING_VISIBILITY in report.VISIBILITIES


def test_one_writer_and_an_internal_error_is_the_same_model(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(pipeline, "grade_submission", broken)
    out = tmp_path / "deep" / "results.json"
    written = cli.grade_to_file(tmp_path / "missing.ipynb", out, submitter_ids=("1",),
                                messages=["Your submission holds 2 notebooks; only "
                                          "a.ipynb was graded."])
    assert json.loads(out.read_text(encoding="utf-8")) == written
    result = report.from_gradescope(written)
    assert result.status == INTERNAL_ERROR and result.score == 0
    assert result.staff_notes == ["RuntimeError: disk on fire"]
    assert [q.question.id for q in result.questions] == [q.id for q in spec.QUESTIONS]
    assert "could not grade" in written["output"] and "disk on fire" not in written["output"]
    assert result.messages[0].startswith("Your submission holds 2")
    assert list(out.parent.iterdir()) == [out]  # no temporary file left behind


def _reword(results: dict) -> dict:
    """The same results with every sentence a person reads written differently."""
    data = json.loads(json.dumps(results))
    top = data["extra_data"]["hw5"]
    data["output"] = "Reworded summary."
    top["messages"] = [f"Reworded message {n}." for n, _ in enumerate(top["messages"])]
    for test in data["tests"]:
        test["output"] = "Reworded output."
        for item in test["extra_data"]["hw5"]["items"]:
            item["messages"] = ["Reworded."]
            for check in item["checks"]:
                check["message"] = "Reworded check."
    return data


def _csv(rows) -> list:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for r in rows:
        writer.writerow([r.submission.id, r.status, ga.number(r.total)]
                        + [ga.number(r.scores[q.id]) for q in ga.AUTO_QUESTIONS])
    return list(csv.reader(io.StringIO(buf.getvalue())))


def test_changed_wording_changes_neither_grade_all_nor_validate(monkeypatch):
    """Tools decide from fields: new wording (of the student messages and of the report's own
    text) leaves grade-all's statuses and scores and validate's verdicts as they were."""
    timeout = pipeline.sandbox_outcome({
        "status": NOTEBOOK_TIMEOUT, "export": None, "cell_errors": [],
        "messages": ["Your notebook did not finish within 480 s, so the grader stopped it."]})
    cases = {
        "1": _result(failing=(), messages=[]),
        "2": _result(),
        "3": SubmissionResult.ungraded(timeout.status, timeout.messages),
        "4": SubmissionResult.ungraded(INTERNAL_ERROR, ["The grader failed."]),
    }
    subs = {k: Submission(k, [Submitter("A", k)], notebook=Path("x.ipynb"))
            for k in cases}
    before = {k: report.to_gradescope(r) for k, r in cases.items()}
    monkeypatch.setattr(report, "question_markdown", lambda q, items: "Completely new words.")
    monkeypatch.setattr(report, "summary_markdown", lambda r: "New summary.")
    monkeypatch.setattr(pipeline, "STAFF_CONTACT", "Write to us.")
    after = {k: _reword(report.to_gradescope(r)) for k, r in cases.items()}
    assert all(before[k]["output"] != after[k]["output"] for k in cases)

    rows_before = [ga.row_from_results(subs[k], before[k], False) for k in cases]
    rows_after = [ga.row_from_results(subs[k], after[k], False) for k in cases]
    assert _csv(rows_before) == _csv(rows_after)
    assert [r.status for r in rows_before] == [ga.OK, ga.NOTES, NOTEBOOK_TIMEOUT, ga.ERROR]

    job = validate.Job("mutant", Path("x"), "mutant", FAILING[:1])
    solution = validate.Job("solution", Path("x"), "solution")
    for k in cases:
        assert validate.judge(job, before[k]) == validate.judge(job, after[k])
        assert validate.judge(solution, before[k]) == validate.judge(solution, after[k])
        assert validate.failed_items(before[k]) == validate.failed_items(after[k])
    assert validate.judge(job, before["2"]).ok and validate.judge(solution, before["1"]).ok


def test_sandbox_result_is_read_by_fields():
    export = {"answers": {}, "builders": {}, "variables": {}}
    died = pipeline.sandbox_outcome({
        "status": KERNEL_DIED, "export": export, "messages": ["The kernel stopped."],
        "cell_errors": [{"cell": 40, "ename": "SystemExit", "evalue": "", "todo": "TODO5",
                         "fatal": True}, "not a dict"], "skipped_cells": [41], "elapsed_s": 3.0,
        "stats": {}})
    assert died.status == KERNEL_DIED and died.export == export  # what was answered counts
    assert died.cell_errors == [{"cell": 40, "ename": "SystemExit", "evalue": "",
                                 "todo": "TODO5", "fatal": True}]
    assert pipeline.sandbox_outcome({"status": GRADED, "export": export}).status == GRADED
    assert pipeline.sandbox_outcome({"status": "ok", "export": export}).status == INTERNAL_ERROR
    odd = pipeline.sandbox_outcome({"status": "weird", "export": [1]})
    assert odd.status == INTERNAL_ERROR and odd.export is None and "weird" in odd.staff_notes[0]


def test_student_id_is_compared_with_the_submitters():
    def export(value):
        return {"answers": {spec.STUDENT_ID_VARIABLE: {"status": "ok", "value": value,
                                                       "repr": repr(value)}}}

    assert pipeline.student_id_notes(export(12345), ["12345"]) == []
    assert pipeline.student_id_notes(export(" 0012345 "), ["99", "12345"]) == []  # a group
    assert pipeline.student_id_notes(export("AB12"), ["ab12"]) == []
    assert pipeline.student_id_notes(export(12345), []) == []  # graded locally: nothing to say
    note = pipeline.student_id_notes(export(12346), ["12345"])
    assert len(note) == 1 and "12346" in note[0] and "12345" in note[0]
    assert "not set" in pipeline.student_id_notes(export(None), ["12345"])[0]
    assert "not set" in pipeline.student_id_notes({}, ["12345"])[0]


def test_score_table():
    text = report.score_table(_result(status=KERNEL_DIED))
    lines = text.splitlines()
    assert lines[0].split() == ["question", "score", "max", "status"]
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}
    assert lines[-1].split()[:4] == ["autograded", "total", "10.25", "12"]
    assert lines[-1].endswith(KERNEL_DIED)


def test_fallback_for_a_submission_without_a_notebook(tmp_path):
    from hw5.grading.results import NOT_A_NOTEBOOK

    written = cli.write_results(cli.fallback_results("No notebook found in your submission.",
                                                     NOT_A_NOTEBOOK), tmp_path / "results.json")
    result = report.from_gradescope(json.loads((tmp_path / "results.json").read_text("utf-8")))
    assert result.status == NOT_A_NOTEBOOK and result.score == 0 and not result.staff_notes
    assert "No notebook found" in written["output"]


def test_cells_that_raised_are_listed_with_their_todo():
    from hw5.grading.report import cell_error_lines

    lines = cell_error_lines([
        {"cell": 12, "ename": "ValueError", "evalue": "Argument(s) not recognized: {'lr': 1}",
         "todo": "TODO3", "fatal": False},
        {"cell": 40, "ename": "SystemExit", "evalue": "", "todo": "TODO6", "fatal": True},
        {"cell": 3, "ename": "NameError", "evalue": "name 'x' is not defined", "todo": None,
         "fatal": False}])
    assert lines == ["- cell 13 (TODO3): `ValueError: Argument(s) not recognized: {'lr': 1}`",
                     "- cell 4: `NameError: name 'x' is not defined`"]
