"""Print where the CPU-seconds of one sandbox run go: runner, kernel start, imports, cells,
per-cell checkpoints.

    python scripts/benchmark_sandbox.py [NOTEBOOK]   # default: the solution notebook

Runs `hw5.sandbox.runner.run_submission` in this process (the runner's imports are timed
separately) with a few lines added around the grader's first kernel cell: they read the
kernel's own CPU time (getrusage) when the kernel has started, around its TensorFlow/Keras
import, and before and after each cell and its checkpoint (IPython's pre/post_run_cell hooks,
registered before and after the checkpoint's), and write them to a file the runner reads back.
The student's namespace gains a few names: for measuring, never for grading.
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.modules.setdefault("rfc3987_syntax", None)  # as `python -m hw5.sandbox` does


def _cpu(who=resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


BEFORE = r'''
import resource as _pr, time as _pt, json as _pj
def _pcpu():
    u = _pr.getrusage(_pr.RUSAGE_SELF); return u.ru_utime + u.ru_stime
_P = {{"started": _pcpu(), "cells": []}}
_c = _pcpu(); import keras; _P["import_keras"] = _pcpu() - _c
def _ppre(info):
    _P["_s"] = (_pcpu(), (info.raw_cell or "")[:50])
def _pcell(result):
    _P["_a"] = _pcpu()
def _pcheckpoint(result):
    (s, source), a, b = _P["_s"], _P["_a"], _pcpu()
    _P["cells"].append([source, round(a - s, 3), round(b - a, 3)])
    _P["total"] = b
    open({out!r}, "w").write(_pj.dumps({{k: v for k, v in _P.items() if k[0] != "_"}}))
get_ipython().events.register("pre_run_cell", _ppre)
get_ipython().events.register("post_run_cell", _pcell)
_c = _pcpu()
'''
AFTER = r'''
_P["bootstrap"] = _pcpu() - _c
get_ipython().events.register("post_run_cell", _pcheckpoint)
'''


def main() -> int:
    from hw5.kit import spec

    notebook = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "solutions" / spec.NOTEBOOK_NAME
    start = _cpu()
    from hw5.sandbox import inkernel, runner

    runner.warm_up()
    warm = _cpu() - start
    with tempfile.TemporaryDirectory(prefix="hw5-bench-") as tmp:
        out = Path(tmp, "kernel-cpu.json")
        Path(tmp).chmod(0o777)  # the kernel runs as another uid
        original = inkernel.bootstrap_source
        inkernel.bootstrap_source = lambda config, kit_dir: (
            BEFORE.format(out=str(out)) + original(config, kit_dir) + AFTER)
        before, wall = _cpu(), time.monotonic()
        result = runner.run_submission(notebook)
        runner_cpu, wall = _cpu() - before, time.monotonic() - wall
        kernel = json.loads(out.read_text(encoding="utf-8"))
    cells = kernel["cells"]
    rest = kernel["total"] - kernel["started"] - kernel["import_keras"] - kernel["bootstrap"] \
        - sum(c[1] + c[2] for c in cells)
    print(f"{notebook.name}: status {result.status}, {len(cells)} cells, {wall:.1f} s wall")
    print(f"runner: imports + MNIST subset {warm:.2f} CPU-s (once per process), this run "
          f"{runner_cpu:.2f} CPU-s (nbclient, ZeroMQ, watchdog, workdir)")
    print(f"kernel: {_cpu(resource.RUSAGE_CHILDREN):.2f} CPU-s in all = start "
          f"{kernel['started']:.2f} + import keras/TensorFlow {kernel['import_keras']:.2f} + "
          f"grader's first cell {kernel['bootstrap']:.2f} + cells "
          f"{sum(c[1] for c in cells):.2f} + checkpoints {sum(c[2] for c in cells):.2f} + "
          f"between cells {rest:.2f} (+ shutdown)")
    for source, run, checkpoint in sorted(cells, key=lambda c: -(c[1] + c[2]))[:8]:
        print(f"  cell {run:5.2f} + checkpoint {checkpoint:5.2f} CPU-s  {source!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
