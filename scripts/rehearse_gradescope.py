#!/usr/bin/env python3
"""Rehearse the Gradescope deployment on this machine, the way Gradescope runs it (root, Linux).

1. A bare Debian 12 root file system (``debootstrap --variant=minbase bookworm``, no Python in
   it; the mirror is the one this machine's apt sources name), cached as a tarball outside the
   repository (``--cache``) and unpacked afresh for every rehearsal.
2. The committed autograder zip unpacked into ``/autograder/source``; ``setup.sh`` run there as
   root in a chroot (proc, sys and dev mounted, resolv.conf copied). pip in the chroot uses this
   machine's pip settings and CA bundle, copied in under names of their own (``/etc/hw5-host/``)
   so that the image's ``ca-certificates`` package, which setup.sh's apt-get pulls in, cannot
   overwrite them.
3. For each submission, ``/autograder/run_autograder`` in a fresh cgroup with Gradescope's
   default limits (CFS quota 1/2 CPU, 768 MB, no swap: cgroup v1 ``cpu`` + ``memory``, or v2
   where that is what is mounted), inside its own cgroup and mount namespaces with the cgroup
   file system mounted as a container sees it (its own group is the root, so the grader reads
   the container's limit). Printed per submission: score, wall time, peak memory of the group,
   OOM kills, and whether results.json gives the same score per test as ``hw5 grade`` on the
   same file (run on this machine, outside the chroot).

``--standard`` rehearses the solution, the template, a hostile notebook (reads the answer key,
writes /autograder/results; what it managed is recorded) and a notebook allocating 1 GB.
``--json OUT`` writes every figure. Python 3.10 (Gradescope's default image) is not rehearsed
here: Debian 12 has 3.11 (see tests/test_deploy_python.py for 3.10).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rehearsal_cgroup import INNER, Cgroup  # beside this script
from rehearsal_image import Chroot, apt_mirror, base_tarball, log, remove_tree, run_setup, \
    unpack_zip

REPO = Path(__file__).resolve().parents[1]
PROBE = "/tmp/hw5-hostile-probe.json"  # in the chroot: what the hostile notebook managed
GRADESCOPE_TIMEOUT_S = 600
METADATA = {
    "id": 1, "created_at": "2026-12-01T12:00:00.000000-08:00", "submission_method": "upload",
    "assignment": {"id": 1, "title": "HW5 rehearsal", "due_date": "2026-12-08T23:59:00-08:00"},
    "users": [{"email": "student@example.com", "id": 1, "name": "Student", "sid": "12345678"}],
    "previous_submissions": [],
}

# ---------------------------------------------------------------------------------------------
# One submission
# ---------------------------------------------------------------------------------------------
def grade_here(notebook: Path, out: Path) -> dict | str:
    """`hw5 grade` on this machine (outside the chroot): its results, or why there are none."""
    proc = subprocess.run([sys.executable, "-m", "hw5", "grade", str(notebook), "-o", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=1800)
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"hw5 grade wrote no results ({exc}); exit {proc.returncode}: {proc.stderr[-500:]}"


def per_test(results: dict) -> dict:
    return {t.get("name"): t.get("score") for t in results.get("tests", [])}


def valid_results(results) -> bool:
    return isinstance(results, dict) and isinstance(results.get("score"), (int, float)) \
        and isinstance(results.get("tests"), list) \
        and all(isinstance(t, dict) and isinstance(t.get("score"), (int, float))
                for t in results["tests"])


def rehearse_one(chroot: Chroot, notebook: Path, label: str, cpu: float, memory_mb: int,
                 work: Path) -> dict:
    for sub in ("submission", "results"):
        shutil.rmtree(chroot.path(f"/autograder/{sub}"), ignore_errors=True)
        chroot.path(f"/autograder/{sub}").mkdir()
    shutil.copyfile(notebook, chroot.path(f"/autograder/submission/{notebook.name}"))
    chroot.path("/autograder/submission_metadata.json").write_text(json.dumps(METADATA, indent=2))
    chroot.path(PROBE).unlink(missing_ok=True)

    here: dict = {}
    direct = threading.Thread(target=lambda: here.update(
        results=grade_here(notebook, work / f"{label}.direct.json")))
    direct.start()

    group = Cgroup(cpu, memory_mb)
    out_path = work / f"{label}.run_autograder.log"
    t0 = time.monotonic()
    timed_out = False
    try:
        with open(out_path, "w") as out:
            # The shell joins the group, then becomes unshare: everything after is inside.
            join = " && ".join(f'echo $$ > "{d}/cgroup.procs"' for d in group.dirs)
            proc = subprocess.Popen(
                ["/bin/sh", "-c", f'{join} && exec "$@"', "sh",
                 "unshare", "--cgroup", "--mount", "--propagation", "private", "chroot",
                 str(chroot.root), "/bin/sh", "-c", INNER],
                env=chroot.env, stdout=out, stderr=subprocess.STDOUT)
            try:
                proc.wait(timeout=GRADESCOPE_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                timed_out = True
        wall = time.monotonic() - t0
        left = group.kill_all()
        proc.wait()
        peak, ooms = group.peak_mb(), group.oom_kills()
    finally:
        group.remove()
    direct.join()

    try:
        results = json.loads(chroot.path("/autograder/results/results.json").read_text())
    except (OSError, ValueError) as exc:
        results = f"no valid results.json: {exc}"
    probe = None
    if chroot.path(PROBE).exists():
        probe = json.loads(chroot.path(PROBE).read_text())
    same = None
    if valid_results(results) and valid_results(here["results"]):
        same = per_test(results) == per_test(here["results"])
    record = {
        "submission": label, "file": notebook.name, "exit": proc.returncode,
        "timed_out": timed_out, "valid": valid_results(results),
        "score": results.get("score") if valid_results(results) else None,
        "max_score": sum(t.get("max_score", 0) for t in results["tests"])
        if valid_results(results) else None,
        "wall_s": round(wall, 1), "peak_mb": peak, "oom_kills": ooms,
        "processes_left": left, "same_as_hw5_grade": same, "probe": probe,
        "status": (results.get("extra_data") or {}).get("hw5", {}).get("status")
        if valid_results(results) else None,
        "hacked": "HACKED" in json.dumps(results),
        "results": results, "hw5_grade": here["results"],
        "log_tail": out_path.read_text(errors="replace")[-2000:],
        "limit_seen_inside": _limit_seen_inside(out_path.read_text(errors="replace")),
    }
    if same is False:
        record["differences"] = {k: (per_test(results).get(k), per_test(here["results"]).get(k))
                                 for k in set(per_test(results)) | set(per_test(here["results"]))
                                 if per_test(results).get(k) != per_test(here["results"]).get(k)}
    return record


def _limit_seen_inside(log_text: str) -> int | None:
    m = re.search(r"^rehearsal: memory limit seen inside: (\d+)", log_text, re.M)
    return int(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
# The standard submissions
# ---------------------------------------------------------------------------------------------
HOSTILE = r'''
import json, os
probe = {"uid": os.getuid()}
def attempt(key, action):
    try:
        action()
        probe[key] = "yes"
    except Exception as exc:
        probe[key] = type(exc).__name__
attempt("read_answer_key", lambda: open("/autograder/source/hw5/answer_key.py").read())
attempt("list_source", lambda: os.listdir("/autograder/source"))
attempt("read_metadata", lambda: open("/autograder/submission_metadata.json").read())
attempt("write_results", lambda: open("/autograder/results/results.json", "w").write(
    json.dumps({"score": 1000.0, "output": "HACKED", "tests": []})))
if os.path.isdir("/autograder"):
    with open("/tmp/hw5-hostile-probe.json", "w") as f:
        json.dump(probe, f)
print(probe)
'''
HOG = "import numpy as np\nhog = np.ones((1024, 1024, 128))  # 1 GiB of float64, every page touched\n"


def standard_submissions(folder: Path) -> list[tuple[str, Path]]:
    import nbformat

    solution = REPO / "solutions" / "hw5.ipynb"
    hostile = nbformat.v4.new_notebook()
    hostile.cells = [nbformat.v4.new_code_cell(HOSTILE)]
    hog = nbformat.read(str(solution), as_version=4)
    hog.cells.append(nbformat.v4.new_code_cell(HOG))
    out = [("solution", solution), ("template", REPO / "student_template" / "hw5.ipynb")]
    for label, nb in (("hostile", hostile), ("1gb", hog)):
        (folder / label).mkdir()
        path = folder / label / "hw5.ipynb"
        nbformat.write(nb, str(path))
        out.append((label, path))
    return out


# ---------------------------------------------------------------------------------------------
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("notebooks", nargs="*", type=Path, help="submissions to grade")
    p.add_argument("--standard", action="store_true", help="the solution, the template, a "
                   "hostile notebook and one allocating 1 GB (before any NOTEBOOKS)")
    p.add_argument("--zip", type=Path, default=REPO / "autograder" / "hw5-autograder.zip")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "XDG_CACHE_HOME", Path.home() / ".cache")) / "hw5-rehearsal",
        help="base image and downloads, kept between runs (default: %(default)s)")
    p.add_argument("--mirror", default=None, help="Debian mirror (default: from apt's sources)")
    p.add_argument("--cpu", type=float, default=0.5)
    p.add_argument("--memory-mb", type=int, default=768)
    p.add_argument("--json", type=Path, default=None, help="write every figure here")
    p.add_argument("--keep", action="store_true", help="keep the chroot's files (debugging)")
    args = p.parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("the rehearsal needs root (debootstrap, chroot, mounts, cgroups)")
    if "HW5_REHEARSAL_NAMESPACE" not in os.environ:
        # Our mounts live in a private mount namespace: they vanish with it, even on a crash.
        os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable,
                               *sys.argv], {**os.environ, "HW5_REHEARSAL_NAMESPACE": "1"})

    args.cache.mkdir(parents=True, exist_ok=True)
    for stale in args.cache.glob("root-*"):  # left by an interrupted or --keep run
        remove_tree(stale)
    work = Path(tempfile.mkdtemp(prefix="hw5-rehearsal-"))
    submissions = standard_submissions(work) if args.standard else []
    submissions += [(nb.stem, nb.resolve()) for nb in args.notebooks]
    if not submissions:
        p.error("nothing to rehearse: give NOTEBOOKS or --standard")

    tarball = base_tarball(args.cache, args.mirror or apt_mirror())
    chroot = Chroot(args.cache, tarball)
    report: dict = {"cpu": args.cpu, "memory_mb": args.memory_mb, "submissions": []}
    try:
        unpack_zip(chroot, args.zip)
        log("setup.sh as root in a bare Debian 12 chroot ...")
        report["setup_s"] = round(run_setup(chroot), 1)
        report["python"] = subprocess.run(
            ["chroot", str(chroot.root), "/autograder/venv/bin/python", "--version"],
            capture_output=True, text=True, env=chroot.env).stdout.strip()
        log(f"setup.sh: {report['setup_s']} s ({report['python']})")
        for label, nb in submissions:
            log(f"run_autograder on {label} ({args.cpu} CPU, {args.memory_mb} MB) ...")
            report["submissions"].append(
                rehearse_one(chroot, nb, label, args.cpu, args.memory_mb, work))
    finally:
        if args.keep:
            log(f"kept {chroot.root} and {work}")
        else:
            chroot.close()
            shutil.rmtree(work, ignore_errors=True)

    print(table(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def table(report: dict) -> str:
    lines = [f"setup.sh: {report['setup_s']} s ({report['python']}); each submission under "
             f"{report['cpu']} CPU and {report['memory_mb']} MB",
             "memory limit the grader sees inside (its cgroup file system): " + ", ".join(
                 sorted({f"{r['limit_seen_inside'] / 2**20:g} MB" if r["limit_seen_inside"]
                         else "unknown" for r in report["submissions"]})),
             f"{'submission':<12} {'score':>9} {'wall':>7} {'peak MB':>8} {'OOM kills':>9} "
             f"{'= hw5 grade':>11}  notes"]
    for r in report["submissions"]:
        score = f"{r['score']:g}/{r['max_score']:g}" if r["valid"] else "INVALID"
        notes = [f"status {r['status']}"] if r["status"] else []
        if r["probe"]:
            notes.append("hostile: " + ", ".join(f"{k} {v}" for k, v in r["probe"].items()))
        if r["timed_out"]:
            notes.append("TIMED OUT")
        if r["processes_left"]:
            notes.append(f"{r['processes_left']} processes left")
        same = {True: "yes", False: "NO", None: "?"}[r["same_as_hw5_grade"]]
        lines.append(f"{r['submission']:<12} {score:>9} {r['wall_s']:>6}s {r['peak_mb']!s:>8} "
                     f"{r['oom_kills']:>9} {same:>11}  {'; '.join(notes)}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
