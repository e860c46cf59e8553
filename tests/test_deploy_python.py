"""Python 3.10, the interpreter of Gradescope's default image (Ubuntu 22.04), with none here to run:

- the code the grader runs (every .py file of the autograder zip) parses as Python 3.10 and uses
  no standard-library module or name added after 3.10;
- (slow, needs the package registry) the pinned requirements resolve, with a current pip, to
  wheels for 3.10 to 3.13 on the images they stand for, as setup.sh installs them, and every
  resolved distribution's Requires-Python admits that Python (checked here too, not left to pip);
  Keras 3.15 for 3.10 is rejected (the negative control);
- (slow) pyproject.toml's dependencies resolve for 3.10 (`pip install -e .` there);
- the student README's install line asks for pyproject.toml's Keras and TensorFlow ranges.
"""
from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

from hw5.build import autograder_zip, stack

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


@pytest.fixture(scope="module")
def current_pip(tmp_path_factory) -> list[str]:
    return stack.current_pip(tmp_path_factory.mktemp("pip") / "venv")


def test_the_requires_python_check_catches_what_an_old_pip_let_through():
    report = {"install": [  # what pip 23 reported for keras==3.15.1 and --python-version 3.10
        {"metadata": {"name": "keras", "version": "3.15.1", "requires_python": ">=3.11"}},
        {"metadata": {"name": "numpy", "version": "2.2.6", "requires_python": ">=3.10"}},
        {"metadata": {"name": "six", "version": "1.17.0"}}]}
    assert stack.requires_python_problems(report, "3.10") == [
        "keras 3.15.1 requires Python >=3.11, not 3.10"]
    assert stack.requires_python_problems(report, "3.11") == []


@pytest.mark.slow
def test_the_resolution_rejects_a_pin_the_python_cannot_install(current_pip, tmp_path):
    """The negative control: Keras 3.15 (Requires-Python >=3.11) for Python 3.10. Needs the
    package registry."""
    problems = stack.resolve(current_pip, "3.10", ["keras==3.15.1"], tmp_path).problems
    assert problems and "3.10" in problems[0], problems


@pytest.mark.slow
@pytest.mark.parametrize("python", sorted(stack.GLIBC))
def test_pinned_requirements_resolve(python, current_pip, tmp_path):
    """requirements.txt (markers evaluated for ``python``) resolves, with a current pip, to wheels
    for that Python on that image, every resolved distribution's Requires-Python admits it, and
    the pins are what gets installed. Needs the package registry (CI has it)."""
    pins = autograder_zip.requirements_for(python)
    resolution = stack.resolve(current_pip, python, pins, tmp_path)
    assert not resolution.problems, "\n".join(resolution.problems)
    for line in pins:
        name, version = line.split("==")
        assert resolution.installed.get(stack.normalise(name)) == version, (name, resolution)


@pytest.mark.slow
def test_the_projects_dependencies_resolve_for_the_oldest_python(current_pip, tmp_path):
    """`pip install -e .` (README's quick start) on Python 3.10: pyproject.toml's dependencies
    resolve there. Needs the package registry."""
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement

    python = ".".join(map(str, OLDEST))
    env = {"python_version": python, "sys_platform": "linux", "platform_machine": "x86_64"}
    dependencies = []
    for line in tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
            "project"]["dependencies"]:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(env):
            req.marker = None
            dependencies.append(str(req))
    resolution = stack.resolve(current_pip, python, dependencies, tmp_path)
    assert not resolution.problems, "\n".join(resolution.problems)
    assert resolution.installed["keras"].startswith("3.12."), resolution.installed["keras"]


def test_the_student_install_line_has_the_projects_ranges():
    """The student README's pip line asks, on each supported Python, for the Keras and TensorFlow
    versions pyproject.toml allows (and the autograder's pins satisfy both)."""
    tomllib = pytest.importorskip("tomllib")
    from hw5.build import student

    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["dependencies"]
    assert student.install_line() in student.readme()
    for minor in range(OLDEST[1], 14):
        python = f"3.{minor}"
        project = _ranges(dependencies, python)
        students = _ranges(student.STUDENT_INSTALL, python)
        assert set(project) == set(students) == {"keras", "tensorflow"}, (python, students)
        assert str(students["keras"]) == str(project["keras"]), (python, students, project)
        pinned = dict(line.split("==") for line in autograder_zip.requirements_for(python))
        for name, pin in (("keras", pinned["keras"]), ("tensorflow", pinned["tensorflow-cpu"])):
            assert students[name].contains(pin) and project[name].contains(pin), (python, name)


def _ranges(lines, python: str) -> dict:
    """Keras's and TensorFlow's (not tensorflow-cpu's) specifiers among requirement ``lines`` on
    ``python``, markers evaluated as on Windows (where the plain tensorflow applies)."""
    from packaging.requirements import Requirement

    env = {"python_version": python, "sys_platform": "win32", "platform_machine": "AMD64"}
    return {req.name: req.specifier for req in map(Requirement, lines)
            if req.name in ("keras", "tensorflow")
            and (req.marker is None or req.marker.evaluate(env))}


def test_the_readme_shows_the_stack_each_python_gets():
    """README's table of pinned versions per Python is requirements.txt's."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()

    def cells(line):
        return [c.strip() for c in line.strip().strip("|").split("|")]

    header = cells(next(line for line in lines if line.startswith("| image's `python3` |")))
    rows = {cells(line)[0].split()[0]: cells(line)[1:] for line in lines
            if line.startswith(("| 3.10 ", "| 3.11–3.13 "))}
    assert set(rows) == {"3.10", "3.11–3.13"}, rows
    for minor in range(OLDEST[1], 14):
        python = f"3.{minor}"
        pins = dict(line.split("==") for line in autograder_zip.requirements_for(python))
        row = rows["3.10" if python == "3.10" else "3.11–3.13"]
        assert row == [pins[name] for name in header[1:]], (python, row)
