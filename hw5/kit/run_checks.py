"""check_* functions for how a model was trained and what it was trained on (export schema 3).

A trained-model item (``variable_<model>``) passes only when its history variable is the return
value of a ``fit`` on that very model object, the model was trained ``spec.EPOCHS`` epochs in
all (one call, or several that add up: ``initial_epoch`` or an epoch loop), with
``batch_size=spec.BATCH_SIZE``, on the whole processed training set, validated on the whole
test set, with no other argument or callback that changes training, from fresh weights
(``run_data_checks``), with the compile settings asked for at the time of its fits
(``items``); and when the given code (``define_model``, ``process_dataset``) still does what it
did when it was handed out.
"""
from __future__ import annotations

from . import run_data_checks as D
from . import spec
from .analyse_runs import KERAS_DEFAULT_EPOCHS
from .check_result import CheckResult, never_raises, number, shape_text

NOT_RECORDED = "fit not recorded"


def _fit_text(tv) -> str:
    return f"{tv.history} = {tv.model}.fit(x_train, y_train, ...)"


@never_raises
def check_fit_stand_in(runs) -> CheckResult:
    if runs.fit_stand_in:
        return CheckResult("fit_recorded", True, "every fit call was recorded")
    return CheckResult("fit_recorded", False,
                       "keras.Model.fit was replaced by the notebook, so the grader cannot see "
                       "how the models were trained: do not assign to keras.Model.fit",
                       "keras.Model.fit", "replaced")


@never_raises
def check_history(runs, variable) -> CheckResult:
    """The history variable is what the model's last fit returned."""
    tv = spec.TRAINED_VARIABLES[variable.name]
    history = runs.histories.get(tv.history)
    if history is None or history.status == "missing":
        return CheckResult("history", False, f"{tv.history} is not defined: keep what fit "
                                             f"returns: {_fit_text(tv)}", "a History", "missing")
    if history.status != "ok" or history.fit_call is None:
        return CheckResult("history", False,
                           (history.error or f"{tv.history} is not a History returned by fit")
                           + f": write {_fit_text(tv)}", "a History", history.status)
    call = runs.call(history.fit_call)
    if call is None or variable.model_object is None or call.model_object != \
            variable.model_object:
        return CheckResult("history", False,
                           f"{tv.history} does not come from a fit on {tv.model} (it was "
                           f"returned by a fit on another model): write {_fit_text(tv)}",
                           f"a fit on {tv.model}", "a fit on another model")
    calls = runs.calls_on(variable.model_object)
    if calls and calls[-1].call != call.call:
        later = calls[-1]
        return CheckResult("history", False,
                           f"{tv.model} was trained again ({later.where()}, epochs="
                           f"{number(later.epochs)}) after {tv.history} was returned: train it "
                           f"once and keep that fit's History in {tv.history}",
                           f"{tv.history} from the last fit", "an earlier fit")
    return CheckResult("history", True, f"{tv.history} = {tv.model}.fit(...)")


def _epochs_text(call) -> str:
    if call.epochs is None:
        return f"epochs={KERAS_DEFAULT_EPOCHS} (Keras' default: no epochs given)"
    text = f"epochs={call.epochs}"
    return text + (f", initial_epoch={call.initial_epoch}" if call.initial_epoch else "")


@never_raises
def check_epochs(calls, tv) -> CheckResult:
    total = sum(c.epochs_run for c in calls)
    expected = f"{spec.EPOCHS} epochs"
    if total == spec.EPOCHS:
        how = f" in {len(calls)} fit calls" if len(calls) > 1 else ""
        return CheckResult("epochs", True, f"{total} epochs{how}", expected, f"{total} epochs")
    if len(calls) == 1:
        message = (f"{tv.history} comes from a fit with {_epochs_text(calls[0])}; train with "
                   f"epochs=EPOCHS ({spec.EPOCHS})")
    elif not calls:
        message = f"{tv.model} was never trained: {_fit_text(tv)} with epochs=EPOCHS"
    else:
        last, earlier = calls[-1], calls[:-1]
        each = ", ".join(f"{_epochs_text(c)} in {c.where()}" for c in earlier)
        message = (f"{tv.history} comes from a fit with {_epochs_text(last)} ({last.where()}) "
                   f"after {len(earlier)} earlier fit(s) of {tv.model} ({each}): {total} epochs "
                   f"in all; train {tv.model} for EPOCHS ({spec.EPOCHS}) epochs in all, e.g. "
                   "one fit with epochs=EPOCHS")
    return CheckResult("epochs", False, message, expected, f"{total} epochs")


@never_raises
def check_batch_size(calls, tv) -> CheckResult:
    for call in calls:
        size = call.effective_batch_size
        if size != spec.BATCH_SIZE:
            shown = "unknown (not arrays)" if size is None else str(size)
            return CheckResult("batch_size", False,
                               f"{tv.history} comes from a fit with batch_size={shown}; train "
                               f"with batch_size=BATCH_SIZE ({spec.BATCH_SIZE})",
                               str(spec.BATCH_SIZE), shown)
    return CheckResult("batch_size", True, f"batch {spec.BATCH_SIZE}", str(spec.BATCH_SIZE),
                       str(spec.BATCH_SIZE))


def fit_checks(runs, variable) -> list:
    """How ``variable``'s model was trained (an export without fit records fails: nothing
    confirms the training the item asks for)."""
    if not runs.recorded:
        tv = spec.TRAINED_VARIABLES[variable.name]
        return [CheckResult("fit_recorded", False,
                            f"the grader has no record of the fit that produced {tv.history}, so "
                            "it cannot confirm how the model was trained: re-run the notebook "
                            "from the top and resubmit", "fit calls recorded", "none")]
    tv = spec.TRAINED_VARIABLES[variable.name]
    for gate in (check_fit_stand_in(runs), check_history(runs, variable)):
        if not gate.passed:
            return [gate]
    calls = runs.calls_on(variable.model_object)
    return [check_epochs(calls, tv), check_batch_size(calls, tv),
            D.check_training_set(runs, calls, tv), D.check_validation_set(runs, calls, tv),
            *D.check_fit_arguments(runs, calls, tv), D.check_callbacks(calls, tv),
            D.check_fresh_start(calls, tv)]


# ---------------------------------------------------------------------------------------------
# The given code
# ---------------------------------------------------------------------------------------------
@never_raises
def check_given_builder(name, results) -> CheckResult:
    """``results``: the builder's own checks (all kinds); the given function must pass them."""
    failed = [r for r in results if not r.passed]
    if not failed:
        return CheckResult("given_code", True, f"the given {name} is unchanged")
    first = failed[0]
    return CheckResult("given_code", False,
                       f"the given {name} was changed ({first.message}): the models it builds "
                       f"are not the ones asked for; restore the given {name} cell",
                       f"the given {name}", first.found or "changed")


def _array_problem(facts, labels: bool) -> str | None:
    if facts.status != "ok" or facts.shape is None:
        return "is missing" if facts.status == "missing" else "could not be read"
    if labels:
        if tuple(facts.shape[1:]) != (spec.NUM_CLASSES,) or facts.one_hot is not True:
            return (f"expected one-hot labels (N, {spec.NUM_CLASSES}), found shape "
                    f"{shape_text(facts.shape)}" + ("" if facts.one_hot else ", not one-hot"))
        return None
    if tuple(facts.shape[1:]) != tuple(spec.IMAGE_SHAPE):
        return f"expected images (N, 28, 28, 1), found shape {shape_text(facts.shape)}"
    if not str(facts.dtype).startswith("float"):
        return f"expected floating-point pixels, found {facts.dtype}"
    lo, hi = facts.min, facts.max
    if lo is None or hi is None or lo < 0 or hi > 1 or hi <= 1 / spec.PIXEL_SCALE:
        return (f"expected pixels in [0, 1] (divided by {spec.PIXEL_SCALE:g} once), found "
                f"[{number(lo)}, {number(hi)}]")
    return None


@never_raises
def check_data_whole(runs) -> CheckResult:
    """x_train / x_test hold every image MNIST was loaded with (not cut after loading)."""
    problems = []
    loaded = {"x_train": (runs.mnist_train, "training"), "x_test": (runs.mnist_test, "test")}
    for key, (rows, which) in loaded.items():
        facts = runs.data[key]
        total = spec.TRAIN_IMAGES if which == "training" else spec.TEST_IMAGES
        if facts.cut:
            problems.append(f"{key} was cut ({facts.cut})")
        elif facts.shape and rows is not None and (facts.shape[0] != rows or facts.strict_view):
            problems.append(f"{key} holds only part of the {total:,} {which} images")
    if not problems:
        return CheckResult("whole_data", True, "all the loaded images are kept")
    return CheckResult("whole_data", False,
                       "; ".join(problems) + f": keep all {spec.TRAIN_IMAGES:,} training and "
                       f"{spec.TEST_IMAGES:,} test images in x_train, y_train, x_test, y_test "
                       "(every trained model uses them)", "all of MNIST", problems[0])


@never_raises
def check_given_data(runs) -> CheckResult:
    """The arrays process_dataset made are still what the given version makes."""
    problems = []
    for key, facts in runs.data.items():
        problem = _array_problem(facts, labels=key.startswith("y"))
        if problem:
            problems.append(f"{key} {problem}")
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        xs, ys = runs.data[x].shape, runs.data[y].shape
        if xs and ys and xs[0] != ys[0]:
            problems.append(f"{y} has {ys[0]:,} labels for {xs[0]:,} images")
    if not problems:
        return CheckResult("given_data", True, "the data is processed as given")
    return CheckResult("given_data", False,
                       "the given data processing (process_dataset) was changed: "
                       + "; ".join(problems) + ": restore the given cell",
                       "the given process_dataset", problems[0])
