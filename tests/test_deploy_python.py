"""Python 3.10, the interpreter of Gradescope's default image (Ubuntu 22.04), with none here to run:

- the code the grader runs (every .py file of the autograder zip) parses as Python 3.10 and uses
  no standard-library module or name added after 3.10;
- (slow, needs the package registry) the pinned requirements resolve to wheels for 3.10 and for
  3.12 (Ubuntu 24.04), as setup.sh installs them; a failed resolution fails the test.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from hw5.build import autograder_zip

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "autograder" / autograder_zip.ZIP_NAME
OLDEST = autograder_zip.MIN_PYTHON

# Standard-library modules and names that appeared after Python 3.10 (3.11-3.13), which the
# grader must not use. Attributes are matched as `module.name` and `from module import name`.
NEWER_MODULES = {"tomllib", "wsgiref.types"}
NEWER_NAMES = {
    "typing": {"Self", "LiteralString", "Never", "assert_never", "assert_type", "reveal_type",
               "Required", "NotRequired", "TypeVarTuple", "Unpack", "dataclass_transform",
               "get_overloads", "clear_overloads", "override", "TypeAliasType", "ReadOnly",
               "TypeIs", "get_protocol_members", "is_protocol"},
    "datetime": {"UTC"},
    "enum": {"StrEnum", "ReprEnum", "verify", "member", "nonmember", "global_enum",
             "EnumCheck", "FlagBoundary", "show_flag_values", "EnumDict"},
    "asyncio": {"TaskGroup", "timeout", "timeout_at", "Timeout", "Runner", "Barrier",
                "BrokenBarrierError", "eager_task_factory", "QueueShutDown"},
    "contextlib": {"chdir"},
    "hashlib": {"file_digest"},
    "itertools": {"batched"},
    "operator": {"call"},
    "logging": {"getLevelNamesMapping", "getHandlerByName", "getHandlerNames"},
    "shutil": set(),
    "sys": {"exception", "activate_stack_trampoline", "monitoring", "_is_gil_enabled"},
    "math": {"cbrt", "exp2", "sumprod", "fma"},
    "inspect": {"markcoroutinefunction", "getmembers_static", "BufferFlags"},
    "string": set(),
    "copy": {"replace"},
    "warnings": {"deprecated"},
}
NEWER_BUILTINS = {"ExceptionGroup", "BaseExceptionGroup", "PythonFinalizationError"}


def _zipped_python() -> dict[str, str]:
    with zipfile.ZipFile(ZIP) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist() if n.endswith(".py")}


def newer_than_310(source: str, name: str = "<source>") -> list[str]:
    """What ``source`` uses that Python 3.10 lacks (syntax errors included)."""
    try:
        tree = ast.parse(source, name, feature_version=(3, 10))
    except SyntaxError as exc:
        return [f"{name}:{exc.lineno}: not Python 3.10 syntax: {exc.msg}"]
    found = []
    aliases: dict[str, str] = {}  # local name -> module
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
                if a.name in NEWER_MODULES:
                    found.append(f"{name}:{node.lineno}: import {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module in NEWER_MODULES:
                found.append(f"{name}:{node.lineno}: from {node.module} import ...")
            for a in node.names:
                if a.name in NEWER_NAMES.get(node.module, ()) \
                        or f"{node.module}.{a.name}" in NEWER_MODULES:
                    found.append(f"{name}:{node.lineno}: from {node.module} import {a.name}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = aliases.get(node.value.id)
            if module and node.attr in NEWER_NAMES.get(module, ()):
                found.append(f"{name}:{node.lineno}: {module}.{node.attr}")
        elif isinstance(node, ast.Name) and node.id in NEWER_BUILTINS:
            found.append(f"{name}:{node.lineno}: {node.id}")
    return found


@pytest.mark.parametrize("snippet", [
    "try:\n    pass\nexcept* ValueError:\n    pass\n",
    "import tomllib\n",
    "from typing import Self\n",
    "import datetime\nx = datetime.UTC\n",
    "import datetime as dt\nx = dt.UTC\n",
    "from enum import StrEnum\n",
    "raise ExceptionGroup('x', [])\n",
    "def f[T](x: T) -> T:\n    return x\n",
])
def test_the_310_check_catches(snippet):
    assert newer_than_310(snippet), snippet


def test_the_graders_code_is_python_310():
    sources = _zipped_python()
    assert "hw5/grading/gradescope.py" in sources and "hw5/sandbox/runner.py" in sources
    problems = [p for name, src in sorted(sources.items()) for p in newer_than_310(src, name)]
    assert not problems, "\n".join(problems)


def test_requires_python_matches_the_oldest_supported():
    tomllib = pytest.importorskip("tomllib")  # this test runs on 3.11+; the grader never does
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    supported = SpecifierSet(project["requires-python"])
    oldest = ".".join(map(str, OLDEST))
    assert oldest in supported and f"{OLDEST[0]}.{OLDEST[1] - 1}" not in supported
    assert all(f"3.{minor}" in supported for minor in range(OLDEST[1], 14))


# The images each Python stands for, by the glibc they have: wheels tagged for a newer glibc would
# not install there.
GLIBC = {"3.10": (2, 35), "3.12": (2, 39)}  # Ubuntu 22.04 (Gradescope's default), Ubuntu 24.04


def _platform_args(glibc: tuple[int, int]) -> list[str]:
    tags = [f"manylinux_2_{minor}_x86_64" for minor in range(17, glibc[1] + 1)]
    tags += ["manylinux2014_x86_64", "linux_x86_64"]
    return [arg for tag in tags for arg in ("--platform", tag)]


@pytest.mark.slow
@pytest.mark.parametrize("python", sorted(GLIBC))
def test_pinned_requirements_resolve(python, tmp_path):
    """pip resolves requirements.txt (markers evaluated for ``python``) to wheels for that Python
    on that image, as setup.sh installs it. Needs the package registry (CI has it)."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("\n".join(autograder_zip.requirements_for(python)) + "\n")
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--only-binary=:all:",
         "--python-version", python, *_platform_args(GLIBC[python]), "--target", str(tmp_path / "target"), "--ignore-installed", "--report", str(report),
         "-r", str(reqs)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    installed = {i["metadata"]["name"].lower().replace("_", "-"): i["metadata"]["version"]
                 for i in json.loads(report.read_text())["install"]}
    for line in autograder_zip.requirements_for(python):
        name, version = line.split("==")
        assert installed.get(name.lower()) == version, (name, installed.get(name.lower()))
