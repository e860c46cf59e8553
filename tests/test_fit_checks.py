"""How the models were trained and the given code (export schema 2), on real Keras models
described by hw5.kit.describe plus the fit records the grading kernel's stand-in makes."""
from __future__ import annotations

import json

import keras
import pytest

from hw5.kit import analyse, checks, items, spec
from hw5.mutants import NOTEBOOK_MUTANTS_BY_NAME

from export_helpers import (REFERENCE, TEST, TRAIN, array_use, data_facts, describe_ns, fit_record,
                            object_ids, reference_namespace, v2)

IDS = object_ids()
NAMES = list(spec.TRAINED_VARIABLES)


@pytest.fixture(scope="module")
def base():
    """(v1 export, namespace weight shapes) of the reference notebook."""
    ns = reference_namespace()
    export = describe_ns(ns)
    honest = v2(export, ns)
    keras.backend.clear_session()
    return export, honest


def _variant(base, **changes):
    """The honest v2 export with other fit calls / data / sizes."""
    _, honest = base
    out = json.loads(json.dumps(honest))
    if "fits" in changes:
        fits = changes.pop("fits")
        out["fit_calls"] = fits
        for name, tv in spec.TRAINED_VARIABLES.items():
            mine = [f["call"] for f in fits if f["model_object"] == IDS[name] and not f["error"]]
            out["histories"][tv.history] = ({"status": "ok", "fit_call": mine[-1], "error": None}
                                            if mine else {"status": "missing", "fit_call": None,
                                                          "error": None})
    for key, value in changes.items():
        out[key] = value
    return out


def _honest_fits(skip=()):
    return [fit_record(i + 1, IDS[n]) for i, n in enumerate(NAMES) if n not in skip]


def _grade(export) -> dict:
    bundle = analyse.analyse_export(export)
    return {item.id: checks.run_item(item, bundle, REFERENCE) for item in spec.ITEMS.values()}


def _failed(graded) -> set:
    return {i for i, r in graded.items() if not checks.item_passed(r)}


def _text(results) -> str:
    return "\n".join(r.message for r in results if not r.passed)


V = {name: spec.Item("variable", name, 0).id for name in NAMES}


def test_honest_fits_pass_and_the_summary_says_what_was_verified(base):
    _, honest = base
    bundle = analyse.analyse_export(honest)
    graded = {item.id: checks.run_item(item, bundle, REFERENCE) for item in spec.ITEMS.values()}
    assert not _failed(graded), {i: _text(r) for i, r in graded.items()}
    line = items.summary(spec.ITEMS[V["model_eta_large"]], bundle)
    assert line == (f"5 layers as asked, 542,230 parameters, SGD lr 1, momentum 0, categorical "
                    f"cross-entropy, fit: {spec.EPOCHS} epochs, batch {spec.BATCH_SIZE}, "
                    f"all {spec.TRAIN_IMAGES:,} training images, validation on the "
                    f"{spec.TEST_IMAGES:,} test images, from fresh weights, no callback or "
                    "argument that changes training")
    assert "momentum 0.9" in items.summary(spec.ITEMS[V["model_momentum"]], bundle)
    # computed once per export
    assert checks.run_item(spec.ITEMS[V["model"]], bundle, REFERENCE) is \
        checks.run_item(V["model"], bundle, REFERENCE)


def test_refit_with_one_epoch_loses_only_that_item(base):
    m = NOTEBOOK_MUTANTS_BY_NAME["refit_eta_large_one_epoch"]
    fits = _honest_fits() + [fit_record(len(NAMES) + 1, IDS["model_eta_large"], epochs=1,
                                        cell=80)]
    graded = _grade(_variant(base, fits=fits))
    assert _failed(graded) == set(m.fails)
    text = _text(graded[V["model_eta_large"]])
    for fragment in m.expect:
        assert fragment in text, text
    assert "cell 81" in text


def test_epochs_one_everywhere_loses_every_trained_model(base):
    m = NOTEBOOK_MUTANTS_BY_NAME["epochs_hard_set_to_1"]
    fits = [fit_record(i + 1, IDS[n], epochs=1) for i, n in enumerate(NAMES)]
    graded = _grade(_variant(base, fits=fits))
    assert _failed(graded) == set(m.fails)
    for item in m.fails:
        for fragment in m.expect:
            assert fragment in _text(graded[item]), _text(graded[item])
    epochs = next(r for r in graded[V["model_2_layer"]] if r.name == "epochs")
    assert (epochs.expected, epochs.found) == (f"{spec.EPOCHS} epochs", "1 epochs")


@pytest.mark.parametrize("split", ["initial_epoch", "epoch_loop"])
def test_a_run_split_over_several_fits_is_honest(base, split):
    name = "model_momentum"
    fits = _honest_fits(skip=(name,))
    n = len(fits)
    if split == "initial_epoch":
        half = spec.EPOCHS // 2
        fits += [fit_record(n + 1, IDS[name], epochs=half),
                 fit_record(n + 2, IDS[name], epochs=spec.EPOCHS, initial_epoch=half)]
    else:
        fits += [fit_record(n + 1 + e, IDS[name], epochs=1) for e in range(spec.EPOCHS)]
    graded = _grade(_variant(base, fits=fits))
    assert not _failed(graded), _text(graded[V[name]])


@pytest.mark.parametrize("change, fragment, found", [
    (dict(batch_size=64), "batch_size=64; train with batch_size=BATCH_SIZE (32)", "64"),
    (dict(batch_size=None), None, None),  # Keras' default batch size is 32: honest
    (dict(x_rows=100), "x is `x_train`, part of all 60,000 training images",
     "a subset or other data"),
    (dict(validation_split=0.1, validation=False), "validation_split=0.1",
     "validation_split=0.1"),
    (dict(validation_split=0.2), None, None),  # ignored by Keras next to validation_data
    (dict(x=dict(array_use(TRAIN, "x_train"), relation="view")), "a slice of x_train",
     "a subset or other data"),
    (dict(x=array_use(TRAIN, "x_train", relation="other", digest="raw", dtype="uint8", hi=255.0)),
     "not the processed x_train (dtype uint8, values 0 to 255", "a subset or other data"),
    (dict(arguments=dict(steps_per_epoch=10)), "steps_per_epoch=10", "10"),
    (dict(arguments=dict(steps_per_epoch=TRAIN // spec.BATCH_SIZE)), None, None),
    (dict(arguments=dict(validation_freq=2)), "validation_freq=2", "2"),
    (dict(sample_weight="ndarray with values from 0 to 0"), "sample_weight (ndarray", "ndarray"
     " with values from 0 to 0"),
    (dict(callbacks=("History", "CSVLogger")), None, None),
    (dict(callbacks=[{"class": "EarlyStopping", "module": "keras.src.callbacks",
                      "changes": "EarlyStopping"}]), "a callback that changes training: "
     "EarlyStopping", "EarlyStopping"),
    (dict(warm_start="it was loaded from a saved model in cell 5"),
     "model_2_layer did not start from fresh weights", "weights from elsewhere"),
    (dict(validation=False), "no validation_data for validation", "no validation_data"),
    (dict(val_rows=50), "validation x is `x_test`, part of the 10,000 test images",
     "a subset or other data"),
    (dict(epochs=None), "epochs=1 (Keras' default: no epochs given)", "1 epochs"),
])
def test_each_fit_property_is_checked(base, change, fragment, found):
    name = "model_2_layer"
    change = dict(change)
    if isinstance(change.get("callbacks"), list):
        extra = change.pop("callbacks")
        change["callbacks"] = ()
        fits = _honest_fits(skip=(name,)) + [dict(fit_record(9, IDS[name], **change),
                                                  callbacks=extra)]
    else:
        fits = _honest_fits(skip=(name,)) + [fit_record(9, IDS[name], **change)]
    graded = _grade(_variant(base, fits=fits))
    if fragment is None:
        assert not _failed(graded)
        return
    assert _failed(graded) == {V[name]}
    assert fragment in _text(graded[V[name]]), _text(graded[V[name]])
    assert found in [r.found for r in graded[V[name]] if not r.passed]


def test_history_must_come_from_a_fit_on_that_model(base):
    fits = _honest_fits()
    export = _variant(base, fits=fits)
    export["histories"]["history_eta_small"]["fit_call"] = 1  # the baseline's fit
    graded = _grade(export)
    assert _failed(graded) == {V["model_eta_small"]}
    assert "history_eta_small does not come from a fit on model_eta_small" in \
        _text(graded[V["model_eta_small"]])


def test_model_trained_again_after_its_history(base):
    fits = _honest_fits()
    export = _variant(base, fits=fits + [fit_record(20, IDS["model"], epochs=2)])
    export["histories"]["history"]["fit_call"] = 1
    graded = _grade(export)
    assert _failed(graded) == {V["model"]}
    assert "model was trained again" in _text(graded[V["model"]])


@pytest.mark.parametrize("status, fragment", [
    ("missing", "history_momentum is not defined"),
    ("not_a_history", "history_momentum is not a History returned by fit"),
])
def test_history_variable_missing_or_wrong(base, status, fragment):
    export = _variant(base)
    export["histories"]["history_momentum"] = {"status": status, "fit_call": None, "error": None}
    graded = _grade(export)
    assert _failed(graded) == {V["model_momentum"]}
    assert fragment in _text(graded[V["model_momentum"]])


def test_a_replaced_fit_fails_every_trained_model(base):
    graded = _grade(_variant(base, fit_stand_in=False))
    assert _failed(graded) == set(V.values())
    assert "keras.Model.fit was replaced" in _text(graded[V["model_eta_small"]])


def test_a_subset_of_mnist_is_not_the_training_set(base):
    """mnist_sizes is what the loader returned: a fit on fewer rows is a subset."""
    graded = _grade(_variant(base, mnist_sizes={"train": TRAIN * 2, "test": TEST}))
    assert _failed(graded) == set(V.values())
    assert f"x is `x_train`, part of all {spec.TRAIN_IMAGES:,} training images" in \
        _text(graded[V["model"]])
    assert f"{TRAIN * 2:,}" not in _text(graded[V["model"]])  # never the grader's own sizes


@pytest.mark.parametrize("data, fragment", [
    (data_facts(dtype="uint8", hi=255.0), "x_train expected floating-point pixels, found uint8"),
    (data_facts(hi=1 / 255), "divided by 255 once"),
    (data_facts(one_hot=False), "not one-hot"),
    (dict(data_facts(), x_test={"status": "missing"}), "x_test is missing"),
])
def test_changed_process_dataset_costs_every_trained_model(base, data, fragment):
    graded = _grade(_variant(base, data=data))
    assert _failed(graded) == set(V.values())
    text = _text(graded[V["model_eta_large"]])
    assert "the given data processing (process_dataset) was changed" in text and fragment in text


def test_changed_define_model_costs_the_models_built_with_it(base):
    """The variables are honest, but the given builder was changed: todo1/todo2 lose."""
    from hw5.mutants import MUTANTS_BY_NAME, load_builder
    from hw5.kit import describe

    export = _variant(base)
    m = MUTANTS_BY_NAME["given_mse"]
    export["builders"][m.builder] = json.loads(json.dumps(describe.describe_builder(
        load_builder(m.source, m.builder), spec.BUILDERS[m.builder])))
    graded = _grade(export)
    assert _failed(graded) == {V["model"], V["model_eta_large"], V["model_eta_small"]}
    given = next(r for r in graded[V["model_eta_large"]] if r.name == "given_code")
    assert given.message.startswith("the given define_model was changed (expected loss")
    assert graded[V["model_eta_large"]][0] is given  # the cause comes first
    keras.backend.clear_session()


def test_a_builder_that_raises_is_named_by_its_model(base):
    export = _variant(base, fits=_honest_fits(skip=("model_momentum",)))
    error = ("define_model_with_momentum(learning_rate=0.01, momentum=0.9) raised ValueError: "
             "Argument(s) not recognized: {'lr': 0.01}")
    export["builders"]["define_model_with_momentum"] = {
        "status": "error", "error": error, "calls": [{"args": {}, "model": None, "error": error}]}
    export["variables"]["model_momentum"] = {"status": "missing", "error": "not defined",
                                             "model": None, "model_object": None}
    graded = _grade(export)
    text = _text(graded[V["model_momentum"]])
    assert text.startswith("model_momentum is not defined because define_model_with_momentum "
                           "failed (define_model_with_momentum(learning_rate=0.01, momentum=0.9) "
                           "raised ValueError"), text


def test_weight_shapes_that_disagree_with_the_config_fail(base):
    export = _variant(base)
    export["variables"]["model_2_layer"]["model"]["weight_shapes"] = [[3, 3, 1, 32], [32]]
    graded = _grade(export)
    assert _failed(graded) == {V["model_2_layer"]}
    assert "weights do not match its own configuration" in _text(graded[V["model_2_layer"]])


def test_failing_item_lists_every_failing_property_first_mismatch_first(base):
    from hw5.kit import describe
    from hw5.mutants import MUTANTS_BY_NAME, load_builder

    export = _variant(base, fits=_honest_fits(skip=("model_2_layer",))
                      + [fit_record(9, IDS["model_2_layer"], epochs=3, batch_size=16)])
    m = MUTANTS_BY_NAME["two_conv_dropout"]
    model = load_builder(m.source, m.builder)(0.01)
    entry = json.loads(json.dumps(describe.describe_variable("model_2_layer", model)))
    entry["model_object"] = IDS["model_2_layer"]
    entry["model"]["weight_shapes"] = [list(w.shape) for w in model.weights]
    export["variables"]["model_2_layer"] = entry
    results = _grade(export)[V["model_2_layer"]]
    failing = [r.name for r in results if not r.passed]
    assert failing == ["layers", "epochs", "batch_size"]
    layers = next(r for r in results if r.name == "layers")
    assert "extra layer 6 (Dropout '" in layers.message and "rate 0.5): " in layers.message
    keras.backend.clear_session()


def test_schema_2_must_report_weight_shapes(base):
    export = _variant(base)
    del export["variables"]["model_eta_small"]["model"]["weight_shapes"]
    graded = _grade(export)
    assert _failed(graded) == {V["model_eta_small"]}
    assert "does not report the model's weights" in _text(graded[V["model_eta_small"]])


@pytest.mark.parametrize("garbage", [
    {"schema": 3, "fit_calls": "no", "histories": [], "data": 3, "mnist_sizes": None},
    {"schema": 3, "fit_calls": [None, {"call": True}, {"call": 1, "epochs": "ten",
                                                       "x_shape": [-1, "a"],
                                                       "validation_data_shapes": 5}],
     "histories": {"history": {"status": "ok", "fit_call": 1}}, "fit_stand_in": "yes"},
])
def test_malformed_fit_records_fail_cleanly(garbage):
    bundle = analyse.analyse_export(garbage)
    assert bundle.runs.recorded and not bundle.runs.fit_stand_in
    for name in NAMES:
        results = checks.run_item(V[name], bundle, REFERENCE)
        assert not checks.item_passed(results) and _text(results)
