"""Find and load MNIST, shared by the notebook and the grader.

Search order: the ``HW5_MNIST`` environment variable (path to an ``mnist.npz``), the copy shipped
beside this module, the Keras cache (``~/.keras/datasets/mnist.npz`` or ``$KERAS_HOME``), then
Keras' own download. Each candidate is validated (keys, shapes, dtype); when none works the error
names every place tried and how to fix it.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import spec

SHIPPED = Path(__file__).with_name("mnist.npz")


class MnistNotFound(RuntimeError):
    pass


def _keras_cache() -> Path:
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def _read(path: Path, full: bool = True):
    """Return (x_train, y_train, x_test, y_test) from `path`, or raise ValueError saying why.

    With full=False (the grader's small subsets) only keys, ranks and dtypes are checked.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in spec.MNIST_KEYS if key in data.files}
    except Exception as exc:  # zip errors, truncated files, pickles
        raise ValueError(f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    missing = [key for key in spec.MNIST_KEYS if key not in arrays]
    if missing:
        raise ValueError(f"missing key(s) {missing}; expected {list(spec.MNIST_KEYS)}")
    for key, (shape, dtype) in spec.MNIST_KEYS.items():
        a = arrays[key]
        if str(a.dtype) != dtype:
            raise ValueError(f"{key} has dtype {a.dtype}, expected {dtype}")
        expected = shape if full else (a.shape[0],) + shape[1:]
        if a.shape != expected:
            raise ValueError(f"{key} has shape {a.shape}, expected {expected}")
    for split in ("train", "test"):
        if len(arrays[f"x_{split}"]) != len(arrays[f"y_{split}"]):
            raise ValueError(f"x_{split} and y_{split} have different lengths")
    return tuple(arrays[key] for key in spec.MNIST_KEYS)


def _download():
    import keras  # only when every local copy failed

    path = keras.utils.get_file(
        "mnist.npz",
        origin="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
        file_hash="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    )
    return _read(Path(path))


def load_mnist(*, allow_download: bool = True):
    """Return ``(x_train, y_train), (x_test, y_test)`` as uint8 arrays, like
    ``keras.datasets.mnist.load_data()``.
    """
    tried = []
    env = os.environ.get(spec.MNIST_ENV_VAR)
    candidates = []
    if env:
        candidates.append((f"${spec.MNIST_ENV_VAR}={env}", Path(env), False))
    candidates.append(("the copy shipped with the assignment", SHIPPED, True))
    candidates.append(("the Keras cache", _keras_cache(), True))
    for label, path, full in candidates:
        if not path.is_file():
            tried.append(f"{label} ({path}): no such file")
            continue
        try:
            xtr, ytr, xte, yte = _read(path, full=full)
            return (xtr, ytr), (xte, yte)
        except ValueError as exc:
            tried.append(f"{label} ({path}): {exc}")
    if allow_download:
        try:
            xtr, ytr, xte, yte = _download()
            return (xtr, ytr), (xte, yte)
        except Exception as exc:
            tried.append(f"Keras download: {type(exc).__name__}: {exc}")
    else:
        tried.append("Keras download: not attempted (allow_download=False)")
    raise MnistNotFound(
        "Could not load MNIST. Tried, in order:\n  - " + "\n  - ".join(tried) +
        f"\nTo fix: set {spec.MNIST_ENV_VAR} to the path of a Keras-layout mnist.npz "
        "(keys x_train, y_train, x_test, y_test; uint8), put mnist.npz beside this module "
        f"({SHIPPED.parent}), or connect to the internet once so Keras can download it."
    )
