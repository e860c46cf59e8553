"""Print the grading budget figures: CPU-seconds and peak memory of `hw5 grade` on the solution.

    python scripts/benchmark_grading.py [--runs 3] [--reexecute]

Memory is sampled every 50 ms over the whole process tree (grader, student kernel, trusted
checks) as two sums: RSS (double-counts shared library pages mapped by several processes) and
PSS (each page counted once, split among the processes that share it: what a container's
memory limit sees). CPU-seconds are user+system time of the whole tree (getrusage children).

--reexecute also executes the solution notebook as written (nbclient, real kernel) with
HW5_EPOCHS=1 and 2 on all of MNIST, and extrapolates to the notebook's 10 epochs:
cpu(1) + (EPOCHS - 1) * (cpu(2) - cpu(1)). The full run takes ~17 minutes; this takes ~4.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hw5.kit import spec  # noqa: E402

SOLUTION = ROOT / "solutions" / spec.NOTEBOOK_NAME


def _tree_memory(proc: psutil.Process) -> tuple[int, int]:
    rss = pss = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            info = p.memory_full_info()
            rss, pss = rss + info.rss, pss + info.pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return rss, pss


def measure(cmd: list, env: dict | None = None) -> dict:
    """Run `cmd`; return wall seconds, tree CPU-seconds and peak tree RSS/PSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ps = psutil.Process(proc.pid)
    peak = [0, 0]

    def sample():
        while proc.poll() is None:
            try:
                rss, pss = _tree_memory(ps)
            except psutil.NoSuchProcess:
                break
            peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    rc = proc.wait()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rc": rc, "wall_s": time.monotonic() - start, "cpu_s": cpu,
            "peak_rss_mb": peak[0] / 2**20, "peak_pss_mb": peak[1] / 2**20}


def grade_runs(runs: int) -> list:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(runs):
            results.append(measure([sys.executable, "-m", "hw5", "grade", str(SOLUTION), "-o",
                                    str(Path(tmp, "results.json"))]))
    return results


EXECUTE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], 4)
NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
"""


def reexecute_estimate() -> dict:
    import shutil

    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(ROOT / "student_template" / "hw5kit", Path(tmp, "hw5kit"))
        shutil.copytree(ROOT / "student_template" / "tests", Path(tmp, "tests"))
        out = {}
        for epochs in (1, 2):
            env = dict(os.environ, **{spec.EPOCHS_ENV_VAR: str(epochs),
                                      spec.MNIST_ENV_VAR: str(ROOT / "hw5" / "kit" / "mnist.npz")})
            env.pop(spec.TRAIN_SUBSET_ENV_VAR, None)
            out[epochs] = measure([sys.executable, "-c", EXECUTE, str(SOLUTION), tmp], env)
    per_epoch = out[2]["cpu_s"] - out[1]["cpu_s"]
    return {"cpu_1_epoch": out[1]["cpu_s"], "cpu_2_epochs": out[2]["cpu_s"],
            "cpu_estimate": out[1]["cpu_s"] + (spec.EPOCHS - 1) * per_epoch,
            "peak_pss_mb": max(o["peak_pss_mb"] for o in out.values())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reexecute", action="store_true")
    args = parser.parse_args()
    print(f"hw5 grade {SOLUTION.relative_to(ROOT)} on {os.cpu_count()} cores")
    print(f"{'run':>3}  {'wall s':>7}  {'CPU s':>7}  {'peak RSS MB':>11}  {'peak PSS MB':>11}")
    runs = grade_runs(args.runs)
    for i, r in enumerate(runs, 1):
        print(f"{i:>3}  {r['wall_s']:7.1f}  {r['cpu_s']:7.1f}  {r['peak_rss_mb']:11.0f}  "
              f"{r['peak_pss_mb']:11.0f}" + ("" if r["rc"] == 0 else f"  (exit {r['rc']})"))
    worst_cpu = max(r["cpu_s"] for r in runs)
    print(f"budget: CPU <= 150 s (worst {worst_cpu:.1f}), memory <= 768 MB "
          f"(worst PSS {max(r['peak_pss_mb'] for r in runs):.0f}, "
          f"worst RSS {max(r['peak_rss_mb'] for r in runs):.0f})")
    if args.reexecute:
        est = reexecute_estimate()
        print(f"re-executing the solution as written: 1 epoch {est['cpu_1_epoch']:.0f} CPU s, "
              f"2 epochs {est['cpu_2_epochs']:.0f} CPU s -> {spec.EPOCHS} epochs "
              f"≈ {est['cpu_estimate']:.0f} CPU s ({est['cpu_estimate'] / worst_cpu:.1f}× the "
              f"grader's worst run); peak PSS {est['peak_pss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
