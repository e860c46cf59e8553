"""describe -> JSON -> analyse -> checks on real Keras models (built, never trained).

Reference builders pass every item; each mutant loses exactly the items it should, with a
message naming the fault; each equivalent spelling gets full marks.
"""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from keras import layers

from hw5 import answer_key
from hw5.kit import analyse, checks, describe, items, public, spec
from hw5.kit.analyse_runs import analyse_runs
from hw5.mutants import (EQUIVALENT_SPELLINGS, MUTANTS, REFERENCE_SOURCES, Mutant,
                         load_builder)

from export_helpers import (REFERENCE, STUDENT_ID, describe_ns, model_for, object_ids, reference_namespace,
                            roundtrip, v2)

_roundtrip = roundtrip
_CACHE: dict = {}


def _builder_facts(m: Mutant):
    """describe -> json.dumps/loads -> analyse, once per source."""
    key = (m.builder, m.source)
    if key not in _CACHE:
        fn = load_builder(m.source, m.builder)
        export = _roundtrip(describe.describe_builder(fn, spec.BUILDERS[m.builder]))
        _CACHE[key] = analyse.analyse_builder(m.builder, export)
    return _CACHE[key]


def _items_for(m: Mutant) -> dict:
    return checks.builder_items(_builder_facts(m))


def _failing(items: dict) -> set:
    return {item for item, results in items.items() if not checks.item_passed(results)}


def _messages(results) -> str:
    return "\n".join(r.message for r in results if not r.passed)


# ---------------------------------------------------------------------------------------------
# The whole notebook: every scored item of an export of schema 2 (describe + fit records)
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference():
    ns = reference_namespace()
    export = v2(describe_ns(ns), ns)
    keras.backend.clear_session()
    return export


def _mutant_bundle(reference, m: Mutant):
    """The reference export with ``m``'s builder, and the models the notebook builds with it."""
    export = json.loads(json.dumps(reference))
    fn = load_builder(m.source, m.builder)
    changed = [n for n in spec.TRAINED_VARIABLES if items.builder_of(n) == m.builder]
    ids = object_ids()
    for name in changed:
        try:
            model = model_for(name, {m.builder: fn})
            entry = _roundtrip(describe.describe_variable(name, model))
        except Exception:  # the notebook's cell fails: no model, no fit
            model, entry = None, {"status": "missing", "error": f"{name} is not defined",
                                  "model": None}
        if entry.get("model"):
            entry["model_object"] = entry["model"]["model_object"] = ids[name]
            entry["model"]["weight_shapes"] = [list(w.shape) for w in model.weights]
        else:  # `history = model.fit(...)` fails on what the builder returned
            entry["model_object"] = None
            export["fit_calls"] = [f for f in export["fit_calls"] if f["model_object"] != ids[name]]
            history = spec.TRAINED_VARIABLES[name].history
            export["histories"][history] = {"status": "missing", "fit_call": None, "error": None}
        export["variables"][name] = entry
    base = _reference_bundle(reference)
    builders = dict(base.builders)
    builders[m.builder] = _builder_facts(m)
    variables = dict(base.variables)
    variables.update({n: analyse.analyse_variable(n, export["variables"][n]) for n in changed})
    return analyse.FactsBundle(builders, variables, base.answers, analyse_runs(export))


def _reference_bundle(reference):
    if "reference_bundle" not in _CACHE:
        _CACHE["reference_bundle"] = analyse.analyse_export(reference)
    bundle = _CACHE["reference_bundle"]
    return analyse.FactsBundle(bundle.builders, bundle.variables, bundle.answers, bundle.runs)


def _graded(bundle) -> dict:
    return {item.id: checks.run_item(item, bundle, REFERENCE) for item in spec.ITEMS.values()}


def _failed_items(graded) -> set:
    return {item for item, results in graded.items() if not checks.item_passed(results)}


def test_reference_export_scores_every_item(reference):
    graded = _graded(_reference_bundle(reference))
    assert not _failed_items(graded), {i: _messages(r) for i, r in graded.items()}


@pytest.mark.parametrize("builder", list(spec.BUILDERS))
def test_reference_builder_passes_every_item(builder):
    found = _items_for(Mutant("reference", builder, REFERENCE_SOURCES[builder], ""))
    assert set(found) == set(items.BUILDER_KINDS)
    for kind, results in found.items():
        assert checks.item_passed(results), (kind, _messages(results))
        assert all(isinstance(r, checks.CheckResult) and r.message for r in results)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_exactly_its_items(reference, mutant):
    graded = _graded(_mutant_bundle(reference, mutant))
    assert _failed_items(graded) == set(mutant.fails), \
        {i: _messages(r) for i, r in graded.items() if not checks.item_passed(r)}
    text = "\n".join(_messages(graded[item]) for item in mutant.fails)
    for fragment in mutant.expect:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize("spelling", EQUIVALENT_SPELLINGS, ids=lambda m: m.name)
def test_equivalent_spelling_gets_full_marks(reference, spelling):
    graded = _graded(_mutant_bundle(reference, spelling))
    assert not _failed_items(graded), {i: _messages(r) for i, r in graded.items()}


def _layer_facts(m: Mutant):
    return _builder_facts(m).calls[0].model


def test_equivalent_spellings_give_identical_facts():
    def strip(facts):
        return [(l.kind, l.filters, l.units, l.kernel_size, l.strides, l.padding, l.pool_size,
                 l.activation, l.output_shape, l.params) for l in facts.layers]

    ref = _layer_facts(Mutant("r", "define_model_with_momentum",
                              REFERENCE_SOURCES["define_model_with_momentum"], ""))
    for name in ("functional", "separate_activation_layers", "int_sizes", "tensorflow_keras",
                 "no_input_spec", "loss_metric_objects", "reshape_for_flatten"):
        m = next(s for s in EQUIVALENT_SPELLINGS if s.name == name)
        facts = _layer_facts(m)
        assert strip(facts) == strip(ref), name
        assert (facts.total_params, facts.loss, facts.metrics) == \
               (ref.total_params, ref.loss, ref.metrics)
    assert ref.total_params == spec.TOTAL_PARAMS["baseline"]
    assert ref.optimizer.class_name == "SGD" and ref.optimizer.nesterov is False


# ---------------------------------------------------------------------------------------------
# Robustness of describe / analyse
# ---------------------------------------------------------------------------------------------
class _Custom(layers.Layer):
    def call(self, x):
        return x


def _compiled(model):
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_custom_and_lambda_layers_give_error_facts_not_crashes():
    custom = _compiled(keras.Sequential([keras.Input((28, 28, 1)), _Custom(), layers.Flatten(),
                                         layers.Dense(10, activation="softmax")]))
    facts = analyse.analyse_model(_roundtrip(describe.describe_model(custom)))
    assert not facts.ok and "_Custom" in facts.error and "built-in keras.layers" in facts.error
    assert facts.compiled and facts.optimizer.class_name == "SGD"  # compile facts still read
    result = checks.architecture_checks(facts, "baseline")
    assert [r.passed for r in result] == [False]

    lam = _compiled(keras.Sequential([keras.Input((28, 28, 1)), layers.Lambda(lambda x: x),
                                      layers.Flatten(), layers.Dense(10)]))
    facts = analyse.analyse_model(_roundtrip(describe.describe_model(lam)))
    assert not facts.ok and "Lambda" in facts.error
    keras.backend.clear_session()


@pytest.mark.parametrize("bad", [None, {}, {"config_json": "not json"},
                                 {"config_json": "[1, 2]"},
                                 {"config_json": json.dumps({"class_name": "os.system",
                                                             "module": "os", "config": {}})}])
def test_analyse_never_raises_on_garbage(bad):
    facts = analyse.analyse_model(bad)
    assert facts.ok is False and facts.error


def test_builder_returning_non_models_and_raising():
    b = spec.BUILDERS["define_model_with_momentum"]
    out = describe.describe_builder(lambda learning_rate, momentum: "model", b)
    assert out["status"] == "error" and "returned a str, not a Keras model" in out["error"]

    def old_keras(learning_rate, momentum):
        keras.optimizers.SGD(lr=learning_rate)

    out = _roundtrip(describe.describe_builder(old_keras, b))
    assert out["error"].startswith("define_model_with_momentum(learning_rate=0.01, momentum=0.9)"
                                   " raised ValueError: Argument(s) not recognized")
    assert spec.KERAS3_FIXES["Argument(s) not recognized: {'lr'"] in out["error"]

    out = describe.describe_builder(lambda lr, m: None, b)
    assert "keep the parameter names" in out["calls"][0]["error"]


def test_uncompiled_model_without_input_is_built_and_described():
    model = keras.Sequential([layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(),
                              layers.Flatten(), layers.Dense(100, activation="relu"),
                              layers.Dense(10, activation="softmax")])
    export = _roundtrip(describe.describe_model(model))
    assert export["compiled"] is False and export["optimizer"] is None
    facts = analyse.analyse_model(export)
    assert facts.ok and facts.total_params == spec.TOTAL_PARAMS["baseline"]
    assert all(r.passed for r in checks.architecture_checks(facts, "baseline"))
    assert not checks.check_compiled(facts).passed
    keras.backend.clear_session()


# ---------------------------------------------------------------------------------------------
# The whole namespace: describe_namespace -> JSON -> analyse_export -> run_item
# ---------------------------------------------------------------------------------------------
def test_export_without_fit_records_fails_only_the_trained_models():
    ns = reference_namespace()
    bundle = analyse.analyse_export(describe_ns(ns))
    keras.backend.clear_session()
    for item in spec.ITEMS.values():
        results = checks.run_item(item, bundle, REFERENCE)
        if item.kind == "variable":
            assert not checks.item_passed(results), item
            assert "no record of the fit" in _messages(results), item
        else:
            assert checks.item_passed(results), (item, _messages(results))


def test_missing_namespace_fails_cleanly():
    bundle = analyse.analyse_export(_roundtrip(describe.describe_namespace({})))
    for question in spec.QUESTIONS:
        for item in question.items:
            results = checks.run_item(item, bundle, REFERENCE)
            assert not checks.item_passed(results), item
            assert "not defined" in _messages(results) or "not set" in _messages(results), item
    assert not checks.item_passed(checks.run_item("no_such_item", bundle))


def _variable_result(name, model):
    facts = analyse.analyse_variable(name, _roundtrip(describe.describe_variable(name, model)))
    return checks.variable_item(facts)


def test_variables_built_with_wrong_settings():
    ref = {name: load_builder(src, name) for name, src in REFERENCE_SOURCES.items()}
    results = _variable_result("model_eta_large", ref["define_model"](0.01))
    assert "learning_rate: expected 1 for model_eta_large, found 0.01" in _messages(results)
    results = _variable_result("model_momentum", ref["define_model"](0.01))
    assert "momentum: expected 0.9 for model_momentum, found 0" in _messages(results)
    results = _variable_result("model_2_layer", ref["define_model_with_momentum"](0.01, 0.9))
    assert "expected 179,926 parameters, found 542,230" in _messages(results)
    results = _variable_result("model_momentum", keras.callbacks.History())
    assert "model_momentum is a History, not a Keras model" in _messages(results)
    keras.backend.clear_session()


# Written answers: tests/test_answers.py (their grading lives in hw5.grading.answers)


# ---------------------------------------------------------------------------------------------
# Public checks (student kernel): raise AssertionError with every message, or print OK
# ---------------------------------------------------------------------------------------------
def test_public_check_data():
    x = np.random.default_rng(0).random((20, 28, 28, 1)).astype("float32")
    y = keras.utils.to_categorical(np.arange(20) % 10, 10)
    public.check_data(x, y, x[:5], y[:5])
    with pytest.raises(AssertionError) as err:
        public.check_data(x[..., 0] * 255, np.arange(20), x[:5] / 255, y[:4])
    text = str(err.value)
    for fragment in ("add the channel axis", "to_categorical", "divided by 255 twice",
                     "4 labels for 5 images"):
        assert fragment in text, text


def test_public_check_builder_and_variable(capsys):
    ref = load_builder(REFERENCE_SOURCES["define_model_2_conv"], "define_model_2_conv")
    public.check_builder("define_model_2_conv", ref)
    assert "OK" in capsys.readouterr().out
    bad = next(m for m in MUTANTS if m.name == "momentum_hardcoded")
    with pytest.raises(AssertionError, match="momentum is 0.9 for every call"):
        public.check_builder(bad.builder, load_builder(bad.source, bad.builder))
    public.check_variable("model_2_layer", ref(0.01))
    with pytest.raises(AssertionError, match="expected 1 for model_eta_large"):
        public.check_variable("model_eta_large", ref(0.01))
    keras.backend.clear_session()


def test_public_answer_format_checks_reveal_nothing(capsys):
    public.check_p1_1("B")  # format only: any option letter passes
    public.check_p3(np.zeros((4, 4)), STUDENT_ID)
    with pytest.raises(AssertionError, match="one letter"):
        public.check_p1_1("the bias")
    with pytest.raises(AssertionError, match="'same'"):
        public.check_p3(np.zeros((6, 6)), STUDENT_ID)
    with pytest.raises(AssertionError, match="student_id is not set"):
        public.check_p3(np.zeros((4, 4)), "")


def test_check_learns_message():
    ok = checks.check_learns(0.9, 0.8)
    bad = checks.check_learns(0.11, 0.8)
    assert ok.passed and not bad.passed and "0.110" in bad.message and "frozen" in bad.message
    assert not checks.check_learns(None, 0.8, error="boom").passed


def test_kit_does_not_import_the_answer_key():
    import inspect

    for module in (analyse, checks, describe, public):
        assert "answer_key" not in inspect.getsource(module)
