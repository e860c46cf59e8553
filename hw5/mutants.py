"""Reference builders, mutants and equivalent spellings of the HW5 builder functions.

Used by tests/test_checks.py and by ``hw5 validate``: every mutant must lose the points of the
items in ``fails`` (and only those), with a message containing each of ``expect``; every
equivalent spelling must get full marks. ``source`` is the full Python source of a replacement
builder (imports included): ``load_builder(source, builder)`` turns it into a function.

Trusted side only (not shipped with hw5kit).

Note on ``learns_*``: the frozen and zero-initialisation mutants have the right architecture
and optimizer, so they keep the architecture/optimizer points and lose only the grade-time
training item (``learns_<builder>``); the static pre-checks of that item (not frozen, no zero
kernel) already name the fault, and the engine's training confirms it.
"""
from __future__ import annotations

from dataclasses import dataclass

from hw5.kit import spec

_HEAD = """\
import keras
from keras import layers
"""

_BASELINE = _HEAD + """
def {name}({params}):
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        {conv},
        {pool},
        layers.Flatten(),
        {hidden},
        {out},
    ])
    model.compile(optimizer={optimizer},
                  loss={loss}, metrics={metrics})
    return model
"""

_TWO_CONV = _HEAD + """
def {name}({params}):
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, (3, 3), strides=1, padding="valid", activation="relu"),
        layers.MaxPooling2D((2, 2)),
        {conv2},
        {pool2},
        layers.Flatten(),
        layers.Dense(100, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer={optimizer},
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model
"""

_DEFAULTS = dict(
    conv='layers.Conv2D(32, (3, 3), strides=1, padding="valid", activation="relu")',
    pool="layers.MaxPooling2D((2, 2))",
    hidden='layers.Dense(100, activation="relu")',
    out='layers.Dense(10, activation="softmax")',
    loss='"categorical_crossentropy"',
    metrics='["accuracy"]',
    conv2='layers.Conv2D(64, (3, 3), activation="relu")',
    pool2="layers.MaxPooling2D((2, 2))",
)
_SGD = "keras.optimizers.SGD(learning_rate=learning_rate)"
_SGD_M = "keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum)"
_PARAMS = {"define_model": "learning_rate",
           "define_model_with_momentum": "learning_rate, momentum",
           "define_model_2_conv": "learning_rate"}


def _source(builder: str, **changes) -> str:
    fields = dict(_DEFAULTS, name=builder, params=_PARAMS[builder],
                  optimizer=_SGD_M if "momentum" in spec.BUILDERS[builder].params else _SGD)
    fields.update(changes)
    template = _TWO_CONV if spec.BUILDERS[builder].architecture == "two_conv" else _BASELINE
    return template.format(**fields)


REFERENCE_SOURCES = {name: _source(name) for name in spec.BUILDERS}


def load_builder(source: str, builder: str):
    """exec ``source`` in a fresh namespace and return the function named ``builder``."""
    namespace: dict = {}
    exec(compile(source, f"<{builder}>", "exec"), namespace)  # noqa: S102 - our own sources
    return namespace[builder]


@dataclass(frozen=True)
class Mutant:
    """A faulty (or, for EQUIVALENT_SPELLINGS, a correct but differently written) builder."""

    name: str
    """Short identifier."""
    builder: str
    """Which builder it replaces (a key of spec.BUILDERS)."""
    source: str
    """Full Python source of the replacement function (imports included)."""
    fault: str
    """What is wrong, in words ("" for an equivalent spelling)."""
    fails: tuple = ()
    """Items (spec.QUESTIONS item names) that must lose their points; every other item of the
    builder must keep them. ``learns_*`` items are listed where grade-time training fails."""
    expect: tuple = ()
    """Substrings that must appear in the failing checks' messages."""


def _items(builder, *kinds):
    return tuple(f"{kind}_{builder}" for kind in kinds)


_M = "define_model_with_momentum"
_C = "define_model_2_conv"
_B = "define_model"

MUTANTS = [
    Mutant("filters_16", _M, _source(_M, conv='layers.Conv2D(16, (3, 3), activation="relu")'),
           "16 filters instead of 32", _items(_M, "architecture"), ("32 filters, found 16",)),
    Mutant("kernel_5x5", _M, _source(_M, conv='layers.Conv2D(32, (5, 5), activation="relu")'),
           "5×5 kernel instead of 3×3", _items(_M, "architecture"),
           ("kernel_size 3×3, found 5×5",)),
    Mutant("padding_same", _M,
           _source(_M, conv='layers.Conv2D(32, (3, 3), padding="same", activation="relu")'),
           "padding 'same' instead of 'valid'", _items(_M, "architecture"),
           ("padding 'valid', found 'same'",)),
    Mutant("no_pooling", _M, _source(_M, pool="layers.Flatten()").replace(
        "        layers.Flatten(),\n        layers.Flatten(),\n", "        layers.Flatten(),\n"),
           "no MaxPooling2D", _items(_M, "architecture"), ("missing MaxPooling2D(2×2)",)),
    Mutant("dense_128", _M, _source(_M, hidden='layers.Dense(128, activation="relu")'),
           "hidden Dense with 128 units", _items(_M, "architecture"),
           ("expected 100 units, found 128",)),
    Mutant("sigmoid_hidden", _M, _source(_M, hidden='layers.Dense(100, activation="sigmoid")'),
           "sigmoid on the hidden Dense layer", _items(_M, "architecture"),
           ("activation 'relu', found 'sigmoid'",)),
    Mutant("no_softmax", _M, _source(_M, out="layers.Dense(10)"),
           "output layer without softmax", _items(_M, "architecture"),
           ("activation 'softmax', found none (linear)",)),
    Mutant("adam", _M, _source(_M, optimizer="keras.optimizers.Adam(learning_rate=learning_rate)"),
           "Adam instead of SGD", _items(_M, "optimizer"), ("expected optimizer SGD, found Adam",)),
    Mutant("lr_ignored", _M,
           _source(_M, optimizer="keras.optimizers.SGD(learning_rate=0.01, momentum=momentum)"),
           "learning rate hard-coded to 0.01", _items(_M, "optimizer"),
           ("learning_rate: you passed 0.37 but the optimizer uses 0.01",)),
    Mutant("momentum_ignored", _M, _source(_M, optimizer=_SGD),
           "momentum argument never reaches SGD", _items(_M, "optimizer"),
           ("momentum: you passed 0.9 but the optimizer uses 0",)),
    Mutant("momentum_hardcoded", _M,
           _source(_M, optimizer="keras.optimizers.SGD(learning_rate=learning_rate, "
                                 "momentum=0.9)"),
           "momentum hard-coded to 0.9", _items(_M, "optimizer"),
           ("momentum is 0.9 for every call",)),
    Mutant("mse_loss", _M, _source(_M, loss='"mse"'), "mean squared error loss",
           _items(_M, "optimizer"), ("found 'mean_squared_error'",)),
    Mutant("no_metrics", _M, _source(_M, metrics="[]"), "no accuracy metric",
           _items(_M, "optimizer"), ("expected 'accuracy' among the metrics",)),
    Mutant("from_logits", _M,
           _source(_M, loss="keras.losses.CategoricalCrossentropy(from_logits=True)"),
           "from_logits=True on a softmax output", _items(_M, "optimizer"),
           ("drop from_logits=True",)),
    Mutant("keras2_lr", _M,
           _source(_M, optimizer="keras.optimizers.SGD(lr=learning_rate, momentum=momentum)"),
           "Keras 2 spelling SGD(lr=...)", _items(_M, "architecture", "optimizer", "learns"),
           ("Argument(s) not recognized", "SGD(learning_rate=...)")),
    Mutant("frozen", _M, _source(_M).replace("    model.compile(", "    for layer in model.layers:\n"
                                             "        layer.trainable = False\n"
                                             "    model.compile("),
           "every layer frozen (trainable=False)", _items(_M, "learns"),
           ("frozen layers (trainable=False)",)),
    Mutant("zero_init", _M,
           _source(_M, conv='layers.Conv2D(32, (3, 3), activation="relu", '
                            'kernel_initializer="zeros")',
                   hidden='layers.Dense(100, activation="relu", kernel_initializer="zeros")'),
           "kernels initialised to zero", _items(_M, "learns"), ("kernel_initializer is Zeros",)),
    Mutant("uncompiled", _M, _source(_M).split("    model.compile(")[0] + "    return model\n",
           "model returned without compile()", _items(_M, "optimizer", "learns"),
           ("the model is not compiled",)),
    Mutant("returns_tuple", _M, _source(_M).replace("    return model", "    return model, None"),
           "returns (model, None)", _items(_M, "architecture", "optimizer", "learns"),
           ("returned a tuple",)),
    Mutant("two_conv_32", _C, _source(_C, conv2='layers.Conv2D(32, (3, 3), activation="relu")'),
           "second Conv2D with 32 filters", _items(_C, "architecture"),
           ("expected 64 filters, found 32",)),
    Mutant("two_conv_no_second_pool", _C, _source(_C, pool2="layers.Flatten()").replace(
        "        layers.Flatten(),\n        layers.Flatten(),\n", "        layers.Flatten(),\n"),
           "second MaxPooling2D missing", _items(_C, "architecture"),
           ("missing MaxPooling2D(2×2)",)),
    Mutant("baseline_linear_hidden", _B, _source(_B, hidden="layers.Dense(100)"),
           "hidden Dense without activation", _items(_B, "architecture"),
           ("activation 'relu', found none (linear)",)),
]
MUTANTS_BY_NAME = {m.name: m for m in MUTANTS}

_FUNCTIONAL_M = _HEAD + """
def define_model_with_momentum(learning_rate, momentum):
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(100, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=momentum),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model
"""

_FUNCTIONAL_C = _HEAD + """
def define_model_2_conv(learning_rate):
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(32, (3, 3), activation="relu")(inputs)
    x = layers.MaxPool2D((2, 2))(x)
    x = layers.Conv2D(64, (3, 3))(x)
    x = layers.ReLU()(x)
    x = layers.MaxPool2D((2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.Dense(100, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model
"""

_ADD_STYLE = """\
from tensorflow import keras
from tensorflow.keras.layers import Conv2D, MaxPooling2D, Flatten, Dense, Dropout
from tensorflow.keras.optimizers import SGD

def define_model_with_momentum(learning_rate, momentum):
    model = keras.models.Sequential()
    model.add(Conv2D(32, (3, 3), activation='relu', kernel_initializer='he_uniform',
                     input_shape=(28, 28, 1)))
    model.add(MaxPooling2D((2, 2)))
    model.add(Flatten())
    model.add(Dense(100, activation='relu', kernel_initializer='he_uniform'))
    model.add(Dropout(0.0))
    model.add(Dense(10, activation='softmax'))
    opt = SGD(learning_rate=learning_rate, momentum=momentum)
    model.compile(optimizer=opt, loss='categorical_crossentropy', metrics=['accuracy'])
    return model
"""

EQUIVALENT_SPELLINGS = [
    Mutant("input_shape_kwarg", _M, _source(_M).replace(
        "        keras.Input(shape=(28, 28, 1)),\n", "").replace(
        'padding="valid", activation="relu")',
        'padding="valid", activation="relu", input_shape=(28, 28, 1))', 1), ""),
    Mutant("no_input_spec", _M, _source(_M).replace("        keras.Input(shape=(28, 28, 1)),\n",
                                                    ""), ""),
    Mutant("functional", _M, _FUNCTIONAL_M, ""),
    Mutant("functional_two_conv", _C, _FUNCTIONAL_C, ""),
    Mutant("maxpool2d_alias", _M, _source(_M, pool="layers.MaxPool2D(pool_size=(2, 2))"), ""),
    Mutant("separate_activation_layers", _M, _source(
        _M, conv='layers.Conv2D(32, (3, 3)),\n        layers.Activation("relu")',
        hidden="layers.Dense(100),\n        layers.ReLU()",
        out="layers.Dense(10),\n        layers.Softmax()"), ""),
    Mutant("int_sizes", _M, _source(
        _M, conv='layers.Conv2D(filters=32, kernel_size=3, strides=(1, 1), activation="relu")',
        pool="layers.MaxPooling2D(2)"), ""),
    Mutant("tensorflow_keras", _M, _source(_M).replace(
        _HEAD, "from tensorflow import keras\nfrom tensorflow.keras import layers\n"), ""),
    Mutant("add_style_tf_keras", _M, _ADD_STYLE, ""),
    Mutant("loss_metric_objects", _M, _source(
        _M, loss="keras.losses.CategoricalCrossentropy()",
        metrics="[keras.metrics.CategoricalAccuracy()]"), ""),
    Mutant("acc_string", _M, _source(_M, metrics='["acc"]'), ""),
    Mutant("optimizer_positional", _M, _source(
        _M, optimizer="keras.optimizers.SGD(learning_rate, momentum, nesterov=False)"), ""),
    Mutant("two_conv_activation_layers", _C, _source(
        _C, conv2='layers.Conv2D(64, kernel_size=(3, 3)),\n        layers.Activation("relu")',
        pool2="layers.MaxPool2D(2)"), ""),
    Mutant("baseline_tf_keras", _B, _source(_B).replace(
        _HEAD, "import tensorflow as tf\nkeras = tf.keras\nlayers = tf.keras.layers\n"), ""),
]
EQUIVALENT_BY_NAME = {m.name: m for m in EQUIVALENT_SPELLINGS}


def apply_to_notebook(nb, builder: str, source: str):
    """A copy of notebook ``nb`` (nbformat node) whose cell defining ``builder`` is ``source``."""
    import copy

    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.cell_type == "code" and f"def {builder}(" in c.source]
    if len(cells) != 1:
        raise ValueError(f"expected one cell defining {builder}, found {len(cells)}")
    cells[0].source = source
    return nb
