"""The committed autograder zip: what it holds (what grading needs, nothing else), its scripts
rendered from the templates, and its pinned requirements."""
from __future__ import annotations

import ast
import subprocess
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from packaging.requirements import Requirement

from hw5 import settings
from hw5.build import autograder_zip
from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "autograder" / autograder_zip.ZIP_NAME


def _zip() -> dict[str, zipfile.ZipInfo]:
    with zipfile.ZipFile(ZIP) as zf:
        return {i.filename: i for i in zf.infolist()}


def test_zip_holds_what_grading_needs_and_nothing_else():
    infos = _zip()
    names = list(infos)
    assert names == sorted(names)
    for required in ("run_autograder", "setup.sh", "requirements.txt", "hw5/__init__.py",
                     "hw5/__main__.py", "hw5/cli.py", "hw5/answer_key.py", "hw5/submissions.py",
                     "hw5/grading/gradescope.py", "hw5/sandbox/runner.py", "hw5/kit/spec.py",
                     "hw5/kit/mnist.npz", "hw5/kit/MNIST-LICENSE.md"):
        assert required in infos, required
    for name in names:
        assert not name.startswith(("hw5/build/", "hw5/ta/")), name
        assert "__pycache__" not in name and not name.endswith(".pyc"), name
    assert not {"README.md", "pyproject.toml"} & set(names)
    assert not [n for n in names if n.startswith("hw5/mutants/")]
    for name, info in infos.items():
        assert info.date_time == autograder_zip.ZIP_DATE
        mode = (info.external_attr >> 16) & 0o777
        assert mode == (0o755 if name in autograder_zip.EXECUTABLE else 0o644), name
    with zipfile.ZipFile(ZIP) as zf:
        assert zf.read("hw5/kit/mnist.npz") == (ROOT / "hw5/kit/mnist.npz").read_bytes()
        for script in autograder_zip.SCRIPTS:
            assert zf.read(script).decode() == autograder_zip.render(script)
        assert zf.read("requirements.txt") == autograder_zip.REQUIREMENTS.read_bytes()


def _hw5_imports(source: str) -> set[str]:
    """Every hw5.* module a file imports (absolute imports; the package uses no relative ones
    outside package __init__ files, which are resolved by the caller)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "hw5"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == "hw5":
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def test_every_hw5_import_of_the_zipped_code_is_in_the_zip():
    shipped = {n for n in _zip() if n.endswith(".py")}
    modules = {PurePosixPath(n).with_suffix("").as_posix().replace("/", ".").removesuffix(
        ".__init__") for n in shipped}
    with zipfile.ZipFile(ZIP) as zf:
        for name in shipped:
            for module in _hw5_imports(zf.read(name).decode()):
                parent = module.rsplit(".", 1)[0]
                # `from hw5.kit import spec` names a module; `from hw5.kit.mnist import load_mnist`
                # names an attribute of one.
                assert module in modules or parent in modules, (name, module)


def test_scripts_render_every_placeholder_and_parse(tmp_path, monkeypatch):
    for script in autograder_zip.SCRIPTS:
        text = autograder_zip.render(script)
        assert not autograder_zip.PLACEHOLDER.search(text), script
        subprocess.run(["bash", "-n"], input=text, text=True, check=True)
    (tmp_path / "setup.sh").write_text("echo @NO_SUCH_NAME@\n")
    monkeypatch.setattr(autograder_zip, "TEMPLATES", tmp_path)
    with pytest.raises(KeyError, match="unknown placeholder @NO_SUCH_NAME@"):
        autograder_zip.render("setup.sh")


def test_setup_sh_makes_the_kernel_user_and_keeps_the_source_private():
    setup = autograder_zip.render("setup.sh")
    assert "useradd --system" in setup and settings.SANDBOX_USER in setup
    assert "--shell /usr/sbin/nologin" in setup
    assert f"chmod -R a+rX,go-w {autograder_zip.VENV}" in setup
    assert "-r /autograder/source/requirements.txt" in setup
    # The source is made private after everything that reads it.
    assert setup.rstrip().endswith("chmod 700 /autograder/source")
    assert "pip install --quiet /autograder/source" not in setup  # hw5 runs from the source dir
    assert "sys.version_info < (3, 10)" in setup
    run = autograder_zip.render("run_autograder")
    assert f"${{{settings.GRADESCOPE_ROOT_ENV_VAR}:-/autograder}}" in run
    assert '-m hw5 gradescope "$ROOT"' in run and 'cd "$ROOT/source"' in run


def _requirements(python: str) -> dict[str, str]:
    """name -> pinned version of requirements.txt for Linux x86-64 and Python ``python``."""
    return {Requirement(r).name.lower(): next(iter(Requirement(r).specifier)).version
            for r in autograder_zip.requirements_for(python)}


@pytest.mark.parametrize("python", ["3.10", "3.11", "3.12", "3.13"])
def test_requirements_pin_every_dependency(python):
    """The autograder venv holds every dependency of the package, pinned, for each supported
    Python (Linux x86-64)."""
    tomllib = pytest.importorskip("tomllib")  # the test runs on 3.11+; the grader never reads TOML

    pins = _requirements(python)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    env = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": python}
    for dep in project["dependencies"]:
        req = Requirement(dep)
        if req.marker is not None and not req.marker.evaluate(env):
            continue
        assert req.name.lower() in pins, f"{req.name} is not pinned in the autograder requirements"
        assert req.specifier.contains(pins[req.name.lower()], prereleases=True), (dep, python)
