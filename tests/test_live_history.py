"""The public checks of how a model was trained (``hw5.kit.live_history``) on real Keras fits of
the real baseline on shipped MNIST, and the checklist of the notebook's last cell
(``hw5.kit.checklist``). The same checks in executed notebooks: ``tests/test_notebooks.py``."""
from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from hw5.kit import checklist, live_history, mnist, public, spec  # noqa: E402
from hw5.mutants import REFERENCE_SOURCES  # noqa: E402

TV = spec.TRAINED_VARIABLES["model_eta_large"]
QUICK = {spec.EPOCHS_ENV_VAR: "1", spec.TRAIN_SUBSET_ENV_VAR: "64"}


def test_expected_settings_follow_the_notebooks_shortcuts():
    full = live_history.expected({})
    assert (full.epochs, full.train_images, full.shortcuts) == (spec.EPOCHS, spec.TRAIN_IMAGES, ())
    assert full.steps == -(-spec.TRAIN_IMAGES // spec.BATCH_SIZE) and not full.note()
    quick = live_history.expected(QUICK)
    assert (quick.epochs, quick.train_images) == (1, 64)
    assert "HW5_EPOCHS=1, HW5_TRAIN_SUBSET=64" in quick.note()
    assert f"{spec.TRAIN_IMAGES:,}" in quick.warning()
    # As the notebook reads them: an empty subset is off, a large one keeps every image.
    assert live_history.expected({spec.TRAIN_SUBSET_ENV_VAR: ""}).shortcuts == ()
    assert live_history.expected({spec.TRAIN_SUBSET_ENV_VAR: "10**9"}).train_images == \
        spec.TRAIN_IMAGES
    assert live_history.expected({spec.TRAIN_SUBSET_ENV_VAR: "999999"}).train_images == \
        spec.TRAIN_IMAGES


@pytest.fixture(scope="module")
def data():
    (x, y), (xt, yt) = mnist.load_mnist(allow_download=False)
    prep = lambda a: a.reshape((-1,) + spec.IMAGE_SHAPE).astype("float32") / spec.PIXEL_SCALE
    # 1,000 validation images keep the test fast; their accuracies are whole numbers of the
    # 10,000 test images too (what Keras records cannot tell the two apart: the autograder can).
    return (prep(x[:64]), keras.utils.to_categorical(y[:64], 10),
            prep(xt[:1000]), keras.utils.to_categorical(yt[:1000], 10))


def _model():
    ns = {}
    exec(REFERENCE_SOURCES["define_model"], ns)
    return ns["define_model"](TV.learning_rate)


def _messages(model, history, environ):
    results, _ = live_history.run_checks(TV.model, model, history, environ)
    return {r.name: r for r in results}


def test_real_fits(data):
    x, y, xt, yt = data
    model = _model()
    first = model.fit(x, y, batch_size=spec.BATCH_SIZE, epochs=1, validation_data=(xt, yt),
                      verbose=0)
    results = _messages(model, first, QUICK)
    assert all(r.passed for r in results.values()), results
    assert results["epochs"].found == "1 epochs"
    # Judged against the full settings: 1 epoch of 2 steps.
    results = _messages(model, first, {})
    assert f"epochs=1; train with epochs=EPOCHS ({spec.EPOCHS})" in results["epochs"].message
    assert "2 steps per epoch, expected 1,875" in results["steps_per_epoch"].message
    assert "33 to 64 images" in results["steps_per_epoch"].message
    # A second fit continuing the first: 2 epochs in all; the first History is no longer the
    # model's last.
    second = model.fit(x, y, batch_size=spec.BATCH_SIZE, epochs=2, initial_epoch=1,
                       validation_data=(xt, yt), verbose=0)
    two = {**QUICK, spec.EPOCHS_ENV_VAR: "2"}
    results = _messages(model, second, two)
    assert all(r.passed for r in results.values()), results
    assert "1 in earlier fits" in results["epochs"].message
    results = _messages(model, first, two)
    assert list(results) == ["history"] and "was trained again" in results["history"].message
    # Another model's History, a batch size of 16 and no validation.
    other = _model()
    results = _messages(other, second, two)
    assert "does not come from a fit on model_eta_large" in results["history"].message
    third = other.fit(x, y, batch_size=16, epochs=1, verbose=0)
    results = _messages(other, third, QUICK)
    assert "4 steps per epoch, expected 2" in results["steps_per_epoch"].message
    assert "larger than" not in results["steps_per_epoch"].message
    assert results["validation_set"].found == "no validation_data"
    keras.backend.clear_session()


def test_public_check_variable_reports_the_run_and_what_it_covers(data, capsys, monkeypatch):
    x, y, xt, yt = data
    for name, value in QUICK.items():
        monkeypatch.setenv(name, value)
    model = _model()
    history = model.fit(x, y, batch_size=spec.BATCH_SIZE, epochs=1, validation_data=(xt, yt),
                        verbose=0)
    public.check_variable(TV.model, model, history)
    out = capsys.readouterr().out
    assert "OK" in out and "judged with the quick-run shortcut HW5_EPOCHS=1" in out
    assert out.rstrip().endswith(public.coverage_line("variable"))
    with pytest.raises(AssertionError) as err:
        public.check_variable(TV.model, model, None)
    assert f"{TV.history} is not defined" in str(err.value)
    assert str(err.value).endswith(public.coverage_line("variable"))
    keras.backend.clear_session()


def test_validation_accuracy_must_count_whole_test_images():
    n = spec.TEST_IMAGES
    ok = live_history.LiveRun("ok", metrics={"val_loss": [0.3], "val_accuracy": [9123 / n]})
    assert live_history.check_validation(ok, TV).passed
    on_train = live_history.LiveRun("ok", metrics={"val_loss": [0.3], "val_accuracy": [54001 / 60000]})
    result = live_history.check_validation(on_train, TV)
    assert not result.passed and "not a whole number" in result.message


def test_checklist_lists_what_would_cost_points():
    from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult

    def stub(learning_rate):
        """Docstring kept from the template."""
        ...

    env = {spec.STUDENT_ID_VARIABLE: "", spec.P1_1_VARIABLE: ...,
           spec.P3_VARIABLE: np.array([[..., 1], [2, 3]]), "define_model_2_conv": stub}
    for raised in (True, False):
        info = ExecutionInfo("# TODO4: model_momentum\nraise ValueError('boom')", False, False,
                             True, None)
        result = ExecutionResult(info)
        result.error_in_exec = ValueError("boom") if raised else None
        checklist.record_cell(result)
        assert ("TODO4" in checklist.failed_todo_cells()) is raised
    checklist.record_cell(ExecutionResult(ExecutionInfo("# TODO2\nx = 1", False, False, True, None)))
    result = ExecutionResult(ExecutionInfo("# TODO3\n1/0", False, False, True, None))
    result.error_in_exec = ZeroDivisionError("division by zero")
    checklist.record_cell(result)

    class StandIn:  # what the grading kernel's otter answers
        def check(self, *args):
            return None

    text = checklist.report(StandIn(), env, QUICK)
    for fragment in ("did not run here", "`p1_1` is still `...`", "`p3_output` is still `...`",
                     "`define_model_2_conv` is still `...`", "TODO1 is not finished",
                     f"{spec.STUDENT_ID_VARIABLE} is not set",
                     "Training was shortened by HW5_EPOCHS=1, HW5_TRAIN_SUBSET=64",
                     "The TODO3 cell raised ZeroDivisionError: division by zero",
                     "not full marks"):
        assert fragment in text, text
    assert "TODO4 cell raised" not in text and "TODO2 cell" not in text
    assert not checklist.is_placeholder(_model) and not checklist.is_placeholder(np.zeros(3))
