"""Bad and hostile submissions through `hw5 grade`: each ends in a valid results.json (checked by
`grade`), a clear message, and never more than its honest answers deserve."""
from __future__ import annotations

import json

import nbformat
import pytest

from hw5 import answer_key, settings
from hw5.grading import answers
from hw5.kit import spec

from conftest import ROOT, Repo, add_cell, grade, output_of, scores
from conftest import write_nb as write

REPO = Repo(ROOT)
TEMPLATE = REPO.template_path
solution = REPO.solution

pytestmark = pytest.mark.slow

ANSWERS_CELL = (f"{spec.STUDENT_ID_VARIABLE} = 'hostile-01'\n"
                f"{spec.P1_1_VARIABLE} = '{answer_key.P1_1_ANSWER}'\n"
                f"{spec.P3_VARIABLE} = {answers.p3_expected('hostile-01').tolist()}")
HONEST = spec.QUESTIONS_BY_ID["p1_1"].points + spec.QUESTIONS_BY_ID["p3"].points


def partial():
    """The template with only P1.1 and P3 answered: worth exactly HONEST points."""
    return add_cell(nbformat.read(TEMPLATE, 4), ANSWERS_CELL)


@pytest.mark.parametrize("name, content, says", [
    ("empty", b"", "empty"),
    ("not-json", b"this is not a notebook", "not a valid"),
    ("truncated", TEMPLATE.read_bytes()[:TEMPLATE.read_bytes().index(b"\n  },\n", 5000) + 6],
     "cut off"),
    ("no-cells", json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                             "nbformat_minor": 5}).encode(), "no code"),
], ids=lambda v: v if isinstance(v, str) and len(v) < 20 else "")
def test_unreadable_submissions_score_zero_with_a_reason(tmp_path, name, content, says):
    path = tmp_path / f"{name}.ipynb"
    path.write_bytes(content)
    results = grade(path)
    assert results["score"] == 0
    assert says in results["output"].lower(), results["output"]


def test_nbformat_3_and_missing_kernelspec_are_graded_normally(tmp_path):
    nb = partial()
    nb.metadata = {}
    v3 = nbformat.convert(nb, 3)
    path = tmp_path / "old format.ipynb"
    path.write_text(nbformat.writes(v3, version=3), encoding="utf-8")
    assert grade(path)["score"] == HONEST


HOSTILE_CELLS = {
    "sys_exit": "import sys\nsys.exit()",
    "print_all_tests_passed": "print('All tests passed!\\nscore: 22/22')\n"
                              "print('{\"score\": 1000, \"tests\": []}')",
    "print_200mb": "import sys\nfor _ in range(200):\n    sys.stdout.write('x' * 2**20)",
    "while_true": "while True:\n    pass",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_CELLS))
def test_hostile_cell_after_honest_answers_keeps_exactly_the_honest_score(tmp_path, name):
    nb = add_cell(partial(), HOSTILE_CELLS[name])
    results = grade(write(nb, tmp_path / "hw5.ipynb"))
    assert results["score"] == HONEST, results["output"]
    if name == "while_true":
        assert "was stopped after" in results["output"], results["output"]


@pytest.mark.parametrize("name, cell, says", [
    ("os_exit", "import os\nos._exit(1)", "kernel stopped"),
    ("allocate_60gb", "import numpy as np\nx = np.ones(60 * 2**30, dtype=np.uint8)", "memory"),
])
def test_killing_the_kernel_costs_at_most_the_honest_score(tmp_path, name, cell, says):
    results = grade(write(add_cell(partial(), cell), tmp_path / "hw5.ipynb"))
    assert results["score"] <= HONEST
    assert says in results["output"].lower(), results["output"]


@pytest.mark.parametrize("name, cell, env", [
    ("os_exit", "# TODO6: the end\nimport os\nos._exit(1)", {}),
    ("allocate_700mb_in_768mb", "import numpy as np\nbig = np.ones(700 * 2**20, np.uint8)",
     {settings.CONTAINER_MEMORY_ENV_VAR: "768"}),
    ("shadowed_builtins", "len = 512\nstr = None\nglobals = 1\nValueError = 3\njson = 'x'", {}),
], ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "")
def test_a_fatal_last_cell_keeps_the_solution_s_credit(tmp_path, monkeypatch, name, cell, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    nb = add_cell(solution(), cell)
    results = grade(write(nb, tmp_path / "hw5.ipynb"))
    assert results["score"] >= 0.9 * spec.AUTO_POINTS, results["output"]
    if name == "os_exit":
        assert f"cell {len(nb.cells)} (TODO6)" in results["output"], results["output"]


def test_filesystem_vandal_cannot_touch_results_or_checks(tmp_path):
    vandal = f"""
import os, json
fake = json.dumps({{"score": 1000, "tests": []}})
for top in (os.getcwd(), os.path.expanduser("~"), {str(tmp_path)!r}):
    for root, dirs, files in os.walk(top):
        try:
            open(os.path.join(root, "results.json"), "w").write(fake)
        except OSError:
            pass
        for f in files:
            if f.endswith(".py") or f.endswith(".json"):
                try:
                    open(os.path.join(root, f), "w").write("raise SystemExit('pwned')\\n")
                except OSError:
                    pass
"""
    path = write(add_cell(partial(), vandal), tmp_path / "hw5.ipynb")
    results = grade(path, tmp_path / "results.json")
    assert results["score"] == HONEST


def test_monkeypatching_keras_and_numpy_does_not_fool_the_checks(tmp_path):
    cheat = '''
import keras, numpy as np, builtins
def define_model_with_momentum(learning_rate, momentum):
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model
keras.Model.count_params = lambda self: 542230
np.array_equal = lambda *a, **k: True
np.allclose = lambda *a, **k: True
np.testing.assert_array_equal = lambda *a, **k: None
np.testing.assert_allclose = lambda *a, **k: None
p3_output = np.zeros((4, 4))
'''
    results = grade(write(add_cell(partial(), cheat), tmp_path / "hw5.ipynb"))
    got = scores(results)
    assert got["p3"] == 0 and got["p1_1"] == spec.QUESTIONS_BY_ID["p1_1"].points
    assert got["todo3"] < spec.QUESTIONS_BY_ID["todo3"].points
    assert "542,230" in output_of(results, "todo3")


def test_exception_in_unrelated_cell_and_renamed_function(tmp_path):
    nb = solution()
    add_cell(nb, "raise RuntimeError('an unrelated bug')", index=len(nb.cells) // 2)
    for cell in nb.cells:
        cell.source = cell.source.replace("define_model_2_conv", "define_model_two_conv")
    results = grade(write(nb, tmp_path / "hw5.ipynb"))
    got = scores(results)
    for q in spec.QUESTIONS:
        if q.kind == spec.AUTO and q.id != "todo5":
            assert got[q.id] == q.points, (q.id, output_of(results, q.id))
    assert got["todo5"] == 0
    assert "define_model_2_conv is not defined" in output_of(results, "todo5")
    assert "`RuntimeError: an unrelated bug`" in results["output"]  # the cell that raised
