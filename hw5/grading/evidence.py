"""What the submitted notebook's saved outputs show about the student's own run, read without
executing anything: training shorter than `spec.EPOCHS`, a training subset, no saved outputs at
all, an error saved in a TODO cell.

The written questions are answered from that run, which the grader never repeats (it trains its
own short runs), so these are notes for the staff and the student, never points.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from hw5.kit import spec
from hw5.submissions import UnreadableNotebook, cell_source, read_notebook
from hw5.text import shorten

TRAIN_IMAGES = spec.MNIST_KEYS["x_train"][0][0]
FULL_STEPS = math.ceil(TRAIN_IMAGES / spec.BATCH_SIZE)  # progress-bar steps of one full epoch
MAX_NOTES = 8
_NOTE_CHARS = 300

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_BREAKS = re.compile(r"[\r\n\x08]+")
_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)\s*$")
_STEP = re.compile(r"^(\d+)/(\d+)(?!\d)")  # Keras' progress: "1875/1875 ━━━ 5s 3ms/step - ..."
_VALIDATION = " - val_"
_TODO = re.compile(spec.TODO_CELL_PATTERN, re.IGNORECASE)


@dataclass
class Run:
    """One `fit` as its saved progress shows it."""

    cell: int
    epochs: int
    """Epochs asked for (Y of "Epoch X/Y")."""
    first_epoch: int = 1
    """The first epoch shown (above 1 when `fit(initial_epoch=...)` continues a run)."""
    last_epoch: int = 0
    """The last epoch that started (X)."""
    steps: int | None = None
    """Steps per epoch in the progress bar (None: none shown, e.g. verbose=0)."""
    one_epoch_fits: bool = False
    """Made of `fit(epochs=1)` calls, which Keras 3 prints without an "Epoch" line."""


@dataclass
class SavedOutputs:
    """What the notebook's outputs hold."""

    cells_with_outputs: int = 0
    runs: list = field(default_factory=list)
    todo_errors: list = field(default_factory=list)
    """(cell index, "TODO3", "NameError: ...")"""


def read_saved_outputs(nb: dict) -> SavedOutputs:
    found = SavedOutputs()
    for index, cell in enumerate(nb.get("cells") or []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        outputs = [o for o in cell.get("outputs") or [] if isinstance(o, dict)]
        if outputs:
            found.cells_with_outputs += 1
        found.runs += _runs(index, "".join(_text(o.get("text")) for o in outputs
                                           if o.get("output_type") == "stream"))
        todo = _TODO.match(cell_source(cell) or "")
        for o in outputs:
            if o.get("output_type") == "error" and todo:
                found.todo_errors.append((index, todo.group(1).upper().replace(" ", ""),
                                          f"{o.get('ename', '')}: {o.get('evalue', '')}"))
    return found


def _text(value) -> str:
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return value if isinstance(value, str) else ""


def _runs(cell: int, text: str) -> list:
    runs, current, in_epoch = [], None, False
    for line in _BREAKS.split(_ANSI.sub("", text)):
        line = line.strip()
        epoch = _EPOCH.match(line)
        if epoch:
            x, y = int(epoch.group(1)), int(epoch.group(2))
            if current is None or x <= current.last_epoch or y != current.epochs:
                current = Run(cell, y, x)
                runs.append(current)
            current.last_epoch, in_epoch = x, True
            continue
        step = _STEP.match(line)
        if not step:
            continue
        done, total = int(step.group(1)), int(step.group(2))
        if in_epoch:
            current.steps = max(current.steps or 0, total)
            in_epoch = done < total
        elif done == total and _VALIDATION in line:
            # Keras 3 prints no "Epoch 1/1" for fit(epochs=1): only its validation tells it from
            # evaluate(), whose lines outside an epoch are otherwise ignored. One-epoch fits in a
            # row (a loop over epochs) add up.
            if current is not None and current.one_epoch_fits:
                current.epochs += 1
                current.last_epoch += 1
                current.steps = max(current.steps or 0, total)
            else:
                current = Run(cell, 1, 1, 1, total, one_epoch_fits=True)
                runs.append(current)
    return runs


def notes_from(found: SavedOutputs) -> list:
    if found.cells_with_outputs == 0:
        return ["The notebook has no saved outputs (it was not run, or its outputs were "
                "cleared). The written answers are graded from your own training runs: run all "
                "cells, save, and submit the notebook with its outputs."]
    notes = []
    for run, after in zip(found.runs, found.runs[1:] + [None]):
        continued = after is not None and after.first_epoch == run.last_epoch + 1
        if run.epochs < spec.EPOCHS and not continued:
            notes.append(f"Cell {run.cell + 1}: training ran for {run.epochs} epoch"
                         f"{'' if run.epochs == 1 else 's'}; the assignment asks for "
                         f"{spec.EPOCHS} (epochs=EPOCHS).")
        elif run.last_epoch < run.epochs:
            notes.append(f"Cell {run.cell + 1}: training stopped in epoch {run.last_epoch} of "
                         f"{run.epochs}.")
        if run.steps is not None and run.steps < FULL_STEPS:
            notes.append(f"Cell {run.cell + 1}: {run.steps:,} steps per epoch, so training saw about "
                         f"{run.steps * spec.BATCH_SIZE:,} images; all {TRAIN_IMAGES:,} training "
                         f"images at batch size {spec.BATCH_SIZE} take {FULL_STEPS:,} steps.")
    for cell, todo, error in found.todo_errors:
        notes.append(f"Cell {cell + 1} ({todo}): its saved output is an error ({error}).")
    notes = [shorten(n, _NOTE_CHARS) for n in notes]
    if len(notes) > MAX_NOTES:
        notes = notes[:MAX_NOTES] + [f"... and {len(notes) - MAX_NOTES} more."]
    return notes


def saved_output_notes(path) -> list:
    """The notes for the notebook at `path`; none when it cannot be read (the sandbox says why)."""
    try:
        nb, _ = read_notebook(path)
    except UnreadableNotebook:
        return []
    return notes_from(read_saved_outputs(nb))
