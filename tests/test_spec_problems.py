"""The spec's invariants as problems (fast): the shipped spec has none; changed copies of it get
the sentence that says what to do; `spec` imports whatever its data; `hw5 build` and
`hw5 validate` refuse an inconsistent spec; README's points are the spec's."""
from __future__ import annotations

import argparse
import dataclasses
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from hw5.build import cli as build_cli
from hw5.kit import item_kinds, spec, spec_problems
from hw5.ta import validate

ROOT = Path(__file__).resolve().parent.parent


def variant(**changes):
    """A copy of the spec with some names replaced (the module itself is left alone)."""
    return types.SimpleNamespace(**{**vars(spec), **changes})


def with_question(qid, **changes):
    """QUESTIONS with question ``qid`` changed (``dataclasses.replace``)."""
    return tuple(dataclasses.replace(q, **changes) if q.id == qid else q for q in spec.QUESTIONS)


def test_the_shipped_spec_has_no_problems():
    assert spec_problems.problems() == []


def test_a_trained_variable_without_a_reference_run():
    adam = spec.TrainedVariable("model_adam", "history_adam", "define_model", spec.sgd(0.001))
    found = spec_problems.problems(variant(
        TRAINED_VARIABLES={**spec.TRAINED_VARIABLES, "model_adam": adam}))
    assert found == ["trained variable model_adam has no measured reference run: run "
                     "scripts/reference_results.py (it measures the solution's runs)"]
    runs = dict(spec.REFERENCE_RUNS)
    runs["model_old"] = runs.pop("model_momentum")
    found = spec_problems.problems(variant(REFERENCE_RUNS=runs))
    assert len(found) == 2 and "trained variable model_momentum has no measured" in found[0]
    assert "the reference runs include model_old, which is not a trained variable" in found[1]


def test_points_that_do_not_add_up():
    p3 = spec.QUESTIONS_BY_ID["p3"]
    # P3 worth 5 with its item worth 5: course data, no problem (the written part is then 21)
    five = (dataclasses.replace(p3.items[0], points=5),)
    assert spec_problems.problems(variant(QUESTIONS=with_question("p3", points=5,
                                                                  items=five))) == []
    assert spec_problems.problems(variant(QUESTIONS=with_question("p3", points=5))) == [
        "question p3 is worth 5 points, but its items add up to 4: change the items' points or "
        "the question's"]
    assert spec_problems.problems(variant(QUESTIONS=with_question("q3", points=2))) == [
        "section 3's points add up to 4, expected SECTION_POINTS 5 (the notebook says every "
        "section is worth that): change the points of its questions or SECTION_POINTS"]
    found = spec_problems.problems(variant(SECTION_POINTS=6))
    assert len(found) == 4 and all("expected SECTION_POINTS 6" in p for p in found)
    # a fifth section is checked like the first four
    q5 = dataclasses.replace(spec.QUESTIONS_BY_ID["q4"], id="q5", points=3, section=5)
    assert spec_problems.problems(variant(QUESTIONS=spec.QUESTIONS + (q5,))) == [
        "section 5's points add up to 3, expected SECTION_POINTS 5 (the notebook says every "
        "section is worth that): change the points of its questions or SECTION_POINTS"]


def test_layer_lists_that_contradict_themselves():
    layers = list(spec.BASELINE_LAYERS)
    layers[3] = spec.dense(100, "relu", 540_000)
    found = spec_problems.problems(variant(ARCHITECTURES={**spec.ARCHITECTURES,
                                                          "baseline": tuple(layers)}))
    assert found == ["architecture 'baseline', layer 4 (Dense(100, relu)): the layer list says "
                     "540,000 parameters, its input (5408,) gives 540,900: fix params (the "
                     "architecture's total, 541,330 as listed, is quoted to students)"]
    layers = list(spec.TWO_CONV_LAYERS)
    layers[2] = spec.conv(64, (12, 12, 64), 18_496)
    found = spec_problems.problems(variant(ARCHITECTURES={**spec.ARCHITECTURES,
                                                          "two_conv": tuple(layers)}))
    assert found[0].startswith("architecture 'two_conv', layer 3 (Conv2D(64, 3×3, relu)): the "
                               "layer list says output shape (12, 12, 64), its input "
                               "(13, 13, 32) gives (11, 11, 64)")


def test_item_kinds_targets_and_thresholds():
    todo3 = spec.QUESTIONS_BY_ID["todo3"]
    typo = (dataclasses.replace(todo3.items[0], kind="achitecture"),) + todo3.items[1:]
    found = spec_problems.problems(variant(QUESTIONS=with_question("todo3", items=typo)))
    assert found == ["question todo3: item kind 'achitecture' is not one of ITEM_KINDS "
                     "(architecture, optimizer, learns, variable, answer): register it there or "
                     "fix the item"]
    wrong = (dataclasses.replace(todo3.items[0], target="model_momentum"),) + todo3.items[1:]
    found = spec_problems.problems(variant(QUESTIONS=with_question("todo3", items=wrong)))
    assert found == ["question todo3: item architecture_model_momentum is about "
                     "'model_momentum', which is not a builder the spec defines: add it there "
                     "or fix the item"]
    thresholds = {k: v for k, v in spec.ACCURACY_THRESHOLDS.items() if k != "define_model_2_conv"}
    assert spec_problems.problems(variant(ACCURACY_THRESHOLDS=thresholds)) == [
        "builder define_model_2_conv is trained by the grader but has no ACCURACY_THRESHOLDS "
        "entry: calibrate one with scripts/calibrate_thresholds.py"]
    kinds = {**item_kinds.ITEM_KINDS,
             "speed": item_kinds.ItemKind("speed", "Speed of `{}`", "model")}
    assert spec_problems.problems(kinds=kinds) == [
        "item kind 'speed' applies to 'model': make it one of 'builder', 'variable', 'answer'"]


def test_builders_probed_with_their_own_parameters():
    b = spec.BUILDERS["define_model_with_momentum"]
    same = dataclasses.replace(b, probes=({"learning_rate": 0.01, "momentum": 0.9},
                                          {"learning_rate": 0.37, "momentum": 0.9}))
    assert spec_problems.problems(variant(BUILDERS={**spec.BUILDERS, b.name: same})) == [
        "builder define_model_with_momentum: every probe passes the same momentum: make two "
        "probes differ in momentum, so that a builder ignoring it shows"]
    partial = dataclasses.replace(b, train_args={"learning_rate": 0.01})
    found = spec_problems.problems(variant(BUILDERS={**spec.BUILDERS, b.name: partial}))
    assert found == ["builder define_model_with_momentum is called with ['learning_rate'], but "
                     "its parameters are ['learning_rate', 'momentum']: give every probe and "
                     "train_args exactly these"]


def test_spec_imports_without_a_reference_run():
    code = ("import hw5.kit.reference_results as r\n"
            "r.RUNS = {k: v for k, v in r.RUNS.items() if k != 'model_momentum'}\n"
            "from hw5.kit import spec, spec_problems\n"
            "print(*spec_problems.problems(), sep='\\n')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("trained variable model_momentum has no measured reference run")


@pytest.fixture
def no_reference_for_model(monkeypatch):
    runs = {k: v for k, v in spec.REFERENCE_RUNS.items() if k != "model"}
    monkeypatch.setattr(spec, "REFERENCE_RUNS", runs)


def test_build_refuses_an_inconsistent_spec(no_reference_for_model, tmp_path, capsys):
    assert build_cli.run(argparse.Namespace(root=str(tmp_path))) == 1
    err = capsys.readouterr().err
    assert "hw5 build: nothing built" in err
    assert "- trained variable model has no measured reference run" in err
    assert list(tmp_path.iterdir()) == []


def test_validate_reports_the_spec_first_and_fails(no_reference_for_model, tmp_path):
    rows = validate.validate(tmp_path, [])
    assert [r.what for r in rows] == ["spec"] and not rows[0].ok
    assert rows[0].got.startswith("trained variable model has no measured reference run")


def test_validate_starts_with_the_spec():
    assert [(r.what, r.ok) for r in validate.check_spec()] == [("spec", True)]


# ---------------------------------------------------------------------------------------------
# Points are never typed twice: README's figures are the spec's
# ---------------------------------------------------------------------------------------------
def test_readme_points_are_the_specs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    fix = "README.md quotes {} where the spec says {} ({}): change README"
    parts = dict(re.findall(r"^\| (written|notebook) \|.*\| (\d+(?:\.\d+)?) \|$", readme, re.M))
    assert set(parts) == set(spec.PARTS)
    for part, points in parts.items():
        assert float(points) == spec.PART_POINTS[part], fix.format(
            points, spec.PART_POINTS[part], f"PART_POINTS[{part!r}]")
    quoted = [(a, spec.AUTO_POINTS, "AUTO_POINTS") for a in
              re.findall(r"(\d+(?:\.\d+)?) points \(`spec\.AUTO_POINTS`\)", readme)]
    quoted += [(m, spec.MANUAL_POINTS, "MANUAL_POINTS") for m in
               re.findall(r"the (\d+(?:\.\d+)?) points of the questions graded by the staff",
                          readme)]
    # every score quoted (Test Autograder, the rehearsal's table) is out of the autograded points
    quoted += [(of, spec.AUTO_POINTS, "AUTO_POINTS, as a score's maximum") for _, of in
               re.findall(r"\b(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)\b(?! CPU)", readme)]
    assert {name for _, _, name in quoted} == {"AUTO_POINTS", "MANUAL_POINTS",
                                               "AUTO_POINTS, as a score's maximum"}
    for figure, expected, name in quoted:
        assert float(figure) == expected, fix.format(figure, expected, name)
