"""check_* functions on a model's layers (``analyse.ModelFacts``): the architecture.

Part of ``model_checks`` (which re-exports every name here, as ``checks`` does): the model
rebuilds, its input shape, the sequence of layers, each layer's settings and output shape, and
the parameter count, compared with a ``spec.ARCHITECTURES`` entry (``architecture_checks``).
"""
from __future__ import annotations

import difflib

from . import spec
from .check_result import CheckResult, never_raises, number, shape_text, size_text


def _found_describe(layer) -> str:
    """A found layer in the style of spec.Layer.describe()."""
    if layer.kind == "conv":
        return f"Conv2D({layer.filters}, {size_text(layer.kernel_size)}, {layer.activation})"
    if layer.kind == "pool":
        return f"MaxPooling2D({size_text(layer.pool_size)})"
    if layer.kind == "flatten":
        return "Flatten()"
    if layer.kind == "dense":
        return f"Dense({layer.units}, {layer.activation})"
    return f"{layer.class_name}({layer.detail})"


def _chain(descriptions) -> str:
    return " → ".join(descriptions) if descriptions else "no layers"


# ---------------------------------------------------------------------------------------------
# Architecture checks (ModelFacts)
# ---------------------------------------------------------------------------------------------
@never_raises
def check_model_rebuilt(facts) -> CheckResult:
    if facts is None:
        return CheckResult("model_rebuilt", False, "no model to check", "a model", "none")
    if not facts.ok:
        return CheckResult("model_rebuilt", False, facts.error or "the model could not be rebuilt",
                           "a model of built-in Keras layers", "a model the grader cannot rebuild")
    return CheckResult("model_rebuilt", True, "the model rebuilds from its configuration")


@never_raises
def check_input_shape(facts, expected=spec.IMAGE_SHAPE) -> CheckResult:
    expected = tuple(expected)
    found = tuple(facts.input_shape) if facts.input_shape is not None else None
    if found == expected:
        return CheckResult("input_shape", True, f"input shape {shape_text(expected)}",
                           shape_text(expected), shape_text(found))
    return CheckResult("input_shape", False,
                       f"expected input shape {shape_text(expected)}, found {shape_text(found)}: "
                       f"start the model with keras.Input(shape={expected})",
                       shape_text(expected), shape_text(found))


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


@never_raises
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
    "kernel_size": lambda e, f: (f"expected kernel_size {size_text(e)}, found {size_text(f)}",
                                 f"write Conv2D(..., kernel_size={tuple(e)})"),
    "strides": lambda e, f: (f"expected strides {size_text(e)}, found {size_text(f)}",
                             "use strides=1 (the default)"),
    "padding": lambda e, f: (f"expected padding '{e}', found '{f}'",
                             f"use padding='{e}' (the default)"),
    "pool_size": lambda e, f: (f"expected pool size {size_text(e)}, found {size_text(f)}",
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


@never_raises
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
                expected.append(f"{attr} {size_text(want) if isinstance(want, tuple) else want}")
                found_parts.append(f"{attr} {size_text(got) if isinstance(got, tuple) else got}")
        for key, value in found.extras.items():
            problems.append(f"{found.label()}: {key}={value} is not asked for: remove it")
            expected.append(f"no {key}")
            found_parts.append(f"{key} {value}")
        if exp.kind == "pool" and found.strides is not None and found.pool_size is not None \
                and tuple(found.strides) != tuple(found.pool_size):
            problems.append(f"{found.label()}: expected strides equal to the pool size "
                            f"{size_text(exp.pool_size)}, found {size_text(found.strides)}: "
                            "leave strides out")
            expected.append(f"strides {size_text(exp.pool_size)}")
            found_parts.append(f"strides {size_text(found.strides)}")
    if problems:
        return CheckResult("layer_settings", False, "; ".join(problems), ", ".join(expected),
                           ", ".join(found_parts))
    return CheckResult("layer_settings", True, "every layer has the expected settings")


@never_raises
def check_output_shapes(facts, expected_layers) -> CheckResult:
    problems = []
    first = None
    for exp, found in _aligned_pairs(tuple(expected_layers), list(facts.layers)):
        got = tuple(found.output_shape) if found.output_shape is not None else None
        if tuple(exp.output_shape) != got:
            first = first or (shape_text(exp.output_shape), shape_text(got))
            problems.append(f"{found.label()}: expected output shape "
                            f"{shape_text(exp.output_shape)}, found {shape_text(got)}")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return CheckResult("output_shapes", False, "; ".join(problems[:3]) + more +
                           ": the first mismatch is usually the one to fix", *first)
    return CheckResult("output_shapes", True, "every layer has the expected output shape")


@never_raises
def check_total_params(facts, expected_layers) -> CheckResult:
    expected_layers = tuple(expected_layers)
    expected = sum(l.params for l in expected_layers)
    found = facts.total_params
    if found is not None and found == expected:
        return CheckResult("total_params", True, f"{number(expected)} parameters", number(expected),
                           number(found))
    where = ""
    for exp, layer in _aligned_pairs(expected_layers, list(facts.layers)):
        if exp.params != layer.params:
            where = (f" ({layer.label()} has {number(layer.params)} instead of "
                     f"{number(exp.params)})")
            break
    return CheckResult("total_params", False,
                       f"expected {number(expected)} parameters, found {number(found)}{where}",
                       number(expected), number(found))


def architecture_checks(facts, architecture: str) -> list:
    """Every architecture check of one model against ``spec.ARCHITECTURES[architecture]``."""
    rebuilt = check_model_rebuilt(facts)
    if not rebuilt.passed:
        return [rebuilt]
    layers = spec.ARCHITECTURES[architecture]
    return [check_layer_kinds(facts, layers), check_layer_settings(facts, layers),
            check_input_shape(facts), check_output_shapes(facts, layers),
            check_total_params(facts, layers)]
