"""Reference builders, mutants and equivalent spellings of the HW5 builder functions, and
notebook-level mutants.

Used by tests/test_checks.py, tests/test_grade_mutants.py and by ``hw5 validate``: every mutant
must lose the points of the items in ``fails`` (and only those), with a message containing each
of ``expect``; every equivalent spelling must get full marks. ``source`` is the full Python
source of a replacement builder (imports included): ``load_builder(source, builder)`` turns it
into a function.

``fails`` lists scored items (``spec.ITEMS`` ids) of the whole notebook: replacing a builder in
the solution also changes the trained models the notebook builds with it (``model_momentum`` is
``define_model_with_momentum(0.01, 0.9)``), so their ``variable_*`` items fail when the fault
shows in those models, and the given ``define_model`` costs the items of the models built with
it. ``learns_*`` fails whenever the architecture does (grade-time training needs the
architecture asked for) and where grade-time training fails.

Notebook-level mutants (how the models are trained) live in ``hw5.mutants.notebook``.

Trusted side only (not shipped with hw5kit).
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
# Optimizer classes a wrong-optimizer mutant picks from: the first that is not the expected one.
OTHER_OPTIMIZERS = ("Adam", "RMSprop", "SGD")


def optimizer_source(optimizer: spec.OptimizerSpec, class_name=None, **changes) -> str:
    """The source of ``optimizer`` (a builder's ``spec.OptimizerSpec``) in a builder:
    ``keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.0)``; ``changes`` replace a
    setting's source (None leaves it out)."""
    args = {k: k if v == spec.ARGUMENT else repr(v) for k, v in optimizer.settings.items()}
    args.update(changes)
    text = ", ".join(f"{k}={v}" for k, v in args.items() if v is not None)
    return f"keras.optimizers.{class_name or optimizer.class_name}({text})"


def _source(builder: str, **changes) -> str:
    bspec = spec.BUILDERS[builder]
    fields = dict(_DEFAULTS, name=builder, params=", ".join(bspec.params),
                  optimizer=optimizer_source(bspec.optimizer))
    fields.update(changes)
    template = _TWO_CONV if bspec.architecture == "two_conv" else _BASELINE
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
    """Items (``spec.ITEMS`` ids) that must lose their points; every other item keeps them."""
    expect: tuple = ()
    """Substrings that must appear in the failing checks' messages."""


def _items(builder, *kinds):
    items = tuple(spec.Item(kind, builder, 0).id for kind in kinds)
    assert all(i in spec.ITEMS for i in items), items
    return items


def _trained(builder):
    """The variable items of the models the notebook builds with ``builder``."""
    from hw5.kit.items import builder_of

    return tuple(spec.Item("variable", name, 0).id for name in spec.TRAINED_VARIABLES
                 if builder_of(name) == builder)


_M = "define_model_with_momentum"
_C = "define_model_2_conv"
_B = "define_model"
_ARCH_M = _items(_M, "architecture", "learns") + _trained(_M)
_ARCH_C = _items(_C, "architecture", "learns") + _trained(_C)
_GIVEN = "the given define_model was changed"

MUTANTS = [
    Mutant("filters_16", _M, _source(_M, conv='layers.Conv2D(16, (3, 3), activation="relu")'),
           "16 filters instead of 32", _ARCH_M, ("32 filters, found 16",)),
    Mutant("kernel_5x5", _M, _source(_M, conv='layers.Conv2D(32, (5, 5), activation="relu")'),
           "5×5 kernel instead of 3×3", _ARCH_M,
           ("kernel_size 3×3, found 5×5",)),
    Mutant("padding_same", _M,
           _source(_M, conv='layers.Conv2D(32, (3, 3), padding="same", activation="relu")'),
           "padding 'same' instead of 'valid'", _ARCH_M,
           ("padding 'valid', found 'same'",)),
    Mutant("no_pooling", _M, _source(_M, pool="layers.Flatten()").replace(
        "        layers.Flatten(),\n        layers.Flatten(),\n", "        layers.Flatten(),\n"),
           "no MaxPooling2D", _ARCH_M, ("missing MaxPooling2D(2×2)",)),
    Mutant("dense_128", _M, _source(_M, hidden='layers.Dense(128, activation="relu")'),
           "hidden Dense with 128 units", _ARCH_M,
           ("expected 100 units, found 128",)),
    Mutant("sigmoid_hidden", _M, _source(_M, hidden='layers.Dense(100, activation="sigmoid")'),
           "sigmoid on the hidden Dense layer", _ARCH_M,
           ("activation 'relu', found 'sigmoid'",)),
    Mutant("no_softmax", _M, _source(_M, out="layers.Dense(10)"),
           "output layer without softmax", _ARCH_M,
           ("activation 'softmax', found none (linear)",)),
    Mutant("lr_ignored", _M,
           _source(_M, optimizer="keras.optimizers.SGD(learning_rate=0.01, momentum=momentum)"),
           "learning rate hard-coded to 0.01", _items(_M, "optimizer"),
           ("learning_rate: you passed 0.37 but the optimizer uses 0.01",)),
    Mutant("momentum_ignored", _M,
           _source(_M, optimizer=optimizer_source(spec.BUILDERS[_M].optimizer, momentum=None)),
           "momentum argument never reaches SGD", _items(_M, "optimizer") + _trained(_M),
           ("momentum: you passed 0.9 but the optimizer uses 0",)),
    Mutant("momentum_hardcoded", _M,
           _source(_M, optimizer="keras.optimizers.SGD(learning_rate=learning_rate, "
                                 "momentum=0.9)"),
           "momentum hard-coded to 0.9", _items(_M, "optimizer"),
           ("momentum is 0.9 for every call",)),
    Mutant("mse_loss", _M, _source(_M, loss='"mse"'), "mean squared error loss",
           _items(_M, "optimizer") + _trained(_M), ("found 'mean_squared_error'",)),
    Mutant("no_metrics", _M, _source(_M, metrics="[]"), "no accuracy metric",
           _items(_M, "optimizer") + _trained(_M), ("expected 'accuracy' among the metrics",)),
    Mutant("from_logits", _M,
           _source(_M, loss="keras.losses.CategoricalCrossentropy(from_logits=True)"),
           "from_logits=True on a softmax output", _items(_M, "optimizer") + _trained(_M),
           ("drop from_logits=True",)),
    Mutant("keras2_lr", _M,
           _source(_M, optimizer="keras.optimizers.SGD(lr=learning_rate, momentum=momentum)"),
           "Keras 2 spelling SGD(lr=...)", _items(_M, "architecture", "optimizer", "learns")
           + _trained(_M),
           ("Argument(s) not recognized", "SGD(learning_rate=...)")),
    Mutant("frozen", _M, _source(_M).replace("    model.compile(", "    for layer in model.layers:\n"
                                             "        layer.trainable = False\n"
                                             "    model.compile("),
           "every layer frozen (trainable=False)", _items(_M, "learns") + _trained(_M),
           ("frozen layers (trainable=False)",)),
    Mutant("zero_init", _M,
           _source(_M, conv='layers.Conv2D(32, (3, 3), activation="relu", '
                            'kernel_initializer="zeros")',
                   hidden='layers.Dense(100, activation="relu", kernel_initializer="zeros")'),
           "kernels initialised to zero", _items(_M, "learns") + _trained(_M), ("kernel_initializer is Zeros",)),
    Mutant("uncompiled", _M, _source(_M).split("    model.compile(")[0] + "    return model\n",
           "model returned without compile()", _items(_M, "optimizer", "learns") + _trained(_M),
           ("the model is not compiled",)),
    Mutant("returns_tuple", _M, _source(_M).replace("    return model", "    return model, None"),
           "returns (model, None)", _items(_M, "architecture", "optimizer", "learns")
           + _trained(_M),
           ("returned a tuple",)),
    Mutant("two_conv_32", _C, _source(_C, conv2='layers.Conv2D(32, (3, 3), activation="relu")'),
           "second Conv2D with 32 filters", _ARCH_C,
           ("expected 64 filters, found 32",)),
    Mutant("two_conv_no_second_pool", _C, _source(_C, pool2="layers.Flatten()").replace(
        "        layers.Flatten(),\n        layers.Flatten(),\n", "        layers.Flatten(),\n"),
           "second MaxPooling2D missing", _ARCH_C,
           ("missing MaxPooling2D(2×2)",)),
    Mutant("baseline_linear_hidden", _B, _source(_B, hidden="layers.Dense(100)"),
           "hidden Dense without activation", _items(_B, "architecture") + _trained(_B),
           ("activation 'relu', found none (linear)", _GIVEN)),
    # Issue 8: what the grader used to give full marks.
    Mutant("given_mse", _B, _source(_B, loss='"mean_squared_error"'),
           "the given define_model compiles with mean squared error", _trained(_B),
           (_GIVEN, "found 'mean_squared_error'")),
    Mutant("given_frozen", _B, _source(_B).replace(
        "    model.compile(", "    for layer in model.layers:\n        layer.trainable = False\n"
                             "    model.compile("),
           "the given define_model freezes every layer", _trained(_B),
           (_GIVEN, "frozen layers (trainable=False)")),
    Mutant("given_zeros", _B, _source(
        _B, conv='layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="zeros")',
        hidden='layers.Dense(100, activation="relu", kernel_initializer="zeros")',
        out='layers.Dense(10, activation="softmax", kernel_initializer="zeros")'),
           "the given define_model starts every kernel at zero", _trained(_B),
           (_GIVEN, "kernel_initializer is Zeros")),
    Mutant("two_conv_dropout", _C, _source(_C).replace(
        "        layers.Flatten(),\n", "        layers.Flatten(),\n        layers.Dropout(0.5),\n"),
           "Dropout(0.5) after Flatten", _ARCH_C, ("extra layer 6 (Dropout '", "rate 0.5): the assignment's model has no such layer")),
    Mutant("l2_regularizer", _M, _source(
        _M, hidden='layers.Dense(100, activation="relu", kernel_regularizer="l2")'),
           "L2 regularization on the hidden layer", _ARCH_M,
           ("kernel_regularizer=L2 is not asked for",)),
    Mutant("two_conv_momentum", _C, _source(
        _C, optimizer="keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9)"),
           "momentum 0.9 added to a plain-SGD builder", _items(_C, "optimizer") + _trained(_C),
           ("found momentum=0.9", "momentum: expected 0 for model_2_layer, found 0.9")),
]


def wrong_optimizer(builder: str) -> Mutant:
    """``builder`` compiling with another optimizer class than its spec asks for (``Adam``
    instead of ``SGD``, ``RMSprop`` instead of ``Adam``): loses the builder's optimizer item and
    the models the notebook builds with it."""
    expected = spec.BUILDERS[builder].optimizer.class_name
    other = next(c for c in OTHER_OPTIMIZERS if c != expected)
    lr = "learning_rate=learning_rate" if "learning_rate" in spec.BUILDERS[builder].params else ""
    return Mutant(f"wrong_optimizer_{builder}", builder,
                  _source(builder, optimizer=f"keras.optimizers.{other}({lr})"),
                  f"{other} instead of {expected}",
                  _items(builder, "optimizer") + _trained(builder),
                  (f"expected optimizer {expected}, found {other}",))


# One per builder whose optimizer is scored.
MUTANTS += [wrong_optimizer(name) for name in spec.BUILDERS
            if spec.Item("optimizer", name, 0).id in spec.ITEMS]
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
    Mutant("reshape_for_flatten", _M, _source(_M).replace(
        "layers.Flatten()", "layers.Reshape((-1,))"), ""),
    Mutant("two_conv_reshape_sized", _C, _source(_C).replace(
        "layers.Flatten()", "layers.Reshape((1600,))"), ""),
    Mutant("dropout_rate_zero", _C, _source(_C).replace(
        "        layers.Flatten(),\n", "        layers.Flatten(),\n        layers.Dropout(0.0),\n"),
           ""),
]


def apply_to_notebook(nb, builder: str, source: str):
    """A copy of notebook ``nb`` (nbformat node) whose cell defining ``builder`` is ``source``."""
    import copy

    nb = copy.deepcopy(nb)
    cells = [c for c in nb.cells if c.cell_type == "code" and f"def {builder}(" in c.source]
    if len(cells) != 1:
        raise ValueError(f"expected one cell defining {builder}, found {len(cells)}")
    cells[0].source = source
    return nb
