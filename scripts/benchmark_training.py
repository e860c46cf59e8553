"""Seconds and peak RSS of grade-time training (prepare_data + train_and_score), fresh processes.

For each runtime setting and each reference model, a fresh Python process runs
``configure_runtime(...)`` (or nothing), ``prepare_data()`` and ``train_and_score()`` on the
reference export, and reports wall times and memory (peak = ``ru_maxrss``). A last process per
setting trains the three models one after the other, as the grader does.

    python scripts/benchmark_training.py                 # all settings (about 3 minutes)
    python scripts/benchmark_training.py --settings graded --repeat 3

Exports are made once in the parent process and handed to the children as JSON, so the children
hold exactly what the grading process holds.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = {  # name -> (configure_runtime kwargs or None, extra environment)
    "default": (None, {}),
    "threads=1": ({"threads": 1, "malloc_arenas": None}, {}),
    "arenas=2": ({"threads": None, "malloc_arenas": 2}, {}),
    "graded": ({}, {}),  # configure_runtime() defaults: 1 thread, 2 arenas
    "graded+env": ({}, {"MALLOC_ARENA_MAX": "2"}),  # same, arenas also capped from process start
}

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import psutil
proc = psutil.Process()
def rss(): return proc.memory_info().rss / 2**20
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kwargs = json.loads(sys.argv[1]); exports = json.load(open(sys.argv[2])); names = sys.argv[3].split(",")
from hw5.grading import training
if kwargs is not None:
    training.configure_runtime(**kwargs)
t = time.perf_counter(); data = training.prepare_data(); t_data = time.perf_counter() - t
r = {"data_s": t_data, "rss_after_data": rss(), "peak_after_data": peak()}
t = time.perf_counter(); import keras, tensorflow; r["import_s"] = time.perf_counter() - t
r["rss_after_import"] = rss()
runs = []
for name in names:
    out = training.train_and_score(exports[name], data)
    runs.append({"model": name, "acc": out.accuracy, "error": out.error, "train_s": out.seconds,
                 "rss_after": rss(), "peak": peak()})
r["runs"] = runs; r["total_s"] = time.perf_counter() - t0; r["peak"] = peak()
print("RESULT " + json.dumps(r))
"""


def make_exports(path: Path):
    from hw5.calibration import reference_export
    from hw5.kit import spec

    exports = {name: reference_export(name) for name in spec.BUILDERS}
    path.write_text(json.dumps(exports))
    return list(exports)


def child(setting: str, names: list[str], exports_path: Path) -> dict:
    kwargs, extra_env = SETTINGS[setting]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra_env)
    if "MALLOC_ARENA_MAX" not in extra_env:
        env.pop("MALLOC_ARENA_MAX", None)
    for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(kwargs), str(exports_path),
                           ",".join(names)], cwd=ROOT, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child failed ({proc.returncode}):\n{proc.stderr[-2000:]}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", default=",".join(SETTINGS), help=f"from {list(SETTINGS)}")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-sequential", action="store_true")
    args = ap.parse_args(argv)
    settings = [s for s in args.settings.split(",") if s]

    with tempfile.TemporaryDirectory() as tmp:
        exports_path = Path(tmp) / "exports.json"
        names = make_exports(exports_path)
        print("| setting | model(s) | fit+predict s | whole process s | import s | "
              "RSS after import MB | peak RSS MB | accuracy |")
        print("|---|---|---|---|---|---|---|---|", flush=True)
        for setting in settings:
            jobs = [[n] for n in names] + ([] if args.no_sequential else [names])
            for job in jobs:
                for _ in range(args.repeat):
                    r = child(setting, job, exports_path)
                    label = job[0] if len(job) == 1 else "all three, one process"
                    secs = " + ".join(f"{run['train_s']:.1f}" for run in r["runs"])
                    accs = " / ".join(f"{run['acc']:.4f}" if run["acc"] is not None
                                      else run["error"] for run in r["runs"])
                    print(f"| {setting} | {label} | {secs} | {r['total_s']:.1f} | "
                          f"{r['import_s']:.1f} | {r['rss_after_import']:.0f} | "
                          f"{r['peak']:.0f} | {accs} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
