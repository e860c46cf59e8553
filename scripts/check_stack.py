"""Grade with the stack another Python gets, on this machine's Python.

Gradescope's default image has Python 3.10, which gets older pins than the Python this repository
is developed on (Keras 3.12 instead of 3.15: requirements.txt), and no Python 3.10 can be
installed here. So this resolves requirements.txt for that Python as setup.sh would on its image
(dependencies included, with a current pip: ``hw5.build.stack``), installs exactly those versions
with ``--no-deps`` into a new venv on this machine's Python, checks that the pins are what got
installed, and runs a command there with the repository's ``hw5`` on PYTHONPATH (by default
``hw5 validate --quick``: the solution gets full marks, the template 0, and one mutant per code
path that reads Keras objects: architecture, optimizer, grade-time training, the second builder,
notebook-level fit). Prints the time of each step; exits non-zero if any step fails.

    python scripts/check_stack.py                     # Python 3.10's stack, hw5 validate --quick
    python scripts/check_stack.py --venv /tmp/hw5-stack-3.10 -- \
        python scripts/calibrate_thresholds.py --seeds 10 --no-write

Needs the package registry (a pip cache makes the install quick). .ci/run runs the default.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hw5.build import autograder_zip, stack  # noqa: E402

DEFAULT_COMMAND = ["python", "-m", "hw5", "validate", "--quick"]


def step(what: str, start: float) -> float:
    now = time.monotonic()
    print(f"check_stack: {what} ({now - start:.0f} s)", flush=True)
    return now


def install(python: str, venv: Path, work: Path) -> dict[str, str]:
    """The venv at ``venv`` with ``python``'s resolved stack; name -> version installed."""
    pins = autograder_zip.requirements_for(python)
    start = time.monotonic()
    resolution = stack.resolve(stack.current_pip(work / "pip"), python, pins, work)
    if resolution.problems:
        raise SystemExit("\n".join(resolution.problems))
    start = step(f"resolved {len(resolution.installed)} distributions for Python {python}", start)
    frozen = work / "stack.txt"
    frozen.write_text("".join(f"{n}=={v}\n" for n, v in sorted(resolution.installed.items())))
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps",
                    "-r", str(frozen)], check=True)
    step(f"installed them into {venv} on Python {sys.version.split()[0]}", start)
    return {stack.normalise(line.split("==")[0]): line.split("==")[1] for line in pins}


def check_versions(venv: Path, pins: dict[str, str]) -> None:
    script = ("import importlib.metadata as m, sys\n"
              "for a in sys.argv[1:]:\n"
              "    n, v = a.split('==')\n"
              "    print(n, m.version(n), 'ok' if m.version(n) == v else 'EXPECTED ' + v)\n")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", script,
                          *(f"{n}=={v}" for n, v in sorted(pins.items()))],
                         capture_output=True, text=True, check=True).stdout
    print(out, end="")
    if "EXPECTED" in out:
        raise SystemExit("check_stack: the venv does not hold the pinned versions")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", default=".".join(map(str, autograder_zip.MIN_PYTHON)),
                   choices=sorted(stack.GLIBC), help="whose stack (default: the oldest supported)")
    p.add_argument("--venv", type=Path, default=None,
                   help="where to make the venv (kept; default: a temporary directory)")
    p.add_argument("command", nargs="*", default=DEFAULT_COMMAND,
                   help="run in the repository with that venv first on PATH "
                        f"(default: {' '.join(DEFAULT_COMMAND)})")
    args = p.parse_args(argv)
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hw5-stack-") as tmp:
        venv = (args.venv or Path(tmp) / "venv").resolve()
        pins = install(args.python, venv, Path(tmp))
        check_versions(venv, pins)
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        for name, first in (("PATH", venv / "bin"), ("PYTHONPATH", ROOT)):
            env[name] = os.pathsep.join(filter(None, [str(first), env.get(name)]))
        t = time.monotonic()
        rc = subprocess.run(args.command, cwd=ROOT, env=env).returncode
        step(f"`{' '.join(args.command)}` exited {rc}", t)
    step(f"Python {args.python}'s stack: {'passed' if rc == 0 else 'FAILED'}, total", start)
    return rc


if __name__ == "__main__":
    sys.exit(main())
