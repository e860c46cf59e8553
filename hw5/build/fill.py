"""Numbers in the notebook's text come from the spec: ``{{name}}`` placeholders, filled at build.

The master notebook's Markdown cells write ``{{epochs}}``, ``{{lr.model_eta_large}}``,
``{{ref.val_accuracy.model}}``, ``{{course.due}}``... instead of typing numbers that would drift
from the spec, the measured reference results (``hw5/kit/reference_results.py``) or the course's
settings (``assignment/course.yaml``). ``values()`` lists every name; an unknown name is an error.
Code cells are not filled: they read ``hw5kit.spec`` when they run.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import yaml

from hw5 import text
from hw5.kit import spec

COURSE_FILE = "course.yaml"  # beside the master notebook
COURSE_KEYS = ("due", "late_policy", "collaboration")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


class FillError(ValueError):
    """A placeholder names no value, or the course settings are malformed."""


def number(x) -> str:
    """A setting as people write it: 0.01, 1, 1e-5 (not 1e-05)."""
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + m.group(1).replace("+", "") + m.group(2),
                  f"{x:g}")


def _shape(shape) -> str:
    return "×".join(map(str, shape))


def section_heading(n: int) -> str:
    """``## Section n: title (5 points)``: the heading of a notebook section of Part 2."""
    points = sum(q.points for q in spec.QUESTIONS if q.section == n)
    return f"## Section {n}: {spec.SECTION_TITLES[n]} ({text.number(points)} points)"


def course_settings(master_dir: Path) -> dict:
    """The course's due date, late and collaboration policy (``assignment/course.yaml``)."""
    path = Path(master_dir) / COURSE_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    if not isinstance(data, dict) or sorted(data) != sorted(COURSE_KEYS) \
            or not all(isinstance(data[k], str) and data[k].strip() for k in COURSE_KEYS):
        raise FillError(f"{path} must set exactly {', '.join(COURSE_KEYS)} (non-empty text)")
    return {k: " ".join(data[k].split()) for k in COURSE_KEYS}


# What a {{ref.*}} placeholder of a trained variable without a measured run reads: the reference
# script builds the notebook before it can measure the run (``hw5 build`` refuses until it has).
NOT_MEASURED = "(not measured yet: run scripts/reference_results.py)"


def _reference_values() -> dict:
    out = {}
    for name, run in spec.REFERENCE_RUNS.items():
        out.update(_run_values(name, run))
    measured = next(iter(spec.REFERENCE_RUNS.values()), None)
    for name in spec.TRAINED_VARIABLES:
        if name not in spec.REFERENCE_RUNS and measured is not None:
            out.update(dict.fromkeys(_run_values(name, measured), NOT_MEASURED))
    meta = spec.REFERENCE_MEASURED
    out["ref.measured"] = meta["measured"]
    out["ref.keras"] = meta["versions"]["keras"]
    out["ref.tensorflow"] = meta["versions"]["tensorflow"]
    return out


def _run_values(name, run) -> dict:
    """The {{ref.*.<name>}} placeholders of one measured run."""
    out = {}
    counts_test = spec.REFERENCE_TEST_LABEL_COUNTS
    h = run["history"]
    for metric, values in h.items():
        out[f"ref.{metric}.{name}"] = f"{values[-1]:.3f}"
        out[f"ref.first_{metric}.{name}"] = f"{values[0]:.3f}"
    best = min(range(len(h["val_loss"])), key=h["val_loss"].__getitem__)
    out[f"ref.best_val_loss_epoch.{name}"] = str(best + 1)
    out[f"ref.best_val_loss.{name}"] = f"{h['val_loss'][best]:.3f}"
    counts = run["predicted_counts"]
    top = max(range(len(counts)), key=counts.__getitem__)
    out[f"ref.top_digit.{name}"] = str(top)
    out[f"ref.top_digit_share.{name}"] = f"{counts[top] / sum(counts):.0%}"
    out[f"ref.top_digit_frequency.{name}"] = f"{counts_test[top] / sum(counts_test):.3f}"
    return out


def values(master_dir: Path) -> dict:
    """Placeholder name -> text."""
    train_images = spec.MNIST_KEYS["x_train"][0][0]
    out = {
        "assignment": spec.ASSIGNMENT,
        "total_points": text.number(spec.TOTAL_POINTS),
        "written_points": text.number(spec.PART_POINTS["written"]),
        "notebook_points": text.number(spec.PART_POINTS["notebook"]),
        "auto_points": text.number(spec.AUTO_POINTS),
        "manual_points": text.number(spec.MANUAL_POINTS),
        "section_points": text.number(spec.SECTION_POINTS),
        "epochs": str(spec.EPOCHS),
        "batch_size": str(spec.BATCH_SIZE),
        "train_images": str(train_images),
        "test_images": str(spec.MNIST_KEYS["x_test"][0][0]),
        "steps_per_epoch": str(math.ceil(train_images / spec.BATCH_SIZE)),
        "num_classes": str(spec.NUM_CLASSES),
        "chance_accuracy": f"{1 / spec.NUM_CLASSES:.2f}",
        "ln_classes": f"{math.log(spec.NUM_CLASSES):.2f}",
        "python_versions": spec.PYTHON_VERSIONS_TEXT,
        "student_id_variable": spec.STUDENT_ID_VARIABLE,
        "p3.variable": spec.P3_VARIABLE,
        "p3.input_shape": _shape(spec.P3_INPUT_SHAPE),
        "p3.kernel_shape": _shape(spec.P3_KERNEL_SHAPE),
        "p3.output_shape": _shape(spec.P3_OUTPUT_SHAPE),
        "p3.cells": str(math.prod(spec.P3_OUTPUT_SHAPE)),
        "p3.cell_points": text.number(spec.ITEMS["answer_p3"].points / math.prod(spec.P3_OUTPUT_SHAPE)),
        "p3.input_range": f"{spec.P3_INPUT_RANGE[0]} to {spec.P3_INPUT_RANGE[1]}",
        "p3.kernel_range": f"{spec.P3_KERNEL_RANGE[0]} to {spec.P3_KERNEL_RANGE[1]}",
        "p1_1.variable": spec.P1_1_VARIABLE,
    }
    for letter, option in spec.P1_1_OPTIONS.items():
        out[f"p1_1.option.{letter}"] = option
    for name, arch_params in spec.TOTAL_PARAMS.items():
        out[f"params.{name}"] = f"{arch_params:,}"
    for name, tv in spec.TRAINED_VARIABLES.items():
        out[f"lr.{name}"] = number(tv.learning_rate)
        out[f"lr_decimal.{name}"] = f"{tv.learning_rate:.10f}".rstrip("0").rstrip(".")
        out[f"momentum.{name}"] = number(tv.momentum)
    out["lr_ratio_small"] = number(round(spec.TRAINED_VARIABLES["model"].learning_rate
                                         / spec.TRAINED_VARIABLES["model_eta_small"].learning_rate))
    out["momentum_gain"] = text.number(round(1 / (1 - spec.TRAINED_VARIABLES["model_momentum"].momentum)))
    for n in spec.SECTION_TITLES:
        out[f"section_heading.{n}"] = section_heading(n)
    out.update(_reference_values())
    out.update({f"course.{k}": v for k, v in course_settings(master_dir).items()})
    return out


def fill_text(text: str, table: dict) -> str:
    unknown = sorted({m.group(1) for m in _PLACEHOLDER.finditer(text)} - set(table))
    if unknown:
        raise FillError(f"unknown placeholders {unknown}; known: see hw5/build/fill.py values()")
    return _PLACEHOLDER.sub(lambda m: table[m.group(1)], text)


def fill(nb, master_dir: Path):
    """Fill the placeholders of every Markdown cell of ``nb`` (in place; returns ``nb``)."""
    table = values(master_dir)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = fill_text(cell.source, table)
    return nb
