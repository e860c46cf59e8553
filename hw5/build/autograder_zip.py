"""``autograder/hw5-autograder.zip``: the Gradescope autograder (setup.sh, run_autograder, pinned
requirements and the hw5 package source that grading runs, MNIST included).

Deterministic: entries sorted, every timestamp 1980-01-01 00:00:00, fixed Unix permissions (0755 for
the two scripts, 0644 otherwise), stored without compression (bytes do not depend on the zlib
version; the archive is dominated by the already-compressed mnist.npz anyway).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from hw5 import settings
from hw5.kit import spec

ZIP_NAME = "hw5-autograder.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
TEMPLATES = Path(__file__).with_name("templates")
# The zip's own top-level files: setup.sh and run_autograder are templates whose names between at signs the build
# fills in; requirements.txt (the pinned grading stack) is copied as it is.
SCRIPTS = ("run_autograder", "setup.sh")
EXECUTABLE = set(SCRIPTS)
REQUIREMENTS = TEMPLATES / "requirements.txt"
MIN_PYTHON = (3, 10)  # Gradescope's default image, Ubuntu 22.04 (see pyproject's requires-python)
VENV = "/autograder/venv"
# The hw5 package as run_autograder runs it, from /autograder/source, less what it never imports
# (the build, the TA tools and their mutants).
SOURCE_PACKAGE = "hw5"
SKIP_SOURCES = ("hw5/build/", "hw5/ta/", "hw5/mutants/", "hw5/calibration.py")
SKIP_PARTS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache"}
SKIP_SUFFIXES = {".pyc", ".pyo"}
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def template_values() -> dict[str, str]:
    return {
        "GRADESCOPE_ROOT_ENV_VAR": settings.GRADESCOPE_ROOT_ENV_VAR,
        "MIN_PYTHON": ".".join(map(str, MIN_PYTHON)),
        "MIN_PYTHON_TUPLE": ", ".join(map(str, MIN_PYTHON)),
        "SANDBOX_USER": settings.SANDBOX_USER,
        "VENV": VENV,
    }


def render(name: str) -> str:
    """The template ``name`` with its placeholders filled in (an unknown name is an error)."""
    values = template_values()

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise KeyError(f"templates/{name}: unknown placeholder {match.group(0)}")
        return values[match.group(1)]

    return PLACEHOLDER.sub(fill, (TEMPLATES / name).read_text(encoding="utf-8"))


def requirements_for(python: str, platform=(("sys_platform", "linux"),
                                            ("platform_machine", "x86_64"))) -> list[str]:
    """The lines of requirements.txt that pip installs on Python ``python`` ("3.10"), markers
    evaluated and dropped: what a dry run for another Python must be given (pip evaluates a
    requirement file's markers for the interpreter running it, whatever --python-version says)."""
    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    env = {**default_environment(), **dict(platform), "python_version": python,
           "python_full_version": python + ".0"}
    out = []
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate(env):
                req.marker = None
                out.append(str(req))
    return out


def source_files(root: Path) -> list[str]:
    """Repository files packed into the zip (relative POSIX paths, sorted)."""
    out = []
    for p in (root / SOURCE_PACKAGE).rglob("*"):
        rel = p.relative_to(root)
        if p.is_file() and not (set(rel.parts) & SKIP_PARTS) and p.suffix not in SKIP_SUFFIXES \
                and not any(part.endswith(".egg-info") for part in rel.parts) \
                and not rel.as_posix().startswith(SKIP_SOURCES):
            out.append(rel.as_posix())
    return sorted(out)


def entries(root: Path) -> dict[str, bytes]:
    """Archive name -> content."""
    files = {name: render(name).encode() for name in SCRIPTS}
    files["requirements.txt"] = REQUIREMENTS.read_bytes()
    for rel in source_files(root):
        if rel in files:
            raise ValueError(f"{rel} collides with a generated autograder file")
        files[rel] = (root / rel).read_bytes()
    return dict(sorted(files.items()))


def zip_bytes_to(path: Path, files: dict[str, bytes]) -> None:
    """Write a deterministic zip of ``files`` to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3  # Unix, so that external_attr holds permission bits
            mode = 0o755 if name in EXECUTABLE else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, files[name])


def build(root: Path, out_dir: Path) -> Path:
    path = out_dir / ZIP_NAME
    zip_bytes_to(path, entries(root))
    return path
