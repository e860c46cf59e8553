"""The autograded written answers: P1.1 against the key, P3 per student with credit per cell.

The grading side (hw5.grading.answers) is driven as the trusted process drives it: through
``checks.run_item`` with ``answer_checks()`` as the reference, on answers shaped like the export's.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from hw5 import answer_key
from hw5.grading import answers
from hw5.kit import analyse, checks, p3, spec

P3_POINTS = spec.ITEMS["answer_p3"].points
CELLS = int(np.prod(spec.P3_OUTPUT_SHAPE))


def _entry(value):
    """An answer as the export records it (``describe.describe_answer``), through JSON."""
    value = value.tolist() if isinstance(value, np.ndarray) else value
    return json.loads(json.dumps({"status": "ok", "value": value, "repr": repr(value)}))


def _grade(item_id: str, **values):
    """run_item on an export holding only these answers; (results, share of the points)."""
    export = {"answers": {name: _entry(v) for name, v in values.items()}}
    results = checks.run_item(item_id, analyse.analyse_export(export), answers.answer_checks())
    return results, answers.item_fraction(results)


# ---------------------------------------------------------------------------------------------
# P1.1
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["C", "c", " C ", "(c)", "C.", "C) np.dot(x, w) + b"])
def test_p1_1_accepts_spellings_of_the_letter(value):
    assert answers.check_p1_1(value).passed
    results, share = _grade("answer_p1_1", p1_1=value)
    assert checks.item_passed(results) and share == 1


@pytest.mark.parametrize("letter", sorted(set(spec.P1_1_OPTIONS) - {answer_key.P1_1_ANSWER}))
def test_p1_1_wrong_letter_gives_its_hint(letter):
    result = answers.check_p1_1(letter.lower())
    assert not result.passed and answer_key.P1_1_HINTS[letter] in result.message
    assert _grade("answer_p1_1", p1_1=letter)[1] == 0


@pytest.mark.parametrize("value", [None, 3, "E", "", "the affine one", ["C"]])
def test_p1_1_bad_format(value):
    result = answers.check_p1_1(value)
    assert not result.passed and "A, B, C, D" in result.message


def test_p1_1_without_reference_fails_cleanly():
    bundle = analyse.analyse_export({"answers": {"p1_1": _entry("C")}})
    (result,) = checks.run_item("answer_p1_1", bundle)
    assert not result.passed and "no reference" in result.message


# ---------------------------------------------------------------------------------------------
# P3: per-student numbers
# ---------------------------------------------------------------------------------------------
def test_p3_numbers_are_deterministic_small_integers_of_the_spec_shapes():
    image, kernel = p3.p3_numbers("s1234567")
    assert (image, kernel) == p3.p3_numbers("  S1234567 ")  # spaces and case do not matter
    assert np.array(image).shape == spec.P3_INPUT_SHAPE
    assert np.array(kernel).shape == spec.P3_KERNEL_SHAPE
    lo, hi = spec.P3_INPUT_RANGE
    klo, khi = spec.P3_KERNEL_RANGE
    assert all(lo <= v <= hi and isinstance(v, int) for row in image for v in row)
    assert all(klo <= v <= khi and isinstance(v, int) for row in kernel for v in row)
    assert p3.p3_numbers(12345678) == p3.p3_numbers("12345678")


def test_p3_numbers_pinned():
    """The derivation must never change while students hold their numbers."""
    image, kernel = p3.p3_numbers("12345678")
    assert kernel == ((0, -1, 1), (0, 1, 2), (1, 0, 2))
    assert image == ((2, 2, 1, 2, 2, 2), (3, 0, 0, 3, 1, 0), (2, 0, 3, 1, 3, 1),
                     (1, 2, 0, 1, 2, 1), (2, 0, 2, 1, 0, 1), (1, 0, 1, 0, 3, 2))
    assert answers.p3_expected("12345678").tolist() == [
        [7, 9, 14, 4], [7, 12, 9, 7], [11, 2, 9, 5], [5, 5, 9, 5]]


def test_different_ids_get_different_numbers():
    ids = [f"student{n}" for n in range(200)]
    numbers = {p3.p3_numbers(i) for i in ids}
    outputs = {tuple(map(tuple, answers.p3_expected(i))) for i in ids}
    assert len(numbers) == len(ids) and len(outputs) == len(ids)


@pytest.mark.parametrize("value", [None, "", "   ", ..., 3.5, True, "two words", "x" * 65, ["a"]])
def test_bad_student_ids_say_what_to_write(value):
    problem = p3.student_id_problem(value)
    assert spec.STUDENT_ID_VARIABLE in problem
    with pytest.raises(ValueError):
        p3.p3_numbers(value)
    results, share = _grade("answer_p3", p3_output=np.zeros((4, 4)).tolist(),
                            **({} if value is ... else {spec.STUDENT_ID_VARIABLE: value}))
    assert share == 0 and spec.STUDENT_ID_VARIABLE in results[0].message


# ---------------------------------------------------------------------------------------------
# P3: grading with credit per cell
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("student_id", ["alice-01", "bob@example.edu"])
def test_two_students_each_graded_on_their_own_numbers(student_id):
    other = "bob@example.edu" if student_id == "alice-01" else "alice-01"
    mine, theirs = answers.p3_expected(student_id), answers.p3_expected(other)
    assert not np.array_equal(mine, theirs)

    results, share = _grade("answer_p3", p3_output=mine, student_id=student_id)
    assert checks.item_passed(results) and share == 1
    # Copying the other student's answer earns only the cells that happen to agree.
    results, share = _grade("answer_p3", p3_output=theirs, student_id=student_id)
    agree = int((mine == theirs).sum())
    assert share == pytest.approx(agree / CELLS) and share < 1
    assert f"{CELLS - agree} of {CELLS} entries are wrong" in results[0].message


@pytest.mark.parametrize("n_wrong", [1, 3, 16])
def test_p3_partial_credit_per_cell_without_naming_the_cells(n_wrong):
    expected = answers.p3_expected("carol")
    found = expected.copy().ravel()
    found[:n_wrong] += 100
    results, share = _grade("answer_p3", p3_output=found.reshape(expected.shape),
                            student_id="carol")
    assert share == pytest.approx((CELLS - n_wrong) / CELLS)
    points = P3_POINTS * (CELLS - n_wrong) / CELLS
    message = results[0].message
    assert f"{n_wrong} of {CELLS} entries are wrong" in message and f"{points:g} of" in message
    assert "row" not in message and "column" not in message  # which cells: an oracle


def test_p3_recognises_the_usual_mistakes():
    sid = "dave"
    image, kernel = (np.array(a) for a in p3.p3_numbers(sid))
    expected = answers.p3_expected(sid)
    flipped = answers.correlate_valid(image, kernel[::-1, ::-1])
    cases = {"flipped the kernel": flipped, "swapped": expected.T, "signs are flipped": -expected}
    for says, found in cases.items():
        results, share = _grade("answer_p3", p3_output=found, student_id=sid)
        assert says in results[0].message, results[0].message
        assert share == pytest.approx(np.isclose(found, expected).sum() / CELLS)


def test_p3_format_problems_earn_nothing():
    sid = "erin"
    expected = answers.p3_expected(sid)
    for value, says in [(np.zeros((6, 6)), "'same'"), (np.zeros((8, 8)), "'full'"),
                        (expected.ravel(), "4 rows of 4"), ([["a"] * 4] * 4, "numbers only")]:
        results, share = _grade("answer_p3", p3_output=value, student_id=sid)
        assert share == 0 and says in results[0].message, results[0].message
    results, share = _grade("answer_p3", student_id=sid)
    assert share == 0 and "not set" in results[0].message
    # Floats and integer types of any width are accepted.
    assert _grade("answer_p3", p3_output=expected.astype(float), student_id=sid)[1] == 1


def test_item_fraction_is_all_or_nothing_for_other_checks():
    ok = checks.CheckResult("a", True, "ok")
    bad = checks.CheckResult("b", False, "bad")
    half = answers.ScoredCheck("c", False, "half", fraction=0.5)
    assert answers.item_fraction([ok]) == 1
    assert answers.item_fraction([ok, bad]) == 0
    assert answers.item_fraction([ok, half]) == 0.5
    assert answers.item_fraction([bad, half]) == 0
    assert answers.item_fraction([]) == 0


# ---------------------------------------------------------------------------------------------
# End to end: a copied P3 through `hw5 grade` (real kernel, real export, trusted process)
# ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_copied_p3_loses_points_through_hw5_grade(tmp_path, repo, grading):
    import re

    import nbformat

    nb = repo.solution()
    id_cell = next(c for c in nb.cells if c.cell_type == "code"
                   and re.search(rf"^{spec.STUDENT_ID_VARIABLE}\s*=", c.source, re.M))
    # Another student submits the solution's P3 numbers under their own ID.
    copied = answers.p3_expected(re.search(r'"([^"]+)"', id_cell.source).group(1)).tolist()
    id_cell.source = f'{spec.STUDENT_ID_VARIABLE} = "copycat-7"'
    nb.cells.append(nbformat.v4.new_code_cell(f"{spec.P3_VARIABLE} = {copied}"))
    results = grading.grade(grading.write_nb(nb, tmp_path / "hw5.ipynb"))
    mine = answers.p3_expected("copycat-7")
    wrong = int((mine != np.array(copied)).sum())
    assert wrong > 0
    p3_test = next(t for t in results["tests"] if t["name"] == spec.QUESTIONS_BY_ID["p3"].title)
    points = spec.QUESTIONS_BY_ID["p3"].points
    assert p3_test["score"] == pytest.approx(points * (CELLS - wrong) / CELLS)  # credit per cell
    assert f"{wrong} of {CELLS} entries are wrong" in grading.output_of(results, "p3")
