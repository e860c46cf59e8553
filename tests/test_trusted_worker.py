"""grade-all's long-lived trusted process (hw5.ta.trusted_worker) and the training cache key."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from hw5.grading import trusted
from hw5.grading.training import GradeData
from hw5.ta.trusted_worker import TrustedWorker

MODEL = {"config_json": '{"class_name": "Sequential"}', "compiled": True,
         "optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.01}},
         "loss": "categorical_crossentropy"}


def _data(n_train=10, n_test=5):
    z = np.zeros
    return GradeData(z((n_train, 28, 28, 1)), z((n_train, 10)), z((n_test, 28, 28, 1)),
                     z((n_test, 10)), z(n_test))


def test_training_key_is_the_exact_export_and_data():
    key = trusted.training_key(MODEL, _data())
    assert key == trusted.training_key(json.loads(json.dumps(MODEL)), _data())
    changed = dict(MODEL, optimizer={"class_name": "SGD", "config": {"learning_rate": 0.1}})
    assert trusted.training_key(changed, _data()) != key
    assert trusted.training_key(dict(MODEL, config_json=MODEL["config_json"] + " "),
                                _data()) != key
    assert trusted.training_key(MODEL, _data(n_train=11)) != key
    assert trusted.training_key({"x": float("nan")}, _data()) is None


def test_failed_training_is_not_kept():
    uncompiled = dict(MODEL, compiled=False)
    outcome = trusted.train_cached(uncompiled, _data())
    assert not outcome.ok
    assert trusted.training_key(uncompiled, _data()) not in trusted._TRAINED


def test_processes_sharing_a_directory_train_an_export_once(tmp_path, monkeypatch):
    from hw5 import calibration
    from hw5.grading import training

    export = calibration.reference_export("define_model")
    monkeypatch.setattr(trusted, "_TRAINED", {})
    monkeypatch.setattr(trusted, "_SHARED_DIR", None)
    trusted.share_trainings(tmp_path)
    first = trusted.train_cached(export, _data())
    assert first.ok and [p.name for p in tmp_path.iterdir()] == \
        [trusted.training_key(export, _data()) + ".json"]

    def must_not_train(*_args):
        raise AssertionError("trained again")

    monkeypatch.setattr(trusted, "_TRAINED", {})  # another process, same directory
    monkeypatch.setattr(training, "train_and_score", must_not_train)
    assert trusted.train_cached(export, _data()) == first
    with pytest.raises(AssertionError, match="trained again"):  # another export still trains
        trusted.train_cached(dict(export, loss="mean_squared_error"), _data())


@pytest.mark.slow
def test_worker_answers_as_a_fresh_process_and_survives_death_and_timeouts(tmp_path):
    export = {"schema": 2, "answers": {}, "builders": {}}
    (tmp_path / "fresh").mkdir()
    (tmp_path / "fresh" / "export.json").write_text(json.dumps(export), encoding="utf-8")
    subprocess.run([sys.executable, "-m", "hw5.grading.trusted", tmp_path / "fresh" / "export.json",
                    tmp_path / "fresh" / "items.json"], check=True)
    fresh = json.loads((tmp_path / "fresh" / "items.json").read_text(encoding="utf-8"))

    worker = TrustedWorker()
    try:
        for n in range(2):
            (tmp_path / f"w{n}").mkdir()
            items, step = worker.check(export, tmp_path / f"w{n}", 300)
            assert step.ok, step.detail
            assert json.loads((tmp_path / f"w{n}" / "items.json").read_text("utf-8")) == fresh
            assert set(items) == {row["id"] for row in fresh}
        worker.proc.kill()  # a worker that died between two exports is started again
        worker.proc.wait()
        (tmp_path / "w2").mkdir()
        _, step = worker.check(export, tmp_path / "w2", 300)
        assert step.ok, step.detail
        (tmp_path / "w3").mkdir()
        os.kill(worker.proc.pid, signal.SIGSTOP)  # a worker that does not answer in time
        items, step = worker.check(export, tmp_path / "w3", 2)
        assert step.timed_out and items == {} and worker.proc is None
    finally:
        worker.close()


def test_a_worker_analyses_each_distinct_model_once(monkeypatch):
    import keras

    from hw5.kit import analyse, describe, spec
    from hw5.ta import trusted_worker

    monkeypatch.setattr(analyse, "_remembered", None)  # restored afterwards
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    export = json.loads(json.dumps(describe.describe_model(model)))
    fresh = analyse.analyse_model(export)
    assert fresh.ok and fresh.total_params == 7850

    trusted_worker._warm_up()
    assert analyse.analyse_model(export) == fresh and analyse.analyses_reused() == 0
    again = analyse.analyse_model(json.loads(json.dumps(export)))
    assert again == fresh and analyse.analyses_reused() == 1
    again.layers.clear()  # each caller gets its own copy
    assert analyse.analyse_model(export) == fresh and analyse.analyses_reused() == 2
    broken = dict(export, config_json='{"class_name": "Sequential", "config": {"layers": 1}}')
    assert not analyse.analyse_model(broken).ok and not analyse.analyse_model(broken).ok
    assert analyse.analyses_reused() == 2  # failures are analysed again
    # analyse_export (what the trusted checks call) goes through the remembered analysis
    variable = next(iter(spec.TRAINED_VARIABLES))
    bundle = analyse.analyse_export({"variables": {variable: {"status": "ok", "model": export}}})
    assert bundle.variables[variable].model == fresh and analyse.analyses_reused() == 3
