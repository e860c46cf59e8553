"""How the notebook trained its models and prepared its data (export schema 3) -> facts.

Part of ``analyse``. The grading kernel's ``fit`` stand-in records every call with each argument
as Keras reads it (the model object, ``epochs`` ... ``validation_freq``; each array's shape,
dtype, sample digest and relation to the notebook's ``x_train`` ... at that moment; callbacks;
the compile settings then; a warm start) and ties each returned History to its call; the export
also describes the processed arrays (``x_train`` ...) and how many images the kernel's MNIST
loader returned. All of it is
untrusted data: anything malformed becomes ``None`` (and then fails the check that reads it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import spec

EXPORT_SCHEMA = 3
# Keras' own defaults when fit() is called without them.
KERAS_DEFAULT_EPOCHS = 1
KERAS_DEFAULT_BATCH_SIZE = 32
DATA_KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass
class ArrayUse:
    """An array as the stand-in described it: given to fit, or the notebook's ``x_train`` ...
    at the moment of a fit."""

    kind: str
    """Its type (``ndarray``, ``Dataset`` ...)."""
    shape: tuple | None = None
    dtype: str | None = None
    digest: str | None = None
    """Digest of a strided sample of rows (as float32) and the shape: equal arrays, equal
    digests."""
    lo: float | None = None
    hi: float | None = None
    """Smallest and largest value of that sample."""
    relation: str | None = None
    """To the notebook's array of the same role: ``same`` object, a ``view`` of it (a slice),
    ``other``; None when not compared."""
    strict_view: bool = False
    """A view of a larger array (a slice of it)."""
    detail: str | None = None
    """For a tf.data.Dataset: its element spec and number of batches."""

    @property
    def rows(self):
        return self.shape[0] if self.shape else None


@dataclass
class CallbackFacts:
    class_name: str
    module: str
    changes: str | None
    """Why it may change training (a Keras class that does, or the names a custom callback's
    methods use), None for a callback that only observes."""


@dataclass
class FitCall:
    """One call of ``model.fit`` as the stand-in saw it, every argument as Keras reads it."""

    call: int
    """1, 2, ... in the order the notebook made them."""
    model_object: int | None
    cell: int | None
    """Index of the notebook cell that made the call."""
    error: str | None
    """What fit raised (such a call trained nothing)."""
    epochs: int | None = None
    """As written; ``None`` when not given (Keras then trains ``KERAS_DEFAULT_EPOCHS``)."""
    initial_epoch: int = 0
    batch_size: int | None = None
    steps_per_epoch: int | None = None
    validation_steps: int | None = None
    validation_batch_size: int | None = None
    validation_freq: object = 1
    validation_split: float | None = None
    x: ArrayUse | None = None
    y: ArrayUse | None = None
    val_x: ArrayUse | None = None
    val_y: ArrayUse | None = None
    val_weights: str | None = None
    sample_weight: str | None = None
    class_weight: str | None = None
    """``None`` when absent or all ones, else what they are."""
    callbacks: list = field(default_factory=list)
    compile: dict | None = None
    """The compile settings at the call (``optimizer``/``loss``/``metrics``, serialized)."""
    warm_start: str | None = None
    """How the model's weights came from elsewhere before this call, None when they did not."""
    source: dict = field(default_factory=dict)
    """Source text of the ``x``, ``y``, ``validation_data`` arguments in the cell."""
    data: dict = field(default_factory=dict)
    """The notebook's ``x_train`` ... (ArrayUse) when the call was made."""

    @property
    def epochs_run(self) -> int:
        """Epochs this call trains: Keras runs from ``initial_epoch`` up to ``epochs``."""
        epochs = KERAS_DEFAULT_EPOCHS if self.epochs is None else self.epochs
        return max(0, epochs - self.initial_epoch)

    @property
    def effective_batch_size(self) -> int | None:
        if self.x is None or self.x.kind == "Dataset" or not self.x.shape:
            return None
        return KERAS_DEFAULT_BATCH_SIZE if self.batch_size is None else self.batch_size

    def where(self) -> str:
        return f"cell {self.cell + 1}" if self.cell is not None else f"fit call {self.call}"

    def written(self, key, fallback) -> str:
        """How the notebook wrote argument ``key`` (source text), else ``fallback``."""
        text = self.source.get(key) if isinstance(self.source, dict) else None
        return text if isinstance(text, str) and text else fallback


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
    digest: str | None = None
    strict_view: bool = False
    cut: str | None = None
    """Where a cell assigned a slice to it after MNIST was loaded (``cell 5: x_train[:10000]``)."""


@dataclass
class RunFacts:
    """Everything the export says about training and data."""

    recorded: bool
    """False for an export without ``"schema": 3``: no fit records, so the trained-model
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


def _array_use(entry) -> ArrayUse | None:
    if not isinstance(entry, dict):
        return None
    relation = entry.get("relation")
    detail = None
    if entry.get("kind") == "Dataset":
        detail = f"{_text(entry.get('spec'), 200)}, {as_int(entry.get('batches'))} batches"
    return ArrayUse(_text(entry.get("kind"), 40) or "unknown", as_shape(entry.get("shape")),
                    _text(entry.get("dtype"), 40), _text(entry.get("digest"), 64),
                    _number(entry.get("lo")), _number(entry.get("hi")),
                    relation if relation in ("same", "view", "other") else None,
                    entry.get("strict_view") is True, detail)


def _callback(entry) -> CallbackFacts | None:
    if not isinstance(entry, dict):
        return None
    return CallbackFacts(_text(entry.get("class"), 80) or "?", _text(entry.get("module"), 80)
                         or "?", _text(entry.get("changes"), 200))


def _fit_call(entry) -> FitCall | None:
    if not isinstance(entry, dict) or as_int(entry.get("call")) is None:
        return None
    args = entry.get("arguments") if isinstance(entry.get("arguments"), dict) else {}
    val = entry.get("validation") if isinstance(entry.get("validation"), dict) else {}
    data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
    callbacks = entry.get("callbacks") if isinstance(entry.get("callbacks"), list) else []
    source = entry.get("source") if isinstance(entry.get("source"), dict) else {}
    freq = args.get("validation_freq", 1)
    return FitCall(
        call=entry["call"], model_object=as_int(entry.get("model_object")),
        cell=as_int(entry.get("cell")), error=_text(entry.get("error")),
        epochs=as_int(args.get("epochs")), initial_epoch=as_int(args.get("initial_epoch")) or 0,
        batch_size=as_int(args.get("batch_size")),
        steps_per_epoch=as_int(args.get("steps_per_epoch")),
        validation_steps=as_int(args.get("validation_steps")),
        validation_batch_size=as_int(args.get("validation_batch_size")),
        validation_freq=freq if as_int(freq) is not None else _text(freq, 40),
        validation_split=_number(args.get("validation_split")) or None,
        x=_array_use(entry.get("x")), y=_array_use(entry.get("y")),
        val_x=_array_use(val.get("x")), val_y=_array_use(val.get("y")),
        val_weights=_text(val.get("weights"), 200),
        sample_weight=_text(entry.get("sample_weight"), 200),
        class_weight=_text(entry.get("class_weight"), 200),
        callbacks=[c for c in map(_callback, callbacks[:50]) if c is not None],
        compile=entry.get("compile") if isinstance(entry.get("compile"), dict) else None,
        warm_start=_text(entry.get("warm_start"), 200),
        source={k: _text(v, 120) for k, v in source.items() if isinstance(v, str)},
        data={key: _array_use(data.get(key)) for key in DATA_KEYS})


def _array(name, entry) -> ArrayFacts:
    if not isinstance(entry, dict):
        return ArrayFacts(name, "missing")
    one_hot = entry.get("one_hot")
    return ArrayFacts(name, str(entry.get("status", "error")), as_shape(entry.get("shape")),
                      _text(entry.get("dtype"), 40), _number(entry.get("min")),
                      _number(entry.get("max")), one_hot if isinstance(one_hot, bool) else None,
                      _text(entry.get("digest"), 64), entry.get("strict_view") is True,
                      _text(entry.get("cut"), 200))


def analyse_runs(export: dict) -> RunFacts:
    """RunFacts of an export; ``recorded=False`` unless it declares schema 3."""
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
