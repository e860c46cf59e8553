"""Exports made the way the grading kernel makes them, for fast tests of the trusted checks.

``hw5.kit.describe`` describes real Keras models; ``v2`` adds what the sandbox's fit stand-in and
data recorder add to an export of schema 2 (fit calls, histories, model object ids, weight
shapes, data facts, MNIST sizes), with honest values unless a test says otherwise.
"""
from __future__ import annotations

import copy
import json

import numpy as np

from hw5 import answer_key, settings
from hw5.grading import answers
from hw5.kit import analyse, analyse_runs, describe, spec
from hw5.mutants import REFERENCE_SOURCES, load_builder

TRAIN, TEST = settings.SANDBOX_TRAIN_IMAGES, settings.SANDBOX_TEST_IMAGES
IMAGES = list(spec.IMAGE_SHAPE)
REFERENCE = answers.answer_checks()
STUDENT_ID = "s1234567"


def roundtrip(data):
    return json.loads(json.dumps(data, allow_nan=False))


def array_use(rows, role, *, relation="same", digest=None, dtype="float32", hi=1.0):
    """How the stand-in describes an array given to fit (``role``: x_train, y_train ...)."""
    if rows is None:
        return None
    tail = IMAGES if role.startswith("x") else [spec.NUM_CLASSES]
    return {"kind": "ndarray", "shape": [rows] + tail, "dtype": dtype,
            "digest": digest or f"{role}-digest", "lo": 0.0, "hi": hi, "relation": relation,
            "strict_view": False}


def fit_record(call, model_object, *, epochs=spec.EPOCHS, batch_size=spec.BATCH_SIZE,
               x_rows=TRAIN, val_rows=TEST, initial_epoch=0, validation_split=None, cell=None,
               error=None, validation=True, x=None, arguments=None, callbacks=(), **extra):
    """One entry of ``fit_calls`` as the stand-in records ``model.fit(x, y, ...)``: honest
    unless a keyword says otherwise (``x``: the x description; ``arguments``: more keyword
    arguments of fit; ``extra``: more fields of the record)."""
    args = {"batch_size": batch_size, "epochs": epochs, "initial_epoch": initial_epoch,
            "validation_split": validation_split, "shuffle": 1, "steps_per_epoch": None,
            "validation_steps": None, "validation_batch_size": None, "validation_freq": 1}
    args.update(arguments or {})
    record = {"call": call, "model_object": model_object, "cell": cell, "error": error,
              "arguments": args,
              "x": array_use(x_rows, "x_train") if x is None else x,
              "y": array_use(x_rows, "y_train"),
              "validation": ({"x": array_use(val_rows, "x_test"),
                              "y": array_use(val_rows, "y_test"), "weights": None}
                             if validation else None),
              "sample_weight": None, "class_weight": None,
              "data": {name: array_use(TRAIN if "train" in name else TEST, name, relation=None)
                       for name in ("x_train", "y_train", "x_test", "y_test")},
              "callbacks": [{"class": c, "module": "keras.src.callbacks", "changes": None}
                            for c in callbacks],
              "compile": None, "warm_start": None, "source": {}}
    record.update(extra)
    return record


def data_facts(train=TRAIN, test=TEST, dtype="float32", lo=0.0, hi=1.0, one_hot=True):
    def x(n):
        return {"status": "ok", "shape": [n] + IMAGES, "dtype": dtype, "min": lo, "max": hi,
                "one_hot": None}

    def y(n):
        return {"status": "ok", "shape": [n, spec.NUM_CLASSES], "dtype": "float64", "min": 0.0,
                "max": 1.0, "one_hot": one_hot}

    return {"x_train": x(train), "y_train": y(train), "x_test": x(test), "y_test": y(test)}


def model_for(variable, builders):
    """``variable``'s model as the notebook makes it, from ``builders`` (name -> function)."""
    from hw5.kit.items import builder_of

    return builders[builder_of(variable)](**spec.TRAINED_VARIABLES[variable].builder_args())


def reference_namespace(builders=None):
    builders = builders or {name: load_builder(src, name) for name, src in
                            REFERENCE_SOURCES.items()}
    ns = dict(builders)
    for name in spec.TRAINED_VARIABLES:
        ns[name] = model_for(name, builders)
    ns[spec.P1_1_VARIABLE] = f" {answer_key.P1_1_ANSWER.lower()} "
    ns[spec.STUDENT_ID_VARIABLE] = STUDENT_ID
    ns[spec.P3_VARIABLE] = answers.p3_expected(STUDENT_ID).astype(np.int64)
    return ns


def object_ids():
    """The tracker ids the export uses for the trained models (one per variable)."""
    return {name: 100 + i for i, name in enumerate(spec.TRAINED_VARIABLES)}


def v2(export, ns=None, *, fits=None, data=None, mnist=(TRAIN, TEST), stand_in=True):
    """``export`` (v1, from describe) with the schema-2 fields; one honest fit per trained model
    unless ``fits`` (a list of fit_record dicts) is given. Histories point at each model's last
    fit call."""
    export = copy.deepcopy(export)
    ids = object_ids()
    export["schema"] = analyse_runs.EXPORT_SCHEMA
    for name, entry in export["variables"].items():
        entry["model_object"] = ids[name] if entry.get("model") else None
        if entry.get("model") and ns is not None:
            entry["model"]["weight_shapes"] = [list(w.shape) for w in ns[name].weights]
            entry["model"]["model_object"] = ids[name]
    if fits is None:
        fits = [fit_record(i + 1, ids[name]) for i, name in enumerate(spec.TRAINED_VARIABLES)]
    export["fit_calls"] = fits
    export["histories"] = {}
    for name, tv in spec.TRAINED_VARIABLES.items():
        mine = [f["call"] for f in fits if f["model_object"] == ids[name] and not f["error"]]
        export["histories"][tv.history] = (
            {"status": "ok", "fit_call": mine[-1], "error": None} if mine
            else {"status": "missing", "fit_call": None, "error": None})
    export["fit_stand_in"] = stand_in
    export["data"] = data_facts() if data is None else data
    export["mnist_sizes"] = {"train": mnist[0], "test": mnist[1]}
    return roundtrip(export)


def bundle_of(export):
    return analyse.analyse_export(export)


def describe_ns(ns):
    return roundtrip(describe.describe_namespace(ns))
