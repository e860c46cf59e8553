"""``dist/hw5-student.zip``: the student handout, ready to unzip and run offline.

One top-level folder ``hw5/`` holding what ``student_template/`` holds (the notebook, ``tests/``,
``hw5kit/``, ``README.md``) plus ``hw5kit/mnist.npz``, so that the notebook's loader finds MNIST
beside itself without a download. Not committed (it would store MNIST in git a second time); written
under ``dist/`` (gitignored) by ``hw5 build``. Deterministic like the autograder zip (same writer:
sorted entries, fixed timestamps and permissions, stored).
"""
from __future__ import annotations

from pathlib import Path

from . import autograder_zip, student

DIST_DIR = "dist"
ZIP_NAME = student.HANDOUT_ZIP
TOP = student.HANDOUT_FOLDER  # the folder the zip unpacks to
MNIST = "mnist.npz"


def entries(root: Path, files: dict[str, bytes], student_dir: str) -> dict[str, bytes]:
    """Archive name -> content, from the build's generated ``files`` (relative path -> bytes)."""
    prefix = student_dir.rstrip("/") + "/"
    out = {f"{TOP}/{rel[len(prefix):]}": data for rel, data in files.items()
           if rel.startswith(prefix)}
    if not out:
        raise ValueError(f"the build produced no {prefix} files")
    out[f"{TOP}/{student.KIT_PACKAGE}/{MNIST}"] = (root / student.KIT_DIR / MNIST).read_bytes()
    return dict(sorted(out.items()))


def build(root: Path, files: dict[str, bytes], out_dir: Path, student_dir: str) -> Path:
    """Write ``out_dir/hw5-student.zip``; return its path."""
    path = Path(out_dir) / ZIP_NAME
    autograder_zip.zip_bytes_to(path, entries(Path(root), files, student_dir))
    return path
