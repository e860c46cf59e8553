"""The export -> facts: rebuild each model from its config and measure it.

Runs in the trusted grading process (and, for the public checks, in the student's kernel). The
export is untrusted data: every model is rebuilt from ``config_json`` with
``keras.models.model_from_json`` (Keras' safe mode stays on) after the guards of
``config_problem`` (size, layer width, exact built-in Keras classes, no embedded arrays), and
every architectural fact (layers, output shapes, parameter counts, frozen layers, initializers,
weight shapes) is read from the *rebuilt* model, never from numbers the student's process
reported. Optimizer, loss and metrics come from the serialized compile configuration
(``analyse_compile``); how the models were trained and the data prepared from the fit records
(``analyse_runs``); the effective layers from ``analyse_layers``.

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

import copy
import json
from collections import OrderedDict
from dataclasses import dataclass, field

from . import spec
from .analyse_compile import (ACCURACY_ALIASES, LOSS_ALIASES, OptimizerFacts,  # noqa: F401
                              as_float, canonical_loss, canonical_metric, canonical_metrics,
                              optimizer_facts, snake)
from .analyse_guards import (MAX_CONFIG_CHARS, MAX_LAYER_WIDTH, class_problem,  # noqa: F401
                             config_problem, flat_layers)
from .analyse_layers import (ACTIVATION_LAYERS, CONSTANT_INITIALIZERS,  # noqa: F401
                             DROPOUT_LAYERS, LAYER_EXTRAS, NO_OP_LAYERS, LayerFacts,
                             constant_initializer, effective_layers)
from .analyse_runs import RunFacts, analyse_runs

_MAX_ERROR = 600


# ---------------------------------------------------------------------------------------------
# Facts
# ---------------------------------------------------------------------------------------------
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
    """What the student's kernel reported for the live model (schema 3), None when absent."""
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
    """Tracker id of the live model (schema 3): ties the variable to the fits made on it."""


@dataclass
class FactsBundle:
    """The facts of a whole export: what the item checks read."""

    builders: dict
    variables: dict
    answers: dict
    """The export's answers, as they are (``{"status", "value", "repr"}`` per variable)."""
    runs: RunFacts = field(default_factory=lambda: RunFacts(recorded=False))
    """Fit calls, histories and data (export schema 3)."""
    cache: dict = field(default_factory=dict, repr=False)
    """Item results computed once per export (``checks.run_item``)."""


# ---------------------------------------------------------------------------------------------
# Error text
# ---------------------------------------------------------------------------------------------
def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + " ..."


def _exc(exc: BaseException) -> str:
    return _short(f"{type(exc).__name__}: {exc}")


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------
class _Remembered:
    """The analyses of the last ``size`` distinct model exports (see ``remember_analyses``)."""

    def __init__(self, size: int):
        self.size, self.kept, self.hits = size, OrderedDict(), 0

    @staticmethod
    def key(model_export) -> str | None:
        try:
            return json.dumps(model_export, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError):
            return None

    def get(self, key: str) -> ModelFacts | None:
        facts = self.kept.get(key)
        if facts is not None:
            self.kept.move_to_end(key)
            self.hits += 1
            return copy.deepcopy(facts)  # each caller gets its own copy
        return None

    def keep(self, key: str, facts: ModelFacts) -> None:
        self.kept[key] = copy.deepcopy(facts)
        if len(self.kept) > self.size:
            self.kept.popitem(last=False)


_remembered: _Remembered | None = None


def remember_analyses(size: int) -> None:
    """From now on, analyse each distinct model export once in this process.

    For a long-lived grading worker: rebuilding a model costs ~0.1 CPU-s, an export holds a
    dozen models and most submissions share the same few configs. A model's facts depend on
    nothing but its export, so an identical export gets a copy of what was found before;
    failures are never kept (an out-of-memory rebuild depends on the moment)."""
    global _remembered
    if _remembered is None:
        _remembered = _Remembered(size)


def analyses_reused() -> int:
    """How many analyses ``remember_analyses`` has answered from memory so far."""
    return _remembered.hits if _remembered is not None else 0


def analyse_model(model_export) -> ModelFacts:
    """Rebuild one exported model (the ``MODEL`` dict of docs/design.md) and measure it.

    Never raises: a model that cannot be rebuilt gives ``ModelFacts(ok=False, error=...)``.
    """
    key = _remembered.key(model_export) if _remembered is not None else None
    if key is not None:
        facts = _remembered.get(key)
        if facts is not None:
            return facts
    try:
        facts = _analyse_model(model_export)
    except Exception as exc:  # defensive: the export is untrusted
        return ModelFacts(False, f"the model could not be analysed: {_exc(exc)}")
    if key is not None and facts.ok:
        _remembered.keep(key, facts)
    return facts


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
        facts.layers, facts.ignored = effective_layers(model)
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
