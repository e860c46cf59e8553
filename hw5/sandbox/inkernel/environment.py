"""The grading environment inside the student's kernel (runs in the grader's own namespace).

None of it is a security boundary (student code runs in the same process; the real limits are
enforced from outside the kernel). It:
- loads a private copy of hw5kit (spec, mnist, describe) that student code does not import;
- refuses ``import hw5`` and answers ``otter`` with a stand-in (public checks are the student's);
- makes ``exit()`` / ``quit()`` no-ops and caps what one cell can print;
- seeds Keras and points every MNIST loader at the small subset, recording how many images
  they returned (``mnist_sizes``);
- (fitrecord.py) replaces ``keras.Model.fit`` by a stand-in that trains nothing, records each
  call as Keras reads it (``fit_calls``) and returns a NaN History tied to that call.
"""
import builtins
import importlib as _importlib
import sys as _sys
import types as _types
import weakref as _weakref

# The load contract (checked by inkernel.bootstrap_source as this file loads): what this
# file defines for the files after it, and what it uses from the files before it.
PROVIDES = ("HISTORY_CALLS", "KIT", "MAX_HISTORY_EPOCHS", "MODELS", "STATE", "Tracker",
            "error_text", "fit_is_stand_in", "history_call", "install_environment",
            "install_mnist", "load_private_kit", "metric_names", "on_pre_run_cell", "shape_of")
NEEDS = ()

STATE = {"cell": None, "cells": [], "next": 0, "fit_calls": [], "mnist_sizes": None,
         "cuts": {}, "data_objects": {}}
KIT = {}
MAX_HISTORY_EPOCHS = 1000


def load_private_kit(texts: dict) -> dict:
    """Execute the kit's sources as a package no student code imports; return its modules."""
    package_name = "_hw5_grader_kit"
    package = _types.ModuleType(package_name)
    package.__path__ = []
    package.__package__ = package_name
    snapshot = {k: v for k, v in vars(builtins).items() if not k.startswith("__")}
    modules = {}
    _sys.modules[package_name] = package
    try:
        for name in texts:  # inkernel.KIT_MODULES, in import order
            module = _types.ModuleType(f"{package_name}.{name}")
            module.__dict__.update(snapshot)  # builtins as they were before student code
            module.__package__ = package_name
            module.__file__ = f"<hw5-grader>/{name}.py"
            _sys.modules[module.__name__] = module
            setattr(package, name, module)
            exec(compile(texts[name], module.__file__, "exec"), module.__dict__)
            modules[name] = module
    finally:
        for name in [m for m in _sys.modules if m.split(".")[0] == package_name]:
            del _sys.modules[name]
    return modules


# --- cells -------------------------------------------------------------------------------------
def on_pre_run_cell(info):
    """Which submitted cell is running: the next expected source that matches."""
    raw = getattr(info, "raw_cell", None)
    cells = STATE["cells"]
    for position in range(STATE["next"], len(cells)):
        if cells[position][1] == raw:
            STATE["cell"] = cells[position][0]
            STATE["next"] = position + 1
            return
    # not a submitted cell (e.g. code run through get_ipython().run_cell): keep the current one


# --- identities ------------------------------------------------------------------------------
class Tracker:
    """Small integer ids for live objects (models, histories), never reused while alive."""

    def __init__(self):
        self._ids = {}
        self._next = 1

    def id_of(self, obj, create=True):
        entry = self._ids.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        if not create:
            return None
        try:
            ref = _weakref.ref(obj)
        except TypeError:
            return None
        number = self._next
        self._next += 1
        self._ids[id(obj)] = (ref, number)
        return number


MODELS = Tracker()
HISTORY_CALLS = {}  # id(history) -> (weakref, call number)


def history_call(history):
    entry = HISTORY_CALLS.get(id(history))
    return entry[1] if entry is not None and entry[0]() is history else None


# --- small helpers ---------------------------------------------------------------------------
def shape_of(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        return None
    try:
        return [None if d is None else int(d) for d in tuple(shape)]
    except Exception:
        return None


def metric_names(model):
    try:
        metrics = (model.get_compile_config() or {}).get("metrics") or []
    except Exception:
        return []
    if isinstance(metrics, (str, dict)):
        metrics = [metrics]
    names = []
    for m in metrics if isinstance(metrics, (list, tuple)) else []:
        if isinstance(m, str):
            names.append(m)
        elif isinstance(m, dict):
            names.append(str((m.get("config") or {}).get("name") or m.get("class_name")))
    return names


def error_text(exc):
    try:
        return f"{type(exc).__name__}: {exc}"[:500]
    except Exception:
        return type(exc).__name__


# --- fit stand-in (fitrecord.py) ----------------------------------------------------------
def fit_is_stand_in(keras, stand_in) -> bool:
    """keras.Model.fit, as Sequential and Functional models resolve it, is still ours."""
    try:
        from keras.src.models.functional import Functional

        for cls in (keras.Model, keras.Sequential, Functional):
            resolved = next(vars(c)["fit"] for c in cls.__mro__ if "fit" in vars(c))
            if resolved is not stand_in:
                return False
        return True
    except Exception:
        return False


# --- MNIST -----------------------------------------------------------------------------------
def install_mnist(private_mnist):
    def load_mnist(*args, **kwargs):
        (xtr, ytr), (xte, yte) = private_mnist.load_mnist(allow_download=False)
        STATE["mnist_sizes"] = {"train": int(len(xtr)), "test": int(len(xte))}
        STATE["cuts"].clear()
        return (xtr, ytr), (xte, yte)

    def load_data(path="mnist.npz"):
        return load_mnist()

    try:
        student_mnist = _importlib.import_module("hw5kit.mnist")
        student_mnist.load_mnist = load_mnist
    except Exception:
        pass
    for module_name in ("keras.datasets.mnist", "keras.src.datasets.mnist",
                        "keras._tf_keras.keras.datasets.mnist",
                        "tensorflow.keras.datasets.mnist"):
        try:
            _importlib.import_module(module_name).load_data = load_data
        except Exception:
            pass


# --- the rest of the environment --------------------------------------------------------------
class _BlockGraderPackage:
    def find_spec(self, name, path=None, target=None):
        if name == "hw5" or name.startswith("hw5."):
            raise ModuleNotFoundError(f"No module named {name!r} (not available while grading)")


class _Notebook:
    def __init__(self, *args, **kwargs):
        pass

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def install_environment(cfg, shell):
    _sys.meta_path.insert(0, _BlockGraderPackage())
    # `grader.check(...)` would rebuild every model (time, ~100 MB) and importing otter costs
    # ~90 MB more; nothing it prints is trusted, so a stand-in answers it.
    otter = _types.ModuleType("otter")
    otter.Notebook = _Notebook
    _sys.modules["otter"] = otter

    cap = int(cfg["cell_output_chars"])
    state = {"used": 0, "noted": False}

    def reset(*_args, **_kwargs):
        state["used"] = 0
        state["noted"] = False

    def capped(stream):
        original = stream.write

        def write(text):
            try:
                n = len(text)
            except Exception:
                return original(text)
            room = cap - state["used"]
            if n <= room:
                state["used"] += n
                return original(text)
            if room > 0:
                original(text[:room])
                state["used"] = cap
            if not state["noted"]:
                state["noted"] = True
                original(f"\n[output truncated by the grader after {cap:,} characters]\n")
            return n

        try:
            stream.write = write
        except Exception:
            pass

    for name in ("stdout", "stderr"):
        capped(getattr(_sys, name))
    if shell is not None:
        shell.events.register("pre_run_cell", reset)
        # exit() / quit() would end the kernel a moment later: no-ops, as sys.exit() already is
        shell.ask_exit = lambda *args, **kwargs: None
