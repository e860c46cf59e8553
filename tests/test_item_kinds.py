"""The registry of item kinds (fast): every reader of an item's kind (the trusted grader, the
report, the kit's items and checklist, the result model) takes its meaning from
``item_kinds.ITEM_KINDS``, and the results.json of today's items is pinned byte for byte.

The pinned file changes only when the student-facing text or layout is meant to change:
regenerate it with ``python tests/test_item_kinds.py`` and review the diff.
"""
from __future__ import annotations

import sys
from pathlib import Path

from hw5.grading import report
from hw5.grading.results import GRADED, Check, ItemResult, SubmissionResult
from hw5.kit import checklist, item_kinds, items, spec

# results.json as `hw5 grade` writes it, then the score table it prints
PINNED = Path(__file__).parent / "data" / "results_and_score_table_pinned.txt"
FAILING = ("architecture_define_model", "optimizer_define_model_with_momentum",
           "learns_define_model_2_conv", "variable_model_eta_small", "answer_p3")


def _item(item: spec.Item, passed: bool) -> ItemResult:
    if passed:
        return ItemResult.from_checks(item.id, item.points, [Check("layers", True, "as asked")],
                                      summary=f"{item.target}: every check passed")
    result = ItemResult.from_checks(item.id, item.points, [
        Check("layers", True, "5 layers as asked"),
        Check("learning_rate", False, "expected learning rate 0.01, found 0.1: pass "
              "learning_rate to SGD", "0.01", "0.1"),
        Check("momentum", False, "momentum is checked once the learning rate is right")])
    result.fraction = 0.5 if item.kind == "answer" else 0.0
    return result


def pinned_result() -> SubmissionResult:
    """A fixed result over every item of the spec: passing, failing and partly credited items."""
    found = {i.id: _item(i, i.id not in FAILING) for i in spec.ITEMS.values()}
    return SubmissionResult.from_items(
        found, status=GRADED, execution_time=42.0,
        messages=["Cell 12 raised NameError: name 'x' is not defined."],
        cell_errors=[{"cell": 12, "ename": "NameError", "evalue": "x", "todo": "TODO3",
                      "fatal": False}],
        evidence=["Cell 3: training ran for 1 epoch; the assignment asks for 10."])


def render(tmp: Path) -> str:
    path = tmp / "results.json"
    report.write_results(pinned_result(), path)
    return path.read_text(encoding="utf-8") + "\n" + report.score_table(pinned_result()) + "\n"


def test_results_json_of_todays_items_is_unchanged(tmp_path):
    assert render(tmp_path) == PINNED.read_text(encoding="utf-8"), (
        "results.json or the score table changed: if that is meant, regenerate "
        f"{PINNED.name} with `python tests/test_item_kinds.py` and review the diff")


def test_every_item_names_a_registered_kind_and_a_target_of_that_kind():
    targets = {item_kinds.BUILDER: spec.BUILDERS, item_kinds.VARIABLE: spec.TRAINED_VARIABLES,
               item_kinds.ANSWER: spec.ANSWER_ITEM_VARIABLES}
    assert set(targets) == {k.applies_to for k in item_kinds.ITEM_KINDS.values()}
    for item in spec.ITEMS.values():
        kind = item_kinds.ITEM_KINDS[item.kind]
        assert item.target in targets[kind.applies_to], item.id


def test_readers_take_the_meaning_of_a_kind_from_the_registry():
    builder_kinds = tuple(k.name for k in item_kinds.ITEM_KINDS.values()
                          if k.applies_to == item_kinds.BUILDER)
    assert items.BUILDER_KINDS == builder_kinds == item_kinds.item_kinds(item_kinds.BUILDER)
    for item in spec.ITEMS.values():
        kind = item_kinds.ITEM_KINDS[item.kind]
        result = ItemResult(item.id, item.points, True)
        assert report.item_label(result) == kind.label.format(item.target)
        assert result.trained_by_grader == kind.trained_by_grader
    # the grade-time training items are the ones the report shows in a test of their own
    data = report.to_gradescope(pinned_result())
    own_test = {i["id"] for t in data["tests"] if t["name"].endswith(": trained by the grader")
                for i in t["extra_data"]["hw5"]["items"]}
    assert own_test == {i.id for i in spec.ITEMS.values()
                        if item_kinds.ITEM_KINDS[i.kind].trained_by_grader}
    assert own_test  # today: the two `learns` items
    # the checklist looks for the names the items read: builders, model/history, answers
    todo3 = checklist._names(spec.QUESTIONS_BY_ID["todo3"])
    todo4 = checklist._names(spec.QUESTIONS_BY_ID["todo4"])
    assert todo3 == ["define_model_with_momentum"]
    assert todo4 == ["model_momentum", "history_momentum"]
    assert checklist._names(spec.QUESTIONS_BY_ID["p3"]) == [spec.P3_VARIABLE]


if __name__ == "__main__":  # regenerate the pinned file
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        PINNED.write_text(render(Path(tmp)), encoding="utf-8")
    print(f"wrote {PINNED}", file=sys.stderr)
