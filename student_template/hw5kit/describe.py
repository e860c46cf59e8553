"""Live Keras objects in the student's kernel -> plain JSON data ("the export").

Runs INSIDE the student's (untrusted) kernel, after each cell (see hw5/sandbox/inkernel).
Nothing here judges the student's work: it only records what exists (model configurations,
compile settings, weight shapes, the answers), in the schema of docs/design.md. Every call into
student code is guarded: a builder that raises, returns something other than a model, returns
an uncompiled model or a model without an input spec still yields a well-formed export.

``dumps``: the grader's kernel passes its own JSON encoder (captured before student code ran),
so that a notebook patching ``json`` cannot change what is recorded; the default is json.dumps.
"""
from __future__ import annotations

import json
import math

from . import spec

_MAX_ERROR = 1000
_MAX_REPR = 500


def format_error(exc: BaseException) -> str:
    """``"ExcType: message"``, plus the Keras 3 fix when the message is a known Keras 2 habit."""
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable message>"
    text = f"{type(exc).__name__}: {message}"
    if len(text) > _MAX_ERROR:
        text = text[:_MAX_ERROR] + " ..."
    for needle, fix in spec.KERAS3_FIXES.items():
        if needle in message or needle in text:
            text += f"\nFix: {fix}"
    return text


def to_jsonable(value, _depth=0):
    """numpy arrays/scalars -> lists/numbers, tuples -> lists; non-finite floats -> None.

    Raises TypeError for objects that have no plain-data form.
    """
    if _depth > 20:
        raise TypeError("nested too deeply")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, _depth + 1) for v in value]
    import numpy as np

    if isinstance(value, np.generic):
        return to_jsonable(value.item(), _depth + 1)
    if isinstance(value, np.ndarray) or hasattr(value, "__array__") or hasattr(value, "numpy"):
        try:
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        except Exception as exc:
            raise TypeError(f"cannot convert {type(value).__name__} to an array: {exc}") from None
        if array.dtype == object and array.ndim == 0:
            raise TypeError(f"{type(value).__name__} is not numeric")
        return to_jsonable(array.tolist(), _depth + 1)
    raise TypeError(f"{type(value).__name__} has no plain-data form")


def _safe_repr(value) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<{type(value).__name__}: repr failed ({type(exc).__name__})>"
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + " ..."


def _is_model(obj) -> bool:
    try:
        import keras

        return isinstance(obj, keras.Model)
    except Exception:
        return False


def _weight_shapes(model) -> list:
    return [[int(d) for d in w.shape] for w in model.weights]


def _ensure_built(model):
    """A Sequential without an Input has no inputs until built: build it with the image shape."""
    try:
        if model.built and model.inputs:
            return
    except Exception:
        pass
    model.build((None,) + tuple(spec.IMAGE_SHAPE))


def describe_model(model, dumps=None) -> dict:
    """The ``MODEL`` dict of the export. Raises TypeError for non-models, and whatever
    serialising raises when the architecture cannot be serialised.

    ``class_module``/``class_qualname`` name the model's exact class (the trusted side refuses
    anything but Keras' own); ``weight_shapes`` are the live model's, in order, for the trusted
    side to compare with the model it rebuilds from ``config_json``."""
    if not _is_model(model):
        raise TypeError(f"expected a Keras model, found {type(model).__name__}")
    from keras.src.saving import serialization_lib

    cls = type(model)
    out = {"class_name": cls.__name__, "class_module": cls.__module__,
           "class_qualname": cls.__qualname__, "config_json": None, "compiled": False,
           "optimizer": None, "loss": None, "metrics": [], "compile_error": None,
           "build_error": None, "weight_shapes": None}
    try:
        _ensure_built(model)
    except Exception as exc:
        out["build_error"] = format_error(exc)
    # what model.to_json() does, without the json module a notebook can patch
    out["config_json"] = (dumps or json.dumps)(serialization_lib.serialize_keras_object(model))
    try:
        out["weight_shapes"] = _weight_shapes(model)
    except Exception:
        pass
    out["compiled"] = bool(getattr(model, "compiled", False))
    if out["compiled"]:
        try:
            compile_config = to_jsonable(model.get_compile_config() or {})
            out["optimizer"] = compile_config.get("optimizer")
            out["loss"] = compile_config.get("loss")
            out["metrics"] = compile_config.get("metrics") or []
        except Exception as exc:
            out["compile_error"] = format_error(exc)
            try:
                import keras

                out["optimizer"] = to_jsonable(keras.optimizers.serialize(model.optimizer))
            except Exception:
                pass
    return out


def _not_a_model_message(what: str, value) -> str:
    kind = type(value).__name__
    if isinstance(value, tuple):
        return (f"TypeError: {what} returned a tuple of {len(value)} items, not a Keras model: "
                "return only the compiled model")
    if value is None:
        return (f"TypeError: {what} returned None, not a Keras model: "
                "end the function with `return model`")
    article = "an" if kind[:1].lower() in "aeiou" else "a"
    return f"TypeError: {what} returned {article} {kind}, not a Keras model"


def describe_builder(fn, builder_spec, clear_session: bool = False, dumps=None,
                     stop_on=(KeyboardInterrupt,)) -> dict:
    """Call ``fn`` with each of ``builder_spec.probes`` (keyword arguments) and describe the
    models it returns. One call's failure never stops the others, except an exception of
    ``stop_on`` (an interrupt, the grader's time limit): that call is recorded as not having
    returned and the remaining probes are not called.

    ``clear_session=True`` calls ``keras.backend.clear_session()`` after each call (layer names
    then repeat between calls); it costs about 0.4 s per call on these machines.
    """
    calls = []
    for probe in builder_spec.probes:
        args = dict(probe)
        call_text = f"{builder_spec.name}({', '.join(f'{k}={v!r}' for k, v in args.items())})"
        entry = {"args": args, "model": None, "error": None}
        try:
            model = fn(**args)
        except BaseException as exc:  # noqa: BLE001 - student code may raise anything
            if isinstance(exc, stop_on):
                entry["error"] = (f"{call_text} did not return: it was stopped "
                                  f"({type(exc).__name__})")
                calls.append(entry)
                break
            entry["error"] = f"{call_text} raised " + format_error(exc)
            if isinstance(exc, TypeError) and "unexpected keyword argument" in str(exc):
                entry["error"] += (f"\nFix: keep the parameter names of the template: "
                                   f"{builder_spec.name}({', '.join(builder_spec.params)}).")
            calls.append(entry)
            continue
        if not _is_model(model):
            entry["error"] = _not_a_model_message(call_text, model)
        else:
            try:
                entry["model"] = describe_model(model, dumps)
            except Exception as exc:
                entry["error"] = f"{call_text}: the model could not be exported: " \
                                 + format_error(exc)
        calls.append(entry)
        del model
        if clear_session:
            try:
                import keras

                keras.backend.clear_session()
            except Exception:
                pass
    ok = any(c["model"] is not None for c in calls)
    first_error = next((c["error"] for c in calls if c["error"]), None)
    return {"status": "ok" if ok else "error", "error": None if ok else first_error,
            "calls": calls}


def describe_variable(name: str, value, dumps=None) -> dict:
    if not _is_model(value):
        cls = type(value).__name__
        kind = "None" if value is None else ("an " if cls[:1].lower() in "aeiou" else "a ") + cls
        hint = (": `fit` returns a History; keep the model itself in this variable"
                if type(value).__name__ == "History" else "")
        return {"status": "not_a_model", "model": None,
                "error": f"TypeError: {name} is {kind}, not a Keras model{hint}"}
    try:
        return {"status": "ok", "error": None, "model": describe_model(value, dumps)}
    except Exception as exc:
        return {"status": "error", "model": None,
                "error": f"{name} could not be exported: " + format_error(exc)}


def describe_answer(value, max_bytes: int | None = None) -> dict:
    """``max_bytes``: an answer that cannot fit (a long string, a large array) is recorded as
    an error without converting it."""
    size = len(value) if isinstance(value, (str, bytes)) else getattr(value, "nbytes", 0)
    if max_bytes is not None and isinstance(size, int) and size > max_bytes:
        return {"status": "error", "value": None, "repr": _safe_repr(type(value)),
                "error": f"the value is larger than the {max_bytes:,} bytes the grader reads"}
    try:
        plain = to_jsonable(value)
    except Exception:
        plain = None
    return {"status": "ok", "value": plain, "repr": _safe_repr(value)}


def describe_namespace(ns: dict, clear_session: bool = False, dumps=None) -> dict:
    """The whole export for a notebook namespace (``globals()`` of the student's kernel)."""
    missing = object()
    builders = {}
    for name, builder_spec in spec.BUILDERS.items():
        fn = ns.get(name, missing)
        if fn is missing:
            builders[name] = {"status": "missing", "error": f"{name} is not defined", "calls": []}
        elif not callable(fn):
            builders[name] = {"status": "error", "calls": [],
                              "error": f"{name} is a {type(fn).__name__}, not a function"}
        else:
            try:
                builders[name] = describe_builder(fn, builder_spec, clear_session, dumps)
            except Exception as exc:
                builders[name] = {"status": "error", "calls": [], "error": format_error(exc)}
    variables = {}
    for name in spec.TRAINED_VARIABLES:
        value = ns.get(name, missing)
        if value is missing:
            variables[name] = {"status": "missing", "error": f"{name} is not defined",
                               "model": None}
        else:
            variables[name] = describe_variable(name, value, dumps)
    answers = {}
    for name in spec.ANSWER_VARIABLES:
        value = ns.get(name, missing)
        answers[name] = ({"status": "missing", "value": None, "repr": ""} if value is missing
                         else describe_answer(value))
    return {"builders": builders, "variables": variables, "answers": answers}
