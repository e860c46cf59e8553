"""Grade-time training (TRUSTED process): does the student's model actually learn?

The grader rebuilds the student's model from its exported Keras JSON config (safe mode on),
compiles it with the student's exported optimizer and loss, trains it with a fixed seed on a fixed
MNIST subset and measures test accuracy itself (argmax of ``predict`` against the labels; the
student's metrics are never used). Thresholds live in ``spec.ACCURACY_THRESHOLDS`` and are
calibrated by ``scripts/calibrate_thresholds.py`` (``docs/calibration.md``).

Memory: the whole grading process tree has a 768 MB budget and ``import keras`` alone brings the
process to ~614 MB RSS (~290 MB anonymous + ~320 MB mapped libraries), so

* call :func:`configure_runtime` once, first thing in the grading process (before TensorFlow
  runs any op): it caps glibc malloc arenas and pins TensorFlow to one intra-op and one inter-op
  thread. The thread count changes the floating-point summation order, hence the accuracies:
  the thresholds were calibrated with one thread, which also makes grading independent of the
  number of cores (figures: ``scripts/benchmark_training.py``);
* :func:`prepare_data` uses numpy only, loads the uint8 arrays, keeps copies of the subsets and
  frees the full arrays before TensorFlow is imported;
* :func:`train_and_score` feeds ``fit`` 32-image batches gathered from the numpy arrays (a
  ``keras.utils.PyDataset``) instead of the arrays themselves, predicts in 32-image batches, and
  calls ``keras.backend.clear_session()`` and ``malloc_trim`` after each model; models are trained
  one at a time in the same process.

``train_and_score`` never raises: every failure becomes ``TrainingOutcome.error``.
"""
from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import json
import math
import os
import signal
import threading
import time
from dataclasses import dataclass

import numpy as np

from hw5.kit import spec
from hw5.kit.mnist import load_mnist
from hw5.text import shorten

NOT_COMPILED = "model is not compiled: call model.compile(...)"
# Prediction batch: large batches cost memory (a 500-image batch of the baseline's first conv
# output alone is 43 MB), so predict in training-sized batches.
PREDICT_BATCH_SIZE = spec.BATCH_SIZE
# A config is untrusted input: refuse to train something absurdly large.
MAX_TRAINABLE_PARAMS = 5_000_000
# Wall time for one model (rebuild + fit + predict); the reference models take 3-8 s on one
# thread (docs/calibration.md), so this only stops a model that would eat the whole budget.
MODEL_TIME_LIMIT_S = 60

_M_ARENA_MAX = -8  # glibc mallopt() parameter number (malloc.h)
_THREADS: int | None = None  # set by configure_runtime, applied once TensorFlow is imported


def _apply_threads():
    """Pin TF's thread pools to _THREADS if TF is imported and not yet running.

    Returns None when there is nothing to do yet, True when applied, False when too late.
    TensorFlow reads these settings when its runtime starts (first op), so this runs both in
    configure_runtime (TF already imported) and at the start of every training (TF imported
    since); the first call before the first op wins.
    """
    import sys

    if not _THREADS or "tensorflow" not in sys.modules:
        return None
    import tensorflow as tf

    try:
        if tf.config.threading.get_intra_op_parallelism_threads() != _THREADS:
            tf.config.threading.set_intra_op_parallelism_threads(_THREADS)
        if tf.config.threading.get_inter_op_parallelism_threads() != _THREADS:
            tf.config.threading.set_inter_op_parallelism_threads(_THREADS)
        return True
    except RuntimeError:  # "... cannot be modified after initialization"
        return False


def configure_runtime(threads: int | None = 1, malloc_arenas: int | None = 2) -> dict:
    """Set the process-wide knobs that keep grade-time training small and repeatable.

    Must run before TensorFlow executes its first op (thread pools are created then); calling it
    later is harmless but the thread settings are ignored. ``threads=None`` / ``malloc_arenas=None``
    leave the respective setting alone. Returns what was applied (for logs).
    """
    applied = {}
    if malloc_arenas:
        # Same effect as MALLOC_ARENA_MAX=2 in the environment, but also works when the process
        # was started without it: every TF thread otherwise gets its own 64 MB malloc arena.
        try:
            libc = ctypes.CDLL("libc.so.6")
            applied["malloc_arena_max"] = malloc_arenas if libc.mallopt(_M_ARENA_MAX, malloc_arenas) else None
        except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
            applied["malloc_arena_max"] = None
        os.environ.setdefault("MALLOC_ARENA_MAX", str(malloc_arenas))  # for child processes
    if threads:
        global _THREADS
        _THREADS = int(threads)
        for var in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ[var] = str(threads)  # read by oneDNN/OpenMP and by child processes
        applied["threads"] = threads if _apply_threads() is not False else "too late"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return applied


@dataclass
class GradeData:
    """The fixed grade-time subset, processed as the notebook does."""

    x_train: np.ndarray  # (GRADE_TRAIN_IMAGES, 28, 28, 1) float32 in [0, 1]
    y_train: np.ndarray  # (GRADE_TRAIN_IMAGES, 10) float32 one-hot
    x_test: np.ndarray  # (GRADE_TEST_IMAGES, 28, 28, 1) float32 in [0, 1]
    y_test: np.ndarray  # (GRADE_TEST_IMAGES, 10) float32 one-hot
    test_labels: np.ndarray  # (GRADE_TEST_IMAGES,) int64 class ids (what accuracy compares to)


@dataclass
class TrainingOutcome:
    accuracy: float | None  # test accuracy measured by the grader; None when training failed
    error: str | None  # why there is no accuracy (student-facing); None on success
    seconds: float  # wall time of rebuild + compile + fit + predict
    final_loss: float | None = None  # last training loss reported by fit (nan/inf = diverged)

    @property
    def ok(self) -> bool:
        return self.error is None and self.accuracy is not None

    @property
    def diverged(self) -> bool:
        return self.final_loss is not None and not math.isfinite(self.final_loss)


def _images(x: np.ndarray) -> np.ndarray:
    return (x.astype(np.float32) / np.float32(spec.PIXEL_SCALE)).reshape((-1,) + spec.IMAGE_SHAPE)


def _one_hot(y: np.ndarray) -> np.ndarray:
    # Same values as keras.utils.to_categorical(y, 10), without importing Keras here.
    return np.eye(spec.NUM_CLASSES, dtype=np.float32)[y.astype(np.int64)]


# prepare_data's result in this process, by its sizes and the MNIST copy asked for: a long-lived
# trusted worker (`hw5.ta.trusted_worker`) loads MNIST once, not once per export.
_PREPARED: dict = {}


def prepare_data(n_train: int = spec.GRADE_TRAIN_IMAGES, n_test: int = spec.GRADE_TEST_IMAGES,
                 *, allow_download: bool = False) -> GradeData:
    """Load MNIST (numpy only) and return the first ``n_train`` / ``n_test`` images as float32
    (the same read-only arrays on every call with the same sizes in one process).

    Only the subsets are converted; the full uint8 arrays are dropped before returning.
    """
    key = (n_train, n_test, os.environ.get(spec.MNIST_ENV_VAR))
    if key not in _PREPARED:
        _PREPARED[key] = _load_data(n_train, n_test, allow_download)
    return _PREPARED[key]


def _load_data(n_train: int, n_test: int, allow_download: bool) -> GradeData:
    (xtr, ytr), (xte, yte) = load_mnist(allow_download=allow_download)
    if len(xtr) < n_train or len(xte) < n_test:
        raise ValueError(f"MNIST copy too small: {len(xtr)} training / {len(xte)} test images, "
                         f"need {n_train} / {n_test}")
    data = GradeData(
        x_train=_images(xtr[:n_train]),
        y_train=_one_hot(ytr[:n_train]),
        x_test=_images(xte[:n_test]),
        y_test=_one_hot(yte[:n_test]),
        test_labels=yte[:n_test].astype(np.int64),
    )
    for array in vars(data).values():
        array.setflags(write=False)
    del xtr, ytr, xte, yte
    gc.collect()
    return data


def _trim_heap() -> None:
    """Give freed malloc memory back to the OS (glibc only; a no-op elsewhere)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _batches(keras, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int):
    """Shuffled mini-batches of (x, y), a fresh permutation per epoch from numpy's PCG64.

    Same batches as ``fit(x, y, batch_size, shuffle=True)`` in content and size (the last batch
    is smaller), but gathered 32 images at a time: ``fit`` on numpy arrays first copies the whole
    training set into a tf.data pipeline (~65 MB more peak RSS at 10,000 images). The order only
    depends on ``seed`` and numpy, not on TensorFlow's random streams.
    """

    class Batches(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(workers=1, use_multiprocessing=False)
            self._rng = np.random.default_rng(seed)
            self._order = self._rng.permutation(len(x))

        def __len__(self):
            return math.ceil(len(x) / batch_size)

        def __getitem__(self, i):
            idx = self._order[i * batch_size:(i + 1) * batch_size]
            return x[idx], y[idx]

        def on_epoch_end(self):
            self._order = self._rng.permutation(len(x))

    return Batches()


def _short(exc: BaseException, limit: int = 500) -> str:
    return shorten(f"{type(exc).__name__}: {exc}".strip(), limit)


def _timeout_message(seconds: float) -> str:
    return f"training took longer than {seconds:g} s: the grader stopped it"


class TrainingTimeout(Exception):
    """Raised inside fit/predict when one model takes longer than its time limit."""


@contextlib.contextmanager
def _time_limit(seconds: float | None):
    """Raise TrainingTimeout in the main thread after ``seconds`` of wall time (Python code
    runs between batches, so the interrupt lands between two training steps)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def _expired(signum, frame):
        raise TrainingTimeout(_timeout_message(seconds))

    previous = signal.signal(signal.SIGALRM, _expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _rebuild(keras, config_json: str):
    """The model of an exported config, after the same guards as ``analyse`` (size, width,
    exact built-in classes, no embedded arrays) and the grade-time ones (parameter count, no
    non-trivial constant kernel)."""
    from hw5.kit import analyse

    problem = analyse.config_problem(config_json)
    if problem:
        raise ValueError(problem)
    config = json.loads(config_json)
    # The compile settings come from the exported optimizer / loss, not from the config.
    config.pop("compile_config", None)
    model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    if not isinstance(model, keras.Model):
        raise ValueError(f"the config describes a {type(model).__name__}, not a Keras model")
    if not model.built or not getattr(model, "inputs", None):
        model.build((None,) + tuple(spec.IMAGE_SHAPE))
    problem = analyse.class_problem(model)
    if problem:
        raise ValueError(problem)
    params = model.count_params()
    if not isinstance(params, int) or params > MAX_TRAINABLE_PARAMS:
        raise ValueError(f"the model has {params} parameters; the grader trains models of at "
                         f"most {MAX_TRAINABLE_PARAMS:,}")
    for layer in model.layers:
        init = layer.get_config().get("kernel_initializer")
        constant = analyse.constant_initializer(init)
        if constant and constant not in ("Zeros", "zeros", "zero", "Constant(0)"):
            raise ValueError(f"layer '{layer.name}' starts from a constant kernel ({constant}): "
                             "the grader trains from random initial weights only")
    return model


def _optimizer(keras, config: dict):
    optimizer = keras.optimizers.deserialize(config)
    # Unknown names come back as plain strings (nothing is imported or called): reject them here.
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ValueError(f"{config.get('class_name')!r} is not a Keras optimizer")
    return optimizer


def _loss(keras, loss):
    if not isinstance(loss, (str, dict)):
        raise ValueError(f"unsupported loss export {type(loss).__name__} (expected a name or a dict)")
    fn = keras.losses.get(loss)  # raises ValueError for anything it cannot interpret
    if not callable(fn):
        raise ValueError(f"{loss!r} is not a Keras loss")
    return fn


def train_and_score(model_export: dict, data: GradeData, seed: int = spec.GRADE_SEED,
                    *, epochs: int = spec.GRADE_EPOCHS, batch_size: int = spec.BATCH_SIZE,
                    time_limit_s: float | None = MODEL_TIME_LIMIT_S) -> TrainingOutcome:
    """Rebuild, compile, train and score one exported model; never raises."""
    start = time.perf_counter()

    def outcome(accuracy=None, error=None, final_loss=None):
        return TrainingOutcome(accuracy, error, round(time.perf_counter() - start, 3), final_loss)

    try:
        if not isinstance(model_export, dict) or not isinstance(model_export.get("config_json"), str):
            return outcome(error="no model config to rebuild (the export has no config_json)")
        if (not model_export.get("compiled") or model_export.get("optimizer") is None
                or model_export.get("loss") is None):
            return outcome(error=NOT_COMPILED)
        if not isinstance(model_export["optimizer"], dict):
            return outcome(error="unsupported optimizer export (expected a serialized optimizer)")
    except Exception as exc:  # a hostile mapping
        return outcome(error=f"unreadable model export: {_short(exc)}")

    try:
        with _time_limit(time_limit_s):
            accuracy, error, final_loss = _run(model_export, data, int(seed), epochs, batch_size)
    except TrainingTimeout:
        # Not str(exc): Keras re-raises an exception thrown inside a layer call with its own
        # decorated message ("Exception encountered when calling Conv2D.call() ...").
        accuracy, error, final_loss = None, _timeout_message(time_limit_s), None
    except MemoryError:
        accuracy, error, final_loss = None, "training ran out of memory", None
    except Exception as exc:
        accuracy, error, final_loss = None, f"training failed: {_short(exc)}", None
    finally:
        # _run's locals (model, optimizer, batches, history) are gone by now: free what they held.
        try:
            import keras

            keras.backend.clear_session(free_memory=True)
        except Exception:
            pass
        gc.collect()
        _trim_heap()
    return outcome(accuracy=accuracy, error=error, final_loss=final_loss)


def _run(model_export: dict, data: GradeData, seed: int, epochs: int, batch_size: int):
    """(accuracy, error, final_loss) for one export; exceptions are handled by the caller."""
    import keras

    _apply_threads()
    keras.backend.clear_session(free_memory=True)
    keras.utils.set_random_seed(seed)
    try:
        from hw5.kit.analyse_guards import foreign_objects

        foreign = foreign_objects([model_export["optimizer"], model_export["loss"]])
        if foreign:
            raise ValueError("not built-in Keras: " + ", ".join(f"{c} (from {m})"
                                                                for c, m in foreign))
        # deepcopy: Keras' deserializers pop keys from the dicts they are given.
        optimizer = _optimizer(keras, copy.deepcopy(model_export["optimizer"]))
        loss = _loss(keras, copy.deepcopy(model_export["loss"]))
    except Exception as exc:
        return None, f"could not rebuild the optimizer / loss: {_short(exc)}", None
    try:
        model = _rebuild(keras, model_export["config_json"])
    except Exception as exc:
        return None, f"could not rebuild the model from its config: {_short(exc)}", None
    model.compile(optimizer=optimizer, loss=loss, jit_compile=False)
    try:
        out_shape = tuple(model.outputs[0].shape) if getattr(model, "outputs", None) else None
    except Exception:
        out_shape = None
    if out_shape is not None and tuple(out_shape[1:]) != (spec.NUM_CLASSES,):
        return None, (f"the model's output shape is {out_shape}, expected "
                      f"(None, {spec.NUM_CLASSES}) (one probability per class)"), None
    batches = _batches(keras, data.x_train, data.y_train, batch_size, seed)
    history = model.fit(batches, epochs=epochs, verbose=0)
    losses = history.history.get("loss") or [None]
    final_loss = None if losses[-1] is None else float(losses[-1])
    probs = np.asarray(model.predict(data.x_test, batch_size=PREDICT_BATCH_SIZE, verbose=0))
    if probs.shape != (len(data.test_labels), spec.NUM_CLASSES):
        return None, (f"predictions have shape {probs.shape}, expected "
                      f"({len(data.test_labels)}, {spec.NUM_CLASSES})"), final_loss
    # NaN outputs (a diverged model) count as wrong, whatever argmax makes of them.
    predicted = np.where(np.isfinite(probs).all(axis=1), probs.argmax(axis=1), -1)
    return float(np.mean(predicted == data.test_labels)), None, final_loss
