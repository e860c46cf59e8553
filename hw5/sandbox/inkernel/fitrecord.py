"""The ``fit`` stand-in and what it records (runs in the grader's own namespace, in the kernel).

Every call of ``keras.Model.fit`` is bound to Keras' own signature and recorded with all its
arguments as Keras reads them: a description of each array (shape, dtype, a digest of a strided
sample, its relation to the notebook's ``x_train``/``y_train``/``x_test``/``y_test`` at that
moment: the same object, a view of it, or another array), the callbacks (Keras' own by class; a
custom one by the names its methods use), the compile settings the model had, and whether its
weights came from elsewhere (a loaded model, ``set_weights``/``load_weights``, layers shared with
a model trained before). Nothing is trained: the History it returns (the one passed in
``callbacks=``, as Keras 3 does, or a new one) holds NaN per epoch and is tied to its call.
"""
import ast as _ast
import hashlib as _hashlib
import inspect as _inspect
import linecache as _linecache
import math as _math
import sys as _sys
import weakref as _weakref

import numpy as _np

# The load contract (checked by inkernel.bootstrap_source as this file loads): what this
# file defines for the files after it, and what it uses from the files before it.
PROVIDES = ("ARRAYS", "describe_array", "install_fit", "slice_assigned")
NEEDS = ("HISTORY_CALLS", "KIT", "MAX_HISTORY_EPOCHS", "MODELS", "STATE", "Tracker",
         "error_text", "metric_names", "shape_of")

ARRAYS = Tracker()
_WEIGHTS = Tracker()
_MARKED = {}  # model/layer tracker id -> how its weights were set from elsewhere
_TRAINED_WEIGHTS = {}  # weight variable tracker id -> model tracker id of its last fit
_SAMPLE_ROWS = 64
_ARGUMENTS = ("batch_size", "epochs", "initial_epoch", "validation_split", "shuffle",
              "steps_per_epoch", "validation_steps", "validation_batch_size",
              "validation_freq")


def _number(value):
    try:
        if value is None or isinstance(value, (str, bytes)):
            return None if value is None else str(value)[:40]
        number = float(value)
        return int(number) if number == int(number) and abs(number) < 2 ** 53 else number
    except Exception:
        return str(type(value).__name__)


def _root(value):
    base = getattr(value, "base", None)
    while getattr(base, "base", None) is not None:
        base = base.base
    return base


def describe_array(value, namespace=None, name=None):
    """Shape, dtype, digest of a strided sample and where ``value`` comes from."""
    if value is None:
        return None
    out = {"kind": type(value).__name__, "shape": shape_of(value), "dtype": None,
           "digest": None, "lo": None, "hi": None, "object": ARRAYS.id_of(value),
           "relation": None, "strict_view": False}
    try:
        import tensorflow as tf

        if isinstance(value, tf.data.Dataset):
            out["kind"] = "Dataset"
            out["spec"] = str(value.element_spec)[:300]
            out["batches"] = int(value.cardinality())
            return out
    except Exception:
        pass
    shape = out["shape"]
    if not shape:
        return out
    try:
        rows = shape[0]
        index = _np.unique(_np.linspace(0, rows - 1, min(rows, _SAMPLE_ROWS)).astype(_np.int64))
        sample = _np.asarray(value[index] if isinstance(value, _np.ndarray)
                             else _np.asarray(value)[index])
        out["dtype"] = str(getattr(value, "dtype", sample.dtype))
        canonical = _np.ascontiguousarray(sample, dtype=_np.float32)
        h = _hashlib.blake2b(repr(shape).encode(), digest_size=12)
        h.update(canonical.tobytes())
        out["digest"] = h.hexdigest()
        if canonical.size:
            out["lo"], out["hi"] = float(canonical.min()), float(canonical.max())
        root = _root(value)
        if isinstance(root, _np.ndarray) and root.size > _np.asarray(value).size:
            out["strict_view"] = True
    except Exception as exc:
        out["error"] = error_text(exc)
    if namespace is not None and name is not None:
        target = namespace.get(name)
        if target is value:
            out["relation"] = "same"
        elif isinstance(value, _np.ndarray) and isinstance(target, _np.ndarray):
            try:
                out["relation"] = "view" if _np.may_share_memory(value, target) else "other"
            except Exception:
                out["relation"] = "other"
        else:
            out["relation"] = "other"
    return out


def _weights_text(value):
    """None (neutral), or what is unusual about sample_weight / class_weight."""
    if value is None:
        return None
    try:
        values = list(value.values()) if isinstance(value, dict) else _np.asarray(value).ravel()
        array = _np.asarray(values, dtype=_np.float64)
        if array.size and bool((array == 1).all()):
            return None
        return (f"{type(value).__name__} with values from {array.min():g} to {array.max():g}"
                if array.size else "empty")
    except Exception:
        return type(value).__name__


def _code_names(code, depth=0):
    names = set(code.co_names) | set(code.co_varnames)
    if depth < 4:
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= _code_names(const, depth + 1)
    return names


def describe_callback(callback, keras):
    spec = KIT["spec"]
    changing_classes = set(spec.TRAINING_CALLBACKS)
    cls = type(callback)
    entry = {"class": cls.__name__, "module": str(cls.__module__)[:80], "changes": None}
    own = cls.__module__.startswith(("keras", "tensorflow", "tf_keras"))
    if own and cls.__name__ in changing_classes:
        entry["changes"] = cls.__name__
    elif own and cls.__name__ in spec.OBSERVING_CALLBACKS + ("Callback",):
        pass
    else:
        functions = [v for c in cls.__mro__ if not c.__module__.startswith(("keras", "builtins"))
                     for v in vars(c).values()]
        functions += [v for v in vars(callback).values() if callable(v)]  # LambdaCallback
        used = set()
        for fn in functions:
            code = getattr(getattr(fn, "__func__", fn), "__code__", None)
            if code is not None:
                used |= _code_names(code)
        touched = sorted(used & set(spec.CALLBACK_TRAINING_NAMES))
        changing = [c.__name__ for c in cls.__mro__ if c.__name__ in changing_classes]
        if changing:
            entry["changes"] = changing[0]
        elif touched:
            entry["changes"] = "uses " + ", ".join(touched)
    return entry


def _compile_snapshot(model):
    try:
        config = KIT["describe"].to_jsonable(model.get_compile_config() or {})
        return {"optimizer": config.get("optimizer"), "loss": config.get("loss"),
                "metrics": config.get("metrics") or []}
    except Exception as exc:
        return {"error": error_text(exc)}


def _warm_start(model, call):
    for obj in [model, *getattr(model, "layers", [])]:
        how = _MARKED.get(MODELS.id_of(obj, create=False))
        if how:
            return how
    me = MODELS.id_of(model)
    for variable in getattr(model, "weights", []):
        owner = _TRAINED_WEIGHTS.get(_WEIGHTS.id_of(variable, create=False))
        if owner is not None and owner != me:
            return "its layers share weights with a model trained before"
    return None


def _note_trained(model):
    me = MODELS.id_of(model)
    for variable in getattr(model, "weights", []):
        number = _WEIGHTS.id_of(variable)
        if number is not None:
            _TRAINED_WEIGHTS[number] = me


def _source_of_arguments():
    """The source text of the fit call's x, y and validation_data (the innermost notebook
    cell's frame: IPython keeps each cell's source in linecache under its file name)."""
    frame = _sys._getframe(2)
    while frame is not None and not ("ipykernel" in frame.f_code.co_filename
                                     or frame.f_code.co_filename.startswith("<ipython-input")):
        frame = frame.f_back
    if frame is None:
        return {}
    line = frame.f_lineno
    source = "".join(_linecache.getlines(frame.f_code.co_filename))
    try:
        tree = _ast.parse(source)
    except SyntaxError:
        return {}
    for node in _ast.walk(tree):
        if isinstance(node, _ast.Call) and isinstance(node.func, _ast.Attribute) and \
                node.func.attr == "fit" and node.lineno <= line <= (node.end_lineno or line):
            found = dict(zip(("x", "y"), node.args[:2]))
            found.update({k.arg: k.value for k in node.keywords
                          if k.arg in ("x", "y", "validation_data")})
            val = found.get("validation_data")
            if isinstance(val, (_ast.Tuple, _ast.List)):
                found.update(zip(("validation_x", "validation_y"), val.elts[:2]))
            return {k: (_ast.get_source_segment(source, v) or "")[:120]
                    for k, v in found.items()}
    return {}


def slice_assigned(source, name):
    """Source text of a slice (``x[:N]``, ``x[::2]``; not a bare ``:``) assigned to ``name``
    in ``source``."""
    try:
        tree = _ast.parse(source)
    except SyntaxError:
        return None
    for node in _ast.walk(tree):
        if not isinstance(node, (_ast.Assign, _ast.AnnAssign, _ast.AugAssign)):
            continue
        targets = node.targets if isinstance(node, _ast.Assign) else [node.target]
        names = {t.id for target in targets for t in _ast.walk(target)
                 if isinstance(t, _ast.Name)}
        if name not in names or node.value is None:
            continue
        for sub in _ast.walk(node.value):
            if isinstance(sub, _ast.Subscript) and any(  # `x[:, :, None]` keeps every row
                    isinstance(s, _ast.Slice) and (s.lower or s.upper or s.step)
                    for s in _ast.walk(sub.slice)):
                return (_ast.get_source_segment(source, sub) or "a slice")[:120]
    return None


def install_fit(keras, namespace):
    original_fit = keras.Model.fit
    if getattr(original_fit, "_hw5_wrapped", False):  # installed twice: keep the real one
        original_fit = original_fit.__wrapped__
    signature = _inspect.signature(original_fit)
    data_names = ("x_train", "y_train", "x_test", "y_test")

    def fit(self, *args, **kwargs):
        # Trains nothing: the grader trains the exported configs itself, and a traced training
        # graph costs ~50-80 MB per model. Records what the student asked for.
        record = {"call": len(STATE["fit_calls"]) + 1, "model_object": MODELS.id_of(self),
                  "cell": STATE["cell"], "error": None}
        STATE["fit_calls"].append(record)
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            record["error"] = error_text(exc)
            return original_fit(self, *args, **kwargs)  # Keras' own error message
        bound.apply_defaults()
        a = bound.arguments
        if not getattr(self, "compiled", False) or a.get("x") is None:
            record["error"] = "the model is not compiled or no data was given"
            return original_fit(*bound.args, **bound.kwargs)  # Keras' own error message
        try:
            ns = namespace()
            record["arguments"] = {k: _number(a.get(k)) for k in _ARGUMENTS}
            record["x"] = describe_array(a.get("x"), ns, "x_train")
            record["y"] = describe_array(a.get("y"), ns, "y_train")
            val = a.get("validation_data")
            record["validation"] = None
            if isinstance(val, (tuple, list)) and len(val) >= 2:
                record["validation"] = {"x": describe_array(val[0], ns, "x_test"),
                                        "y": describe_array(val[1], ns, "y_test"),
                                        "weights": _weights_text(val[2]) if len(val) > 2
                                        else None}
            elif val is not None:
                record["validation"] = {"x": describe_array(val), "y": None, "weights": None}
            record["sample_weight"] = _weights_text(a.get("sample_weight"))
            record["class_weight"] = _weights_text(a.get("class_weight"))
            record["data"] = {n: describe_array(ns.get(n)) if n in ns else None
                              for n in data_names}
            callbacks = a.get("callbacks") or []
            callbacks = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
            record["callbacks"] = [describe_callback(c, keras) for c in callbacks]
            record["compile"] = _compile_snapshot(self)
            record["warm_start"] = _warm_start(self, record)
            record["source"] = _source_of_arguments()
        except Exception as exc:
            record["error"] = error_text(exc)
            return original_fit(*bound.args, **bound.kwargs)  # Keras' own error message
        epochs, initial = int(a.get("epochs") or 0), int(a.get("initial_epoch") or 0)
        names = ["loss", *metric_names(self)]
        if a.get("validation_data") is not None or a.get("validation_split"):
            names += [f"val_{n}" for n in names]
        n_epochs = max(0, min(epochs - initial, MAX_HISTORY_EPOCHS))
        given = [c for c in callbacks if isinstance(c, keras.callbacks.History)]
        history = given[-1] if given else keras.callbacks.History()
        history.set_model(self)
        history.epoch = list(range(initial, initial + n_epochs))
        history.params = {"epochs": epochs, "steps": 1, "verbose": 0}
        history.history = {n: [_math.nan] * n_epochs for n in names}
        self.history = history
        HISTORY_CALLS[id(history)] = (_weakref.ref(history), record["call"])
        _note_trained(self)
        return history

    fit._hw5_wrapped = True
    fit.__wrapped__ = original_fit
    fit.__doc__ = original_fit.__doc__
    keras.Model.fit = fit
    _install_weight_hooks(keras)
    return fit


def _install_weight_hooks(keras):
    """Note models whose weights come from elsewhere than their own initialisation."""
    def wrap(owner, name, how, mark_result=False):
        original = getattr(owner, name, None)
        if original is None or getattr(original, "_hw5_wrapped", False):
            return

        def hooked(*args, **kwargs):
            result = original(*args, **kwargs)
            target = result if mark_result else (args[0] if args else None)
            try:
                number = MODELS.id_of(target)
                if number is not None:
                    where = "" if STATE["cell"] is None else f" in cell {STATE['cell'] + 1}"
                    _MARKED[number] = how + where
            except Exception:
                pass
            return result

        hooked._hw5_wrapped = True
        hooked.__wrapped__ = original
        hooked.__doc__ = getattr(original, "__doc__", None)
        setattr(owner, name, hooked)

    wrap(keras.layers.Layer, "set_weights", "its weights were set with set_weights")
    wrap(keras.Model, "load_weights", "its weights were loaded with load_weights")
    for module in (keras.models, keras.saving):
        wrap(module, "load_model", "it was loaded from a saved model", mark_result=True)
