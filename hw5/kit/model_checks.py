"""check_* functions on a model's facts (``analyse.ModelFacts``), on a builder's probe calls
(``analyse.BuilderFacts``) and on a trained-model variable (``analyse.VariableFacts``): is it
defined, compiled with the loss and metric asked for, can it learn (trainable, random kernels,
the weights of its config), and the grade-time training verdict (``check_learns``).

The architecture checks live in ``layer_checks``, the optimizer checks in ``optimizer_checks``;
``items`` puts them together per scored item.
"""
from __future__ import annotations

from . import spec
from .check_result import CheckResult, never_raises, number
from .layer_checks import check_model_rebuilt


def _call_text(builder: str, args: dict) -> str:
    return f"{builder}({', '.join(f'{k}={number(v)}' for k, v in args.items())})"


# ---------------------------------------------------------------------------------------------
# Model-level checks: weights, compile and training (ModelFacts)
# ---------------------------------------------------------------------------------------------
@never_raises
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


@never_raises
def check_compiled(facts) -> CheckResult:
    if facts.compiled:
        return CheckResult("compiled", True, "the model is compiled")
    extra = f" ({facts.compile_error})" if facts.compile_error else ""
    return CheckResult("compiled", False,
                       "the model is not compiled" + extra + ": call model.compile(optimizer=..., "
                       "loss=..., metrics=[...]) before `return model`", "compiled",
                       "not compiled")


@never_raises
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


@never_raises
def check_metrics(facts, expected=spec.METRIC) -> CheckResult:
    found = list(facts.metrics or [])
    shown = ", ".join(f"'{m}'" for m in found) if found else "none"
    if expected in found:
        return CheckResult("metrics", True, f"metrics include {expected}", expected, shown)
    return CheckResult("metrics", False, f"expected '{expected}' among the metrics, found "
                                         f"{shown}: compile(..., metrics=['{expected}'])",
                       expected, shown)


@never_raises
def check_not_frozen(facts) -> CheckResult:
    if not facts.frozen:
        return CheckResult("not_frozen", True, "every layer with weights is trainable")
    return CheckResult("not_frozen", False,
                       f"frozen layers (trainable=False): {', '.join(facts.frozen)}: their "
                       "weights never change during training; remove trainable=False / "
                       "model.trainable = False", "every layer trainable",
                       f"{len(facts.frozen)} frozen")


@never_raises
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
@never_raises
def check_builder_defined(builder) -> CheckResult:
    if builder.status == "missing":
        return CheckResult("defined", False, f"{builder.name} is not defined: run the cell that "
                                             "defines it, and keep the function's name",
                           "defined", "not defined")
    if builder.status == "error" and not builder.calls:
        return CheckResult("defined", False, builder.error or f"{builder.name} is not usable",
                           "a function", "not usable")
    return CheckResult("defined", True, f"{builder.name} is defined")


@never_raises
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


@never_raises
def check_builder_compiled(builder) -> CheckResult:
    for call in builder.calls:
        if call.model is not None and not call.model.compiled:
            result = check_compiled(call.model)
            return CheckResult("compiled", False, f"{_call_text(builder.name, call.args)}: "
                                                  f"{result.message}", "compiled", "not compiled")
    return CheckResult("compiled", True, "every returned model is compiled")


# ---------------------------------------------------------------------------------------------
# Variable-level checks (VariableFacts)
# ---------------------------------------------------------------------------------------------
@never_raises
def check_variable_defined(variable) -> CheckResult:
    if variable.status == "missing":
        return CheckResult("defined", False, f"{variable.name} is not defined: run the cell "
                                             "that builds and trains it, keeping this name",
                           "a trained model", "not defined")
    if variable.status != "ok" or variable.model is None:
        return CheckResult("defined", False, variable.error or f"{variable.name} is not a model",
                           "a Keras model", variable.status)
    return CheckResult("defined", True, f"{variable.name} is a model")


# ---------------------------------------------------------------------------------------------
# Grade-time training (the engine measures; this only words the result)
# ---------------------------------------------------------------------------------------------
def check_learns(accuracy, threshold, error=None, name="learns") -> CheckResult:
    if error or accuracy is None:
        return CheckResult(name, False, f"grade-time training failed: {error or 'no accuracy'}",
                           f"accuracy >= {float(threshold):.2f}", "training failed")
    accuracy, threshold = float(accuracy), float(threshold)
    where = (f"after {spec.GRADE_EPOCHS} epoch on the first {spec.GRADE_TRAIN_IMAGES:,} training "
             f"images (seed {spec.GRADE_SEED}), test accuracy on {spec.GRADE_TEST_IMAGES:,} images")
    expected, found = f"accuracy >= {threshold:.2f}", f"accuracy {accuracy:.3f}"
    if accuracy >= threshold:
        return CheckResult(name, True, f"{where} is {accuracy:.3f} (at least {threshold:.2f} "
                                       "needed)", expected, found)
    return CheckResult(name, False,
                       f"{where} is {accuracy:.3f}, expected at least {threshold:.2f}: check the "
                       "learning rate and momentum reach the optimizer, the activations, and "
                       "that no layer is frozen or initialised to zero", expected, found)
