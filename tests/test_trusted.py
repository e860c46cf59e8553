"""Trusted-side guards (issue 12): exact built-in classes, no pretrained constants, learns tied
to the architecture, grade-time training re-applies analyse's guards, resource and time limits.
Real Keras models, no training."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from keras import layers

from hw5.grading import trusted
from hw5.kit import analyse, checks, describe, spec
from hw5.mutants import REFERENCE_SOURCES, load_builder

BUILDER = "define_model_with_momentum"


def _baseline(kernel_initializer="glorot_uniform", dense_cls=layers.Dense):
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu", kernel_initializer=kernel_initializer),
        layers.MaxPooling2D(2), layers.Flatten(), dense_cls(100, activation="relu"),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _export(model):
    return json.loads(json.dumps(describe.describe_model(model)))


def _builder_facts(make):
    """BuilderFacts of a builder that returns ``make(learning_rate, momentum)``."""
    export = describe.describe_builder(make, spec.BUILDERS[BUILDER])
    return analyse.analyse_builder(BUILDER, json.loads(json.dumps(export)))


def _failing(results) -> str:
    return "\n".join(r.message for r in results if not r.passed)


def test_pretrained_constant_array_is_refused_everywhere():
    pretrained = keras.initializers.Constant(np.full((3, 3, 1, 32), 0.01, dtype="float32"))
    export = _export(_baseline(pretrained))
    facts = analyse.analyse_model(export)
    assert not facts.ok and "embeds arrays of numbers" in facts.error
    from hw5.grading import training

    with pytest.raises(ValueError, match="embeds arrays of numbers"):
        training._rebuild(keras, export["config_json"])
    keras.backend.clear_session()


def test_nonzero_constant_kernel_costs_learns_and_is_not_trained():
    export = _export(_baseline(keras.initializers.Constant(0.5)))
    facts = analyse.analyse_model(export)
    assert facts.ok and facts.constant_init == ["layer 1 (Conv2D 'conv2d'): Constant(0.5)"]
    result = checks.check_no_constant_init(facts)
    assert not result.passed and (result.expected, result.found) == ("random kernels",
                                                                     "Constant(0.5)")
    from hw5.grading import training

    with pytest.raises(ValueError, match="constant kernel"):
        training._rebuild(keras, export["config_json"])
    keras.backend.clear_session()


def test_a_dense_only_model_earns_no_learns_points():
    def dense_only(learning_rate, momentum):
        model = keras.Sequential([keras.Input((28, 28, 1)), layers.Flatten(),
                                  layers.Dense(100, activation="relu"),
                                  layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        return model

    found = checks.builder_items(_builder_facts(dense_only))
    assert not checks.item_passed(found["architecture"])
    assert not checks.item_passed(found["learns"])
    assert "grade-time training needs the architecture asked for" in _failing(found["learns"])
    keras.backend.clear_session()


class Dense(layers.Dense):
    """A subclass that keeps the built-in's name."""


def test_only_exact_builtin_classes():
    model = _baseline(dense_cls=Dense)
    assert "not a built-in keras.layers class" in analyse.class_problem(model)
    assert analyse.class_problem(_baseline()) is None
    config = json.loads(_baseline().to_json())
    config["config"]["layers"][4]["registered_name"] = "Custom>Dense"
    assert "custom or non-Keras objects" in analyse.config_problem(json.dumps(config))
    keras.backend.clear_session()


def test_reshape_and_dropout_zero_are_accepted_other_layers_are_extra():
    model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Reshape((-1,)), layers.Dropout(0.0),
        layers.Dense(100, activation="relu"), layers.BatchNormalization(),
        layers.Dense(10, activation="softmax")])
    facts = analyse.analyse_model(_export(model))
    assert [l.kind for l in facts.layers] == ["conv", "pool", "flatten", "dense", "other",
                                              "dense"]
    assert facts.ignored == ["layer 4 (Dropout 'dropout')"]
    result = checks.check_layer_kinds(facts, spec.BASELINE_LAYERS)
    assert not result.passed
    assert "extra layer 6 (BatchNormalization 'batch_normalization'): the assignment's model has " \
           "no such layer: remove it" in result.message
    keras.backend.clear_session()


def test_learns_needs_a_measured_model_and_trains_nothing_otherwise():
    export = {"builders": {BUILDER: {"status": "ok", "error": None, "calls": [
        {"args": spec.BUILDERS[BUILDER].train_args, "error": None,
         "model": {"config_json": "{not json", "compiled": True}}]}}}
    bundle = analyse.analyse_export(export)
    result = trusted.learns(BUILDER, export, bundle, data=None)  # no data: must not train
    assert not result.passed and "could not be measured" in result.message


def test_items_json_carries_expected_and_found():
    from hw5.grading.report import ItemResult

    graded = [(ItemResult("variable_model", 0, False, ["m"]),
               [checks.CheckResult("loss", False, "m", "categorical_crossentropy",
                                   "mean_squared_error")])]
    row = trusted.to_json(graded)[0]
    assert row["checks"] == [{"name": "loss", "passed": False, "message": "m",
                              "expected": "categorical_crossentropy",
                              "found": "mean_squared_error"}]


def test_data_limit_turns_a_huge_allocation_into_memory_error():
    code = ("from hw5.grading.trusted import limit_resources\n"
            "assert limit_resources(256)\n"
            "try:\n    bytearray(512 * 1024 * 1024)\nexcept MemoryError:\n    print('limited')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "limited", out.stderr


def test_time_limit_interrupts_python_between_steps():
    from hw5.grading.training import TrainingTimeout, _time_limit

    start = time.monotonic()
    with pytest.raises(TrainingTimeout, match="longer than 0.2 s"):
        with _time_limit(0.2):
            while time.monotonic() - start < 5:
                sum(range(1000))
    assert time.monotonic() - start < 2


def test_reference_builder_rebuilds_for_training():
    from hw5.grading import training

    model = load_builder(REFERENCE_SOURCES[BUILDER], BUILDER)(0.01, 0.9)
    rebuilt = training._rebuild(keras, model.to_json())
    assert rebuilt.count_params() == spec.TOTAL_PARAMS["baseline"]
    keras.backend.clear_session()


def test_grade_time_optimizer_and_loss_must_be_builtin():
    from hw5.grading import training

    model = load_builder(REFERENCE_SOURCES[BUILDER], BUILDER)(0.01, 0.9)
    export = {"config_json": model.to_json(), "compiled": True, "loss": "categorical_crossentropy",
              "optimizer": {"module": "my_optimizers", "class_name": "SGD",
                            "config": {"learning_rate": 0.01}, "registered_name": "my>SGD"}}
    out = training.train_and_score(export, data=None)  # refused before any data is touched
    assert out.accuracy is None
    assert "could not rebuild the optimizer / loss: ValueError: not built-in Keras: SGD (from " \
           "my_optimizers)" in out.error
