"""Calibrate spec.ACCURACY_THRESHOLDS for the grade-time training check.

Builds the reference model of every builder in ``spec.BUILDERS`` with its ``train_args``, exports
it the way the sandbox does (``model.to_json()`` + ``keras.optimizers.serialize``), and runs
``hw5.grading.training.train_and_score`` on it for seeds 0..N-1; then the same for models that
must fail (all layers frozen, zero initialisation, baseline with lr 1e-5 and lr 1.0). Prints a
markdown table and writes it to ``docs/calibration.md``.

    MALLOC_ARENA_MAX=2 nohup python scripts/calibrate_thresholds.py > /tmp/calibrate.log 2>&1 &

Options: ``--seeds N`` (default 20), ``--failing-seeds N`` (default 5), ``--only NAME[,NAME]``,
``--no-write`` (print only), ``--out PATH``.

Reference models come from ``hw5.mutants`` (REFERENCE_SOURCES and the frozen / zero-init
mutants), exported by ``hw5.kit.describe`` exactly as the sandbox does; the model factories
(``reference_export``, ``failing_export``) live in ``hw5.calibration``, which
``scripts/benchmark_training.py`` and ``tests/test_training.py`` use too.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw5.calibration import FAILING, failing_export, reference_export  # noqa: E402
from hw5.kit import spec  # noqa: E402

# Thresholds are set a margin below the worst of the 20 reference seeds, rounded down to 0.01.
MARGIN = 0.05


def choose_threshold(accuracies: list[float]) -> float:
    return max(0.0, int((min(accuracies) - MARGIN) * 100) / 100)


def _versions() -> str:
    import keras
    import numpy
    import tensorflow as tf

    return (f"Python {platform.python_version()}, tensorflow {tf.__version__}, "
            f"keras {keras.__version__}, numpy {numpy.__version__}")


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPU(s) ({cpu}), no GPU"


def run(seeds: int, failing_seeds: int, only: set | None, log=print):
    from hw5.grading.training import configure_runtime, prepare_data, train_and_score

    applied = configure_runtime()
    log(f"runtime: {applied}")
    data = prepare_data()
    rows = []  # dicts
    for builder in spec.BUILDERS:
        if only and builder not in only:
            continue
        accs, secs = [], []
        for seed in range(seeds):
            out = train_and_score(reference_export(builder), data, seed=seed)
            if out.error:
                raise SystemExit(f"{builder} seed {seed}: {out.error}")
            accs.append(out.accuracy)
            secs.append(out.seconds)
            log(f"{builder:28s} seed {seed:2d}: acc {out.accuracy:.4f}  {out.seconds:5.2f} s")
        rows.append({"model": f"`{builder}` (reference)", "builder": builder, "accs": accs,
                     "secs": secs, "reference": True})
    for kind, (label, builder) in FAILING.items():
        if only and kind not in only:
            continue
        accs, secs = [], []
        for seed in range(failing_seeds):
            out = train_and_score(failing_export(kind), data, seed=seed)
            acc = out.accuracy if out.accuracy is not None else 0.0
            accs.append(acc)
            secs.append(out.seconds)
            log(f"{kind:28s} seed {seed:2d}: acc {acc:.4f}  {out.seconds:5.2f} s"
                f"  loss {out.final_loss}  {out.error or ''}")
        rows.append({"model": label, "builder": builder, "accs": accs, "secs": secs,
                     "reference": False})
    return rows


def table(rows, thresholds) -> str:
    lines = ["| model | seeds | min | mean | max | threshold (builder) | false fails | "
             "s/run (median, max) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        th = thresholds[r["builder"]]
        if r["reference"]:
            bad = sum(a < th for a in r["accs"])
            verdict = f"{bad} of {len(r['accs'])}"
        else:
            passed = sum(a >= th for a in r["accs"])
            verdict = ("— (all fail)" if passed == 0
                       else f"**{passed} of {len(r['accs'])} PASS** (should fail)")
        lines.append(
            f"| {r['model']} | {len(r['accs'])} | {min(r['accs']):.4f} | "
            f"{statistics.mean(r['accs']):.4f} | {max(r['accs']):.4f} | {th:.2f} "
            f"(`{r['builder']}`) | {verdict} | {statistics.median(r['secs']):.1f}, "
            f"{max(r['secs']):.1f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--failing-seeds", type=int, default=5)
    ap.add_argument("--only", default="", help="comma-separated builders / failing kinds")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "docs" / "calibration.md"))
    args = ap.parse_args(argv)
    only = {s for s in args.only.split(",") if s} or None

    t0 = time.time()
    rows = run(args.seeds, args.failing_seeds, only, log=lambda m: print(m, flush=True))
    chosen = {r["builder"]: choose_threshold(r["accs"]) for r in rows if r["reference"]}
    thresholds = dict(spec.ACCURACY_THRESHOLDS)
    thresholds.update(chosen)
    current = table(rows, spec.ACCURACY_THRESHOLDS)
    proposed = table(rows, thresholds)
    print("\nWith the current spec.ACCURACY_THRESHOLDS:\n" + current)
    print(f"\nProposed thresholds (min of reference seeds - {MARGIN}, rounded down): {chosen}\n"
          + proposed, flush=True)
    if args.no_write:
        return 0
    command = "MALLOC_ARENA_MAX=2 python scripts/calibrate_thresholds.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    doc = f"""# Grade-time training: threshold calibration

Generated by `scripts/calibrate_thresholds.py` (do not edit by hand; re-run it).

- Command: `{command.strip()}`
- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, total {time.time() - t0:.0f} s
- Machine: {_machine()}
- Versions: {_versions()}
- Grade-time setup (`hw5/kit/spec.py`): first {spec.GRADE_TRAIN_IMAGES:,} training images,
  {spec.GRADE_EPOCHS} epoch(s), batch {spec.BATCH_SIZE}, accuracy on the first
  {spec.GRADE_TEST_IMAGES:,} test images (argmax of `predict`), one intra-op / inter-op thread,
  malloc arenas capped at 2 (`hw5.grading.training.configure_runtime`).
- Reference models: seeds 0..{args.seeds - 1}; models that must fail: seeds
  0..{args.failing_seeds - 1}. Grading itself uses only `spec.GRADE_SEED` = {spec.GRADE_SEED}; the
  seed spread stands in for drift across machines and library versions.
- Rule: threshold = (worst reference seed − {MARGIN}) rounded down to 0.01; a reference run below
  its threshold is a *false fail*; every failing model must stay below the threshold of the
  builder it imitates.

## Thresholds in `spec.ACCURACY_THRESHOLDS` at the time of the run

{current}

## Proposed thresholds

`{chosen}`

{proposed}

*s/run* is `train_and_score` wall time (rebuild + compile + fit + predict), data already loaded.
"""
    Path(args.out).write_text(doc)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
