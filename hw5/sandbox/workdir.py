"""The kernel's temporary directory and environment, and removing them afterwards.

The directory holds only the notebook, a copy of ``hw5kit`` (the student's own imports) and a
small MNIST subset; the kernel's HOME, TMPDIR and caches point inside it.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from hw5.kit import spec

from . import fontcache
from .limits import Limits

KIT_DIR = Path(__file__).resolve().parent.parent / "kit"
MNIST_SUBSET_NAME = "mnist_subset.npz"
PRIVATE_DIRS = ("tmp", ".config", ".cache", ".ipython", ".jupyter", ".keras")
MATPLOTLIB_CONFIG = Path(".config", "matplotlib")  # the kernel's MPLCONFIGDIR

_SUBSET_CACHE: dict[tuple[int, int], dict] = {}


def mnist_subset(train: int, test: int) -> dict:
    key = (train, test)
    if key not in _SUBSET_CACHE:
        from hw5.kit.mnist import load_mnist  # numpy only

        (xtr, ytr), (xte, yte) = load_mnist(allow_download=False)
        _SUBSET_CACHE[key] = {"x_train": xtr[:train].copy(), "y_train": ytr[:train].copy(),
                              "x_test": xte[:test].copy(), "y_test": yte[:test].copy()}
    return _SUBSET_CACHE[key]


def write_workdir(root: Path, sources: list[str], kit_dir: Path, limits: Limits) -> Path:
    """Fill `root` with the notebook, hw5kit/*.py and the MNIST subset; return the subset path."""
    import nbformat
    import numpy as np

    copy_kit(kit_dir, root / "hw5kit")
    mnist = root / MNIST_SUBSET_NAME
    np.savez(mnist, **mnist_subset(limits.train_images, limits.test_images))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, str(root / spec.NOTEBOOK_NAME))
    for sub in PRIVATE_DIRS:
        (root / sub).mkdir()
    fontcache.copy_into(root / MATPLOTLIB_CONFIG)
    return mnist


def copy_kit(kit_dir: Path, kit: Path) -> None:
    kit.mkdir(parents=True)
    for source in sorted(kit_dir.glob("*.py")):
        shutil.copyfile(source, kit / source.name)
    if not (kit / "__init__.py").exists():
        (kit / "__init__.py").write_text("")


def kernel_env(root: Path, mnist: Path, limits: Limits) -> dict:
    """The kernel's whole environment (nothing inherited but PATH and LD_LIBRARY_PATH).

    HW5_EPOCHS and HW5_TRAIN_SUBSET are not set: the fit stand-in records what the student
    wrote, and trains nothing whatever it is.
    """
    threads = str(limits.threads)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(root),
        "TMPDIR": str(root / "tmp"),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "XDG_CACHE_HOME": str(root / ".cache"),
        "XDG_DATA_HOME": str(root / ".local" / "share"),
        "IPYTHONDIR": str(root / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTER_DATA_DIR": str(root / ".jupyter" / "data"),
        "MPLCONFIGDIR": str(root / MATPLOTLIB_CONFIG),
        "KERAS_HOME": str(root / ".keras"),
        "KERAS_BACKEND": "tensorflow",
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": str(limits.seed),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        spec.MNIST_ENV_VAR: str(mnist),
    }
    if os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    return env


def chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


def rmtree(path: Path) -> None:
    """Remove a tree the student may have made read-only (Python 3.10-3.13)."""
    def retry(func, name, _exc):
        try:
            os.chmod(os.path.dirname(name) or name, 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            func(name)
        except Exception:
            pass

    # `onerror` is deprecated from 3.12 in favour of `onexc` (same call shape for our use).
    handler = {"onexc": retry} if sys.version_info >= (3, 12) else {"onerror": retry}
    try:
        shutil.rmtree(path, **handler)
    except Exception:
        pass
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


def tail(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""
