"""The optimizer checks: its class, learning rate, momentum, Nesterov and other settings, against
the ``spec.OptimizerSpec`` they are given (a trained variable's or a builder's), scikit-learn
``check_*`` style: what is expected is an argument, never a global.

``optimizer_checks(facts, expected, where)`` checks one trained model; ``builder_optimizer_checks
(builder, expected)`` checks the models a builder returns for its probe arguments (each argument
the optimizer takes from the builder must reach it).
"""
from __future__ import annotations

import math

from . import spec
from .check_result import CheckResult, never_raises, number

LR_RTOL = 1e-5  # Keras 3 stores the learning rate as float32
MOMENTUM_ATOL = 1e-6


def _close(a, b, rtol=0.0, atol=0.0) -> bool:
    if a is None or b is None:
        return False
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=atol)


def _compiled_calls(calls):
    return [c for c in calls if c.model is not None and c.model.compiled and c.model.optimizer]


def _usage(expected) -> str:
    """How a student writes it: ``SGD(learning_rate=..., momentum=...)``."""
    args = ", ".join(f"{k}=..." for k in expected.settings if k != "nesterov")
    return f"{expected.class_name}({args})"


@never_raises
def check_optimizer_class(facts, expected: str) -> CheckResult:
    """The optimizer's Keras class is ``expected`` (``spec.OptimizerSpec.class_name``)."""
    found = facts.optimizer.class_name if facts.optimizer else None
    if found == expected:
        return CheckResult("optimizer", True, f"optimizer {expected}", expected, found)
    return CheckResult("optimizer", False,
                       f"expected optimizer {expected}, found {found}: compile(optimizer="
                       f"keras.optimizers.{expected}(learning_rate=learning_rate, ...))",
                       expected, str(found))


@never_raises
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


@never_raises
def check_optimizer_extras(facts, expected: spec.OptimizerSpec) -> CheckResult:
    """No setting that changes training beyond those ``expected`` lists."""
    extras = {k: v for k, v in (facts.optimizer.extras if facts.optimizer else {}).items()
              if k not in expected.settings}
    if not extras:
        return CheckResult("optimizer_settings", True, "no other optimizer settings")
    found = ", ".join(f"{k}={v}" for k, v in extras.items())
    return CheckResult("optimizer_settings", False,
                       f"the optimizer has settings the assignment does not ask for: {found}: "
                       f"use {_usage(expected)} only", "none", found)


@never_raises
def check_learning_rate_value(facts, expected, where="the model", rtol=LR_RTOL):
    opt = facts.optimizer
    found = opt.learning_rate if opt else None
    if opt and not opt.schedule and _close(found, expected, rtol=rtol):
        return CheckResult("learning_rate", True, f"learning_rate {number(expected)}",
                           number(expected), number(found))
    shown = f"a {opt.schedule} schedule" if opt and opt.schedule else number(found)
    return CheckResult("learning_rate", False,
                       f"learning_rate: expected {number(expected)} for {where}, found {shown}: "
                       f"build it with learning_rate={number(expected)}", number(expected), shown)


@never_raises
def check_momentum_value(facts, expected, optimizer: str, where="the model",
                         atol=MOMENTUM_ATOL):
    """The ``optimizer``'s momentum is ``expected`` (an optimizer given by name has 0)."""
    opt = facts.optimizer
    found = opt.momentum if opt else None
    if found is None and opt is not None and opt.class_name == optimizer:
        found = 0.0
    if _close(found, expected, atol=atol):
        return CheckResult("momentum", True, f"momentum {number(expected)}", number(expected),
                           number(found))
    if expected == 0:
        fix = f"build it with plain {optimizer} (momentum 0), e.g. define_model(...)"
    else:
        fix = f"build it with momentum={number(expected)}"
    return CheckResult("momentum", False,
                       f"momentum: expected {number(expected)} for {where}, found "
                       f"{number(found)}: {fix}",
                       number(expected), number(found))


@never_raises
def check_setting_value(facts, setting: str, expected, where="the model") -> CheckResult:
    """The optimizer's ``setting`` (``beta_1``, ``epsilon``, ...) is ``expected``."""
    found = facts.optimizer.settings.get(setting) if facts.optimizer else None
    if _close(found, expected, rtol=LR_RTOL):
        return CheckResult(setting, True, f"{setting} {number(expected)}", number(expected),
                           number(found))
    return CheckResult(setting, False, f"{setting}: expected {number(expected)} for {where}, found "
                                       f"{number(found)}: build it with "
                                       f"{setting}={number(expected)}",
                       number(expected), number(found))


@never_raises
def check_learning_rate_honoured(builder, optimizer: str, rtol=LR_RTOL) -> CheckResult:
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
            same = len(calls) > 1 and \
                len({number(c.model.optimizer.learning_rate) for c in calls}) == 1
            tail = " (the same value for every call)" if same else ""
            return CheckResult("learning_rate", False,
                               f"learning_rate: you passed {number(passed)} but the optimizer uses "
                               f"{number(opt.learning_rate)}{tail} — pass the function's "
                               f"learning_rate argument to {optimizer}(learning_rate=...)",
                               number(passed), number(opt.learning_rate))
    return CheckResult("learning_rate", True, "the learning_rate argument reaches the optimizer "
                                              "for every call")


@never_raises
def check_momentum_honoured(builder, optimizer: str, atol=MOMENTUM_ATOL) -> CheckResult:
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
                           f"momentum is {number(found[0])} for every call (you passed "
                           f"{', '.join(number(p) for p in passed)}): use the momentum argument: "
                           f"{optimizer}(..., momentum=momentum)", "the momentum argument",
                           number(found[0]))
    f, p = next((f, p) for f, p in zip(found, passed) if not _close(f, p, atol=atol))
    return CheckResult("momentum", False,
                       f"momentum: you passed {number(p)} but the optimizer uses {number(f)} — "
                       f"pass the function's momentum argument to {optimizer}(momentum=...)",
                       number(p), number(f))


@never_raises
def check_no_momentum(builder, optimizer: str, atol=MOMENTUM_ATOL) -> CheckResult:
    """A builder of plain ``optimizer`` (SGD): momentum 0 for every call."""
    for call in _compiled_calls(builder.calls):
        found = call.model.optimizer.momentum
        if found is not None and not _close(found, 0.0, atol=atol):
            return CheckResult("momentum", False,
                               f"momentum: {builder.name} compiles with plain {optimizer} "
                               f"(momentum 0), found momentum={number(found)}: write "
                               f"{optimizer}(learning_rate=learning_rate)", "0", number(found))
    return CheckResult("momentum", True, "momentum 0", "0", "0")


@never_raises
def check_setting_honoured(builder, setting: str, optimizer: str) -> CheckResult:
    """Each probe's argument ``setting`` reaches the optimizer (settings other than the learning
    rate and momentum, which have their own checks)."""
    for call in _compiled_calls(builder.calls):
        passed = call.args.get(setting)
        found = call.model.optimizer.settings.get(setting)
        if not _close(found, passed, rtol=LR_RTOL):
            return CheckResult(setting, False,
                               f"{setting}: you passed {number(passed)} but the optimizer uses "
                               f"{number(found)} — pass the function's {setting} argument to "
                               f"{optimizer}({setting}=...)", number(passed), number(found))
    return CheckResult(setting, True, f"the {setting} argument reaches the optimizer for every "
                                      "call")


@never_raises
def check_builder_nesterov(builder, expected: spec.OptimizerSpec) -> CheckResult:
    for call in _compiled_calls(builder.calls):
        result = check_nesterov(call.model, expected, builder.name)
        if not result.passed:
            return result
    wanted = str(bool(expected.settings.get("nesterov", False)))
    return CheckResult("nesterov", True, "Nesterov momentum" if wanted == "True" else
                       "no Nesterov momentum", wanted, wanted)


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
