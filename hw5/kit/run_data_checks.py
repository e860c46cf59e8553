"""check_* functions for what each graded fit received (export schema 3): the data, every other
argument that changes training, callbacks and the weights it started from.

The grading kernel holds a smaller MNIST than the student's (``mnist_sizes``): row counts are
compared with what its loader returned, but messages speak of the student's data
(``spec.TRAIN_IMAGES`` / ``spec.TEST_IMAGES``, "the test set"), never of the grader's copy.
"""
from __future__ import annotations

import math

from . import spec
from .check_result import CheckResult, never_raises, number

_ALL_TRAIN = f"all {spec.TRAIN_IMAGES:,} training images"
_ALL_TEST = f"the {spec.TEST_IMAGES:,} test images"


def _arrays_problem(call, use, role, name, loaded, what) -> str | None:
    """Why ``use`` (fit's ``role`` argument) is not the notebook's whole processed ``name``."""
    written = call.written(role.replace(" ", "_"), name)
    if use is None:
        together = call.x is not None and call.x.kind == "Dataset"  # y comes with x
        return None if role == "y" and together else f"no {role} given"
    if use.kind == "Dataset":
        return (f"{role} is a tf.data.Dataset ({use.detail}): the grader cannot see which images "
                f"and labels it yields; pass the arrays themselves: fit({name}, ...)")
    if not use.shape:
        return f"{role} is a {use.kind}, not an array: pass the processed {name}"
    if use.relation == "view" or use.strict_view:
        return f"{role} is `{written}`, a slice of {name}: pass {name} itself ({what})"
    if loaded is not None and use.rows != loaded:
        return f"{role} is `{written}`, part of {what}: pass {name} itself"
    at_call = call.data.get(name)
    if use.relation == "other" and (at_call is None or use.digest != at_call.digest):
        dtype = f"dtype {use.dtype}" if use.dtype else "unknown dtype"
        return (f"{role} is `{written}`, not the processed {name} ({dtype}, values "
                f"{number(use.lo)} to {number(use.hi)}, or other images): train on the arrays the "
                f"given process_dataset made")
    if at_call is not None and at_call.strict_view:
        return (f"{name} was cut before this fit (it is a slice of a larger array): keep "
                f"{what} in {name}")
    return None


def _problems(runs, calls, pairs, loaded, what) -> list:
    out = []
    for call in calls:
        for use, role, name in pairs(call):
            problem = _arrays_problem(call, use, role, name, loaded, what)
            if problem and problem not in out:
                out.append(f"{call.where()}: {problem}")
    return out


@never_raises
def check_training_set(runs, calls, tv) -> CheckResult:
    if runs.mnist_train is None:
        return CheckResult("training_set", False,
                           "the notebook did not load MNIST with hw5kit.mnist.load_mnist() (the "
                           "given cell): keep the given loading cell", _ALL_TRAIN, "not loaded")
    for call in calls:
        if call.validation_split and call.val_x is None:
            return CheckResult("training_set", False,
                               f"{tv.history} comes from a fit with validation_split="
                               f"{number(call.validation_split)}, which holds out part of the "
                               "training images: validate with validation_data=(x_test, y_test)",
                               _ALL_TRAIN, f"validation_split={number(call.validation_split)}")
    problems = _problems(runs, calls, lambda c: ((c.x, "x", "x_train"), (c.y, "y", "y_train")),
                         runs.mnist_train, _ALL_TRAIN)
    if problems:
        return CheckResult("training_set", False,
                           f"{tv.history} does not come from a fit on {_ALL_TRAIN}: "
                           + "; ".join(problems), f"x_train, y_train ({_ALL_TRAIN})",
                           "a subset or other data")
    return CheckResult("training_set", True, _ALL_TRAIN, _ALL_TRAIN, _ALL_TRAIN)


@never_raises
def check_validation_set(runs, calls, tv) -> CheckResult:
    missing = [c for c in calls if c.val_x is None]
    if missing:
        return CheckResult("validation_set", False,
                           f"{tv.history} comes from a fit with no validation_data for "
                           f"validation ({missing[0].where()}): validate on the whole test set: "
                           f"validation_data=(x_test, y_test) ({_ALL_TEST})",
                           "the test set", "no validation_data")
    problems = _problems(
        runs, calls, lambda c: ((c.val_x, "validation x", "x_test"),
                                (c.val_y, "validation y", "y_test")), runs.mnist_test, _ALL_TEST)
    problems += [f"{c.where()}: validation_data has sample weights ({c.val_weights})"
                 for c in calls if c.val_weights]
    if problems:
        return CheckResult("validation_set", False,
                           f"{tv.history} is not validated on the test set "
                           f"(validation_data=(x_test, y_test), {_ALL_TEST}): "
                           + "; ".join(problems), "the test set", "a subset or other data")
    return CheckResult("validation_set", True, f"validation on {_ALL_TEST}", "the test set",
                       "the test set")


def _steps(rows, batch):
    if not rows or not batch:
        return set()
    return {rows // batch, math.ceil(rows / batch)}


@never_raises
def check_fit_arguments(runs, calls, tv) -> list:
    """Every other argument that changes what a fit trains; one result per failing one."""
    out = []

    def fail(name, message, expected, found):
        if all(r.name != name for r in out):
            out.append(CheckResult(name, False, f"{tv.history} comes from a fit with {message}",
                                   expected, found))

    for call in calls:
        at = f" ({call.where()})"
        batch = call.effective_batch_size
        if call.steps_per_epoch is not None and \
                call.steps_per_epoch not in _steps(runs.mnist_train, batch):
            fail("steps_per_epoch", f"steps_per_epoch={call.steps_per_epoch}{at}, so an epoch "
                 "does not go through every training image: leave steps_per_epoch out",
                 "not given", str(call.steps_per_epoch))
        val_batch = call.validation_batch_size or batch
        if call.validation_steps is not None and \
                call.validation_steps not in _steps(runs.mnist_test, val_batch):
            fail("validation_steps", f"validation_steps={call.validation_steps}{at}, so "
                 "validation does not use the whole test set: leave validation_steps out",
                 "not given", str(call.validation_steps))
        if call.validation_freq != 1:
            fail("validation_freq", f"validation_freq={call.validation_freq}{at}: validate "
                 "after every epoch (leave validation_freq out)", "1", str(call.validation_freq))
        for name in ("sample_weight", "class_weight"):
            value = getattr(call, name)
            if value:
                fail(name, f"{name} ({value}){at}, which weights the loss: leave {name} out",
                     "not given", value)
    if not out:
        out.append(CheckResult("fit_arguments", True, "no argument that changes training"))
    return out


@never_raises
def check_callbacks(calls, tv) -> CheckResult:
    changing = []
    for call in calls:
        for cb in call.callbacks:
            if cb.changes and cb.class_name not in [c.split(" ")[0] for c in changing]:
                why = "" if cb.changes == cb.class_name else f" ({cb.changes})"
                changing.append(f"{cb.class_name}{why} in {call.where()}")
    if changing:
        return CheckResult("callbacks", False,
                           f"{tv.history} comes from a fit with a callback that changes "
                           f"training: {', '.join(changing)}; train with the fixed settings "
                           f"(callbacks that only log or save, such as CSVLogger or "
                           f"ModelCheckpoint, are fine)", "none that change training",
                           ", ".join(c.split(" ")[0] for c in changing))
    return CheckResult("callbacks", True, "no callback that changes training")


@never_raises
def check_fresh_start(calls, tv) -> CheckResult:
    for call in calls:
        if call.warm_start:
            return CheckResult("fresh_weights", False,
                               f"{tv.model} did not start from fresh weights before "
                               f"{call.where()}: {call.warm_start}; build it with its "
                               f"define_model... function and train it from there",
                               "fresh weights", "weights from elsewhere")
    return CheckResult("fresh_weights", True, "trained from fresh weights")


def compile_settings(calls) -> list:
    """Distinct compile settings the graded fits ran with: [(call, settings dict)]."""
    out = []
    for call in calls:
        if call.compile and "error" not in call.compile and \
                all(call.compile != seen for _, seen in out):
            out.append((call, call.compile))
    return out
