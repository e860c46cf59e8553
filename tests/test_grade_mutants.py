"""Issue 8's mutants graded end to end (`hw5 grade` on real notebooks: real kernel, real data,
grade-time training): each loses exactly its items, with a message naming the fault.

The notebook-level mutants and spellings (hw5.mutants.NOTEBOOK_MUTANTS / NOTEBOOK_SPELLINGS,
several faults per notebook) are graded end to end by `hw5 validate`; their checks on recorded
exports are in tests/test_fit_checks.py.
"""
from __future__ import annotations

import pytest

from hw5 import mutants
from hw5.kit import spec
from hw5.ta.validate import failed_items

pytestmark = pytest.mark.slow


def _output(results) -> str:
    return "\n".join(t["output"] for t in results["tests"])


@pytest.mark.parametrize("names", [
    ("given_mse", "two_conv_dropout"),
    ("given_frozen", "two_conv_momentum"),
    ("given_zeros", "frozen"),
])
def test_issue_8_mutants_lose_exactly_their_items(tmp_path, names, repo, grading):
    nb = repo.solution()
    chosen = [mutants.MUTANTS_BY_NAME[n] for n in names]
    for m in chosen:
        nb = mutants.apply_to_notebook(nb, m.builder, m.source)
    results = grading.grade(grading.write_nb(nb, tmp_path / spec.NOTEBOOK_NAME))
    expected = {item for m in chosen for item in m.fails}
    assert set(failed_items(results)) == expected, _output(results)
    assert results["score"] == spec.AUTO_POINTS - sum(spec.ITEMS[i].points for i in expected)
    text = _output(results)
    for m in chosen:
        for fragment in m.expect:
            assert fragment in text, (m.name, fragment, text)
