"""Execute the built notebooks under a real kernel (slow: TensorFlow, short training runs).

Both run with a small HW5_EPOCHS (1; 2 for the solution) and HW5_TRAIN_SUBSET, and with HW5_MNIST
pointing at the repository's copy of MNIST (the student template ships no data file).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from hw5.build import SOLUTIONS_DIR, STUDENT_DIR, build_all
from hw5.build.student import KIT_PACKAGE
from hw5.kit import spec

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NB = spec.NOTEBOOK_NAME
SUBSET = 2000
PASSED = "All test cases passed"
AUTO_IDS = [q.id for q in spec.QUESTIONS if q.kind == spec.AUTO]


def _mnist() -> Path:
    for path in (ROOT / "hw5" / "kit" / "mnist.npz", ROOT.parent / "shared" / "data" / "mnist.npz"):
        if path.is_file():
            return path
    pytest.skip("no local mnist.npz")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    build_all(ROOT, out)
    return out


@pytest.fixture
def quick_env(monkeypatch):
    monkeypatch.setenv(spec.MNIST_ENV_VAR, str(_mnist()))
    monkeypatch.setenv(spec.EPOCHS_ENV_VAR, "1")
    monkeypatch.setenv(spec.TRAIN_SUBSET_ENV_VAR, str(SUBSET))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.setenv("MPLBACKEND", "agg")


def _workdir(built: Path, notebook: Path, dest: Path) -> Path:
    """A folder laid out like the student's: notebook, hw5kit/, tests/."""
    shutil.copytree(built / STUDENT_DIR / KIT_PACKAGE, dest / KIT_PACKAGE)
    shutil.copytree(built / STUDENT_DIR / "tests", dest / "tests")
    shutil.copy(notebook, dest / NB)
    return dest / NB


def _run(nb, cwd: Path):
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def _plain_output(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        out.append(o.get("text", ""))
        out.append(o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def test_student_template_runs_until_the_first_todo(built, tmp_path, quick_env):
    path = _workdir(built, built / STUDENT_DIR / NB, tmp_path)
    nb = nbformat.read(str(path), as_version=4)
    first_todo = next(i for i, c in enumerate(nb.cells)
                      if c.cell_type == "code" and c.source.lstrip().startswith("# TODO"))
    nb.cells = nb.cells[:first_todo] + [nb.cells[-1]]  # and the checklist before submitting
    _run(nb, tmp_path)  # raises CellExecutionError on any error
    checklist = _plain_output(nb.cells[-1])
    for fragment in (f"Public checks: 1 of {len(AUTO_IDS)} passed.", "`p1_1` is still `...`",
                     "TODO1 is not finished", f"{spec.STUDENT_ID_VARIABLE} is not set",
                     "Training was shortened by HW5_EPOCHS=1"):
        assert fragment in checklist, checklist
    checks = {c.source: _plain_output(c) for c in nb.cells if c.source.startswith("grader.check(")}
    assert PASSED in checks['grader.check("baseline")'], checks['grader.check("baseline")']
    # The blank written answers are reported, not crashed on.
    assert PASSED not in checks['grader.check("p1_1")']
    assert PASSED not in checks['grader.check("p3")']
    # Without a student ID, the P3 cell says what to do instead of failing.
    p3_cell = next(c for c in nb.cells if "show_numbers(" in c.source)
    assert f"{spec.STUDENT_ID_VARIABLE} is not set" in _plain_output(p3_cell)
    # The baseline's report and plot title come from the model's own optimizer.
    report = next(c for c in nb.cells if c.source.rstrip().endswith('report("model", model, history)'))
    assert "model (SGD, lr 0.01)" in _plain_output(report)


# A student's mistakes, run after the solution's own cells (one kernel for both, CI time): TODO1
# on a slice of x_train, TODO2 one epoch short, a TODO cell that raises, then the checklist again.
SLICE = 1000
MISTAKES = [
    "# TODO1: model_eta_large and history_eta_large\n"
    "model_eta_large = define_model(1.0)\n"
    f"history_eta_large = model_eta_large.fit(x_train[:{SLICE}], y_train[:{SLICE}], "
    "batch_size=BATCH_SIZE, epochs=EPOCHS, validation_data=(x_test, y_test), verbose=0)",
    'grader.check("todo1")',
    "# TODO2: model_eta_small and history_eta_small\n"
    "model_eta_small = define_model(1e-5)\n"
    "history_eta_small = model_eta_small.fit(x_train, y_train, batch_size=BATCH_SIZE, "
    "epochs=EPOCHS - 1, validation_data=(x_test, y_test), verbose=0)",
    'grader.check("todo2")',
    "# TODO4: model_momentum and history_momentum\nraise ValueError('boom')",
    "hw5kit.public.before_submitting(grader, globals())",
]


def test_solution_notebook_runs_and_passes_public_checks(built, tmp_path, quick_env, monkeypatch):
    epochs = 2  # so that a student's `epochs=EPOCHS - 1` still trains
    monkeypatch.setenv(spec.EPOCHS_ENV_VAR, str(epochs))
    path = _workdir(built, built / SOLUTIONS_DIR / NB, tmp_path)
    nb = nbformat.read(str(path), as_version=4)
    solution_cells = len(nb.cells)
    probe = {tv.model: (tv.history, tv.architecture) for tv in spec.TRAINED_VARIABLES.values()}
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print('HW5-PROBE' + _json.dumps({{m: {{'epochs': len(globals()[h].epoch), "
        f"'params': globals()[m].count_params(), 'arch': a}} for m, (h, a) in {probe!r}.items()}}))"))
    for source in MISTAKES:
        nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.cells[-2].metadata["tags"] = ["raises-exception"]
    _run(nb, tmp_path)
    solution, mistakes = nb.cells[:solution_cells], nb.cells[solution_cells + 1:]
    failed = {c.source: _plain_output(c) for c in solution
              if c.source.startswith("grader.check(") and PASSED not in _plain_output(c)}
    assert not failed, failed
    # The checks of the trained models say they were judged with the shortcuts.
    todo1 = next(_plain_output(c) for c in solution if c.source == 'grader.check("todo1")')
    assert f"quick-run shortcut {spec.EPOCHS_ENV_VAR}={epochs}" in todo1, todo1
    assert f"Only the autograder {spec.AUTOGRADER_ADDS}." in todo1, todo1
    # The solution's checklist: every check passed, the shortcuts are the one thing to fix.
    checklist = _plain_output(solution[-1])
    assert f"Public checks: {len(AUTO_IDS)} of {len(AUTO_IDS)} passed." in checklist, checklist
    assert f"Training was shortened by {spec.EPOCHS_ENV_VAR}={epochs}, " \
           f"{spec.TRAIN_SUBSET_ENV_VAR}={SUBSET}" in checklist, checklist
    assert "not finished" not in checklist and "raised" not in checklist, checklist
    # Each run is labelled with its own optimizer settings, next to the reference run.
    reports = "\n".join(_plain_output(c) for c in solution if "report(" in c.source)
    for tv in spec.TRAINED_VARIABLES.values():
        settings = f"lr {tv.learning_rate:g}" + (f", momentum {tv.momentum:g}" if tv.momentum else "")
        assert f"{tv.model} (SGD, {settings}) after {epochs} epoch(s)" in reports, reports
    # The solution's P3 numbers are printed, and its answer is right for its ID.
    p3_cell = next(c for c in solution if "show_numbers(" in c.source)
    assert "P3 numbers for student ID" in _plain_output(p3_cell)
    line = next(l for l in _plain_output(nb.cells[solution_cells]).splitlines()
                if l.startswith("HW5-PROBE"))
    found = json.loads(line[len("HW5-PROBE"):])
    assert set(found) == set(spec.TRAINED_VARIABLES)
    for name, info in found.items():
        assert info["epochs"] == epochs, name
        assert info["params"] == spec.TOTAL_PARAMS[info["arch"]], name
    # The mistakes: TODO1's slice and TODO2's missing epoch are named; the checklist lists them
    # with the TODO cell that raised.
    slice_check, epochs_check, checklist = (_plain_output(mistakes[i]) for i in (1, 3, 5))
    assert PASSED not in slice_check and "slice of x_train" in slice_check, slice_check
    steps = -(-SLICE // spec.BATCH_SIZE)
    low, high = (steps - 1) * spec.BATCH_SIZE + 1, steps * spec.BATCH_SIZE
    assert f"{steps} steps per epoch, expected {-(-SUBSET // spec.BATCH_SIZE)}" in slice_check
    assert f"{low:,} to {high:,} images" in slice_check, slice_check
    assert PASSED not in epochs_check, epochs_check
    assert f"epochs={epochs - 1}; train with epochs=EPOCHS ({epochs}, set by " \
           f"{spec.EPOCHS_ENV_VAR}={epochs})" in epochs_check, epochs_check
    assert f"Public checks: {len(AUTO_IDS) - 2} of {len(AUTO_IDS)} passed." in checklist, checklist
    assert "- todo1 (TODO1" in checklist and "- todo2 (TODO2" in checklist, checklist
    assert "The TODO4 cell raised ValueError: boom" in checklist, checklist
