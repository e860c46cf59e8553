"""What the saved outputs show (fast). `data/keras_saved_outputs.ipynb` holds the outputs of real
Keras 3 runs on MNIST, saved as Jupyter saves them: a full 10-epoch run at batch size 32, a
one-epoch run on 6,400 images and a TODO cell that raised."""
from __future__ import annotations

import copy
import csv
import json
import re
from pathlib import Path

from hw5.grading import evidence
from hw5.grading.report import to_gradescope
from hw5.grading.results import SubmissionResult
from hw5.kit import spec
from hw5.ta import grade_all as ga
from hw5.ta.exports import Submission, Submitter

SAVED = Path(__file__).with_name("data") / "keras_saved_outputs.ipynb"
FULL_RUN_CELL, SHORT_RUN_CELL, ERROR_CELL = 2, 3, 4


def _saved() -> dict:
    return json.loads(SAVED.read_text(encoding="utf-8"))


def _stdout(cell: dict) -> str:
    return "".join(o["text"] if isinstance(o["text"], str) else "".join(o["text"])
                   for o in cell["outputs"] if o.get("name") == "stdout")


def _with_stdout(cell: dict, text: str) -> dict:
    cell = copy.deepcopy(cell)
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": text}]
    return cell


def test_real_runs_short_subset_and_todo_error():
    found = evidence.read_saved_outputs(_saved())
    full, short = found.runs
    assert (full.cell, full.epochs, full.last_epoch, full.steps) == (
        FULL_RUN_CELL, spec.EPOCHS, spec.EPOCHS, evidence.FULL_STEPS)
    assert (short.cell, short.epochs, short.steps) == (SHORT_RUN_CELL, 1, 6400 // spec.BATCH_SIZE)
    notes = evidence.notes_from(found)
    assert notes == [
        f"Cell {SHORT_RUN_CELL + 1}: training ran for 1 epoch; the assignment asks for {spec.EPOCHS} "
        "(epochs=EPOCHS).",
        f"Cell {SHORT_RUN_CELL + 1}: 200 steps per epoch, so training saw about 6,400 images; all "
        f"60,000 training images at batch size {spec.BATCH_SIZE} take 1,875 steps.",
        f"Cell {ERROR_CELL + 1} (TODO3): its saved output is an error (NameError: name "
        "'define_model_with_momentum' is not defined).",
    ]
    assert evidence.saved_output_notes(SAVED) == notes


def test_honest_runs_split_over_several_fits_raise_nothing():
    nb = _saved()
    full = nb["cells"][FULL_RUN_CELL]
    text = _stdout(full)
    # fit(epochs=5) then fit(initial_epoch=5, epochs=10), as Keras prints them
    first, rest = text.split("Epoch 6/10")
    first = re.sub(r"Epoch (\d+)/10", r"Epoch \1/5", first)
    # a loop of fit(epochs=1): Keras 3 prints no "Epoch" line for a one-epoch fit
    loop = "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("Epoch") and "val_" in line)
    nb["cells"] = [_with_stdout(full, first), _with_stdout(full, "Epoch 6/10" + rest),
                   _with_stdout(full, loop)]
    found = evidence.read_saved_outputs(nb)
    assert [(r.epochs, r.first_epoch, r.last_epoch) for r in found.runs] == [
        (5, 1, 5), (10, 6, 10), (spec.EPOCHS, 1, spec.EPOCHS)]
    assert evidence.notes_from(found) == []


def test_no_saved_outputs_and_unreadable_files(tmp_path, repo):
    notes = evidence.saved_output_notes(repo.template_path)
    assert len(notes) == 1 and "no saved outputs" in notes[0]
    broken = tmp_path / "hw5.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    assert evidence.saved_output_notes(broken) == []  # the sandbox explains unreadable files


def test_grade_all_shows_the_notes_in_a_csv_column(tmp_path):
    notes = evidence.saved_output_notes(SAVED)
    result = SubmissionResult.from_items({}, evidence=notes, staff_notes=["id mismatch"])
    sub = Submission("7", [Submitter("Ana", "7")], notebook=SAVED)
    row = ga.row_from_results(sub, to_gradescope(result), skipped=False)
    assert row.status == ga.NOTES and row.notes == []
    ga.write_csv([row], tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8") as f:
        line = next(csv.DictReader(f))
    assert line["staff_notes"] == " | ".join(["id mismatch"] + notes)
    assert line["notes"] == ""
