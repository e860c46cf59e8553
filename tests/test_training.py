"""Grade-time training (hw5.grading.training) on the shipped MNIST copy: real training."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hw5.kit import spec

pytestmark = pytest.mark.slow

MOMENTUM = "define_model_with_momentum"


@pytest.fixture(scope="module")
def training():
    from hw5.grading import training

    training.configure_runtime()  # too late for threads if TF already runs: harmless
    return training


@pytest.fixture(scope="module")
def data(training, monkeypatch_module):
    monkeypatch_module.delenv(spec.MNIST_ENV_VAR, raising=False)  # the shipped copy
    return training.prepare_data()


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        yield mp


@pytest.fixture(scope="module")
def models():
    from hw5 import calibration  # reference builders and failing models

    return calibration


@pytest.fixture(scope="module")
def momentum_outcome(training, data, models):
    return training.train_and_score(models.reference_export(MOMENTUM), data)


def test_prepare_data(data):
    assert data.x_train.shape == (spec.GRADE_TRAIN_IMAGES,) + spec.IMAGE_SHAPE
    assert data.x_test.shape == (spec.GRADE_TEST_IMAGES,) + spec.IMAGE_SHAPE
    assert data.x_train.dtype == data.y_train.dtype == "float32"
    assert 0.0 <= data.x_train.min() and data.x_train.max() == 1.0
    assert data.y_train.shape == (spec.GRADE_TRAIN_IMAGES, spec.NUM_CLASSES)
    assert (data.y_train.sum(axis=1) == 1).all()
    assert (data.y_test.argmax(axis=1) == data.test_labels).all()


def test_reference_momentum_passes(momentum_outcome):
    out = momentum_outcome
    assert out.error is None and out.ok
    assert out.accuracy >= spec.ACCURACY_THRESHOLDS[MOMENTUM], out
    assert out.seconds > 0


def test_same_seed_is_bitwise_repeatable(training, data, models, momentum_outcome):
    again = training.train_and_score(models.reference_export(MOMENTUM), data)
    assert again.accuracy == momentum_outcome.accuracy
    assert again.final_loss == momentum_outcome.final_loss  # bitwise, not approx


@pytest.mark.parametrize("kind", ["frozen", "zero_init"])
def test_broken_models_fail(training, data, models, kind):
    out = training.train_and_score(models.failing_export(kind), data)
    assert out.error is None, out.error
    assert out.accuracy < spec.ACCURACY_THRESHOLDS[MOMENTUM], out


def test_uncompiled_is_an_error_without_training(training, data, models):
    out = training.train_and_score(models.failing_export("uncompiled"), data)
    assert out.accuracy is None
    assert out.error == training.NOT_COMPILED == "model is not compiled: call model.compile(...)"
    assert out.seconds < 1.0


def test_lambda_layer_is_an_error_not_a_crash(training, data):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(),
                              layers.Lambda(lambda t: t * 2.0),
                              layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01),
                  loss="categorical_crossentropy")
    export = {"config_json": model.to_json(), "compiled": True,
              "optimizer": keras.optimizers.serialize(model.optimizer),
              "loss": "categorical_crossentropy", "metrics": []}
    out = training.train_and_score(export, data)
    assert out.accuracy is None
    assert out.error.startswith("could not rebuild the model from its config"), out.error
    assert "Lambda" in out.error or "lambda" in out.error


SGD = {"module": "keras.optimizers", "class_name": "SGD", "config": {"learning_rate": 0.01},
       "registered_name": None}


@pytest.mark.parametrize("export, fragment", [
    (None, "no model config"),
    ({"config_json": "{}", "compiled": True, "loss": {"module": "os", "class_name": "system",
                                                      "config": {"command": "echo no"}},
      "optimizer": SGD},
     "could not rebuild the optimizer / loss"),
    ({"config_json": "{not json", "compiled": True, "optimizer": SGD, "loss": "mse"},
     "could not rebuild the model"),
    ({"config_json": json.dumps({"class_name": "Os", "module": "os", "config": {}}),
      "compiled": True, "optimizer": SGD, "loss": "mse"},
     "could not rebuild the model"),
    ({"config_json": "{}", "compiled": True, "loss": "mse",
      "optimizer": {"module": "builtins", "class_name": "eval", "config": "1"}},
     "could not rebuild the optimizer / loss"),
])
def test_bad_exports_are_errors(training, data, export, fragment):
    out = training.train_and_score(export, data)
    assert out.accuracy is None and fragment in out.error


def test_other_loss_and_optimizer_spellings(training, models):
    """Loss exported as a serialized object or function, optimizer as a string-named class."""
    import keras

    small = training.prepare_data(n_train=256, n_test=64)
    base = models.reference_export("define_model")
    spellings = [
        keras.losses.serialize(keras.losses.CategoricalCrossentropy()),
        keras.losses.serialize(keras.losses.get("categorical_crossentropy")),
    ]
    for loss in spellings:
        out = training.train_and_score(dict(base, loss=loss), small)
        assert out.error is None and out.accuracy is not None, (loss, out)
    wrong_shape = dict(base, config_json=keras.Sequential(
        [keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]).to_json())
    out = training.train_and_score(wrong_shape, small)
    assert out.accuracy is None and "output shape" in out.error


def test_one_model_cannot_take_the_whole_budget(training, data, models):
    out = training.train_and_score(models.reference_export(MOMENTUM), data, time_limit_s=0.5)
    assert out.accuracy is None and "took longer than 0.5 s: the grader stopped it" in out.error
    assert out.seconds < 5


def test_rebuild_reapplies_the_guards(training, data, models):
    import keras

    export = models.reference_export("define_model")
    pretrained = keras.Sequential([
        keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", kernel_initializer=keras.initializers.Constant(
            np.full((784, 10), 0.01, dtype="float32")))])
    out = training.train_and_score(dict(export, config_json=pretrained.to_json()), data)
    assert out.accuracy is None and "embeds arrays of numbers" in out.error
