"""check_* functions on a model's facts (``analyse.ModelFacts``), on a builder's probe calls
(``analyse.BuilderFacts``) and on a trained-model variable (``analyse.VariableFacts``).

Part of ``checks`` (which re-exports every name here): one small function per property, each
returning a ``CheckResult`` with what was expected, what was found, where and what to change.
The architecture checks (layers, settings, output shapes, parameters) live in ``layer_checks``
and are re-exported here; this module holds the compile and training checks of a model, and the
builder- and variable-level checks.
"""
from __future__ import annotations

import math

from . import spec
from .checks import CheckResult, _n, _never_raises
from .layer_checks import (architecture_checks, check_input_shape,  # noqa: F401
                           check_layer_kinds, check_layer_settings, check_model_rebuilt,
                           check_output_shapes, check_total_params)


def _call_text(builder: str, args: dict) -> str:
    return f"{builder}({', '.join(f'{k}={_n(v)}' for k, v in args.items())})"


def _close(a, b, rtol=0.0, atol=0.0) -> bool:
    if a is None or b is None:
        return False
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


# ---------------------------------------------------------------------------------------------
# Model-level checks: weights, compile and training (ModelFacts)
# ---------------------------------------------------------------------------------------------
@_never_raises
def check_weight_shapes(facts, required=False) -> CheckResult:
    """The live model's weights (reported by the kernel) are those its config describes;
    ``required``: an export of schema 3 must report them."""
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
def check_optimizer_class(facts, expected: str) -> CheckResult:
    """The optimizer's Keras class is ``expected`` (``spec.OptimizerSpec.class_name``)."""
    found = facts.optimizer.class_name if facts.optimizer else None
    if found == expected:
        return CheckResult("optimizer", True, f"optimizer {expected}", expected, found)
    return CheckResult("optimizer", False,
                       f"expected optimizer {expected}, found {found}: compile(optimizer="
                       f"keras.optimizers.{expected}(learning_rate=learning_rate, ...))",
                       expected, str(found))


@_never_raises
def check_nesterov(facts, expected: spec.OptimizerSpec, where="the model") -> CheckResult:
    """Nesterov momentum exactly when ``expected`` asks for it (``nesterov: True``)."""
    wanted = bool(expected.settings.get("nesterov", False))
    found = bool(facts.optimizer.nesterov) if facts.optimizer else False
    if found == wanted:
        return CheckResult("nesterov", True, "Nesterov momentum" if wanted else
                           "no Nesterov momentum", str(wanted), str(found))
    if wanted:
        return CheckResult("nesterov", False,
                           f"nesterov: expected Nesterov momentum for {where}, found "
                           f"nesterov=False: write {expected.class_name}(..., nesterov=True)",
                           "True", "False")
    return CheckResult("nesterov", False,
                       f"nesterov: expected plain momentum for {where}, found nesterov=True: "
                       f"leave nesterov out of {expected.class_name}(...)", "False", "True")


@_never_raises
def check_optimizer_extras(facts, expected: spec.OptimizerSpec) -> CheckResult:
    """No setting that changes training beyond those ``expected`` lists."""
    extras = {k: v for k, v in (facts.optimizer.extras if facts.optimizer else {}).items()
              if k not in expected.settings}
    if not extras:
        return CheckResult("optimizer_settings", True, "no other optimizer settings")
    found = ", ".join(f"{k}={v}" for k, v in extras.items())
    return CheckResult("optimizer_settings", False,
                       f"the optimizer has settings the assignment does not ask for: {found}: "
                       f"use {expected.usage()} only", "none", found)


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
def check_learning_rate_honoured(builder, optimizer: str, rtol=spec.LR_RTOL) -> CheckResult:
    """Each probe's learning_rate reaches the ``optimizer`` (float32: relative tolerance)."""
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
                               f"{optimizer}(learning_rate=...)", "the learning_rate argument",
                               f"a {opt.schedule} schedule")
        passed = call.args["learning_rate"]
        if not _close(opt.learning_rate, passed, rtol=rtol):
            same = len({_n(c.model.optimizer.learning_rate) for c in calls}) == 1 and len(calls) > 1
            tail = " (the same value for every call)" if same else ""
            return CheckResult("learning_rate", False,
                               f"learning_rate: you passed {_n(passed)} but the optimizer uses "
                               f"{_n(opt.learning_rate)}{tail} — pass the function's "
                               f"learning_rate argument to {optimizer}(learning_rate=...)",
                               _n(passed), _n(opt.learning_rate))
    return CheckResult("learning_rate", True, "the learning_rate argument reaches the optimizer "
                                              "for every call")


@_never_raises
def check_momentum_honoured(builder, optimizer: str, atol=spec.MOMENTUM_ATOL) -> CheckResult:
    """Each probe's momentum reaches the ``optimizer``."""
    calls = [c for c in _compiled_calls(builder.calls) if "momentum" in c.args]
    if not calls:
        return CheckResult("momentum", False, "no compiled model to read the momentum from")
    found = [c.model.optimizer.momentum for c in calls]
    if any(m is None for m in found):
        cls = next(c.model.optimizer.class_name for c in calls if c.model.optimizer.momentum
                   is None)
        return CheckResult("momentum", False,
                           f"momentum: {cls} has no momentum parameter: use "
                           f"keras.optimizers.{optimizer}(learning_rate=learning_rate, "
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
                           f"{optimizer}(..., momentum=momentum)", "the momentum argument",
                           _n(found[0]))
    f, p = next((f, p) for f, p in zip(found, passed) if not _close(f, p, atol=atol))
    return CheckResult("momentum", False,
                       f"momentum: you passed {_n(p)} but the optimizer uses {_n(f)} — pass the "
                       f"function's momentum argument to {optimizer}(momentum=...)",
                       _n(p), _n(f))


@_never_raises
def check_no_momentum(builder, optimizer: str, atol=spec.MOMENTUM_ATOL) -> CheckResult:
    """A builder of plain ``optimizer`` (SGD): momentum 0 for every call."""
    for call in _compiled_calls(builder.calls):
        found = call.model.optimizer.momentum
        if found is not None and not _close(found, 0.0, atol=atol):
            return CheckResult("momentum", False,
                               f"momentum: {builder.name} compiles with plain {optimizer} "
                               f"(momentum 0), found momentum={_n(found)}: write "
                               f"{optimizer}(learning_rate=learning_rate)", "0", _n(found))
    return CheckResult("momentum", True, "momentum 0", "0", "0")


@_never_raises
def check_builder_nesterov(builder, expected: spec.OptimizerSpec) -> CheckResult:
    for call in _compiled_calls(builder.calls):
        result = check_nesterov(call.model, expected, builder.name)
        if not result.passed:
            return result
    wanted = str(bool(expected.settings.get("nesterov", False)))
    return CheckResult("nesterov", True, "Nesterov momentum" if wanted == "True" else
                       "no Nesterov momentum", wanted, wanted)


@_never_raises
def check_setting_honoured(builder, setting: str, optimizer: str) -> CheckResult:
    """Each probe's argument ``setting`` reaches the optimizer (settings other than the learning
    rate and momentum, which have their own checks)."""
    for call in _compiled_calls(builder.calls):
        passed = call.args.get(setting)
        found = call.model.optimizer.settings.get(setting)
        if not _close(found, passed, rtol=spec.LR_RTOL):
            return CheckResult(setting, False,
                               f"{setting}: you passed {_n(passed)} but the optimizer uses "
                               f"{_n(found)} — pass the function's {setting} argument to "
                               f"{optimizer}({setting}=...)", _n(passed), _n(found))
    return CheckResult(setting, True, f"the {setting} argument reaches the optimizer for every "
                                      "call")


@_never_raises
def check_setting_value(facts, setting: str, expected, where="the model") -> CheckResult:
    """The optimizer's ``setting`` (``beta_1``, ``epsilon``, ...) is ``expected``."""
    found = facts.optimizer.settings.get(setting) if facts.optimizer else None
    if _close(found, expected, rtol=spec.LR_RTOL):
        return CheckResult(setting, True, f"{setting} {_n(expected)}", _n(expected), _n(found))
    return CheckResult(setting, False, f"{setting}: expected {_n(expected)} for {where}, found "
                                       f"{_n(found)}: build it with {setting}={_n(expected)}",
                       _n(expected), _n(found))


def builder_optimizer_checks(builder, expected: spec.OptimizerSpec) -> list:
    """The optimizer of every model ``builder`` returns against ``expected`` (a builder's
    ``spec.OptimizerSpec``): its class, each setting (an ``ARGUMENT`` must reach it), no
    Nesterov unless asked, no other setting that changes training."""
    cls = expected.class_name
    first = next(c.model for c in _compiled_calls(builder.calls))
    out = [check_optimizer_class(first, cls)]
    for setting, value in expected.settings.items():
        if setting == "nesterov":
            continue
        if value == spec.ARGUMENT:
            out.append(check_learning_rate_honoured(builder, cls) if setting == "learning_rate"
                       else check_momentum_honoured(builder, cls) if setting == "momentum"
                       else check_setting_honoured(builder, setting, cls))
        elif setting == "momentum" and value == 0:
            out.append(check_no_momentum(builder, cls))
        else:
            for call in _compiled_calls(builder.calls):
                out.append(check_setting_value(call.model, setting, value, builder.name))
    return out + [check_builder_nesterov(builder, expected),
                  check_optimizer_extras(first, expected)]


def optimizer_checks(facts, expected: spec.OptimizerSpec, where="the model") -> list:
    """A trained model's optimizer against ``expected`` (a trained variable's
    ``spec.OptimizerSpec``): its class, then (when the class is right) each setting's value,
    Nesterov only if asked, no other setting that changes training."""
    cls = expected.class_name
    out = [check_optimizer_class(facts, cls)]
    if facts.optimizer and facts.optimizer.class_name == cls:
        for setting, value in expected.settings.items():
            if setting == "learning_rate":
                out.append(check_learning_rate_value(facts, value, where))
            elif setting == "momentum":
                out.append(check_momentum_value(facts, value, cls, where))
            elif setting != "nesterov":
                out.append(check_setting_value(facts, setting, value, where))
    return out + [check_nesterov(facts, expected, where), check_optimizer_extras(facts, expected)]


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
def check_momentum_value(facts, expected, optimizer: str, where="the model",
                         atol=spec.MOMENTUM_ATOL):
    """The ``optimizer``'s momentum is ``expected`` (an optimizer given by name has 0)."""
    opt = facts.optimizer
    found = opt.momentum if opt else None
    if found is None and opt is not None and opt.class_name == optimizer:
        found = 0.0
    if _close(found, expected, atol=atol):
        return CheckResult("momentum", True, f"momentum {_n(expected)}", _n(expected), _n(found))
    if expected == 0:
        fix = f"build it with plain {optimizer} (momentum 0), e.g. define_model(...)"
    else:
        fix = f"build it with momentum={_n(expected)}"
    return CheckResult("momentum", False,
                       f"momentum: expected {_n(expected)} for {where}, found {_n(found)}: {fix}",
                       _n(expected), _n(found))
