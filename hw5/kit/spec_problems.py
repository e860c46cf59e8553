"""What is inconsistent in a spec, in plain words that say what to do.

``spec`` always imports, so that the scripts that repair it (``scripts/reference_results.py``)
and the tools that report on it can run; ``problems()`` lists what does not fit together.
``hw5 build`` refuses to build and ``hw5 validate`` fails while the list is not empty.

What is an invariant here and what is course data: the points of every question are course data
(a course may give P3 5 points and the written part 21), so the written/notebook totals are not
checked: every text reads them from ``spec.PART_POINTS``. What is checked is what other data or
text relies on: an autograded question's items add up to its points, every notebook section adds
up to ``SECTION_POINTS`` (the notebook's text says each section is worth that much), the layer
list agrees with itself, every name an item, a probe or a threshold refers to exists, and every
trained variable has a measured reference run.
"""
from __future__ import annotations

import math

from . import spec as _spec
from .item_kinds import ANSWER, BUILDER, ITEM_KINDS, VARIABLE

_EPS = 1e-9
_REFERENCE_SCRIPT = "run scripts/reference_results.py (it measures the solution's runs)"


def problems(spec=_spec, kinds=None) -> list:
    """Every inconsistency of ``spec`` (the module, or any object with its attribute names) with
    the item ``kinds`` (``item_kinds.ITEM_KINDS`` by default), each as one sentence saying what is
    wrong and what to do; [] when there is none."""
    kinds = ITEM_KINDS if kinds is None else kinds
    out = _item_kind_problems(kinds) + _architecture_problems(spec) + _builder_problems(spec, kinds)
    out += _trained_variable_problems(spec) + _question_problems(spec, kinds)
    return out + _section_problems(spec)


# ---------------------------------------------------------------------------------------------
# Item kinds
# ---------------------------------------------------------------------------------------------
def _targets(spec) -> dict:
    """What each ``ItemKind.applies_to`` names -> the names an item of that kind may target."""
    return {BUILDER: spec.BUILDERS, VARIABLE: spec.TRAINED_VARIABLES,
            ANSWER: spec.ANSWER_ITEM_VARIABLES}


def _item_kind_problems(kinds) -> list:
    out = []
    for name, kind in kinds.items():
        if kind.name != name:
            out.append(f"ITEM_KINDS[{name!r}] is named {kind.name!r}: use the same name for both")
        if kind.applies_to not in (BUILDER, VARIABLE, ANSWER):
            out.append(f"item kind {name!r} applies to {kind.applies_to!r}: make it one of "
                       f"{', '.join(map(repr, (BUILDER, VARIABLE, ANSWER)))}")
    return out


# ---------------------------------------------------------------------------------------------
# Architectures: each layer's parameters and output shape follow from the layer before
# ---------------------------------------------------------------------------------------------
def _window(size, kernel, stride, padding) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    return (size - kernel) // stride + 1


def _layer_effect(layer, shape):
    """(output shape, parameters) that ``layer`` has on an input of ``shape``; None if unknown."""
    if layer.kind == "conv" and len(shape) == 3 and layer.kernel_size:
        strides = layer.strides or (1, 1)
        out = tuple(_window(shape[i], layer.kernel_size[i], strides[i], layer.padding)
                    for i in range(2)) + (layer.filters,)
        return out, (layer.kernel_size[0] * layer.kernel_size[1] * shape[2] + 1) * layer.filters
    if layer.kind == "pool" and len(shape) == 3 and layer.pool_size:
        strides = layer.strides or layer.pool_size
        out = tuple(_window(shape[i], layer.pool_size[i], strides[i], layer.padding)
                    for i in range(2)) + (shape[2],)
        return out, 0
    if layer.kind == "flatten":
        return (math.prod(shape),), 0
    if layer.kind == "dense" and len(shape) == 1:
        return (layer.units,), (shape[0] + 1) * layer.units
    return None


def _architecture_problems(spec) -> list:
    out = []
    for name, layers in spec.ARCHITECTURES.items():
        shape = tuple(spec.IMAGE_SHAPE)
        for n, layer in enumerate(layers, 1):
            where = f"architecture {name!r}, layer {n} ({layer.describe()})"
            effect = _layer_effect(layer, shape)
            if effect is None:
                out.append(f"{where}: a {layer.kind!r} layer cannot follow output shape {shape}: "
                           "fix the layer list in spec.ARCHITECTURES")
                break
            out_shape, params = effect
            if tuple(layer.output_shape) != out_shape:
                out.append(f"{where}: the layer list says output shape {tuple(layer.output_shape)}, "
                           f"its input {shape} gives {out_shape}: fix output_shape")
            if layer.params != params:
                out.append(f"{where}: the layer list says {layer.params:,} parameters, its input "
                           f"{shape} gives {params:,}: fix params (the architecture's total, "
                           f"{sum(l.params for l in layers):,} as listed, is quoted to students)")
            shape = out_shape
        if layers and tuple(layers[-1].output_shape) != (spec.NUM_CLASSES,):
            out.append(f"architecture {name!r} ends in output shape "
                       f"{tuple(layers[-1].output_shape)}, expected ({spec.NUM_CLASSES},) "
                       "(NUM_CLASSES): fix its last layer")
    return out


# ---------------------------------------------------------------------------------------------
# Builders and trained variables
# ---------------------------------------------------------------------------------------------
def _builder_problems(spec, kinds) -> list:
    out = []
    trained = {i.target for q in spec.QUESTIONS for i in q.items
               if i.kind in kinds and kinds[i.kind].trained_by_grader}
    for name, b in spec.BUILDERS.items():
        where = f"builder {name}"
        if b.name != name:
            out.append(f"BUILDERS[{name!r}] is named {b.name!r}: use the same name for both")
        if b.architecture not in spec.ARCHITECTURES:
            out.append(f"{where} uses architecture {b.architecture!r}, which ARCHITECTURES does "
                       f"not define: add it or use one of {', '.join(spec.ARCHITECTURES)}")
        params = set(b.params)
        for args in tuple(b.probes) + (b.train_args,):
            if set(args) != params:
                out.append(f"{where} is called with {sorted(args)}, but its parameters are "
                           f"{sorted(params)}: give every probe and train_args exactly these")
        if len(b.probes) < 2:
            out.append(f"{where} has {len(b.probes)} probe(s): give at least two, so that a "
                       "builder ignoring its arguments shows")
        for p in b.params:
            if len(b.probes) >= 2 and len({repr(args.get(p)) for args in b.probes}) < 2:
                out.append(f"{where}: every probe passes the same {p}: make two probes differ "
                           f"in {p}, so that a builder ignoring it shows")
        for setting, value in b.optimizer.settings.items():
            if value == spec.ARGUMENT and setting not in params:
                out.append(f"{where}'s optimizer takes {setting} from an argument, but {setting} "
                           f"is not one of its parameters: add it to params or give a value")
        if name in trained and name not in spec.ACCURACY_THRESHOLDS:
            out.append(f"{where} is trained by the grader but has no ACCURACY_THRESHOLDS entry: "
                       "calibrate one with scripts/calibrate_thresholds.py")
    for name in spec.GIVEN_BUILDERS:
        if name not in spec.BUILDERS:
            out.append(f"GIVEN_BUILDERS names {name}, which BUILDERS does not define: add it "
                       "there or remove it from GIVEN_BUILDERS")
    return out


def _trained_variable_problems(spec) -> list:
    out = []
    for name, tv in spec.TRAINED_VARIABLES.items():
        if tv.model != name:
            out.append(f"TRAINED_VARIABLES[{name!r}] is named {tv.model!r}: use the same name "
                       "for both")
        builder = spec.BUILDERS.get(tv.builder)
        if builder is None:
            out.append(f"trained variable {name} is built with {tv.builder}, which BUILDERS does "
                       f"not define: add it or use one of {', '.join(spec.BUILDERS)}")
        else:
            out += _optimizer_mismatch(spec, name, tv.optimizer, builder)
        if name not in spec.REFERENCE_RUNS:
            out.append(f"trained variable {name} has no measured reference run: "
                       f"{_REFERENCE_SCRIPT}")
    for name in spec.REFERENCE_RUNS:
        if name not in spec.TRAINED_VARIABLES:
            out.append(f"the reference runs include {name}, which is not a trained variable: "
                       f"{_REFERENCE_SCRIPT} again")
    return out


def _optimizer_mismatch(spec, name, optimizer, builder) -> list:
    """What in a trained variable's optimizer its builder cannot give."""
    where = f"trained variable {name}"
    expected = builder.optimizer
    if optimizer.class_name != expected.class_name:
        return [f"{where} expects optimizer {optimizer.class_name}, but its builder "
                f"{builder.name} compiles with {expected.class_name}: build it with a builder "
                f"of {optimizer.class_name} (add one to BUILDERS) or fix its optimizer"]
    out = []
    for setting, value in expected.settings.items():
        if value == spec.ARGUMENT and setting not in optimizer.settings:
            out.append(f"{where} gives no {setting}, an argument of {builder.name}: add "
                       f"{setting} to its optimizer settings")
        elif value != spec.ARGUMENT and optimizer.settings.get(setting, value) != value:
            out.append(f"{where} expects {setting} {optimizer.settings[setting]}, but "
                       f"{builder.name} always uses {value}: fix one of them")
    return out


# ---------------------------------------------------------------------------------------------
# Questions, items and points
# ---------------------------------------------------------------------------------------------
def _points(value) -> str:
    return f"{value:g}"


def _question_problems(spec, kinds) -> list:
    out = []
    seen_questions, seen_items = set(), set()
    targets = _targets(spec)
    for q in spec.QUESTIONS:
        where = f"question {q.id}"
        if q.id in seen_questions:
            out.append(f"{where} is listed twice in QUESTIONS: give every question its own id")
        seen_questions.add(q.id)
        if q.kind not in (spec.AUTO, spec.MANUAL):
            out.append(f"{where} is graded {q.kind!r}: use AUTO or MANUAL")
        if q.part not in spec.PARTS:
            out.append(f"{where} is in part {q.part!r}: use one of {', '.join(spec.PARTS)}")
        if q.kind == spec.MANUAL and q.items:
            out.append(f"{where} is graded by hand but has autograded items: make it AUTO or "
                       "remove its items")
        if q.kind == spec.AUTO:
            total = sum(i.points for i in q.items)
            if abs(total - q.points) > _EPS:
                out.append(f"{where} is worth {_points(q.points)} points, but its items add up "
                           f"to {_points(total)}: change the items' points or the question's")
        for item in q.items:
            if item.id in seen_items:
                out.append(f"item {item.id} is scored twice: keep it in one question only")
            seen_items.add(item.id)
            kind = kinds.get(item.kind)
            if kind is None:
                out.append(f"{where}: item kind {item.kind!r} is not one of ITEM_KINDS "
                           f"({', '.join(kinds)}): register it there or fix the item")
            elif item.target not in targets.get(kind.applies_to, ()):
                out.append(f"{where}: item {item.id} is about {item.target!r}, which is not a "
                           f"{kind.applies_to} the spec defines: add it there or fix the item")
    return out


def _section_problems(spec) -> list:
    out = []
    sections = sorted({q.section for q in spec.QUESTIONS if q.section is not None})
    for q in spec.QUESTIONS:
        if q.part == "notebook" and q.section is None:
            out.append(f"question {q.id} is in the notebook part but in no section: give it "
                       "section=")
    if sections and sections != list(range(1, len(sections) + 1)):
        out.append(f"the notebook's sections are numbered {sections}: number them from 1 without "
                   "gaps")
    for n in sections:
        total = sum(q.points for q in spec.QUESTIONS if q.section == n)
        if abs(total - spec.SECTION_POINTS) > _EPS:
            out.append(f"section {n}'s points add up to {_points(total)}, expected SECTION_POINTS "
                       f"{_points(spec.SECTION_POINTS)} (the notebook says every section is worth "
                       "that): change the points of its questions or SECTION_POINTS")
    return out


class SpecProblems(ValueError):
    """The spec is inconsistent; ``problems`` says how, one sentence each."""

    def __init__(self, found: list):
        self.problems = list(found)
        super().__init__("the spec (hw5/kit/spec.py) is inconsistent:\n"
                         + "\n".join(f"- {p}" for p in self.problems))


def require_consistent(spec=_spec) -> None:
    """Raise ``SpecProblems`` when ``problems(spec)`` finds any."""
    found = problems(spec)
    if found:
        raise SpecProblems(found)
