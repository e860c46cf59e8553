"""check_* functions on a model's facts (``analyse.ModelFacts``), on a builder's probe calls
(``analyse.BuilderFacts``) and on a trained-model variable (``analyse.VariableFacts``).

Part of ``checks`` (which re-exports every name here): one small function per property, each
returning a ``CheckResult`` with what was expected, what was found, where and what to change.
"""
from __future__ import annotations

import difflib
import math

from . import spec
from .checks import CheckResult, _n, _never_raises, _shape, _size


def _found_describe(layer) -> str:
    """A found layer in the style of spec.Layer.describe()."""
    if layer.kind == "conv":
        return f"Conv2D({layer.filters}, {_size(layer.kernel_size)}, {layer.activation})"
    if layer.kind == "pool":
        return f"MaxPooling2D({_size(layer.pool_size)})"
    if layer.kind == "flatten":
        return "Flatten()"
    if layer.kind == "dense":
        return f"Dense({layer.units}, {layer.activation})"
    return f"{layer.class_name}({layer.detail})"


def _chain(descriptions) -> str:
    return " → ".join(descriptions) if descriptions else "no layers"


def _call_text(builder: str, args: dict) -> str:
    return f"{builder}({', '.join(f'{k}={_n(v)}' for k, v in args.items())})"


def _close(a, b, rtol=0.0, atol=0.0) -> bool:
    if a is None or b is None:
        return False
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


# ---------------------------------------------------------------------------------------------
# Model-level checks (ModelFacts)
# ---------------------------------------------------------------------------------------------
@_never_raises
def check_model_rebuilt(facts) -> CheckResult:
    if facts is None:
        return CheckResult("model_rebuilt", False, "no model to check", "a model", "none")
    if not facts.ok:
        return CheckResult("model_rebuilt", False, facts.error or "the model could not be rebuilt",
                           "a model of built-in Keras layers", "a model the grader cannot rebuild")
    return CheckResult("model_rebuilt", True, "the model rebuilds from its configuration")


@_never_raises
def check_input_shape(facts, expected=spec.IMAGE_SHAPE) -> CheckResult:
    expected = tuple(expected)
    found = tuple(facts.input_shape) if facts.input_shape is not None else None
    if found == expected:
        return CheckResult("input_shape", True, f"input shape {_shape(expected)}",
                           _shape(expected), _shape(found))
    return CheckResult("input_shape", False,
                       f"expected input shape {_shape(expected)}, found {_shape(found)}: start "
                       f"the model with keras.Input(shape={expected})",
                       _shape(expected), _shape(found))


def _alignment(expected_layers, found_layers):
    """difflib opcodes between the expected and the found kinds."""
    matcher = difflib.SequenceMatcher(a=[l.kind for l in expected_layers],
                                      b=[l.kind for l in found_layers], autojunk=False)
    return matcher.get_opcodes()


def _aligned_pairs(expected_layers, found_layers):
    pairs = []
    for tag, i1, i2, j1, j2 in _alignment(expected_layers, found_layers):
        if tag == "equal":
            pairs.extend(zip(expected_layers[i1:i2], found_layers[j1:j2]))
    return pairs


def _extra(layer) -> str:
    what = f", {layer.detail}" if layer.detail else ""
    return (f"extra {layer.label()[:-1]}{what}): the assignment's model has no such layer: "
            "remove it")


@_never_raises
def check_layer_kinds(facts, expected_layers) -> CheckResult:
    """The exact sequence of layers (conv / pool / flatten / dense); any other layer is extra."""
    expected_layers = tuple(expected_layers)
    found = list(facts.layers)
    exp_text = _chain([l.describe() for l in expected_layers])
    found_text = _chain([_found_describe(l) for l in found])
    kinds = " → ".join(l.class_name for l in found)
    if [l.kind for l in expected_layers] == [l.kind for l in found]:
        return CheckResult("layers", True, f"{len(found)} layers as asked: {exp_text}",
                           exp_text, found_text)
    problems = []
    for tag, i1, i2, j1, j2 in _alignment(expected_layers, found):
        if tag == "delete":
            where = f"after {found[j1 - 1].label()}" if j1 > 0 else "at the start"
            for layer in expected_layers[i1:i2]:
                problems.append(f"missing {layer.describe()} {where}: add it")
        elif tag == "insert":
            problems.extend(_extra(layer) for layer in found[j1:j2])
        elif tag == "replace":
            for k, layer in enumerate(found[j1:j2]):
                if i1 + k < i2:
                    problems.append(f"{layer.label()}: expected "
                                    f"{expected_layers[i1 + k].describe()} here")
                else:
                    problems.append(_extra(layer))
            for layer in expected_layers[i1 + (j2 - j1):i2]:
                problems.append(f"missing {layer.describe()}: add it")
    return CheckResult("layers", False,
                       f"expected {len(expected_layers)} layers ({exp_text}), found {len(found)} "
                       f"({kinds or 'none'}): " + "; ".join(problems), exp_text, found_text)


_SETTING_FIXES = {
    "filters": lambda e, f: (f"expected {e} filters, found {f}", f"write Conv2D({e}, ...)"),
    "kernel_size": lambda e, f: (f"expected kernel_size {_size(e)}, found {_size(f)}",
                                 f"write Conv2D(..., kernel_size={tuple(e)})"),
    "strides": lambda e, f: (f"expected strides {_size(e)}, found {_size(f)}",
                             "use strides=1 (the default)"),
    "padding": lambda e, f: (f"expected padding '{e}', found '{f}'",
                             f"use padding='{e}' (the default)"),
    "pool_size": lambda e, f: (f"expected pool size {_size(e)}, found {_size(f)}",
                               f"write MaxPooling2D({tuple(e)})"),
    "units": lambda e, f: (f"expected {e} units, found {f}", f"write Dense({e}, ...)"),
    "activation": lambda e, f: (
        f"expected activation '{e}', found " + ("none (linear)" if f in (None, "linear")
                                                else f"'{f}'"),
        f"use activation='{e}'"),
}
_SETTINGS_BY_KIND = {
    "conv": ("filters", "kernel_size", "strides", "padding", "activation"),
    "pool": ("pool_size",),
    "flatten": (),
    "dense": ("units", "activation"),
}


@_never_raises
def check_layer_settings(facts, expected_layers) -> CheckResult:
    """filters, kernel size, strides, padding, activation, pool size, units of each layer
    (layers are matched by kind, so one missing layer does not shift every comparison)."""
    problems, expected, found_parts = [], [], []
    for exp, found in _aligned_pairs(tuple(expected_layers), list(facts.layers)):
        for attr in _SETTINGS_BY_KIND.get(exp.kind, ()):
            want, got = getattr(exp, attr), getattr(found, attr)
            if isinstance(want, tuple):
                got = tuple(got) if got is not None else None
            if want is not None and want != got:
                what, fix = _SETTING_FIXES[attr](want, got)
                problems.append(f"{found.label()}: {what}: {fix}")
                expected.append(f"{attr} {_size(want) if isinstance(want, tuple) else want}")
                found_parts.append(f"{attr} {_size(got) if isinstance(got, tuple) else got}")
        for key, value in found.extras.items():
            problems.append(f"{found.label()}: {key}={value} is not asked for: remove it")
            expected.append(f"no {key}")
            found_parts.append(f"{key} {value}")
        if exp.kind == "pool" and found.strides is not None and found.pool_size is not None \
                and tuple(found.strides) != tuple(found.pool_size):
            problems.append(f"{found.label()}: expected strides equal to the pool size "
                            f"{_size(exp.pool_size)}, found {_size(found.strides)}: "
                            "leave strides out")
            expected.append(f"strides {_size(exp.pool_size)}")
            found_parts.append(f"strides {_size(found.strides)}")
    if problems:
        return CheckResult("layer_settings", False, "; ".join(problems), ", ".join(expected),
                           ", ".join(found_parts))
    return CheckResult("layer_settings", True, "every layer has the expected settings")


@_never_raises
def check_output_shapes(facts, expected_layers) -> CheckResult:
    problems = []
    first = None
    for exp, found in _aligned_pairs(tuple(expected_layers), list(facts.layers)):
        got = tuple(found.output_shape) if found.output_shape is not None else None
        if tuple(exp.output_shape) != got:
            first = first or (_shape(exp.output_shape), _shape(got))
            problems.append(f"{found.label()}: expected output shape {_shape(exp.output_shape)}, "
                            f"found {_shape(got)}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return CheckResult("output_shapes", False, "; ".join(problems[:3]) + more +
                           ": the first mismatch is usually the one to fix", *first)
    return CheckResult("output_shapes", True, "every layer has the expected output shape")


@_never_raises
def check_total_params(facts, expected_layers) -> CheckResult:
    expected_layers = tuple(expected_layers)
    expected = sum(l.params for l in expected_layers)
    found = facts.total_params
    if found is not None and found == expected:
        return CheckResult("total_params", True, f"{_n(expected)} parameters", _n(expected),
                           _n(found))
    where = ""
    for exp, layer in _aligned_pairs(expected_layers, list(facts.layers)):
        if exp.params != layer.params:
            where = (f" ({layer.label()} has {_n(layer.params)} instead of {_n(exp.params)})")
            break
    return CheckResult("total_params", False,
                       f"expected {_n(expected)} parameters, found {_n(found)}{where}",
                       _n(expected), _n(found))


@_never_raises
def check_weight_shapes(facts, required=False) -> CheckResult:
    """The live model's weights (reported by the kernel) are those its config describes;
    ``required``: an export of schema 2 must report them."""
    exported, rebuilt = facts.exported_weight_shapes, facts.weight_shapes
    if exported is None and required:
        return CheckResult("weight_shapes", False, "the export does not report the model's "
                                                   "weights, so it cannot be checked",
                           "weight shapes", "none")
    if exported is None:
        return CheckResult("weight_shapes", True, "weight shapes not reported (older export)")
    if rebuilt is not None and [tuple(s) for s in exported] == [tuple(s) for s in rebuilt]:
        return CheckResult("weight_shapes", True, "the live model's weights match its config")
    return CheckResult("weight_shapes", False,
                       "the trained model's weights do not match its own configuration "
                       f"({len(exported)} weight tensors reported, {len(rebuilt or [])} in the "
                       "configuration): build the model from the standard keras.layers and do "
                       "not modify it after compiling",
                       f"{len(rebuilt or [])} weight tensors", f"{len(exported)} weight tensors")


@_never_raises
def check_compiled(facts) -> CheckResult:
    if facts.compiled:
        return CheckResult("compiled", True, "the model is compiled")
    extra = f" ({facts.compile_error})" if facts.compile_error else ""
    return CheckResult("compiled", False,
                       "the model is not compiled" + extra + ": call model.compile(optimizer=..., "
                       "loss=..., metrics=[...]) before `return model`", "compiled",
                       "not compiled")


@_never_raises
def check_optimizer_class(facts, expected=spec.OPTIMIZER) -> CheckResult:
    found = facts.optimizer.class_name if facts.optimizer else None
    if found == expected:
        return CheckResult("optimizer", True, f"optimizer {expected}", expected, found)
    return CheckResult("optimizer", False,
                       f"expected optimizer {expected}, found {found}: compile(optimizer="
                       f"keras.optimizers.{expected}(learning_rate=learning_rate, ...))",
                       expected, str(found))


@_never_raises
def check_nesterov(facts, where="the model") -> CheckResult:
    found = bool(facts.optimizer.nesterov) if facts.optimizer else False
    if not found:
        return CheckResult("nesterov", True, "no Nesterov momentum", "False", "False")
    return CheckResult("nesterov", False,
                       f"nesterov: expected plain momentum for {where}, found nesterov=True: "
                       f"leave nesterov out of {spec.OPTIMIZER}(...)", "False", "True")


@_never_raises
def check_optimizer_extras(facts) -> CheckResult:
    extras = dict(facts.optimizer.extras) if facts.optimizer else {}
    if not extras:
        return CheckResult("optimizer_settings", True, "no other optimizer settings")
    found = ", ".join(f"{k}={v}" for k, v in extras.items())
    return CheckResult("optimizer_settings", False,
                       f"the optimizer has settings the assignment does not ask for: {found}: "
                       f"use {spec.OPTIMIZER}(learning_rate=..., momentum=...) only",
                       "none", found)


@_never_raises
def check_loss(facts, expected=spec.LOSS) -> CheckResult:
    found = facts.loss
    if found == expected:
        return CheckResult("loss", True, f"loss {expected}", expected, found)
    message = f"expected loss '{expected}', found '{found}'"
    if found and "from_logits=True" in found:
        message += (": the last layer already applies softmax, so drop from_logits=True")
    elif found and found.startswith("sparse_categorical"):
        message += (": the labels are one-hot vectors, so use "
                    f"loss='{expected}' (the sparse version expects integer labels)")
    else:
        message += f": compile(..., loss='{expected}')"
    return CheckResult("loss", False, message, expected, str(found))


@_never_raises
def check_metrics(facts, expected=spec.METRIC) -> CheckResult:
    found = list(facts.metrics or [])
    shown = ", ".join(f"'{m}'" for m in found) if found else "none"
    if expected in found:
        return CheckResult("metrics", True, f"metrics include {expected}", expected, shown)
    return CheckResult("metrics", False, f"expected '{expected}' among the metrics, found "
                                         f"{shown}: compile(..., metrics=['{expected}'])",
                       expected, shown)


@_never_raises
def check_not_frozen(facts) -> CheckResult:
    if not facts.frozen:
        return CheckResult("not_frozen", True, "every layer with weights is trainable")
    return CheckResult("not_frozen", False,
                       f"frozen layers (trainable=False): {', '.join(facts.frozen)}: their "
                       "weights never change during training; remove trainable=False / "
                       "model.trainable = False", "every layer trainable",
                       f"{len(facts.frozen)} frozen")


@_never_raises
def check_no_constant_init(facts) -> CheckResult:
    if not facts.constant_init:
        return CheckResult("no_constant_init", True, "no kernel starts constant")
    first = facts.constant_init[0].rsplit(": ", 1)[-1]
    return CheckResult("no_constant_init", False,
                       f"kernel_initializer is {first} for {'; '.join(facts.constant_init)}: "
                       "every unit starts identical and gets the same update, so the layer "
                       "cannot learn; remove kernel_initializer (the default GlorotUniform "
                       "breaks the symmetry)", "random kernels", first)


def architecture_checks(facts, architecture: str) -> list:
    """Every architecture check of one model against ``spec.ARCHITECTURES[architecture]``."""
    rebuilt = check_model_rebuilt(facts)
    if not rebuilt.passed:
        return [rebuilt]
    layers = spec.ARCHITECTURES[architecture]
    return [check_layer_kinds(facts, layers), check_layer_settings(facts, layers),
            check_input_shape(facts), check_output_shapes(facts, layers),
            check_total_params(facts, layers)]


def training_checks(facts, weights_required=False) -> list:
    """Can this model learn at all: every layer trainable, kernels not constant, and the live
    model's weights are those of its config."""
    rebuilt = check_model_rebuilt(facts)
    if not rebuilt.passed:
        return [rebuilt]
    return [check_not_frozen(facts), check_no_constant_init(facts),
            check_weight_shapes(facts, weights_required)]


# ---------------------------------------------------------------------------------------------
# Builder-level checks (BuilderFacts: one model per probe)
# ---------------------------------------------------------------------------------------------
@_never_raises
def check_builder_defined(builder) -> CheckResult:
    if builder.status == "missing":
        return CheckResult("defined", False, f"{builder.name} is not defined: run the cell that "
                                             "defines it, and keep the function's name",
                           "defined", "not defined")
    if builder.status == "error" and not builder.calls:
        return CheckResult("defined", False, builder.error or f"{builder.name} is not usable",
                           "a function", "not usable")
    return CheckResult("defined", True, f"{builder.name} is defined")


@_never_raises
def check_builder_calls(builder) -> CheckResult:
    failed = [c for c in builder.calls if c.model is None]
    if not builder.calls:
        return CheckResult("calls", False, builder.error or f"{builder.name} was not called",
                           "a model for every call", "no call")
    if failed:
        first = failed[0]
        message = first.error or f"{_call_text(builder.name, first.args)} returned no model"
        if len(failed) > 1:
            message += (f" (and {len(failed) - 1} more of the {len(builder.calls)} calls "
                        "failed)")
        return CheckResult("calls", False, message, "a model for every call",
                           f"{len(failed)} of {len(builder.calls)} calls failed")
    return CheckResult("calls", True, f"{builder.name} returned a model for every call")


def _compiled_calls(calls):
    return [c for c in calls if c.model is not None and c.model.compiled and c.model.optimizer]


@_never_raises
def check_builder_compiled(builder) -> CheckResult:
    for call in builder.calls:
        if call.model is not None and not call.model.compiled:
            result = check_compiled(call.model)
            return CheckResult("compiled", False, f"{_call_text(builder.name, call.args)}: "
                                                  f"{result.message}", "compiled", "not compiled")
    return CheckResult("compiled", True, "every returned model is compiled")


@_never_raises
def check_learning_rate_honoured(builder, rtol=spec.LR_RTOL) -> CheckResult:
    """Each probe's learning_rate reaches the optimizer (float32: relative tolerance)."""
    calls = [c for c in _compiled_calls(builder.calls) if "learning_rate" in c.args]
    if not calls:
        return CheckResult("learning_rate", False, "no compiled model to read the learning "
                                                   "rate from")
    for call in calls:
        opt = call.model.optimizer
        if opt.schedule:
            return CheckResult("learning_rate", False,
                               f"learning_rate: the optimizer uses a {opt.schedule} schedule: "
                               "pass the function's learning_rate argument itself to "
                               "SGD(learning_rate=...)", "the learning_rate argument",
                               f"a {opt.schedule} schedule")
        passed = call.args["learning_rate"]
        if not _close(opt.learning_rate, passed, rtol=rtol):
            same = len({_n(c.model.optimizer.learning_rate) for c in calls}) == 1 and len(calls) > 1
            tail = " (the same value for every call)" if same else ""
            return CheckResult("learning_rate", False,
                               f"learning_rate: you passed {_n(passed)} but the optimizer uses "
                               f"{_n(opt.learning_rate)}{tail} — pass the function's "
                               "learning_rate argument to SGD(learning_rate=...)",
                               _n(passed), _n(opt.learning_rate))
    return CheckResult("learning_rate", True, "the learning_rate argument reaches the optimizer "
                                              "for every call")


@_never_raises
def check_momentum_honoured(builder, atol=spec.MOMENTUM_ATOL) -> CheckResult:
    calls = [c for c in _compiled_calls(builder.calls) if "momentum" in c.args]
    if not calls:
        return CheckResult("momentum", False, "no compiled model to read the momentum from")
    found = [c.model.optimizer.momentum for c in calls]
    if any(m is None for m in found):
        cls = next(c.model.optimizer.class_name for c in calls if c.model.optimizer.momentum
                   is None)
        return CheckResult("momentum", False,
                           f"momentum: {cls} has no momentum parameter: use "
                           f"keras.optimizers.{spec.OPTIMIZER}(learning_rate=learning_rate, "
                           "momentum=momentum)", "the momentum argument", f"{cls} (no momentum)")
    passed = [c.args["momentum"] for c in calls]
    if all(_close(f, p, atol=atol) for f, p in zip(found, passed)):
        return CheckResult("momentum", True, "the momentum argument reaches the optimizer for "
                                             "every call")
    constant = len(calls) > 1 and all(_close(f, found[0], atol=atol) for f in found)
    if constant and not _close(found[0], 0.0, atol=atol):
        return CheckResult("momentum", False,
                           f"momentum is {_n(found[0])} for every call (you passed "
                           f"{', '.join(_n(p) for p in passed)}): use the momentum argument: "
                           f"{spec.OPTIMIZER}(..., momentum=momentum)", "the momentum argument",
                           _n(found[0]))
    f, p = next((f, p) for f, p in zip(found, passed) if not _close(f, p, atol=atol))
    return CheckResult("momentum", False,
                       f"momentum: you passed {_n(p)} but the optimizer uses {_n(f)} — pass the "
                       f"function's momentum argument to {spec.OPTIMIZER}(momentum=...)",
                       _n(p), _n(f))


@_never_raises
def check_no_momentum(builder, atol=spec.MOMENTUM_ATOL) -> CheckResult:
    """A plain-SGD builder: momentum 0 for every call."""
    for call in _compiled_calls(builder.calls):
        found = call.model.optimizer.momentum
        if found is not None and not _close(found, 0.0, atol=atol):
            return CheckResult("momentum", False,
                               f"momentum: {builder.name} compiles with plain {spec.OPTIMIZER} "
                               f"(momentum 0), found momentum={_n(found)}: write "
                               f"{spec.OPTIMIZER}(learning_rate=learning_rate)", "0", _n(found))
    return CheckResult("momentum", True, "momentum 0", "0", "0")


@_never_raises
def check_builder_nesterov(builder) -> CheckResult:
    for call in _compiled_calls(builder.calls):
        result = check_nesterov(call.model, builder.name)
        if not result.passed:
            return result
    return CheckResult("nesterov", True, "no Nesterov momentum", "False", "False")


# ---------------------------------------------------------------------------------------------
# Variable-level checks (VariableFacts)
# ---------------------------------------------------------------------------------------------
@_never_raises
def check_variable_defined(variable) -> CheckResult:
    if variable.status == "missing":
        return CheckResult("defined", False, f"{variable.name} is not defined: run the cell "
                                             "that builds and trains it, keeping this name",
                           "a trained model", "not defined")
    if variable.status != "ok" or variable.model is None:
        return CheckResult("defined", False, variable.error or f"{variable.name} is not a model",
                           "a Keras model", variable.status)
    return CheckResult("defined", True, f"{variable.name} is a model")


@_never_raises
def check_learning_rate_value(facts, expected, where="the model", rtol=spec.LR_RTOL):
    opt = facts.optimizer
    found = opt.learning_rate if opt else None
    if opt and not opt.schedule and _close(found, expected, rtol=rtol):
        return CheckResult("learning_rate", True, f"learning_rate {_n(expected)}", _n(expected),
                           _n(found))
    shown = f"a {opt.schedule} schedule" if opt and opt.schedule else _n(found)
    return CheckResult("learning_rate", False,
                       f"learning_rate: expected {_n(expected)} for {where}, found {shown}: "
                       f"build it with learning_rate={_n(expected)}", _n(expected), shown)


@_never_raises
def check_momentum_value(facts, expected, where="the model", atol=spec.MOMENTUM_ATOL):
    opt = facts.optimizer
    found = opt.momentum if opt else None
    if found is None and opt is not None and opt.class_name == spec.OPTIMIZER:
        found = 0.0
    if _close(found, expected, atol=atol):
        return CheckResult("momentum", True, f"momentum {_n(expected)}", _n(expected), _n(found))
    if expected == 0:
        fix = f"build it with plain {spec.OPTIMIZER} (momentum 0), e.g. define_model(...)"
    else:
        fix = f"build it with momentum={_n(expected)}"
    return CheckResult("momentum", False,
                       f"momentum: expected {_n(expected)} for {where}, found {_n(found)}: {fix}",
                       _n(expected), _n(found))
