"""Print the throughput of `hw5 grade-all`: wall time and CPU-seconds for a generated batch.

    python scripts/benchmark_grade_all.py [--submissions 100] [--workers N] [--runs 1]
    python scripts/benchmark_grade_all.py --submissions 10 20   # on a busy machine

The batch is a folder of notebooks, cycling through a class-like mix: per 10 submissions, 5
copies of the solution, 1 template (nothing answered) and 4 mutants (hw5/mutants/: faulty
builders, correct builders spelled differently, notebook-level mutants), in a fixed order. It
runs `hw5 grade-all FOLDER -o OUT --workers W` as a user would (fresh OUT each run) and prints wall
seconds and the CPU-seconds of the whole process tree (getrusage children: grade-all, its
workers, every sandbox and kernel, the trusted processes), per submission, the peak memory in
use on the machine above what was in use at the start (idle machine: the run's own), and the
wall time extrapolated to 100 submissions: with one size, per-submission wall × 100
(pessimistic: the start-up of the workers is spread over few submissions); with two sizes or
more, a straight line through (size, time) -- fixed start-up + marginal cost per submission --
evaluated at 100. The issue's target: 100 submissions in at most 10 minutes on 2 cores (<= 12
CPU-s per submission).
On a loaded machine the figures are inflated; the 100-submission figure is only final when
measured on an idle machine.

`--similarity` also times `hw5 similarity` on the batch (the generated notebooks differ only by
mutants, so the ranking itself means nothing here).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from hw5 import mutants  # noqa: E402
from hw5.kit import spec  # noqa: E402
from hw5.ta.grade_all import default_workers  # noqa: E402

TARGET_WALL_S = 600  # 100 submissions in 10 minutes
TARGET_CPU_PER_SUB = 12.0
PATTERN = "SSTMSMSMSM"  # S solution copy, T template, M next mutant


def make_batch(folder: Path, n: int) -> dict:
    """Write `n` notebooks into `folder`; return how many of each kind."""
    import nbformat

    solution = nbformat.read(ROOT / "solutions" / spec.NOTEBOOK_NAME, as_version=4)
    template = nbformat.read(ROOT / "student_template" / spec.NOTEBOOK_NAME, as_version=4)
    variants = ([mutants.apply_to_notebook(solution, m.builder, m.source)
                 for m in mutants.MUTANTS + mutants.EQUIVALENT_SPELLINGS]
                + [mutants.apply_notebook_mutant(solution, m) for m in mutants.NOTEBOOK_MUTANTS])
    # interleave faulty and correct variants so that any prefix of the batch holds both
    faulty, rest = variants[:len(mutants.MUTANTS)], variants[len(mutants.MUTANTS):]
    mixed = [v for pair in zip(faulty, rest) for v in pair] + faulty[len(rest):] + \
        rest[len(faulty):]
    counts = {"solution": 0, "template": 0, "mutant": 0}
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        kind = PATTERN[i % len(PATTERN)]
        if kind == "S":
            nb, name = solution, "solution"
        elif kind == "T":
            nb, name = template, "template"
        else:
            nb, name = mixed[counts["mutant"] % len(mixed)], "mutant"
        counts[name] += 1
        nbformat.write(nb, folder / f"s{i:03d}.ipynb")
    return counts


def timed(cmd: list) -> tuple:
    """(wall s, CPU s of the whole tree, peak MB in use above the start) of `cmd`, which must
    succeed. The memory is the machine's (total - available, sampled every 0.5 s): the figure
    is the run's own only on an otherwise idle machine."""
    import threading

    import psutil

    def in_use() -> int:
        memory = psutil.virtual_memory()
        return (memory.total - memory.available) // 2**20

    baseline, peak, done = in_use(), [0], threading.Event()

    def sample():
        while not done.wait(0.5):
            peak[0] = max(peak[0], in_use() - baseline)

    sampler = threading.Thread(target=sample, daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    sampler.start()
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    finally:
        done.set()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), peak[0]


def failed_trainings(out: Path) -> int:
    """Grade-time trainings that failed in a run (read from the result model): on a loaded
    machine they hit the per-model time limit, which inflates the figures."""
    import json

    from hw5.grading.report import from_gradescope

    failed = 0
    for path in (out / "results").glob("*.json"):
        result = from_gradescope(json.loads(path.read_text(encoding="utf-8")))
        failed += sum(c.name == "learns" and c.found == "training failed"
                      for i in (result.items.values() if result else []) for c in i.checks)
    return failed


def fit_line(points: list) -> tuple:
    """Least squares (intercept, slope) of [(n, y), ...]; slope only when one size."""
    if len({n for n, _ in points}) < 2:
        return 0.0, sum(y / n for n, y in points) / len(points)
    mn = sum(n for n, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    slope = sum((n - mn) * (y - my) for n, y in points) / sum((n - mn) ** 2 for n, _ in points)
    return my - slope * mn, slope


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, nargs="+", default=[100],
                        help="batch size(s); two or more sizes give a fixed + marginal fit")
    parser.add_argument("--workers", type=int, default=None,
                        help="grade-all's --workers (default: grade-all's own default)")
    parser.add_argument("--runs", type=int, default=1, help="runs per batch size")
    parser.add_argument("--similarity", action="store_true")
    args = parser.parse_args()
    walls, cpus = [], []
    workers = args.workers or default_workers()
    print(f"hw5 grade-all, {workers} workers, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    print(f"{'subs':>4}  {'run':>3}  {'wall s':>7}  {'CPU s':>7}  {'wall s/sub':>10}  "
          f"{'CPU s/sub':>9}  {'peak MB':>7}")
    with tempfile.TemporaryDirectory(prefix="hw5-bench-") as tmp:
        for n in args.submissions:
            batch = Path(tmp, f"batch{n}")
            counts = make_batch(batch, n)
            print(f"batch of {n}: {counts['solution']} solution copies, {counts['template']} "
                  f"templates, {counts['mutant']} mutants")
            for run in range(1, args.runs + 1):
                out = Path(tmp, f"out{n}-{run}")
                wall, cpu, memory = timed([sys.executable, "-m", "hw5", "grade-all", str(batch),
                                           "-o", str(out), "--workers", str(workers)])
                walls.append((n, wall))
                cpus.append((n, cpu))
                failed = failed_trainings(out)
                busy = (f"  ({failed} grade-time trainings failed: a machine too busy for the "
                        "time limit?)" if failed else "")
                print(f"{n:>4}  {run:>3}  {wall:7.1f}  {cpu:7.1f}  {wall / n:10.2f}  "
                      f"{cpu / n:9.2f}  {memory:7.0f}" + busy)
        fixed_w, per_w = fit_line(walls)
        fixed_c, per_c = fit_line(cpus)
        wall_100, cpu_100 = fixed_w + 100 * per_w, (fixed_c + 100 * per_c) / 100
        print(f"fit: wall = {fixed_w:.0f} s + {per_w:.2f} s/submission; CPU = {fixed_c:.0f} s + "
              f"{per_c:.2f} s/submission")
        print(f"100 submissions: {wall_100 / 60:.1f} min wall (target <= {TARGET_WALL_S / 60:.0f}),"
              f" {cpu_100:.1f} CPU-s per submission all in (target <= {TARGET_CPU_PER_SUB:.0f})")
        if args.similarity:
            n = args.submissions[-1]
            wall, cpu, _ = timed([sys.executable, "-m", "hw5", "similarity",
                                  str(Path(tmp, f"batch{n}")), "-o", str(Path(tmp, "similarity"))])
            print(f"hw5 similarity on {n} submissions: {wall:.1f} s wall, {cpu:.1f} CPU-s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
