"""grade-all picks notebooks by the one rule of `hw5.submissions` (the rule itself:
test_submissions.py), and the lenient notebook reader (fast)."""
from __future__ import annotations

import json

import nbformat
import pytest

from hw5.submissions import UnreadableNotebook, cell_source, pick_notebook, read_notebook
from hw5.ta import exports


def test_grade_all_reads_exports_by_the_same_rule(tmp_path):
    root = tmp_path / "export"
    for sub, names in {"submission_1": ["HW5.IPYNB"], "submission_2": ["._hw5.ipynb", "hw5.ipynb"],
                       "submission_3": ["x.ipynb", "hw5.ipynb"]}.items():
        for name in names:
            (root / sub).mkdir(parents=True, exist_ok=True)
            (root / sub / name).write_text("{}", encoding="utf-8")
    (root / "submission_metadata.yml").write_text(
        "".join(f"submission_{n}:\n  :submitters: []\n" for n in (1, 2, 3)), encoding="utf-8")
    for sub in exports.read_export(root):
        path, note = pick_notebook(root / f"submission_{sub.id}")
        assert sub.notebook == path and sub.notes[:1] == ([note] if note else [])
    plain = tmp_path / "plain"
    plain.mkdir()
    for name in ("A.IPYNB", "._A.ipynb", "b.ipynb", "c.txt"):
        (plain / name).write_text("{}", encoding="utf-8")
    assert [s.notebook.name for s in exports.read_export(plain)] == ["A.IPYNB", "b.ipynb"]


@pytest.mark.parametrize("content, kind", [
    (b"", "empty"),
    (b"   \n", "blank"),
    (b"\xff\xfe\x00", "not-utf8"),
    (b'{"cells": [{"cell_type": "code", "source": ""}', "truncated"),
    (b'{"cells": [}, "x": 1}', "bad-json"),
    (b"[1, 2]", "not-a-notebook"),
    (b'{"nbformat": 4}', "no-cells"),
    (b"[" * 100_000 + b"]" * 100_000, "too-deep"),
])
def test_read_notebook_says_why_it_cannot(tmp_path, content, kind):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    with pytest.raises(UnreadableNotebook) as info:
        read_notebook(path)
    assert info.value.kind == kind


def test_read_notebook_limits_and_old_formats(tmp_path, repo):
    path = tmp_path / "nb.ipynb"
    nbformat.write(repo.template(), str(path))
    with pytest.raises(UnreadableNotebook) as info:
        read_notebook(path, max_bytes=100)
    assert info.value.kind == "too-large" and info.value.info["size"] > 100
    raw, converted = read_notebook(path)
    assert converted is None and len(raw["cells"]) == len(repo.template().cells)

    v3 = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
        nbformat.v3.new_code_cell(input="x = 1\nprint(x)")])])
    path.write_text(nbformat.writes(v3, version=3), encoding="utf-8")
    raw, converted = read_notebook(path)
    assert converted == 3 and cell_source(raw["cells"][0]) == "x = 1\nprint(x)"
    path.write_text(json.dumps({"nbformat": 3, "worksheets": "nonsense"}), encoding="utf-8")
    with pytest.raises(UnreadableNotebook) as info:
        read_notebook(path)
    assert info.value.kind == "old-format" and info.value.info["nbformat"] == 3
