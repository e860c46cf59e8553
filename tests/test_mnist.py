"""The MNIST loader: search order, validation, and an error message that says how to fix it."""
from pathlib import Path

import numpy as np
import pytest

from hw5.kit import mnist, spec

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist.npz"


def write_subset(path, n_train=20, n_test=10, **overrides):
    (xtr, ytr), (xte, yte) = mnist.load_mnist(allow_download=False)
    arrays = dict(x_train=xtr[:n_train], y_train=ytr[:n_train], x_test=xte[:n_test],
                  y_test=yte[:n_test])
    arrays.update(overrides)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    monkeypatch.delenv(spec.MNIST_ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))


def test_shipped_copy_is_the_real_dataset(no_env):
    (xtr, ytr), (xte, yte) = mnist.load_mnist(allow_download=False)
    assert xtr.shape == (60000, 28, 28) and xtr.dtype == np.uint8
    assert xte.shape == (10000, 28, 28)
    assert ytr[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(yte).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    if SHARED.is_file():
        assert mnist.SHIPPED.read_bytes() == SHARED.read_bytes()


def test_env_var_wins_over_shipped_copy(no_env, monkeypatch, tmp_path):
    subset = write_subset(tmp_path / "small.npz")
    monkeypatch.setenv(spec.MNIST_ENV_VAR, str(subset))
    (xtr, _), (xte, _) = mnist.load_mnist(allow_download=False)
    assert len(xtr) == 20 and len(xte) == 10


def test_invalid_env_file_falls_back_and_keras_cache_is_used(no_env, monkeypatch, tmp_path):
    bad = write_subset(tmp_path / "bad.npz", y_test=None)
    monkeypatch.setenv(spec.MNIST_ENV_VAR, str(bad))
    monkeypatch.setattr(mnist, "SHIPPED", tmp_path / "absent.npz")
    cache = tmp_path / "keras-home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "mnist.npz").write_bytes(SHARED.read_bytes() if SHARED.is_file()
                                      else (Path(mnist.__file__).with_name("mnist.npz")).read_bytes())
    (xtr, _), _ = mnist.load_mnist(allow_download=False)
    assert xtr.shape == (60000, 28, 28)


def test_error_names_every_place_tried_and_the_fix(no_env, monkeypatch, tmp_path):
    bad = tmp_path / "wrong-dtype.npz"
    write_subset(bad, x_train=np.zeros((20, 28, 28), np.float32))
    monkeypatch.setenv(spec.MNIST_ENV_VAR, str(bad))
    monkeypatch.setattr(mnist, "SHIPPED", tmp_path / "absent.npz")
    with pytest.raises(mnist.MnistNotFound) as err:
        mnist.load_mnist(allow_download=False)
    text = str(err.value)
    assert "x_train has dtype float32, expected uint8" in text
    assert str(tmp_path / "absent.npz") in text and "no such file" in text
    assert "Keras cache" in text and "Keras download" in text
    assert f"set {spec.MNIST_ENV_VAR}" in text


def test_corrupt_file_is_reported_not_raised(no_env, monkeypatch, tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 truncated")
    monkeypatch.setenv(spec.MNIST_ENV_VAR, str(corrupt))
    (xtr, _), _ = mnist.load_mnist(allow_download=False)  # falls back to the shipped copy
    assert len(xtr) == 60000
