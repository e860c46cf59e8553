"""Nothing shipped to students lets the P1.1 key be read or P3's output be computed by the kit.

"Shipped" is everything the build gives students: ``student_template/`` (the notebook, ``hw5kit/``,
``tests/``, README) and the handout zip. The kit is loaded from the built files, as a student
would import it, and every function it offers is tried on the student's own numbers.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import io
import json
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest

from hw5 import answer_key
from hw5.build import STUDENT_DIR, outputs, student, student_zip
from hw5.grading import answers
from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
STUDENT_ID = "alice-01"
TEXT_SUFFIXES = (".py", ".ipynb", ".md", ".txt", ".json", ".yaml", ".cfg")


@pytest.fixture(scope="module")
def built():
    return outputs(ROOT)


@pytest.fixture(scope="module")
def shipped(built):
    """Relative name -> text of every text file students receive (template and zip)."""
    files = {rel: data for rel, data in built.items() if rel.startswith(STUDENT_DIR + "/")}
    files.update(student_zip.entries(ROOT, built, STUDENT_DIR))
    return {rel: data.decode("utf-8") for rel, data in files.items()
            if rel.endswith(TEXT_SUFFIXES)}


@pytest.fixture(scope="module")
def kit(built, tmp_path_factory):
    """The built hw5kit package, imported from a temporary folder like a student's."""
    folder = tmp_path_factory.mktemp("handout")
    prefix = f"{STUDENT_DIR}/{student.KIT_PACKAGE}/"
    for rel, data in built.items():
        if rel.startswith(prefix):
            path = folder / student.KIT_PACKAGE / rel[len(prefix):]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    saved = {k: v for k, v in sys.modules.items() if k.split(".")[0] == student.KIT_PACKAGE}
    sys.path.insert(0, str(folder))
    try:
        modules = {}
        for path in sorted((folder / student.KIT_PACKAGE).glob("*.py")):
            if path.stem not in ("__init__", "mnist"):  # mnist: the loader may download
                modules[path.stem] = importlib.import_module(f"{student.KIT_PACKAGE}.{path.stem}")
        yield modules
    finally:
        sys.path.remove(str(folder))
        for name in [k for k in sys.modules if k.split(".")[0] == student.KIT_PACKAGE]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_shipped_files_hold_no_key_hints_or_grading_code(shipped):
    assert shipped and any(rel.endswith("hw5kit/p3.py") for rel in shipped)
    forbidden = ["answer_key", "P1_1_ANSWER", "P1_1_HINTS", "hw5.grading", "p3_expected",
                 "correlate", "convolve", "sliding_window_view", "einsum"]
    forbidden += list(answer_key.P1_1_HINTS.values())
    problems = [(rel, word) for rel, text in shipped.items() for word in forbidden
                if word in text]
    assert not problems, problems


def test_p1_1_options_are_alike(kit, shipped):
    """No option carries a description the others lack, and no shipped table is keyed by some
    option letters only (hints for the wrong options would name the right one)."""
    letters = set(spec.P1_1_OPTIONS)
    for text in kit["spec"].P1_1_OPTIONS.values():
        assert "(" not in text.replace("np.dot(", "") and not re.search(r"[a-z]{4,}", text), text
    for name, module in kit.items():
        for attr, value in vars(module).items():
            if isinstance(value, dict) and value and set(value) <= letters:
                assert set(value) == letters, f"{name}.{attr} is keyed by {sorted(value)} only"
    # The notebook shows every option the same way.
    nb = json.loads(shipped[f"{STUDENT_DIR}/{spec.NOTEBOOK_NAME}"])
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    for letter, option in spec.P1_1_OPTIONS.items():
        assert f"- **{letter}.** `{option}`\n" in text + "\n"


def test_public_p1_1_check_answers_every_letter_alike(kit):
    outputs_by_letter = {}
    for letter in spec.P1_1_OPTIONS:
        out = io.StringIO()
        with redirect_stdout(out):
            kit["public"].check_p1_1(letter)
        # The last line, what the check covers, is the same text for every answer.
        text = out.getvalue().replace(kit["public"].coverage_line("answer"), "")
        outputs_by_letter[letter] = text.replace(letter, "?")
    assert len(set(outputs_by_letter.values())) == 1, outputs_by_letter


def _candidate_arguments(image, kernel):
    sid = STUDENT_ID
    return [(sid,), (image,), (image, kernel), (kernel, image), (sid, image), (image, sid),
            (image.tolist(), kernel.tolist()), ({"student_id": sid},),
            ({spec.STUDENT_ID_VARIABLE: {"status": "ok", "value": sid, "repr": repr(sid)}},)]


def test_kit_functions_do_not_compute_p3(kit):
    """Every function of the kit, called with the student's ID or numbers, never returns or
    prints the output; and no function body loops a window over the input."""
    image, kernel = (np.array(a) for a in kit["p3"].p3_numbers(STUDENT_ID))
    expected = answers.p3_expected(STUDENT_ID)
    row_texts = [" ".join(str(v) for v in row) for row in expected]
    tried = 0
    for name, module in kit.items():
        for attr, fn in vars(module).items():
            if not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            for args in _candidate_arguments(image, kernel):
                out = io.StringIO()
                try:
                    with redirect_stdout(out):
                        result = fn(*args)
                except Exception:  # noqa: BLE001 - wrong arguments are expected
                    continue
                tried += 1
                printed = re.sub(r"[\[\],]", " ", out.getvalue())
                printed = " ".join(printed.split())
                assert not any(r in printed for r in row_texts), (name, attr, args)
                for value in (result if isinstance(result, tuple) else (result,)):
                    try:
                        array = np.asarray(value, dtype=float)
                    except (TypeError, ValueError):
                        continue
                    assert array.shape != expected.shape or not np.allclose(array, expected), \
                        (name, attr, args)
    assert tried > 10


def test_answers_grading_module_is_not_in_the_kit():
    kit_dir = ROOT / "hw5" / "kit"
    assert not (kit_dir / "answers.py").exists()
    for path in kit_dir.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any("grading" in n or "answer_key" in n for n in names), path


def test_solution_ids_p3_answer_is_not_shipped(built, shipped):
    """The solution notebook's ID and its P3 numbers stay out of the handout."""
    solution = json.loads(built[f"solutions/{spec.NOTEBOOK_NAME}"])
    code = "\n".join("".join(c["source"]) for c in solution["cells"] if c["cell_type"] == "code")
    sid = re.search(rf'^{spec.STUDENT_ID_VARIABLE}\s*=\s*"([^"]+)"', code, re.M).group(1)
    rows = [r"\[\s*" + r",\s*".join(str(v) for v in row) + r"\s*\]"
            for row in answers.p3_expected(sid).tolist()]
    for rel, text in shipped.items():
        assert sid not in text, rel
        assert not any(re.search(r, text) for r in rows), rel
