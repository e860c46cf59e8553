"""The export -> facts: rebuild each model from its config and measure it.

Runs in the trusted grading process (and, for the public checks, in the student's kernel). The
export is untrusted data: every model is rebuilt from ``config_json`` with
``keras.models.model_from_json`` (Keras' safe mode stays on), and every architectural fact
(layers, output shapes, parameter counts, frozen layers, initializers) is read from the
*rebuilt* model, never from numbers the student's process reported. Optimizer, loss and
metrics come from the serialized compile configuration.

Facts are small dataclasses (``dataclasses.asdict`` turns them into plain JSON data). Equivalent
spellings give identical facts: ``keras.Input`` vs ``input_shape=``, functional vs Sequential,
``MaxPool2D`` vs ``MaxPooling2D``, an ``Activation``/``ReLU``/``Softmax`` layer vs
``activation=``, tuple vs int sizes, ``tf.keras`` vs ``keras``, loss/metric objects vs strings.

Nothing here raises on bad input: a model that cannot be rebuilt gives ``ModelFacts(ok=False,
error=...)``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

from . import spec

# Layers that change nothing at inference and are left out of the effective layer list.
IGNORED_LAYERS = {"InputLayer", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
                  "SpatialDropout3D", "GaussianDropout", "AlphaDropout", "Identity"}
# Activation layers folded into the preceding conv / dense layer.
ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax", "LeakyReLU", "ELU"}

LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                "mape": "mean_absolute_percentage_error",
                "msle": "mean_squared_logarithmic_error"}
ACCURACY_ALIASES = {"accuracy", "acc", "categorical_accuracy"}

_MAX_ERROR = 600
# Guards against configs crafted to exhaust memory when rebuilt (far above any honest answer).
MAX_CONFIG_CHARS = 2_000_000
MAX_LAYER_WIDTH = 10_000  # units / filters of one layer


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------
@dataclass
class LayerFacts:
    """One effective layer of the rebuilt model (activation layers folded in)."""

    position: int
    """1-based position in the model's layer list as ``model.summary()`` shows it (no Input)."""
    class_name: str
    """Keras class of the layer (``Conv2D``, ``MaxPooling2D``, ...)."""
    name: str
    """The layer's name in the student's model."""
    kind: str
    """``conv``, ``pool`` (max pooling), ``flatten``, ``dense`` or ``other``."""
    output_shape: tuple | None = None
    """Output shape without the batch dimension."""
    params: int = 0
    """Number of weights (trainable or not)."""
    filters: int | None = None
    units: int | None = None
    kernel_size: tuple | None = None
    strides: tuple | None = None
    padding: str | None = None
    pool_size: tuple | None = None
    activation: str | None = None
    """Canonical activation name after folding (``linear`` when none)."""
    folded: list = field(default_factory=list)
    """Class names of the activation layers folded into this one."""
    trainable: bool = True
    """False when the layer (or the whole model) was frozen."""
    zero_init: bool = False
    """True when the kernel initializer is Zeros or Constant(0)."""

    def label(self) -> str:
        """``layer 3 (Conv2D 'conv2d_1')``, for messages."""
        return f"layer {self.position} ({self.class_name} '{self.name}')"


@dataclass
class OptimizerFacts:
    """What the serialized optimizer says."""

    class_name: str | None
    """Optimizer class (``SGD``, ``Adam``, ...)."""
    learning_rate: float | None
    """The stored learning rate (float32 precision), None for a schedule."""
    momentum: float | None
    """SGD momentum, None when the optimizer has none."""
    nesterov: bool | None
    schedule: str | None = None
    """Class name of a learning-rate schedule, when one was passed."""


@dataclass
class ModelFacts:
    """Everything the checks know about one model."""

    ok: bool
    """True when the model could be rebuilt from its config."""
    error: str | None = None
    """Why it could not be rebuilt (student-facing)."""
    class_name: str | None = None
    input_shape: tuple | None = None
    """Input shape without the batch dimension."""
    layers: list = field(default_factory=list)
    """Effective layers (``LayerFacts``)."""
    total_params: int | None = None
    frozen: list = field(default_factory=list)
    """Labels of the layers with weights that are not trainable."""
    zero_init: list = field(default_factory=list)
    """Labels of the layers whose kernel starts at zero."""
    compiled: bool = False
    optimizer: OptimizerFacts | None = None
    loss: str | None = None
    """Canonical loss name; parameters that change it are appended, e.g.
    ``categorical_crossentropy(from_logits=True)``."""
    metrics: list = field(default_factory=list)
    """Canonical metric names (``accuracy`` for every spelling of categorical accuracy)."""
    compile_error: str | None = None


@dataclass
class CallFacts:
    """One probe call of a builder."""

    args: dict
    model: ModelFacts | None
    error: str | None


@dataclass
class BuilderFacts:
    name: str
    status: str
    """``ok``, ``missing`` or ``error`` (as in the export)."""
    error: str | None
    calls: list = field(default_factory=list)


@dataclass
class VariableFacts:
    name: str
    status: str
    """``ok``, ``missing``, ``error`` or ``not_a_model`` (as in the export)."""
    error: str | None
    model: ModelFacts | None = None


@dataclass
class FactsBundle:
    """The facts of a whole export: what the item checks read."""

    builders: dict
    variables: dict
    answers: dict
    """The export's answers, as they are (``{"status", "value", "repr"}`` per variable)."""


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def _exc(exc: BaseException) -> str:
    return _short(f"{type(exc).__name__}: {exc}")


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name))
    return name.lower()


def _tuple(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
    return (value,)


def _float(value):
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _foreign_objects(node):
    """(class_name, module) of every serialized object outside Keras."""
    found = []
    if isinstance(node, dict):
        if "class_name" in node and "config" in node and "module" in node:
            module = node.get("module")
            cls = node.get("class_name")
            builtin_fn = module == "builtins" and cls == "function"
            keras_module = module is not None and (module == "keras"
                                                   or str(module).startswith("keras."))
            if not (builtin_fn or keras_module):
                found.append((str(cls), str(module if module is not None else "__main__")))
        for value in node.values():
            found.extend(_foreign_objects(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_foreign_objects(value))
    return found


def _too_wide(node) -> int:
    """The largest units/filters value above MAX_LAYER_WIDTH in the config, else 0."""
    worst = 0
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("units", "filters") and isinstance(value, (int, float)) \
                    and value > MAX_LAYER_WIDTH:
                worst = max(worst, int(value))
            else:
                worst = max(worst, _too_wide(value))
    elif isinstance(node, list):
        for value in node:
            worst = max(worst, _too_wide(value))
    return worst


def _flat_layers(model):
    """model.layers, with nested models expanded, InputLayers kept (filtered later)."""
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def _activation_name(fn) -> str:
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return _snake(name)


def _activation_of_layer(layer) -> str | None:
    """Canonical activation an activation layer applies, or None if it is not a plain one."""
    cls = type(layer).__name__
    cfg = layer.get_config()
    if cls == "Activation":
        return _activation_name(getattr(layer, "activation", None))
    if cls == "ReLU":
        plain = (cfg.get("max_value") is None and not cfg.get("negative_slope")
                 and not cfg.get("threshold"))
        return "relu" if plain else "relu(custom)"
    if cls == "Softmax":
        return "softmax" if cfg.get("axis", -1) in (-1, [-1]) else "softmax(custom axis)"
    if cls == "LeakyReLU":
        return "leaky_relu"
    if cls == "ELU":
        return "elu"
    return None


def _output_shape(layer):
    try:
        shape = layer.output.shape
    except Exception:
        return None
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


def _zero_initializer(layer) -> bool:
    try:
        init = layer.get_config().get("kernel_initializer")
    except Exception:
        return False
    if isinstance(init, str):
        return init.lower() in ("zeros", "zero")
    if isinstance(init, dict):
        cls = init.get("class_name")
        if cls in ("Zeros", "zeros"):
            return True
        if cls == "Constant":
            return _float((init.get("config") or {}).get("value")) == 0.0
    return False


def _effective_layers(model) -> list:
    layers = []
    position = 0
    model_trainable = bool(getattr(model, "trainable", True))
    for layer in _flat_layers(model):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        position += 1
        if cls in IGNORED_LAYERS:
            continue
        out_shape = _output_shape(layer)
        if cls in ACTIVATION_LAYERS:
            act = _activation_of_layer(layer)
            prev = layers[-1] if layers else None
            if prev is not None and prev.kind in ("conv", "dense"):
                if prev.activation in (None, "linear"):
                    prev.activation = act
                elif not (prev.activation == act == "relu"):
                    prev.activation = f"{prev.activation}+{act}"
                prev.folded.append(cls)
                continue
            layers.append(LayerFacts(position, cls, layer.name, "other", out_shape, 0,
                                     activation=act))
            continue
        cfg = layer.get_config()
        try:
            params = int(layer.count_params())
        except Exception:
            params = 0
        facts = LayerFacts(position, cls, layer.name, "other", out_shape, params)
        facts.trainable = bool(layer.trainable) and model_trainable
        if cls == "Conv2D":
            facts.kind = "conv"
            facts.filters = cfg.get("filters")
            facts.kernel_size = _tuple(cfg.get("kernel_size"))
            facts.strides = _tuple(cfg.get("strides"))
            facts.padding = str(cfg.get("padding")).lower()
            facts.activation = _activation_name(getattr(layer, "activation", None))
            facts.zero_init = _zero_initializer(layer)
        elif cls == "MaxPooling2D":
            facts.kind = "pool"
            facts.pool_size = _tuple(cfg.get("pool_size"))
            facts.strides = _tuple(cfg.get("strides")) or facts.pool_size
            facts.padding = str(cfg.get("padding")).lower()
        elif cls == "Flatten":
            facts.kind = "flatten"
        elif cls == "Dense":
            facts.kind = "dense"
            facts.units = cfg.get("units")
            facts.activation = _activation_name(getattr(layer, "activation", None))
            facts.zero_init = _zero_initializer(layer)
        layers.append(facts)
    return layers


# ---------------------------------------------------------------------------------------------
# Compile configuration -> canonical facts
# ---------------------------------------------------------------------------------------------
def canonical_loss(loss) -> str | None:
    """'categorical_crossentropy' for every spelling of plain categorical cross-entropy."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = _snake(loss)
        return LOSS_ALIASES.get(name, name)
    if isinstance(loss, dict):
        cls = loss.get("class_name")
        cfg = loss.get("config")
        if cls == "function" and isinstance(cfg, str):
            return canonical_loss(cfg)
        if cls == "LossFunctionWrapper" and isinstance(cfg, dict):
            inner = cfg.get("fn")
            name = canonical_loss(inner) if inner is not None else "loss_function_wrapper"
        else:
            name = LOSS_ALIASES.get(_snake(cls), _snake(cls))
        if not isinstance(cfg, dict):
            return name
        extras = []
        if cfg.get("from_logits"):
            extras.append("from_logits=True")
        smoothing = _float(cfg.get("label_smoothing"))
        if smoothing:
            extras.append(f"label_smoothing={smoothing:g}")
        return f"{name}({', '.join(extras)})" if extras else name
    if isinstance(loss, (list, tuple)):
        return "[" + ", ".join(str(canonical_loss(item)) for item in loss) + "]"
    return f"unrecognised ({type(loss).__name__})"


def canonical_metric(metric) -> str:
    if isinstance(metric, str):
        name = _snake(metric)
    elif isinstance(metric, dict):
        cls, cfg = metric.get("class_name"), metric.get("config")
        name = _snake(cfg) if cls == "function" and isinstance(cfg, str) else _snake(cls)
    else:
        return f"unrecognised ({type(metric).__name__})"
    return "accuracy" if name in ACCURACY_ALIASES else name


def canonical_metrics(metrics) -> list:
    if metrics is None:
        return []
    if isinstance(metrics, dict):  # per-output metrics
        metrics = [m for value in metrics.values()
                   for m in (value if isinstance(value, (list, tuple)) else [value])]
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    return [canonical_metric(m) for m in metrics]


def optimizer_facts(serialized) -> OptimizerFacts | None:
    """Facts from ``keras.optimizers.serialize(opt)`` (or a string such as 'sgd')."""
    if serialized is None:
        return None
    if isinstance(serialized, str):
        return OptimizerFacts(serialized.upper() if serialized.lower() == "sgd" else serialized,
                              None, None, None)
    if not isinstance(serialized, dict):
        return OptimizerFacts(f"unrecognised ({type(serialized).__name__})", None, None, None)
    cfg = serialized.get("config") if isinstance(serialized.get("config"), dict) else {}
    lr = cfg.get("learning_rate")
    schedule = None
    if isinstance(lr, dict):
        schedule = str(lr.get("class_name"))
        lr = None
    momentum = cfg.get("momentum") if "momentum" in cfg else None
    nesterov = cfg.get("nesterov") if "nesterov" in cfg else None
    return OptimizerFacts(str(serialized.get("class_name")), _float(lr), _float(momentum),
                          None if nesterov is None else bool(nesterov), schedule)


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------
def analyse_model(model_export) -> ModelFacts:
    """Rebuild one exported model (the ``MODEL`` dict of docs/design.md) and measure it.

    Never raises: a model that cannot be rebuilt gives ``ModelFacts(ok=False, error=...)``.
    """
    try:
        return _analyse_model(model_export)
    except Exception as exc:  # defensive: the export is untrusted
        return ModelFacts(False, f"the model could not be analysed: {_exc(exc)}")


def _analyse_model(model_export) -> ModelFacts:
    if not isinstance(model_export, dict) or not isinstance(model_export.get("config_json"), str):
        return ModelFacts(False, "the export holds no model configuration")
    if len(model_export["config_json"]) > MAX_CONFIG_CHARS:
        return ModelFacts(False, "the model configuration is too large to be graded")
    try:
        config = json.loads(model_export["config_json"])
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
    except Exception as exc:
        return ModelFacts(False, f"the model configuration is not valid JSON ({_exc(exc)})")

    compile_config = config.pop("compile_config", None)
    facts = ModelFacts(True, class_name=str(config.get("class_name")))
    _compile_facts(facts, model_export, compile_config)

    too_wide = _too_wide(config)
    if too_wide:
        facts.ok = False
        facts.error = (f"a layer has {too_wide:,} units or filters (more than "
                       f"{MAX_LAYER_WIDTH:,}): the grader does not rebuild models that large")
        return facts
    foreign = sorted(set(_foreign_objects(config)))
    if foreign:
        names = ", ".join(f"{cls} (from {module})" for cls, module in foreign)
        facts.ok = False
        facts.error = (f"the model uses custom or non-Keras objects that the grader cannot "
                       f"rebuild: {names}. Use the built-in keras.layers (Conv2D, MaxPooling2D, "
                       "Flatten, Dense) and string activations such as activation='relu'.")
        return facts
    try:
        import keras

        model = keras.models.model_from_json(json.dumps(config))
    except Exception as exc:
        facts.ok = False
        facts.error = f"the model could not be rebuilt from its configuration: {_exc(exc)}"
        return facts
    facts.class_name = type(model).__name__
    try:
        if not model.built or not _has_inputs(model):
            model.build((None,) + tuple(spec.IMAGE_SHAPE))
        shape = tuple(model.inputs[0].shape)[1:]
        facts.input_shape = tuple(None if d is None else int(d) for d in shape)
    except Exception as exc:
        facts.ok = False
        facts.error = f"the model could not be built for {spec.IMAGE_SHAPE} inputs: {_exc(exc)}"
        return facts
    try:
        facts.layers = _effective_layers(model)
        facts.total_params = int(model.count_params())
    except Exception as exc:
        facts.ok = False
        facts.error = f"the model's layers could not be measured: {_exc(exc)}"
    facts.frozen = [l.label() for l in facts.layers if l.params and not l.trainable]
    facts.zero_init = [l.label() for l in facts.layers if l.zero_init]
    return facts


def _compile_facts(facts: ModelFacts, model_export: dict, compile_config) -> None:
    """Optimizer / loss / metrics from the compile config embedded in config_json, else from
    the export's own fields."""
    try:
        exported = {key: model_export.get(key) for key in ("optimizer", "loss", "metrics")}
        if not isinstance(compile_config, dict) or not compile_config:
            compile_config = exported if model_export.get("compiled") else {}
        facts.compiled = (bool(model_export.get("compiled")) and bool(compile_config)
                          and compile_config.get("optimizer") is not None)
        ce = model_export.get("compile_error")
        facts.compile_error = None if ce is None else _short(ce)
        if facts.compiled:
            facts.optimizer = optimizer_facts(compile_config.get("optimizer"))
            facts.loss = canonical_loss(compile_config.get("loss"))
            facts.metrics = canonical_metrics(compile_config.get("metrics"))
    except Exception as exc:  # malformed export
        facts.compiled = False
        facts.compile_error = f"the compile settings could not be read: {_exc(exc)}"


def _has_inputs(model) -> bool:
    try:
        return bool(model.inputs)
    except Exception:
        return False


def analyse_builder(name: str, builder_export) -> BuilderFacts:
    if not isinstance(builder_export, dict):
        return BuilderFacts(name, "missing", None)
    calls = []
    for call in builder_export.get("calls") or []:
        if not isinstance(call, dict):
            continue
        args = call.get("args") if isinstance(call.get("args"), dict) else {}
        model = analyse_model(call["model"]) if call.get("model") is not None else None
        calls.append(CallFacts(args, model, _opt_str(call.get("error"))))
    return BuilderFacts(name, str(builder_export.get("status", "error")),
                        _opt_str(builder_export.get("error")), calls)


def analyse_variable(name: str, variable_export) -> VariableFacts:
    if not isinstance(variable_export, dict):
        return VariableFacts(name, "missing", None)
    model = variable_export.get("model")
    return VariableFacts(name, str(variable_export.get("status", "error")),
                         _opt_str(variable_export.get("error")),
                         analyse_model(model) if model is not None else None)


def analyse_export(export) -> FactsBundle:
    """Facts for a whole export (``describe.describe_namespace`` output, possibly JSON-loaded)."""
    export = export if isinstance(export, dict) else {}
    builders = export.get("builders") if isinstance(export.get("builders"), dict) else {}
    variables = export.get("variables") if isinstance(export.get("variables"), dict) else {}
    answers = export.get("answers") if isinstance(export.get("answers"), dict) else {}
    return FactsBundle(
        builders={name: analyse_builder(name, builders.get(name)) for name in spec.BUILDERS},
        variables={name: analyse_variable(name, variables.get(name))
                   for name in spec.TRAINED_VARIABLES},
        answers={name: answers.get(name) if isinstance(answers.get(name), dict)
                 else {"status": "missing", "value": None, "repr": ""}
                 for name in spec.ANSWER_VARIABLES},
    )


def _opt_str(value):
    return None if value is None else _short(value)
