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
from hw5.grading import answers
from hw5.kit import analyse, checks, describe, public, spec
from hw5.mutants import (EQUIVALENT_SPELLINGS, MUTANTS, REFERENCE_SOURCES, Mutant,
                         load_builder)

REFERENCE = answers.answer_checks()
STUDENT_ID = "s1234567"


def _roundtrip(data):
    return json.loads(json.dumps(data))


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
# Builders
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder", list(spec.BUILDERS))
def test_reference_builder_passes_every_item(builder):
    items = _items_for(Mutant("reference", builder, REFERENCE_SOURCES[builder], ""))
    assert set(items) == {f"{k}_{builder}" for k in ("architecture", "optimizer", "learns")}
    for item, results in items.items():
        assert checks.item_passed(results), (item, _messages(results))
        assert all(isinstance(r, checks.CheckResult) and r.message for r in results)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_exactly_its_items(mutant):
    items = _items_for(mutant)
    assert _failing(items) == set(mutant.fails)
    text = "\n".join(_messages(items[item]) for item in mutant.fails)
    for fragment in mutant.expect:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize("spelling", EQUIVALENT_SPELLINGS, ids=lambda m: m.name)
def test_equivalent_spelling_gets_full_marks(spelling):
    items = _items_for(spelling)
    assert not _failing(items), {i: _messages(r) for i, r in items.items()}


def _layer_facts(m: Mutant):
    return _builder_facts(m).calls[0].model


def test_equivalent_spellings_give_identical_facts():
    def strip(facts):
        return [(l.kind, l.filters, l.units, l.kernel_size, l.strides, l.padding, l.pool_size,
                 l.activation, l.output_shape, l.params) for l in facts.layers]

    ref = _layer_facts(Mutant("r", "define_model_with_momentum",
                              REFERENCE_SOURCES["define_model_with_momentum"], ""))
    for name in ("functional", "separate_activation_layers", "int_sizes", "tensorflow_keras",
                 "no_input_spec", "loss_metric_objects"):
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
def _reference_namespace():
    ns = {name: load_builder(src, name) for name, src in REFERENCE_SOURCES.items()}
    for name, tv in spec.TRAINED_VARIABLES.items():
        if tv.architecture == "two_conv":
            ns[name] = ns["define_model_2_conv"](tv.learning_rate)
        elif tv.momentum:
            ns[name] = ns["define_model_with_momentum"](tv.learning_rate, tv.momentum)
        else:
            ns[name] = ns["define_model"](tv.learning_rate)
    ns[spec.P1_1_VARIABLE] = f" {answer_key.P1_1_ANSWER.lower()} "
    ns[spec.STUDENT_ID_VARIABLE] = STUDENT_ID
    ns[spec.P3_VARIABLE] = answers.p3_expected(STUDENT_ID).astype(np.int64)
    ns["history"] = object()
    return ns


@pytest.fixture(scope="module")
def reference_export():
    export = describe.describe_namespace(_reference_namespace())
    text = json.dumps(export, allow_nan=False)
    keras.backend.clear_session()
    return json.loads(text)


def test_reference_namespace_scores_every_auto_item(reference_export):
    bundle = analyse.analyse_export(reference_export)
    for question in spec.QUESTIONS:
        for item in question.items:
            results = checks.run_item(item.id, bundle, REFERENCE)
            assert checks.item_passed(results), (item, _messages(results))


def test_missing_namespace_fails_cleanly():
    bundle = analyse.analyse_export(_roundtrip(describe.describe_namespace({})))
    for question in spec.QUESTIONS:
        for item in question.items:
            results = checks.run_item(item.id, bundle, REFERENCE)
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
