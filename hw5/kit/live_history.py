"""How a trained model's live ``History`` says it was trained: facts and checks, in the student's
kernel, without training anything (the public checks of TODO1, 2, 4, 6 and the baseline).

The same expectations as the autograder's fit checks (``run_checks``, which read the grading
kernel's fit records): the history comes from the last fit of that very model, which trained
``spec.EPOCHS`` epochs in all, on all ``spec.TRAIN_IMAGES`` training images at
``spec.BATCH_SIZE``, validated on the test set. What a History shows: its model (``.model``), the
``epochs`` asked for and the ``steps`` per epoch (``.params``), the epochs run (``.epoch``) and the
metrics (``.history``); the model's optimizer counts every step it ever took (``iterations``), which
shows earlier fits. Keras records neither the batch size nor the number of images (only the steps
per epoch, which both set) nor the validation set's size: a validation accuracy that is no whole
number of test images out of ``spec.TEST_IMAGES`` proves another validation set, and the rest is
the autograder's.

With the notebook's quick-run shortcuts (``spec.EPOCHS_ENV_VAR``, ``spec.TRAIN_SUBSET_ENV_VAR``)
set, the expected epochs and images are the shortened ones, as the notebook applies them, and
the checks say so.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from . import spec
from .check_result import CheckResult, never_raises

# How far from a whole number of images a validation accuracy may be (float32 rounding).
_WHOLE_IMAGES_ATOL = 0.01


# ---------------------------------------------------------------------------------------------
# What the notebook's training settings are (spec, shortened by the quick-run shortcuts)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expected:
    epochs: int
    train_images: int
    shortcuts: tuple = ()
    """(variable, value) of each quick-run shortcut in effect."""

    @property
    def steps(self) -> int:
        return math.ceil(self.train_images / spec.BATCH_SIZE)

    def settings_text(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.shortcuts)

    def note(self) -> str:
        """Empty without shortcuts; else what the checks were judged against."""
        if not self.shortcuts:
            return ""
        return spec.QUICK_RUN_NOTE.format(settings=self.settings_text(), epochs=spec.EPOCHS,
                                          images=spec.TRAIN_IMAGES)

    def warning(self) -> str:
        """Empty without shortcuts; else the checklist's warning."""
        if not self.shortcuts:
            return ""
        return spec.QUICK_RUN_WARNING.format(
            settings=self.settings_text(), epochs=spec.EPOCHS, images=spec.TRAIN_IMAGES,
            names=" and ".join(name for name, _ in self.shortcuts))


def expected(environ=None) -> Expected:
    """The epochs and training images the notebook's own settings cell gives, read the same way:
    ``int(HW5_EPOCHS)`` when set, ``x_train[:int(HW5_TRAIN_SUBSET)]`` when set and not empty.
    A value the notebook could not read (it raised there) is ignored."""
    environ = os.environ if environ is None else environ
    epochs, images, shortcuts = spec.EPOCHS, spec.TRAIN_IMAGES, []
    value = environ.get(spec.EPOCHS_ENV_VAR)
    if value is not None:
        try:
            epochs = int(value)
            shortcuts.append((spec.EPOCHS_ENV_VAR, value))
        except ValueError:
            pass
    value = environ.get(spec.TRAIN_SUBSET_ENV_VAR)
    if value:
        try:
            images = len(range(spec.TRAIN_IMAGES)[: int(value)])
            shortcuts.append((spec.TRAIN_SUBSET_ENV_VAR, value))
        except ValueError:
            pass
    return Expected(epochs, images, tuple(shortcuts))


# ---------------------------------------------------------------------------------------------
# Facts of one live History
# ---------------------------------------------------------------------------------------------
@dataclass
class LiveRun:
    """What a model and its History say about how the model was trained."""

    status: str
    """``ok``, ``missing`` (None), ``ellipsis`` (still ``...``) or ``not_a_history``."""
    type_name: str = ""
    own_model: bool = False
    """``history.model`` is the model checked."""
    last_fit: bool = True
    """No later fit of the model replaced its ``model.history``."""
    epochs_arg: int | None = None
    """``epochs`` as given to fit (``history.params``)."""
    initial_epoch: int = 0
    epochs_run: int = 0
    steps: int | None = None
    """steps per epoch (``history.params``)."""
    earlier_steps: int | None = None
    """steps the model's optimizer took before this fit (None when unknown)."""
    metrics: dict = field(default_factory=dict)


def _int(value):
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number == value else None


def _iterations(model):
    try:
        import keras

        return _int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    except Exception:  # noqa: BLE001 - an optimizer without a step counter: unknown
        return None


def live_run(model, history) -> LiveRun:
    """The facts of ``history`` (what the notebook holds under the history name) for ``model``."""
    if history is None:
        return LiveRun("missing")
    if history is Ellipsis:
        return LiveRun("ellipsis")
    names = [c.__name__ for c in type(history).__mro__]
    params, metrics = getattr(history, "params", None), getattr(history, "history", None)
    if "History" not in names or not isinstance(params, dict) or not isinstance(metrics, dict):
        return LiveRun("not_a_history", type(history).__name__)
    epochs = list(getattr(history, "epoch", None) or [])
    later = getattr(model, "history", None)
    run = LiveRun("ok", type(history).__name__,
                  own_model=getattr(history, "model", None) is model,
                  last_fit=later is None or later is history,
                  epochs_arg=_int(params.get("epochs")),
                  initial_epoch=(_int(epochs[0]) or 0) if epochs else 0,
                  epochs_run=len(epochs), steps=_int(params.get("steps")),
                  metrics={k: list(v) for k, v in metrics.items() if isinstance(v, list)})
    iterations = _iterations(model)
    if iterations is not None and run.steps:
        earlier = iterations - run.epochs_run * run.steps
        # A model compiled again after training has a fresh step counter: nothing to see.
        run.earlier_steps = earlier if earlier >= 0 else None
    return run


# ---------------------------------------------------------------------------------------------
# Checks (the autograder's, in run_checks, read fit records instead)
# ---------------------------------------------------------------------------------------------
def _fit_text(tv) -> str:
    return f"{tv.history} = {tv.model}.fit(x_train, y_train, ...)"


def _because(want: Expected, what: str) -> str:
    """``set by HW5_EPOCHS=1`` when a shortcut sets ``what`` (epochs / images), else ''."""
    name = spec.EPOCHS_ENV_VAR if what == "epochs" else spec.TRAIN_SUBSET_ENV_VAR
    value = dict(want.shortcuts).get(name)
    return f"set by {name}={value}" if value is not None else ""


def _epochs_wanted(want: Expected) -> str:
    """``EPOCHS (10)``, or ``EPOCHS (1, set by HW5_EPOCHS=1)``."""
    because = _because(want, "epochs")
    return f"EPOCHS ({want.epochs}{', ' + because if because else ''})"


@never_raises
def check_history(run: LiveRun, tv) -> CheckResult:
    """The history is what the last fit of this very model returned."""
    if run.status in ("missing", "ellipsis"):
        found = "missing" if run.status == "missing" else "..."
        where = "is not defined" if run.status == "missing" else "is still `...`"
        return CheckResult("history", False, f"{tv.history} {where}: keep what fit returns: "
                                             f"{_fit_text(tv)}", "a History", found)
    if run.status != "ok":
        return CheckResult("history", False, f"{tv.history} is a {run.type_name}, not the History "
                                             f"fit returns: write {_fit_text(tv)}",
                           "a History", run.type_name)
    if not run.own_model:
        return CheckResult("history", False,
                           f"{tv.history} does not come from a fit on {tv.model} (it was "
                           f"returned by a fit on another model): write {_fit_text(tv)}",
                           f"a fit on {tv.model}", "a fit on another model")
    if not run.last_fit:
        return CheckResult("history", False,
                           f"{tv.model} was trained again after {tv.history} was returned: train "
                           f"it once and keep that fit's History in {tv.history}",
                           f"{tv.history} from the last fit", "an earlier fit")
    return CheckResult("history", True, f"{tv.history} = {tv.model}.fit(...)")


def _epochs_text(run: LiveRun) -> str:
    text = f"epochs={run.epochs_arg}"
    text += f", initial_epoch={run.initial_epoch}" if run.initial_epoch else ""
    if run.epochs_arg is not None and run.epochs_run != run.epochs_arg - run.initial_epoch:
        text += f" that stopped after {run.epochs_run} epochs (a callback stopped it?)"
    return text


@never_raises
def check_epochs(run: LiveRun, tv, want: Expected) -> CheckResult:
    earlier = 0
    if run.earlier_steps and run.steps:
        if run.earlier_steps % run.steps:
            return CheckResult("epochs", False,
                               f"{tv.model} took {run.earlier_steps:,} training steps before the "
                               f"fit that returned {tv.history}, not whole epochs of its "
                               f"{run.steps:,} steps: an earlier fit trained it on other data or "
                               f"at another batch size; build it again and train it once",
                               f"{want.epochs} epochs", "an earlier fit on other data")
        earlier = run.earlier_steps // run.steps
    total = run.epochs_run + earlier
    expected = f"{want.epochs} epochs"
    if total == want.epochs:
        how = f" ({earlier} in earlier fits)" if earlier else ""
        return CheckResult("epochs", True, f"{total} epochs{how}", expected, f"{total} epochs")
    if not earlier:
        message = (f"{tv.history} comes from a fit with {_epochs_text(run)}; train with "
                   f"epochs={_epochs_wanted(want)}")
    else:
        message = (f"{tv.history} comes from a fit with {_epochs_text(run)} after earlier fits "
                   f"of {tv.model} ({earlier} epoch{'s' if earlier != 1 else ''}): {total} "
                   f"epochs in all; train {tv.model} "
                   f"for {_epochs_wanted(want)} epochs in all, e.g. one fit with epochs=EPOCHS")
    return CheckResult("epochs", False, message, expected, f"{total} epochs")


@never_raises
def check_steps(run: LiveRun, tv, want: Expected) -> CheckResult:
    """Steps per epoch: all of x_train at BATCH_SIZE (the batch size and the number of images
    both set them; Keras records neither)."""
    n, size, steps = want.train_images, spec.BATCH_SIZE, run.steps
    expected = f"{want.steps:,} steps per epoch"
    if steps == want.steps:
        return CheckResult("steps_per_epoch", True,
                           f"{steps:,} steps per epoch: all {n:,} training images at batch "
                           f"{size}", expected, expected)
    if not steps:
        return CheckResult("steps_per_epoch", False,
                           f"{tv.history} does not say how many steps each epoch ran: train with "
                           f"{_fit_text(tv)}", expected, "unknown")
    low, high = (steps - 1) * size + 1, steps * size
    images_because = _because(want, "images")
    if steps < want.steps:
        reading = (f"that is {low:,} to {high:,} images at batch_size {size}: a slice of "
                   f"x_train (such as x_train[:{high}])? or a batch_size larger than {size}")
    else:
        reading = (f"that is {low:,} to {high:,} images at batch_size {size}, more than x_train "
                   f"holds, or a batch_size smaller than {size}")
    return CheckResult("steps_per_epoch", False,
                       f"{tv.history} comes from a fit of {steps:,} steps per epoch, expected "
                       f"{want.steps:,}: all {n:,} training images of x_train"
                       f"{' (' + images_because + ')' if images_because else ''} in batches of "
                       f"BATCH_SIZE ({size}); "
                       f"{reading}. Train on the whole training set: "
                       "fit(x_train, y_train, batch_size=BATCH_SIZE, ...)",
                       expected, f"{steps:,} steps per epoch")


@never_raises
def check_validation(run: LiveRun, tv) -> CheckResult:
    n = spec.TEST_IMAGES
    expected = f"{n:,} test images"
    val = {k: v for k, v in run.metrics.items() if k.startswith("val_") and v}
    if not val:
        return CheckResult("validation_set", False,
                           f"{tv.history} has no validation metrics (val_loss, val_{spec.METRIC}): "
                           "the fit ran without validation data; validate on the whole test set: "
                           f"validation_data=(x_test, y_test) ({n:,} images)",
                           expected, "no validation_data")
    for epoch, value in enumerate(val.get(f"val_{spec.METRIC}", []), start=1):
        images = float(value) * n
        if math.isfinite(images) and abs(images - round(images)) > _WHOLE_IMAGES_ATOL:
            return CheckResult("validation_set", False,
                               f"{tv.history}'s validation accuracy after epoch {epoch}, "
                               f"{float(value):.6g}, is {images:,.2f} of {n:,} images, not a whole "
                               f"number: the fit validated on other data than the {n:,} test "
                               "images; validate with validation_data=(x_test, y_test)",
                               expected, "another validation set")
    return CheckResult("validation_set", True,
                       f"validation metrics ({', '.join(sorted(val))}), accuracies consistent with "
                       f"the {n:,} test images", expected, "validation metrics")


def run_checks(name: str, model, history, environ=None) -> tuple[list, Expected]:
    """The checks of how ``model`` (a ``spec.TRAINED_VARIABLES`` name) was trained, from
    ``history``; and what they expected (with the shortcuts in effect)."""
    tv = spec.TRAINED_VARIABLES[name]
    want = expected(environ)
    run = live_run(model, history)
    gate = check_history(run, tv)
    if not gate.passed:
        return [gate], want
    return [gate, check_epochs(run, tv, want), check_steps(run, tv, want),
            check_validation(run, tv)], want
