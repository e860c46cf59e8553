"""The one rule for which notebook of a submission is graded (Gradescope and grade-all)."""
from __future__ import annotations

import pytest

from hw5.submissions import pick_notebook


def _folder(tmp_path, names):
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"{}")
    return tmp_path


@pytest.mark.parametrize("names, chosen", [
    (["my work (2).ipynb"], "my work (2).ipynb"),
    (["b.ipynb", "a.ipynb"], "a.ipynb"),
    (["a.ipynb", "HW5.IPYNB"], "HW5.IPYNB"),  # the preferred name, any case
    (["Notebook.IPYNB", "notes.txt"], "Notebook.IPYNB"),  # the extension, any case
    (["._hw5.ipynb", "hw5.ipynb"], "hw5.ipynb"),  # AppleDouble sorts first, is ignored
    (["__MACOSX/hw5.ipynb", "z.ipynb"], "z.ipynb"),
    ([".hidden.ipynb", ".ipynb_checkpoints/hw5-checkpoint.ipynb", "x.ipynb"], "x.ipynb"),
    (["a/hw5.ipynb", "hw5.ipynb"], "hw5.ipynb"),  # the shallowest
    (["a/z.ipynb", "b.ipynb"], "b.ipynb"),
    (["sub/hw5.ipynb", "a.ipynb"], "sub/hw5.ipynb"),
])
def test_pick_notebook(tmp_path, names, chosen):
    path, note = pick_notebook(_folder(tmp_path, names))
    assert path == tmp_path / chosen
    counted = [n for n in names if n.lower().endswith(".ipynb") and not n.startswith(("_", "."))
               and "/." not in n]
    if len(counted) > 1:
        assert note == f"Your submission holds {len(counted)} notebooks; only {chosen} was graded."
    else:
        assert note == ""


@pytest.mark.parametrize("names", [[], ["hw5.py", "report.pdf"], ["._hw5.ipynb"],
                                   ["hw5.ipynb.zip"], ["__MACOSX/hw5.ipynb"]])
def test_no_notebook_says_what_was_received(tmp_path, names):
    path, note = pick_notebook(_folder(tmp_path, names))
    assert path is None
    assert note.startswith("No notebook found in your submission (received: ")
    assert "Upload hw5.ipynb" in note
    for name in names:
        assert name in note
    if not names:
        assert "no files" in note


def test_a_missing_folder_has_no_notebook(tmp_path):
    assert pick_notebook(tmp_path / "absent")[0] is None
