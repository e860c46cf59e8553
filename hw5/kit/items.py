"""Scored items (``spec.Item``: kind, target, points) -> the CheckResults that decide them.

``run_item(item, bundle, reference)`` dispatches on what the item's kind applies to
(``item_kinds.ITEM_KINDS``) and on ``item.target``:

- ``architecture`` / ``optimizer`` / ``learns`` of a builder (``spec.BUILDERS``): the models its
  probe calls return. ``learns`` holds only the static pre-checks (compiled, trainable, kernels
  not constant, the architecture item passing); the grading engine adds the training run.
- ``variable`` (``spec.TRAINED_VARIABLES``): the trained model as a whole (architecture, every
  compile setting, trainability), how it was trained (``run_checks``), and whether the given
  code it depends on is unchanged.
- ``answer``: the written answers, against reference answers passed in by the trusted side.

Results are computed once per export: they are cached in ``bundle.cache``. An item passes when
all its checks pass; ``summary`` says in one line what a passing item verified.
"""
from __future__ import annotations

import dataclasses

from . import item_kinds
from . import layer_checks as L
from . import model_checks as C
from . import optimizer_checks as O
from . import run_checks as R
from . import spec
from .check_result import CheckResult, number
from .analyse_compile import canonical_loss, canonical_metrics, optimizer_facts
from .run_data_checks import compile_settings

BUILDER_KINDS = item_kinds.item_kinds(item_kinds.BUILDER)


def item_passed(results) -> bool:
    return bool(results) and all(r.passed for r in results)


def _unique(results) -> list:
    out = []
    for r in results:
        if all((r.name, r.message) != (o.name, o.message) for o in out):
            out.append(r)
    return out


def builder_of(variable: str) -> str:
    """The builder the notebook makes ``variable``'s model with (``spec.TrainedVariable``)."""
    return spec.TRAINED_VARIABLES[variable].builder


# ---------------------------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------------------------
def builder_items(builder) -> dict:
    """kind (``architecture``, ``optimizer``, ``learns``) -> CheckResults, for one
    ``analyse.BuilderFacts``."""
    bspec = spec.BUILDERS[builder.name]
    defined = C.check_builder_defined(builder)
    if not defined.passed:
        return {kind: [defined] for kind in BUILDER_KINDS}
    calls = C.check_builder_calls(builder)
    first = next((c.model for c in builder.calls if c.model is not None), None)
    if first is None:
        return {kind: [calls] for kind in BUILDER_KINDS}
    pre = [] if calls.passed else [calls]

    architecture = pre + L.architecture_checks(first, bspec.architecture)

    compiled = C.check_builder_compiled(builder)
    optimizer = pre + [compiled]
    if compiled.passed:
        optimizer += O.builder_optimizer_checks(builder, bspec.optimizer)
        optimizer += [C.check_loss(first), C.check_metrics(first)]

    learns = pre + [compiled] + C.training_checks(first)
    if item_passed(architecture):
        learns.append(CheckResult("architecture", True, "the architecture is as asked"))
    else:
        learns.append(CheckResult(
            "architecture", False, "grade-time training needs the architecture asked for: fix "
                                   "the architecture first (see its item)",
            "the architecture asked for", "a different architecture"))
    return {"architecture": _unique(architecture), "optimizer": _unique(optimizer),
            "learns": _unique(learns)}


def _builder_results(bundle, name) -> dict:
    key = ("builder", name)
    if key not in bundle.cache:
        bundle.cache[key] = builder_items(bundle.builders[name])
    return bundle.cache[key]


# ---------------------------------------------------------------------------------------------
# Trained models
# ---------------------------------------------------------------------------------------------
def _missing(defined, variable, bundle):
    """Why the variable is missing, naming the builder when the builder is what failed."""
    if bundle is None or variable.status != "missing":
        return defined
    builder = bundle.builders.get(builder_of(variable.name))
    if builder is None or builder.status == "ok" and all(c.model for c in builder.calls):
        return defined
    cause = builder.error or next((c.error for c in builder.calls if c.error), None) \
        or f"{builder.name} is not defined"
    return CheckResult("defined", False,
                         f"{variable.name} is not defined because {builder.name} failed "
                         f"({cause}): fix {builder.name}, then run the cell that trains "
                         f"{variable.name}", "a trained model", f"{builder.name} failed")


def _given_code(variable, bundle) -> list:
    out = []
    builder = builder_of(variable.name)
    if builder in spec.GIVEN_BUILDERS:
        results = [r for kind in BUILDER_KINDS for r in _builder_results(bundle, builder)[kind]]
        out.append(R.check_given_builder(builder, results))
    if bundle.runs.recorded:
        out += [R.check_given_data(bundle.runs), R.check_data_whole(bundle.runs)]
    return out


def _compile_results(facts, tv, name) -> list:
    compiled = C.check_compiled(facts)
    results = [compiled]
    if compiled.passed:
        results += O.optimizer_checks(facts, tv.optimizer, name)
        results += [C.check_loss(facts), C.check_metrics(facts)]
    return results


def _settings_trained_with(variable, facts, bundle) -> list:
    """[(model facts, note)]: the compile settings each graded fit ran with (recorded at the
    fit), with a note when they differ from the model's settings now; the model's own settings
    when no fit recorded them."""
    if bundle is None or not bundle.runs.recorded:
        return [(facts, "")]
    out = []
    for call, settings in compile_settings(bundle.runs.calls_on(variable.model_object)):
        at_fit = dataclasses.replace(
            facts, compiled=True, optimizer=optimizer_facts(settings.get("optimizer")),
            loss=canonical_loss(settings.get("loss")),
            metrics=canonical_metrics(settings.get("metrics")))
        same = (at_fit.optimizer, at_fit.loss, at_fit.metrics) == \
            (facts.optimizer, facts.loss, facts.metrics)
        note = "" if same else (f"{variable.name} was compiled again or re-tuned after it was "
                                f"trained; graded on the settings it trained with "
                                f"({call.where()}): ")
        out.append((at_fit, note))
    return out or [(facts, "")]


def variable_item(variable, bundle=None) -> list:
    """The CheckResults of ``variable_<name>`` for one ``analyse.VariableFacts``; with the
    export's ``bundle``, also the given code it depends on and how it was trained."""
    tv = spec.TRAINED_VARIABLES[variable.name]
    defined = C.check_variable_defined(variable)
    if not defined.passed:
        return [_missing(defined, variable, bundle)]
    facts = variable.model
    results = _given_code(variable, bundle) if bundle is not None else []
    results += L.architecture_checks(facts, tv.architecture)
    for settings, note in _settings_trained_with(variable, facts, bundle):
        for result in _compile_results(settings, tv, variable.name):
            if note and not result.passed:
                result = dataclasses.replace(result, message=note + result.message)
            results.append(result)
    results += C.training_checks(facts, bundle is not None and bundle.runs.recorded)
    if bundle is not None:
        results += R.fit_checks(bundle.runs, variable)
    return _unique(results)


# ---------------------------------------------------------------------------------------------
# Items
# ---------------------------------------------------------------------------------------------
def _answer(item, bundle, reference) -> list:
    """``reference`` (trusted side only) maps each answer variable to the grading side's check:
    a callable taking ``bundle.answers`` and returning a list of CheckResult. The key, the hints
    and the computation of P3 never live in the kit, which is shipped to students."""
    check = reference.get(spec.ANSWER_ITEM_VARIABLES.get(item.target, item.target))
    if not callable(check):
        return [CheckResult(item.target, False, "no reference check given to the answer item")]
    return list(check(bundle.answers))


def _compute(item, bundle, reference) -> list:
    kind = item_kinds.ITEM_KINDS.get(item.kind)
    applies_to = kind.applies_to if kind is not None else None
    if applies_to == item_kinds.ANSWER:
        return _answer(item, bundle, reference or {})
    if applies_to == item_kinds.VARIABLE and item.target in spec.TRAINED_VARIABLES:
        return variable_item(bundle.variables[item.target], bundle)
    if applies_to == item_kinds.BUILDER and item.target in spec.BUILDERS:
        return _builder_results(bundle, item.target)[item.kind]
    return [CheckResult("item", False, f"unknown item {item.id!r}")]


def run_item(item, bundle, reference=None) -> list:
    """The CheckResults that score ``item`` (a ``spec.Item``, or its id in ``spec.ITEMS``).

    ``bundle`` is an ``analyse.FactsBundle``; ``reference`` maps answer names to the grading
    side's answer checks (trusted side only, see ``_answer``). Computed once per bundle.
    """
    if isinstance(item, str):
        item = spec.ITEMS.get(item, item)
    if not isinstance(item, spec.Item):
        return [CheckResult("item", False, f"unknown item {item!r}")]
    key = ("item", item.id)
    if key not in bundle.cache:
        try:
            bundle.cache[key] = _compute(item, bundle, reference)
        except Exception as exc:  # noqa: BLE001 - one broken item costs only its own points
            bundle.cache[key] = [CheckResult(item.id, False, f"{item.id}: the checks could not "
                                               f"run ({type(exc).__name__}: {exc})")]
    return bundle.cache[key]


# ---------------------------------------------------------------------------------------------
# What a passing item verified, in one line
# ---------------------------------------------------------------------------------------------
def _loss_text(loss) -> str:
    return str(loss).replace("_crossentropy", " cross-entropy").replace("_", " ")


def _model_text(facts, layers) -> str:
    return f"{len(layers)} layers as asked, {number(facts.total_params)} parameters"


def _optimizer_text(facts, expected) -> str:
    opt = facts.optimizer
    text = f"{opt.class_name} lr {number(opt.learning_rate)}"
    if "momentum" in expected.settings:
        text += f", momentum {number(opt.momentum or 0.0)}"
    return text


def _fit_text(runs, variable) -> str:
    if not runs.recorded:
        return R.NOT_RECORDED
    calls = runs.calls_on(variable.model_object)
    epochs = sum(c.epochs_run for c in calls)
    split = f" in {len(calls)} fit calls" if len(calls) > 1 else ""
    return (f"fit: {epochs} epochs{split}, batch {spec.BATCH_SIZE}, all {spec.TRAIN_IMAGES:,} "
            f"training images, validation on the {spec.TEST_IMAGES:,} test images, from fresh "
            "weights, no callback or argument that changes training")


def summary(item, bundle) -> str:
    """One short line saying what a passing ``item`` verified."""
    try:
        if item.kind == "variable":
            variable = bundle.variables[item.target]
            tv = spec.TRAINED_VARIABLES[item.target]
            facts = variable.model
            return (f"{_model_text(facts, spec.ARCHITECTURES[tv.architecture])}, "
                    f"{_optimizer_text(facts, tv.optimizer)}, {_loss_text(facts.loss)}, "
                    f"{_fit_text(bundle.runs, variable)}")
        if item.kind in BUILDER_KINDS:
            bspec = spec.BUILDERS[item.target]
            facts = next(c.model for c in bundle.builders[item.target].calls if c.model)
            if item.kind == "architecture":
                return (f"{_model_text(facts, spec.ARCHITECTURES[bspec.architecture])}: "
                        + " → ".join(l.describe() for l in spec.ARCHITECTURES[bspec.architecture]))
            if item.kind == "optimizer":
                settings = bspec.optimizer.settings
                passed = [k for k, v in settings.items() if v == spec.ARGUMENT]
                args = " and ".join(passed) + (" arguments" if len(passed) > 1 else " argument")
                extra = "".join(f", {k} {number(v)}" for k, v in settings.items()
                                if v != spec.ARGUMENT)
                return (f"{facts.optimizer.class_name} with the {args} of every call{extra}, "
                        f"{_loss_text(facts.loss)}, metrics include {spec.METRIC}")
            return "compiled, every layer trainable, random initial kernels, architecture as asked"
    except Exception:  # noqa: BLE001 - a summary is a courtesy
        pass
    results = run_item(item, bundle)
    return "; ".join(r.message for r in results) if results else "passed"
