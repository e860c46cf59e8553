"""Guards on an untrusted model config, applied before anything is rebuilt from it (by
``analyse`` and again by the grade-time training): bounded size and layer width, exact built-in
Keras classes only, no embedded arrays (pretrained constants)."""
from __future__ import annotations

import json

# Guards against configs crafted to exhaust memory when rebuilt (far above any honest answer).
MAX_CONFIG_CHARS = 2_000_000
MAX_LAYER_WIDTH = 10_000  # units / filters of one layer
MODEL_CLASSES = {"Sequential", "Functional"}
# How Keras serializes data (arrays, tensors) inside a config.
EMBEDDED_DATA = {"__numpy__", "__tensor__", "__bytes__"}
_MAX_ERROR = 600


def _exc(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def flat_layers(model):
    """model.layers, with nested models expanded, InputLayers kept (filtered later)."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(flat_layers(layer))
        else:
            out.append(layer)
    return out


def _walk(node):
    """Every dict in a JSON tree."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def foreign_objects(config) -> list:
    """(class_name, module) of every serialized object that is not an exact built-in Keras one."""
    found = []
    for node in _walk(config):
        if "class_name" not in node or "config" not in node or "module" not in node:
            continue
        module, cls = node.get("module"), node.get("class_name")
        builtin_fn = module == "builtins" and cls == "function"
        keras_module = isinstance(module, str) and (module == "keras" or module.startswith("keras."))
        registered = node.get("registered_name")
        if not builtin_fn and (not keras_module or registered not in (None, cls)):
            found.append((str(cls), str(module if module is not None else "__main__")))
    return found


def _embedded_arrays(config) -> bool:
    """True when the config embeds arrays (``Constant(np.array(...))``: pretrained weights)."""
    return any(node.get("class_name") in EMBEDDED_DATA for node in _walk(config))


def _too_wide(config) -> int:
    """The largest units/filters value above MAX_LAYER_WIDTH in the config, else 0."""
    worst = 0
    for node in _walk(config):
        for key in ("units", "filters"):
            value = node.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and value > MAX_LAYER_WIDTH:
                worst = max(worst, int(value))
    return worst


def config_problem(config_json) -> str | None:
    """Why a model config must not be rebuilt (student-facing), or None when it may be."""
    if not isinstance(config_json, str):
        return "the export holds no model configuration"
    if len(config_json) > MAX_CONFIG_CHARS:
        return "the model configuration is too large to be graded"
    try:
        config = json.loads(config_json)
    except Exception as exc:
        return f"the model configuration is not valid JSON ({_exc(exc)})"
    if not isinstance(config, dict):
        return "the model configuration is not valid JSON (not a JSON object)"
    too_wide = _too_wide(config)
    if too_wide:
        return (f"a layer has {too_wide:,} units or filters (more than {MAX_LAYER_WIDTH:,}): "
                "the grader does not rebuild models that large")
    foreign = sorted(set(foreign_objects(config)))
    if foreign:
        names = ", ".join(f"{cls} (from {module})" for cls, module in foreign)
        return (f"the model uses custom or non-Keras objects that the grader cannot rebuild: "
                f"{names}. Use the built-in keras.layers (Conv2D, MaxPooling2D, Flatten, Dense) "
                "and string activations such as activation='relu'.")
    if _embedded_arrays(config):
        return ("the model configuration embeds arrays of numbers (e.g. an initializer "
                "Constant(np.array(...))): the grader trains models from their own random "
                "initialization only; use the default initializers")
    return None


def class_problem(model) -> str | None:
    """A rebuilt model or layer whose class is not exactly a built-in Keras class, else None."""
    import keras

    if type(model).__name__ not in MODEL_CLASSES or \
            not type(model).__module__.startswith("keras.src."):
        return f"the model is a {type(model).__name__}, not a keras.Sequential or keras.Model"
    for layer in flat_layers(model):
        cls = type(layer)
        if cls.__name__ in MODEL_CLASSES:
            continue
        if getattr(keras.layers, cls.__name__, None) is not cls:
            return f"layer '{layer.name}' is a {cls.__name__}, not a built-in keras.layers class"
    return None
