"""Measure the reference results: run the solution notebook for the full spec.EPOCHS under a real
kernel and record, for each of the five trained models, training and validation accuracy and loss
per epoch, and which classes the trained model predicts on the test set.

    python scripts/reference_results.py            # about 6 minutes on 2 idle cores
    python scripts/reference_results.py --raw runs.json        # also keep the raw measurement
    python scripts/reference_results.py --from-raw runs.json   # rewrite the outputs from it
    python scripts/reference_results.py --only model_adam      # measure one new run, keep the rest

``--only`` measures the named trained variables (a course's new experiment) and keeps every other
run as committed: the notebook still runs whole, but nothing else is re-measured. ``--quick``
(tests of a course change only, never for committed data) trains 1 epoch on 2,048 images.

Writes ``hw5/kit/reference_results.py`` (the data the spec, the notebook's ``report()`` and the
rubric read) and ``docs/reference_results.md`` (the table, for people). The notebook is the one
``hw5 build`` makes from the master (built into a temporary folder, nothing in the checkout is
touched but the two outputs), with one cell prepended that fixes Keras' random seed and one
appended that prints the histories.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw5.build.fill import number  # noqa: E402
from hw5.kit import spec  # noqa: E402

SEED = 0
MARK = "HW5-REFERENCE "
DATA_MODULE = ROOT / "hw5" / "kit" / "reference_results.py"
TABLE = ROOT / "docs" / "reference_results.md"

SEED_CELL = f"""\
import keras
keras.utils.set_random_seed({SEED})
"""

PROBE_CELL = """\
import json as _json, platform as _platform
import numpy as _np
import tensorflow as _tf


def _run(model_name, history_name):
    model, history = globals()[model_name], globals()[history_name]
    predicted = _np.bincount(model.predict(x_test, verbose=0).argmax(axis=1), minlength=10)
    return {"history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
            "predicted_counts": [int(c) for c in predicted]}


print(%(mark)r + _json.dumps({
    "runs": {m: _run(m, h) for m, h in %(pairs)r},
    "test_label_counts": [int(c) for c in _np.bincount(y_test.argmax(axis=1), minlength=10)],
    "versions": {"python": _platform.python_version(), "keras": keras.__version__,
                 "tensorflow": _tf.__version__, "numpy": _np.__version__},
}))
"""


def _mnist() -> Path:
    for path in (ROOT / "hw5" / "kit" / "mnist.npz", ROOT.parent / "shared" / "data" / "mnist.npz"):
        if path.is_file():
            return path
    sys.exit("no mnist.npz found: set HW5_MNIST")


QUICK_ENV = {spec.EPOCHS_ENV_VAR: "1", spec.TRAIN_SUBSET_ENV_VAR: "2048"}


def measure(timeout_s: int, only=None, quick: bool = False) -> dict:
    """Build, run the solution notebook for the full EPOCHS (``quick``: the QUICK_ENV
    shortcuts), return the probe's data for the trained variables ``only`` names (all by
    default)."""
    import nbformat
    from nbclient import NotebookClient

    from hw5.build import SOLUTIONS_DIR, STUDENT_DIR, outputs

    files = outputs(ROOT)
    pairs = [(tv.model, tv.history) for tv in spec.TRAINED_VARIABLES.values()
             if only is None or tv.model in only]
    with tempfile.TemporaryDirectory(prefix="hw5-reference-") as tmp:
        work = Path(tmp)
        for rel, data in files.items():
            if rel.startswith(STUDENT_DIR + "/") and not rel.endswith(spec.NOTEBOOK_NAME):
                dest = work / rel[len(STUDENT_DIR) + 1:]
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
        nb = nbformat.reads(files[f"{SOLUTIONS_DIR}/{spec.NOTEBOOK_NAME}"].decode(), as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(SEED_CELL))
        nb.cells.append(nbformat.v4.new_code_cell(PROBE_CELL % {"mark": MARK, "pairs": pairs}))
        env_keep = {k: os.environ.pop(k) for k in (spec.EPOCHS_ENV_VAR, spec.TRAIN_SUBSET_ENV_VAR)
                    if k in os.environ}
        if quick:
            os.environ.update(QUICK_ENV)
        os.environ.setdefault(spec.MNIST_ENV_VAR, str(_mnist()))
        os.environ.setdefault("MPLBACKEND", "agg")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        start = time.perf_counter()
        try:
            NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                           resources={"metadata": {"path": str(work)}}).execute()
        finally:
            for key in QUICK_ENV if quick else ():
                os.environ.pop(key, None)
            os.environ.update(env_keep)
        elapsed = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    line = next(l for l in text.splitlines() if l.startswith(MARK))
    data = json.loads(line[len(MARK):])
    epochs = int(QUICK_ENV[spec.EPOCHS_ENV_VAR]) if quick else spec.EPOCHS
    data.update(seed=SEED, epochs=epochs, batch_size=spec.BATCH_SIZE,
                notebook_seconds=round(elapsed), load_average=round(os.getloadavg()[2], 1),
                cpus=os.cpu_count(),
                machine=platform.machine(), measured=date.today().isoformat())
    for name, run in data["runs"].items():
        epochs = len(run["history"]["loss"])
        if len(run["history"]["loss"]) != data["epochs"]:
            raise SystemExit(f"{name} trained for {len(run['history']['loss'])} epochs, not "
                             f"{data['epochs']}")
    return data


def merge(committed, measured: dict) -> dict:
    """The committed runs (module ``committed``) with the ``measured`` ones added or replaced;
    the metadata says which runs were measured later, when and for how many epochs."""
    later = {k: measured[k] for k in ("measured", "epochs", "notebook_seconds", "versions")}
    data = {k: committed.MEASURED[k] for k in META_KEYS if k in committed.MEASURED}
    data["later"] = [*committed.MEASURED.get("later", []), dict(later, runs=list(measured["runs"]))]
    data["runs"] = {**committed.RUNS, **measured["runs"]}
    data["test_label_counts"] = committed.TEST_LABEL_COUNTS
    return data


def _round(values, digits=4):
    return [round(v, digits) for v in values]


def _runs_text(runs: dict) -> str:
    """RUNS as Python source, one line per series."""
    lines = ["RUNS = {"]
    for name, run in runs.items():
        lines.append(f"    {name!r}: {{")
        lines.append('        "history": {')
        for key, values in run["history"].items():
            lines.append(f"            {key!r}: {json.dumps(_round(values))},")
        lines.append("        },")
        lines.append(f'        "predicted_counts": {json.dumps(run["predicted_counts"])},')
        lines.append("    },")
    lines.append("}")
    return "\n".join(lines).replace("'", '"') + "\n"


META_KEYS = ("measured", "seed", "epochs", "batch_size", "notebook_seconds", "load_average",
             "cpus", "machine", "versions", "later")


def write_module(data: dict, path: Path = DATA_MODULE) -> None:
    meta = {k: data[k] for k in META_KEYS if k in data}
    text = (
        '"""Reference results measured by ``scripts/reference_results.py``: the solution notebook\n'
        "run for the full number of epochs. Generated; do not edit (re-run the script instead).\n\n"
        "RUNS[variable]['history'] is the Keras History of that run (loss, accuracy, val_loss,\n"
        "val_accuracy per epoch); 'predicted_counts' counts the test images predicted as each digit.\n"
        '"""\n'
        f"MEASURED = {json.dumps(meta, indent=4, sort_keys=True)}\n\n"
        f"TEST_LABEL_COUNTS = {json.dumps(data['test_label_counts'])}\n\n"
        + _runs_text(data["runs"])
    )
    path.write_text(text, encoding="utf-8")


def table(runs: dict, meta: dict) -> str:
    """The Markdown table of every run, epoch by epoch."""
    lines = [
        "# Reference results",
        "",
        "Generated by `python scripts/reference_results.py` (the solution notebook run for the full",
        f"{meta['epochs']} epochs, batch size {meta['batch_size']}, seed {meta['seed']}); do not edit. "
        f"Measured {meta['measured']} with Keras {meta['versions']['keras']}, TensorFlow "
        f"{meta['versions']['tensorflow']}, Python {meta['versions']['python']}, on "
        f"{meta['cpus']} CPU cores ({meta['machine']}): the notebook took {meta['notebook_seconds']} s"
        + (f" (15-minute load average {meta['load_average']} at the end: a shared machine)."
           if meta.get("load_average", 0) > meta["cpus"] / 2 else "."),
        *[f"Measured later with `--only`: {', '.join(f'`{n}`' for n in later['runs'])} on "
          f"{later['measured']}, {later['epochs']} epochs, Keras {later['versions']['keras']}."
          for later in meta.get("later", [])],
        "The rubric, the spec's reference accuracies and the notebook's `report()` read",
        "`hw5/kit/reference_results.py`, written by the same run.",
        "",
    ]
    for name, run in runs.items():
        tv = spec.TRAINED_VARIABLES[name]
        settings = ("" if tv.optimizer.class_name == "SGD" else f"{tv.optimizer.class_name}, ") \
            + f"learning rate {number(tv.learning_rate)}" + (
            f", momentum {number(tv.momentum)}" if tv.momentum else "")
        h = run["history"]
        counts = run["predicted_counts"]
        top = max(range(len(counts)), key=counts.__getitem__)
        lines += [f"## `{name}` ({tv.architecture}, {settings})", "",
                  "| epoch | loss | accuracy | val_loss | val_accuracy |", "|---:|---:|---:|---:|---:|"]
        for e in range(len(h["loss"])):
            lines.append(f"| {e + 1} | {h['loss'][e]:.4f} | {h['accuracy'][e]:.4f} | "
                         f"{h['val_loss'][e]:.4f} | {h['val_accuracy'][e]:.4f} |")
        lines += ["", f"Test images predicted as each digit 0–9: {counts} "
                      f"(most frequent: {top}, {counts[top] / sum(counts):.1%}).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    parser.add_argument("--raw", type=Path, help="also save the raw measurement as JSON here")
    parser.add_argument("--from-raw", type=Path, help="rewrite the outputs from a saved JSON")
    parser.add_argument("--only", metavar="NAME,NAME",
                        help="measure only these trained variables; keep the committed others")
    parser.add_argument("--quick", action="store_true",
                        help="1 epoch on 2,048 images (tests of a course change only)")
    args = parser.parse_args(argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] if args.only else None
    unknown = [n for n in only or () if n not in spec.TRAINED_VARIABLES]
    if unknown:
        parser.error(f"not trained variables: {', '.join(unknown)}")
    if args.from_raw:
        data = json.loads(args.from_raw.read_text())
    else:
        data = measure(args.timeout, only, args.quick)
    if only:
        from hw5.kit import reference_results as committed

        data = merge(committed, data)
    if args.raw:
        args.raw.write_text(json.dumps(data, indent=1))
    write_module(data)
    sys.path.insert(0, str(DATA_MODULE.parent))
    import importlib

    module = importlib.import_module("hw5.kit.reference_results")
    importlib.reload(module)
    TABLE.write_text(table(module.RUNS, module.MEASURED), encoding="utf-8")
    print(f"wrote {DATA_MODULE.relative_to(ROOT)} and {TABLE.relative_to(ROOT)}")
    for name, run in module.RUNS.items():
        h = run["history"]
        print(f"{name:16s} acc {h['accuracy'][-1]:.4f}  val_acc {h['val_accuracy'][-1]:.4f}  "
              f"loss {h['loss'][-1]:.4f}  val_loss {h['val_loss'][-1]:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
