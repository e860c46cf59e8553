"""How the notebook trained its models and prepared its data (export schema 2) -> facts.

Part of ``analyse``. The grading kernel's ``fit`` stand-in records every call (the model object
it was called on, ``epochs``, ``batch_size``, the shapes of ``x``/``y`` and of the validation
data) and ties each returned History to its call; the export also describes the processed
arrays (``x_train`` ...) and how many images the kernel's MNIST loader returned. All of it is
untrusted data: anything malformed becomes ``None`` (and then fails the check that reads it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import spec

EXPORT_SCHEMA = 2
# Keras' own defaults when fit() is called without them.
KERAS_DEFAULT_EPOCHS = 1
KERAS_DEFAULT_BATCH_SIZE = 32
DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class FitCall:
    """One call of ``model.fit`` as the stand-in saw it."""

    call: int
    """1, 2, ... in the order the notebook made them."""
    model_object: int | None
    epochs: int | None
    """As written; ``None`` when not given (Keras then trains ``KERAS_DEFAULT_EPOCHS``)."""
    initial_epoch: int
    batch_size: int | None
    x_shape: tuple | None
    y_shape: tuple | None
    validation_shapes: tuple | None
    """Shapes of ``validation_data``'s arrays, ``None`` without validation data."""
    validation_split: float | None
    cell: int | None
    """Index of the notebook cell that made the call."""
    error: str | None
    """What fit raised (such a call trained nothing)."""

    @property
    def epochs_run(self) -> int:
        """Epochs this call trains: Keras runs from ``initial_epoch`` up to ``epochs``."""
        epochs = KERAS_DEFAULT_EPOCHS if self.epochs is None else self.epochs
        return max(0, epochs - self.initial_epoch)

    @property
    def effective_batch_size(self) -> int | None:
        if self.batch_size is None and self.x_shape is not None:
            return KERAS_DEFAULT_BATCH_SIZE
        return self.batch_size

    def where(self) -> str:
        return f"cell {self.cell + 1}" if self.cell is not None else f"fit call {self.call}"


@dataclass
class HistoryFacts:
    name: str
    status: str
    """``ok``, ``missing``, ``not_a_history`` (as in the export) or ``unrecorded``."""
    fit_call: int | None
    error: str | None


@dataclass
class ArrayFacts:
    """One of the notebook's processed arrays (``x_train`` ...)."""

    name: str
    status: str
    """``ok``, ``missing`` or ``error``."""
    shape: tuple | None = None
    dtype: str | None = None
    min: float | None = None
    max: float | None = None
    one_hot: bool | None = None


@dataclass
class RunFacts:
    """Everything the export says about training and data."""

    recorded: bool
    """False for an export without ``"schema": 2``: no fit records, so the trained-model
    items fail."""
    fit_stand_in: bool | None = None
    fit_calls: list = field(default_factory=list)
    histories: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    mnist_train: int | None = None
    mnist_test: int | None = None

    def calls_on(self, model_object) -> list:
        """The successful fit calls on one model object, in order."""
        if model_object is None:
            return []
        return [c for c in self.fit_calls if c.model_object == model_object and not c.error]

    def call(self, number) -> FitCall | None:
        return next((c for c in self.fit_calls if c.call == number), None)


def as_int(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def as_shape(value):
    if not isinstance(value, (list, tuple)) or len(value) > 8:
        return None
    dims = tuple(as_int(v) if v is not None else None for v in value)
    return dims if all(d is None or d >= 0 for d in dims) else None


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value == value and abs(value) != float("inf") else None


def _text(value, limit=600):
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def _fit_call(entry) -> FitCall | None:
    if not isinstance(entry, dict) or as_int(entry.get("call")) is None:
        return None
    val = entry.get("validation_data_shapes")
    val_shapes = None
    if isinstance(val, (list, tuple)):
        val_shapes = tuple(as_shape(s) for s in val[:3])
    return FitCall(
        call=entry["call"], model_object=as_int(entry.get("model_object")),
        epochs=as_int(entry.get("epochs")), initial_epoch=as_int(entry.get("initial_epoch")) or 0,
        batch_size=as_int(entry.get("batch_size")), x_shape=as_shape(entry.get("x_shape")),
        y_shape=as_shape(entry.get("y_shape")), validation_shapes=val_shapes,
        validation_split=_number(entry.get("validation_split")) or None,
        cell=as_int(entry.get("cell")), error=_text(entry.get("error")))


def _array(name, entry) -> ArrayFacts:
    if not isinstance(entry, dict):
        return ArrayFacts(name, "missing")
    one_hot = entry.get("one_hot")
    return ArrayFacts(name, str(entry.get("status", "error")), as_shape(entry.get("shape")),
                      _text(entry.get("dtype"), 40), _number(entry.get("min")),
                      _number(entry.get("max")), one_hot if isinstance(one_hot, bool) else None)


def analyse_runs(export: dict) -> RunFacts:
    """RunFacts of an export; ``recorded=False`` unless it declares schema 2."""
    if not isinstance(export, dict) or export.get("schema") != EXPORT_SCHEMA:
        return RunFacts(recorded=False)
    calls = export.get("fit_calls") if isinstance(export.get("fit_calls"), list) else []
    histories = export.get("histories") if isinstance(export.get("histories"), dict) else {}
    data = export.get("data") if isinstance(export.get("data"), dict) else {}
    sizes = export.get("mnist_sizes") if isinstance(export.get("mnist_sizes"), dict) else {}
    facts = RunFacts(recorded=True, fit_stand_in=export.get("fit_stand_in") is True,
                     mnist_train=as_int(sizes.get("train")), mnist_test=as_int(sizes.get("test")))
    facts.fit_calls = [c for c in map(_fit_call, calls[:10_000]) if c is not None]
    for tv in spec.TRAINED_VARIABLES.values():
        entry = histories.get(tv.history)
        if not isinstance(entry, dict):
            facts.histories[tv.history] = HistoryFacts(tv.history, "missing", None, None)
            continue
        facts.histories[tv.history] = HistoryFacts(
            tv.history, str(entry.get("status", "missing")), as_int(entry.get("fit_call")),
            _text(entry.get("error")))
    facts.data = {key: _array(key, data.get(key)) for key in DATA_KEYS}
    return facts
