"""The export -> facts: rebuild each model from its config and measure it.

Runs in the trusted grading process (and, for the public checks, in the student's kernel). The
export is untrusted data: every model is rebuilt from ``config_json`` with
``keras.models.model_from_json`` (Keras' safe mode stays on) after the guards of
``config_problem`` (size, layer width, exact built-in Keras classes, no embedded arrays), and
every architectural fact (layers, output shapes, parameter counts, frozen layers, initializers,
weight shapes) is read from the *rebuilt* model, never from numbers the student's process
reported. Optimizer, loss and metrics come from the serialized compile configuration
(``analyse_compile``); how the models were trained and the data prepared from the fit records
(``analyse_runs``).

Every layer of the model is kept (a Dropout or BatchNormalization the assignment does not ask
for is a layer like any other), except layers that provably do nothing: ``Identity`` and the
dropout family at rate 0. Equivalent spellings give identical facts: ``keras.Input`` vs
``input_shape=``, functional vs Sequential, ``MaxPool2D`` vs ``MaxPooling2D``, an
``Activation``/``ReLU``/``Softmax`` layer vs ``activation=``, ``Reshape((-1,))`` vs ``Flatten``,
tuple vs int sizes, ``tf.keras`` vs ``keras``, loss/metric objects vs strings.

Nothing here raises on bad input: a model that cannot be rebuilt gives ``ModelFacts(ok=False,
error=...)``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from . import spec
from .analyse_compile import (ACCURACY_ALIASES, LOSS_ALIASES, OptimizerFacts,  # noqa: F401
                              as_float, canonical_loss, canonical_metric, canonical_metrics,
                              optimizer_facts, snake)
from .analyse_guards import (MAX_CONFIG_CHARS, MAX_LAYER_WIDTH, class_problem,  # noqa: F401
                             config_problem, flat_layers)
from .analyse_runs import RunFacts, analyse_runs

# Layers that do nothing (at any rate, or at rate 0 for the dropout family).
NO_OP_LAYERS = {"Identity"}
DROPOUT_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                  "GaussianDropout", "AlphaDropout", "GaussianNoise"}
# Activation layers folded into the preceding conv / dense layer.
ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax", "LeakyReLU", "ELU"}
# Layer settings that change what a conv / dense layer learns, unset by default.
LAYER_EXTRAS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint")
# Initializers that start every unit of a kernel identical (no symmetry breaking).
CONSTANT_INITIALIZERS = {"Zeros", "zeros", "zero", "Ones", "ones", "one", "Constant", "constant"}

_MAX_ERROR = 600


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
    constant_kernel: str | None = None
    """The kernel initializer when it starts every unit identical (``Zeros``, ``Constant(0.5)``)."""
    detail: str = ""
    """What an ``other`` layer does, for messages (``rate 0.5``)."""
    extras: dict = field(default_factory=dict)
    """Settings of ``LAYER_EXTRAS`` the layer has (``{"kernel_regularizer": "L2"}``)."""

    def label(self) -> str:
        """``layer 3 (Conv2D 'conv2d_1')``, for messages."""
        return f"layer {self.position} ({self.class_name} '{self.name}')"


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
    ignored: list = field(default_factory=list)
    """Labels of the layers left out because they do nothing (``Dropout(0)``, ``Identity``)."""
    total_params: int | None = None
    frozen: list = field(default_factory=list)
    """Labels of the layers with weights that are not trainable."""
    constant_init: list = field(default_factory=list)
    """``label: initializer`` of the layers whose kernel starts constant (zeros included)."""
    weight_shapes: list | None = None
    """Shapes of the rebuilt model's weights, in order."""
    exported_weight_shapes: list | None = None
    """What the student's kernel reported for the live model (schema 2), None when absent."""
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
    model_object: int | None = None
    """Tracker id of the live model (schema 2): ties the variable to the fits made on it."""


@dataclass
class FactsBundle:
    """The facts of a whole export: what the item checks read."""

    builders: dict
    variables: dict
    answers: dict
    """The export's answers, as they are (``{"status", "value", "repr"}`` per variable)."""
    runs: RunFacts = field(default_factory=lambda: RunFacts(recorded=False))
    """Fit calls, histories and data (export schema 2)."""
    cache: dict = field(default_factory=dict, repr=False)
    """Item results computed once per export (``checks.run_item``)."""


# ---------------------------------------------------------------------------------------------
# Layers of the rebuilt model
# ---------------------------------------------------------------------------------------------
def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def _exc(exc: BaseException) -> str:
    return _short(f"{type(exc).__name__}: {exc}")


def _tuple(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
    return (value,)


def _activation_name(fn) -> str:
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return snake(name)


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


def _input_shape(layer):
    try:
        shape = layer.input.shape
    except Exception:
        return None
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


def constant_initializer(init) -> str | None:
    """``Zeros`` / ``Constant(0.5)`` when ``init`` (serialized) starts a kernel constant."""
    if isinstance(init, str):
        return init if init in CONSTANT_INITIALIZERS else None
    if not isinstance(init, dict) or init.get("class_name") not in CONSTANT_INITIALIZERS:
        return None
    cls = str(init.get("class_name"))
    if cls.lower() == "constant":
        value = as_float((init.get("config") or {}).get("value"))
        return f"Constant({value:g})" if value is not None else "Constant(...)"
    return cls


def _object_name(serialized) -> str:
    if isinstance(serialized, dict):
        return str(serialized.get("class_name"))
    return str(serialized)


def _is_no_op(cls: str, cfg: dict) -> bool:
    if cls in NO_OP_LAYERS:
        return True
    if cls in DROPOUT_LAYERS:
        rate = as_float(cfg.get("rate", cfg.get("stddev")))
        return rate == 0.0
    return False


def _flattens(layer, out_shape) -> bool:
    """A Reshape that turns each example into one vector does what Flatten does."""
    in_shape = _input_shape(layer)
    if out_shape is None or in_shape is None or len(out_shape) != 1 or None in in_shape:
        return False
    return out_shape[0] == math.prod(in_shape)


def _other_detail(cls: str, cfg: dict) -> str:
    for key in ("rate", "stddev", "units", "filters", "target_shape"):
        if key in cfg:
            return f"{key} {cfg[key]}"
    return ""


def _effective_layers(model) -> tuple:
    """(effective layers, labels of the no-op layers left out)."""
    layers, ignored = [], []
    position = 0
    model_trainable = bool(getattr(model, "trainable", True))
    for layer in flat_layers(model):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        position += 1
        cfg = layer.get_config()
        if _is_no_op(cls, cfg):
            ignored.append(f"layer {position} ({cls} '{layer.name}')")
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
                                     activation=act, detail=f"activation {act}"))
            continue
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
        elif cls == "MaxPooling2D":
            facts.kind = "pool"
            facts.pool_size = _tuple(cfg.get("pool_size"))
            facts.strides = _tuple(cfg.get("strides")) or facts.pool_size
            facts.padding = str(cfg.get("padding")).lower()
        elif cls == "Flatten" or (cls == "Reshape" and _flattens(layer, out_shape)):
            facts.kind = "flatten"
        elif cls == "Dense":
            facts.kind = "dense"
            facts.units = cfg.get("units")
            facts.activation = _activation_name(getattr(layer, "activation", None))
        else:
            facts.detail = _other_detail(cls, cfg)
        if "kernel_initializer" in cfg:
            facts.constant_kernel = constant_initializer(cfg.get("kernel_initializer"))
        facts.extras = {key: _object_name(cfg[key]) for key in LAYER_EXTRAS
                        if cfg.get(key) is not None}
        layers.append(facts)
    return layers, ignored


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


def _weight_shapes(value):
    if not isinstance(value, list) or len(value) > 1000:
        return None
    shapes = []
    for shape in value:
        if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
            return None
        shapes.append(tuple(shape))
    return shapes


def _analyse_model(model_export) -> ModelFacts:
    if not isinstance(model_export, dict) or not isinstance(model_export.get("config_json"), str):
        return ModelFacts(False, "the export holds no model configuration")
    problem = config_problem(model_export["config_json"])
    try:
        config = json.loads(model_export["config_json"])
    except Exception:
        config = None
    if not isinstance(config, dict):
        return ModelFacts(False, problem or "the model configuration is not valid JSON")
    compile_config = config.pop("compile_config", None)
    facts = ModelFacts(True, class_name=str(config.get("class_name")))
    facts.exported_weight_shapes = _weight_shapes(model_export.get("weight_shapes"))
    _compile_facts(facts, model_export, compile_config)
    if problem:
        facts.ok, facts.error = False, problem
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
        problem = class_problem(model)
        facts.layers, facts.ignored = _effective_layers(model)
        facts.total_params = int(model.count_params())
        facts.weight_shapes = [tuple(int(d) for d in w.shape) for w in model.weights]
    except Exception as exc:
        problem = f"the model's layers could not be measured: {_exc(exc)}"
    if problem:
        facts.ok, facts.error = False, problem
    facts.frozen = [l.label() for l in facts.layers if l.params and not l.trainable]
    facts.constant_init = [f"{l.label()}: {l.constant_kernel}" for l in facts.layers
                           if l.constant_kernel]
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
    model_object = variable_export.get("model_object")
    if model_object is None and isinstance(model, dict):
        model_object = model.get("model_object")
    return VariableFacts(name, str(variable_export.get("status", "error")),
                         _opt_str(variable_export.get("error")),
                         analyse_model(model) if model is not None else None,
                         model_object if isinstance(model_object, int)
                         and not isinstance(model_object, bool) else None)


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
        runs=analyse_runs(export),
    )


def _opt_str(value):
    return None if value is None else _short(value)
