"""The grading stack for one Python, resolved as setup.sh installs it on the image that Python
stands for, with a current pip: ``tests/test_deploy_python.py`` checks that it resolves and that
every distribution's Requires-Python admits that Python; ``scripts/check_stack.py`` installs that
exact set on this machine's Python and grades with it.

Needs the package registry. Not in the autograder zip (``hw5/build/`` stays out).
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet

# The images each Python stands for, by the glibc they have: wheels tagged for a newer glibc would
# not install there.
GLIBC = {"3.10": (2, 35),  # Ubuntu 22.04, Gradescope's default image
         "3.11": (2, 36),  # Debian 12
         "3.12": (2, 39),  # Ubuntu 24.04
         "3.13": (2, 41)}  # Debian 13


@dataclass
class Resolution:
    problems: list[str]  # what would fail on that Python; empty when the set installs
    installed: dict[str, str]  # normalised name -> version, dependencies included


def platform_args(python: str) -> list[str]:
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(5, GLIBC[python][1] + 1)]
    # The legacy names too: some wheels (libclang, which TensorFlow needs) carry only these.
    tags += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


def normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def requires_python_problems(report: dict, python: str) -> list[str]:
    """Distributions of a pip ``--report`` whose ``Requires-Python`` excludes ``python`` ("3.10"):
    what a real interpreter would refuse, whatever the pip that made the report let through."""
    version = python + ".0"
    return [f"{item['metadata']['name']} {item['metadata']['version']} requires Python "
            f"{item['metadata']['requires_python']}, not {python}"
            for item in report["install"]
            if item["metadata"].get("requires_python")
            and not SpecifierSet(item["metadata"]["requires_python"]).contains(version)]


def current_pip(venv: Path) -> list[str]:
    """A new venv's pip, upgraded to the newest release (as setup.sh does): the pip bundled with a
    venv (23.x) ignored Requires-Python in a dry run for another Python."""
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True,
                   capture_output=True, timeout=300)
    return [python, "-m", "pip"]


def resolve(pip: list[str], python: str, requirements: list[str], work: Path) -> Resolution:
    """Resolve ``requirements`` (markers already evaluated) to wheels for ``python`` on the image
    of GLIBC[python], as setup.sh installs them."""
    reqs = work / f"requirements-{python}.txt"
    reqs.write_text("\n".join(requirements) + "\n")
    report = work / f"report-{python}.json"
    proc = subprocess.run(
        [*pip, "install", "--dry-run", "--quiet", "--only-binary=:all:", "--python-version", python,
         *platform_args(python), "--target", str(work / "target"), "--ignore-installed",
         "--report", str(report), "-r", str(reqs)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if not line.startswith("WARNING")]
        return Resolution([f"pip cannot install this on Python {python}: "
                           + "\n".join(errors)[-3000:]], {})
    resolved = json.loads(report.read_text())
    return Resolution(requires_python_problems(resolved, python),
                      {normalise(i["metadata"]["name"]): i["metadata"]["version"]
                       for i in resolved["install"]})
