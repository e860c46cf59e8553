"""Optimizers are spec data (``spec.OptimizerSpec``): Adam, RMSprop or SGD with Nesterov are one
spec entry away, and the checks take what they expect as an argument. Real Keras models, built
and compiled, never trained."""
from __future__ import annotations

import keras
import pytest

from hw5 import mutants
from hw5.kit import analyse, describe, items, spec
from hw5.kit import optimizer_checks as C

from export_helpers import roundtrip

ADAM = spec.OptimizerSpec("Adam", {"learning_rate": 0.001})
NESTEROV = spec.OptimizerSpec("SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True})
RMSPROP = spec.OptimizerSpec("RMSprop", {"learning_rate": 0.001, "rho": 0.8})


def _facts(optimizer):
    model = mutants.load_builder(mutants.REFERENCE_SOURCES["define_model"], "define_model")(0.01)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return analyse.analyse_model(roundtrip(describe.describe_model(model)))


def _failed(results) -> str:
    return "\n".join(r.message for r in results if not r.passed)


@pytest.mark.parametrize("expected, right, wrong, message", [
    (ADAM, lambda: keras.optimizers.Adam(learning_rate=0.001),
     lambda: keras.optimizers.SGD(learning_rate=0.001), "expected optimizer Adam, found SGD"),
    (NESTEROV, lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True),
     lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
     "nesterov: expected Nesterov momentum for model_n, found nesterov=False"),
    (RMSPROP, lambda: keras.optimizers.RMSprop(learning_rate=0.001, rho=0.8),
     lambda: keras.optimizers.RMSprop(learning_rate=0.001),
     "rho: expected 0.8 for model_n, found 0.9"),
], ids=["adam", "sgd_nesterov", "rmsprop_rho"])
def test_a_trained_model_is_checked_against_the_optimizer_it_is_given(expected, right, wrong,
                                                                       message):
    assert _failed(C.optimizer_checks(_facts(right()), expected, "model_n")) == ""
    assert message in _failed(C.optimizer_checks(_facts(wrong()), expected, "model_n"))


def test_the_shipped_plain_sgd_expectation_rejects_adam_as_before():
    found = _failed(C.optimizer_checks(_facts(keras.optimizers.Adam(0.01)),
                                       spec.TRAINED_VARIABLES["model"].optimizer, "model"))
    assert found == "expected optimizer SGD, found Adam: compile(optimizer=keras.optimizers.SGD(" \
                    "learning_rate=learning_rate, ...))"


@pytest.fixture
def adam_builder(monkeypatch):
    """A course's new builder, define_model_with_adam(learning_rate), scored on its optimizer."""
    name = "define_model_with_adam"
    builder = spec.Builder(name, "baseline", ("learning_rate",),
                           probes=({"learning_rate": 0.001}, {"learning_rate": 0.02}),
                           train_args={"learning_rate": 0.001},
                           optimizer=spec.OptimizerSpec("Adam", {"learning_rate": spec.ARGUMENT}))
    monkeypatch.setitem(spec.BUILDERS, name, builder)
    item = spec.Item("optimizer", name, 1)
    monkeypatch.setitem(spec.ITEMS, item.id, item)
    return name


def _builder_items(name, source):
    export = roundtrip(describe.describe_builder(mutants.load_builder(source, name),
                                                 spec.BUILDERS[name]))
    return items.builder_items(analyse.analyse_builder(name, export))


def test_a_new_adam_builder_and_its_wrong_optimizer_mutant(adam_builder):
    source = mutants.builders._source(adam_builder)
    assert "keras.optimizers.Adam(learning_rate=learning_rate)" in source
    found = _builder_items(adam_builder, source)
    assert all(items.item_passed(results) for results in found.values()), found
    mutant = mutants.wrong_optimizer(adam_builder)
    assert mutant.fails == ("optimizer_define_model_with_adam",)
    found = _builder_items(adam_builder, mutant.source)
    assert not items.item_passed(found["optimizer"])
    assert items.item_passed(found["architecture"])
    assert mutant.expect[0] == "expected optimizer Adam, found RMSprop"
    assert mutant.expect[0] in _failed(found["optimizer"])
    ignored = source.replace("Adam(learning_rate=learning_rate)", "Adam(learning_rate=0.001)")
    assert "you passed 0.02 but the optimizer uses 0.001 (the same value for every call) — pass " \
           "the function's learning_rate argument to Adam(learning_rate=...)" in _failed(
               _builder_items(adam_builder, ignored)["optimizer"])


def test_builder_of_reads_the_spec():
    assert {name: items.builder_of(name) for name in spec.TRAINED_VARIABLES} == {
        name: tv.builder for name, tv in spec.TRAINED_VARIABLES.items()}
    assert spec.TRAINED_VARIABLES["model_momentum"].builder_args() == {
        "learning_rate": 0.01, "momentum": 0.9}
