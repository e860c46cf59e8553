"""Notebook-level mutants and honest spellings: how the models are trained (export schema 3).

``NOTEBOOK_MUTANTS`` change the solution notebook's training cells; each must lose the items in
``fails`` with each of ``expect`` in the feedback. ``NOTEBOOK_SPELLINGS`` change them in ways
that train exactly the same (or that Keras ignores) and must keep full marks. To keep
``hw5 validate`` cheap, one notebook carries several faults, each on a different trained model.
"""
from __future__ import annotations

from dataclasses import dataclass

from hw5.kit import spec


@dataclass(frozen=True)
class NotebookMutant:
    """A change to the solution notebook's code cells outside the builders."""

    name: str
    fault: str
    edits: tuple = ()
    """(regex, replacement) pairs applied (``re.M``) to every code cell; each must match."""
    append: str = ""
    """Source of a code cell added at the end of the notebook ("" for none)."""
    fails: tuple = ()
    """Items (``spec.ITEMS`` ids) that must lose their points; every other item keeps them
    (empty for an honest spelling: full marks)."""
    expect: tuple = ()
    """Substrings that must appear in the failing items' messages."""


def _v(name):
    return spec.Item("variable", name, 0).id


_ALL_TRAINED = tuple(_v(name) for name in spec.TRAINED_VARIABLES)
_ARGS = "x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_data=(x_test, y_test)"


def _fit(model, replacement):
    """(regex, replacement) rewriting the arguments of the solution's fit of ``model``."""
    escaped = _ARGS.replace("(", r"\(").replace(")", r"\)")
    return (rf"({model}\.fit\(\s*){escaped}", r"\g<1>" + replacement)


def _before(model, code):
    """(regex, replacement) adding ``code`` (one line) before the fit of ``model``."""
    history = spec.TRAINED_VARIABLES[model].history
    return (rf"^{history} = {model}\.fit\(", code + f"\n{history} = {model}.fit(")


NOTEBOOK_MUTANTS = [
    NotebookMutant(
        "refit_eta_large_one_epoch", "a later cell refits history_eta_large with epochs=1",
        append=("history_eta_large = model_eta_large.fit(x_train, y_train, batch_size=BATCH_SIZE, "
                "epochs=1, validation_data=(x_test, y_test))\n"),
        fails=(_v("model_eta_large"),),
        expect=("history_eta_large comes from a fit with epochs=1",
                f"{spec.EPOCHS + 1} epochs in all")),
    NotebookMutant(
        "epochs_hard_set_to_1", "the whole notebook trained with EPOCHS = 1",
        edits=((r"^EPOCHS = .*$", "EPOCHS = 1"),),
        fails=_ALL_TRAINED,
        expect=(f"comes from a fit with epochs=1; train with epochs=EPOCHS ({spec.EPOCHS})",)),
    NotebookMutant(
        "subsets_and_weights", "a slice of x_train, validation on a slice of x_test, "
        "steps_per_epoch=10, sample_weight of zeros, MNIST reloaded and never scaled",
        edits=(_fit("model", "x_train[:1000], y_train[:1000], batch_size=BATCH_SIZE, "
                             "epochs=EPOCHS, validation_data=(x_test, y_test)"),
               _fit("model_eta_large", "x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, "
                                       "validation_data=(x_test[:1000], y_test[:1000])"),
               _fit("model_eta_small", _ARGS + ", steps_per_epoch=10"),
               _fit("model_momentum", _ARGS + ", sample_weight=np.zeros(len(x_train))"),
               _before("model_2_layer", "(raw_x, raw_y), _ = keras.datasets.mnist.load_data(); "
                       "raw_x = raw_x.reshape(-1, 28, 28, 1); "
                       "raw_y = keras.utils.to_categorical(raw_y, 10)"),
               _fit("model_2_layer", "raw_x, raw_y, batch_size=BATCH_SIZE, epochs=EPOCHS, "
                                     "validation_data=(x_test, y_test)")),
        fails=_ALL_TRAINED,
        expect=("x is `x_train[:1000]`, a slice of x_train",
                "validation x is `x_test[:1000]`, a slice of x_test", "steps_per_epoch=10",
                "sample_weight (ndarray with values from 0 to 0)",
                "x is `raw_x`, not the processed x_train (dtype uint8, values 0 to 255")),
    NotebookMutant(
        "callbacks_that_train", "LearningRateScheduler, EarlyStopping, ReduceLROnPlateau, a "
        "custom callback that stops training, set_weights from the trained baseline",
        edits=(_fit("model", _ARGS + ", callbacks=[keras.callbacks.LearningRateScheduler("
                             "lambda epoch, lr: lr * 0.5)]"),
               _fit("model_eta_large", _ARGS + ", callbacks=[keras.callbacks.EarlyStopping("
                                               "monitor='val_loss', patience=0)]"),
               _before("model_eta_small", "class StopEarly(keras.callbacks.Callback):\n"
                       "    def on_epoch_end(self, epoch, logs=None):\n"
                       "        self.model.stop_training = epoch >= 2\n"),
               _fit("model_eta_small", _ARGS + ", callbacks=[StopEarly()]"),
               _fit("model_momentum", _ARGS + ", callbacks=[keras.callbacks.ReduceLROnPlateau()]"),
               _before("model_2_layer", "model_2_layer.set_weights(define_model_2_conv(0.01)"
                       ".get_weights())")),
        fails=_ALL_TRAINED,
        expect=("a callback that changes training: LearningRateScheduler",
                "a callback that changes training: EarlyStopping",
                "StopEarly (uses stop_training)", "ReduceLROnPlateau",
                "model_2_layer did not start from fresh weights",
                "its weights were set with set_weights")),
    NotebookMutant(
        "retuned_reloaded_and_tf_data", "model_eta_large trained at lr 0.5 and re-tuned to 1 "
        "after its fit, model_eta_small loaded from the saved baseline, model_2_layer trained "
        "with plain SGD at lr 0.1 and recompiled after its fit, model_momentum on a tf.data "
        "Dataset, the data cut to 10,000 images in the data cell",
        edits=((r"^model_eta_large = define_model\(1\.0\)$", "model_eta_large = define_model(0.5)"),
               (r"^report\(\"model_eta_large\"", "model_eta_large.optimizer.learning_rate.assign("
                                                 "1.0)\nreport(\"model_eta_large\""),
               (r"^model_eta_small = define_model\(1e-5\)$",
                "model.save('baseline.keras')\n"
                "model_eta_small = keras.models.load_model('baseline.keras')\n"
                "model_eta_small.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-5), "
                "loss='categorical_crossentropy', metrics=['accuracy'])"),
               (r"^model_2_layer = define_model_2_conv\(0\.01\)$",
                "model_2_layer = define_model_2_conv(0.1)"),
               (r"^report\(\"model_2_layer\"", "model_2_layer.compile(optimizer=keras.optimizers."
                                               "SGD(learning_rate=0.01), loss='categorical_"
                                               "crossentropy', metrics=['accuracy'])\n"
                                               "report(\"model_2_layer\""),
               _fit("model_momentum", "tf_data.from_tensor_slices((x_train, y_train)).batch("
                                      "BATCH_SIZE), epochs=EPOCHS, validation_data=(x_test, "
                                      "y_test)"),
               _before("model_momentum", "import tensorflow as tf; tf_data = tf.data.Dataset")),
        fails=(_v("model_eta_large"), _v("model_eta_small"), _v("model_momentum"),
               _v("model_2_layer")),
        expect=("graded on the settings it trained with", "it was loaded from a saved model",
                "x is a tf.data.Dataset")),
    NotebookMutant(
        "data_cut_in_the_data_cell", "x_train cut to 10,000 images after process_dataset",
        edits=((r"^x_test, y_test = process_dataset\(x_test, y_test\)$",
                "x_test, y_test = process_dataset(x_test, y_test)\n"
                "x_train, y_train = x_train[:10000], y_train[:10000]"),),
        fails=_ALL_TRAINED,
        expect=("x_train was cut (cell", "x_train[:10000]): keep all 60,000 training and 10,000 test")),
]

_THROWAWAY = """\
# An optional learning-rate search after the TODOs: many short throwaway fits.
probe = keras.Sequential([keras.Input(shape=(28, 28, 1)), layers.Flatten(),
                          layers.Dense(10, activation="softmax")])
probe.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
              loss="categorical_crossentropy", metrics=["accuracy"])
for trial in range(250):
    probe.fit(x_train[:256], y_train[:256], epochs=1, verbose=0)
"""

NOTEBOOK_SPELLINGS = [
    NotebookMutant(
        "honest_training_spellings", "History() passed in callbacks and kept; CSVLogger, "
        "ModelCheckpoint, a printing callback; a leftover validation_split next to "
        "validation_data; verbose/shuffle; keyword x=/y=; steps_per_epoch of the whole set; "
        "clone_model; recompiled after its fit; 250 throwaway fits after the TODOs",
        edits=(_before("model", "kept = keras.callbacks.History()\n"
                       "class Printer(keras.callbacks.Callback):\n"
                       "    def on_epoch_end(self, epoch, logs=None):\n"
                       "        print('epoch', epoch, logs)\n"),
               _fit("model", _ARGS + ", callbacks=[kept, Printer(), keras.callbacks.CSVLogger("
                                     "'log.csv')]"),
               (r"^report\(\"model\", model, history\)$",
                "history = kept\nreport(\"model\", model, history)"),
               _fit("model_eta_large", _ARGS + ", validation_split=0.2, verbose=0, "
                                               "shuffle=False"),
               _fit("model_eta_small", "x=x_train, y=y_train, batch_size=BATCH_SIZE, "
                                       "epochs=EPOCHS, validation_data=(x_test, y_test), "
                                       "steps_per_epoch=len(x_train) // BATCH_SIZE, callbacks="
                                       "[keras.callbacks.ModelCheckpoint('best.keras')]"),
               (r"^model_2_layer = define_model_2_conv\(0\.01\)$",
                "model_2_layer = keras.models.clone_model(define_model_2_conv(0.01))\n"
                "model_2_layer.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), "
                "loss='categorical_crossentropy', metrics=['accuracy'])"),
               (r"^report\(\"model_2_layer\"", "model_2_layer.compile(optimizer=keras.optimizers."
                                               "SGD(learning_rate=0.01, momentum=0.9), loss="
                                               "'categorical_crossentropy', metrics=['accuracy'])\n"
                                               "report(\"model_2_layer\"")),
        append=_THROWAWAY),
]
NOTEBOOK_MUTANTS_BY_NAME = {m.name: m for m in NOTEBOOK_MUTANTS + NOTEBOOK_SPELLINGS}


def apply_notebook_mutant(nb, mutant: NotebookMutant):
    """A copy of notebook ``nb`` (nbformat node) changed as ``mutant`` says."""
    import copy
    import re

    import nbformat

    nb = copy.deepcopy(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for pattern, replacement in mutant.edits:
        hits = 0
        for cell in code:
            cell.source, n = re.subn(pattern, replacement, cell.source, flags=re.M)
            hits += n
        if not hits:
            raise ValueError(f"{mutant.name}: {pattern!r} matches no code cell")
    if mutant.append:
        nb.cells.append(nbformat.v4.new_code_cell(mutant.append))
    return nb
