"""The single source of truth for HW5, and what a course edits (README "Changing the assignment"):
architectures, optimizers, questions, points, grading thresholds and student-facing messages.

Pure Python (no TensorFlow), read by the notebook, the checks, the grader, the rubric and the
README. No reference answer is here (they live on the grading side, never shipped). It always
imports: what does not fit together is listed by ``spec_problems``, which ``hw5 build`` and
``hw5 validate`` refuse to go past.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from . import reference_results as _reference_results

ASSIGNMENT = "HW5: Image classification with CNNs"
NOTEBOOK_NAME = "hw5.ipynb"

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
PIXEL_SCALE = 255.0
MNIST_KEYS = {  # key -> (shape, dtype) of the Keras mnist.npz layout
    "x_train": ((60000, 28, 28), "uint8"),
    "y_train": ((60000,), "uint8"),
    "x_test": ((10000, 28, 28), "uint8"),
    "y_test": ((10000,), "uint8"),
}
MNIST_ENV_VAR = "HW5_MNIST"

# Training as the notebook does it (the student's 10-epoch runs).
BATCH_SIZE = 32
EPOCHS = 10
# Environment switch for CI / smoke runs: overrides EPOCHS in the notebook without editing it.
EPOCHS_ENV_VAR = "HW5_EPOCHS"
TRAIN_SUBSET_ENV_VAR = "HW5_TRAIN_SUBSET"
# The processed data every graded run trains and validates on: all of MNIST.
TRAIN_IMAGES = MNIST_KEYS["x_train"][0][0]
TEST_IMAGES = MNIST_KEYS["x_test"][0][0]


# ---------------------------------------------------------------------------------------------
# Architectures, described by effect (what each layer does), not by spelling
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layer:
    """One effective layer: activations folded in, Input/Activation/Dropout-free."""

    kind: str  # "conv", "pool", "flatten", "dense"
    output_shape: tuple  # without the batch dimension
    params: int
    filters: int | None = None
    units: int | None = None
    kernel_size: tuple | None = None
    strides: tuple | None = None
    padding: str | None = None
    pool_size: tuple | None = None
    activation: str | None = None

    def describe(self) -> str:
        if self.kind == "conv":
            k = "×".join(map(str, self.kernel_size))
            return f"Conv2D({self.filters}, {k}, {self.activation})"
        if self.kind == "pool":
            return f"MaxPooling2D({'×'.join(map(str, self.pool_size))})"
        if self.kind == "flatten":
            return "Flatten()"
        return f"Dense({self.units}, {self.activation})"


def conv(filters, out, params):
    return Layer("conv", out, params, filters=filters, kernel_size=(3, 3), strides=(1, 1),
                 padding="valid", activation="relu")


def pool(out):
    return Layer("pool", out, 0, pool_size=(2, 2))


def dense(units, activation, params):
    return Layer("dense", (units,), params, units=units, activation=activation)


BASELINE_LAYERS = (
    conv(32, (26, 26, 32), 320),
    pool((13, 13, 32)),
    Layer("flatten", (5408,), 0),
    dense(100, "relu", 540_900),
    dense(10, "softmax", 1_010),
)
TWO_CONV_LAYERS = (
    conv(32, (26, 26, 32), 320),
    pool((13, 13, 32)),
    conv(64, (11, 11, 64), 18_496),
    pool((5, 5, 64)),
    Layer("flatten", (1600,), 0),
    dense(100, "relu", 160_100),
    dense(10, "softmax", 1_010),
)
ARCHITECTURES = {"baseline": BASELINE_LAYERS, "two_conv": TWO_CONV_LAYERS}
TOTAL_PARAMS = {name: sum(l.params for l in layers) for name, layers in ARCHITECTURES.items()}

LOSS = "categorical_crossentropy"
METRIC = "accuracy"


# ---------------------------------------------------------------------------------------------
# Optimizers, what the student builds, and how the grader probes it
# ---------------------------------------------------------------------------------------------
ARGUMENT = "<argument>"  # in a builder's OptimizerSpec: the builder's argument of that name


@dataclass(frozen=True)
class OptimizerSpec:
    """The optimizer asked for: its Keras class (``keras.optimizers.<class_name>``) and the
    settings checked, e.g. ``OptimizerSpec("Adam", {"learning_rate": 0.001})``. A setting's value
    is what the optimizer must hold; ``ARGUMENT`` (builders only) means the builder's parameter of
    that name must reach the optimizer. ``nesterov`` defaults to False; no other setting may
    change how the model trains (``analyse_compile.OPTIMIZER_NEUTRAL``)."""

    class_name: str
    settings: dict = field(default_factory=dict, hash=False)


def sgd(learning_rate, momentum=0.0) -> OptimizerSpec:
    return OptimizerSpec("SGD", {"learning_rate": learning_rate, "momentum": momentum})


@dataclass(frozen=True)
class Builder:
    """A student-facing function returning a compiled model."""

    name: str
    architecture: str
    params: tuple  # parameter names, in order
    probes: tuple  # argument sets the grader calls it with (two or more, differing in each one)
    train_args: dict  # the argument set of the grade-time training check
    optimizer: OptimizerSpec  # the optimizer every model it returns is compiled with


BUILDERS = {
    "define_model": Builder(
        "define_model", "baseline", ("learning_rate",),
        probes=({"learning_rate": 0.01}, {"learning_rate": 0.37}),
        train_args={"learning_rate": 0.01}, optimizer=sgd(ARGUMENT),
    ),
    "define_model_with_momentum": Builder(
        "define_model_with_momentum", "baseline", ("learning_rate", "momentum"),
        probes=({"learning_rate": 0.01, "momentum": 0.9}, {"learning_rate": 0.37, "momentum": 0.0},
                {"learning_rate": 0.05, "momentum": 0.5}),
        train_args={"learning_rate": 0.01, "momentum": 0.9},
        optimizer=sgd(ARGUMENT, momentum=ARGUMENT),
    ),
    "define_model_2_conv": Builder(
        "define_model_2_conv", "two_conv", ("learning_rate",),
        probes=({"learning_rate": 0.01}, {"learning_rate": 0.37}),
        train_args={"learning_rate": 0.01}, optimizer=sgd(ARGUMENT),
    ),
}


# Builders handed out complete in the template: worth nothing themselves, but the trained models
# built with them lose their points when the student changes them.
GIVEN_BUILDERS = ("define_model",)


@dataclass(frozen=True)
class TrainedVariable:
    """A `model_*` / `history_*` pair the notebook trains: a model ``builder`` returns."""

    model: str
    history: str
    builder: str  # a key of BUILDERS
    optimizer: OptimizerSpec

    @property
    def architecture(self) -> str:
        return BUILDERS[self.builder].architecture

    @property
    def learning_rate(self):
        return self.optimizer.settings.get("learning_rate")

    @property
    def momentum(self) -> float:
        return self.optimizer.settings.get("momentum", 0.0)

    def builder_args(self) -> dict:
        """The arguments the notebook calls its builder with: the settings the builder's optimizer
        takes from its parameters (``define_model_with_momentum(learning_rate=0.01,
        momentum=0.9)``)."""
        return {p: self.optimizer.settings[p] for p in BUILDERS[self.builder].params
                if p in self.optimizer.settings}


TRAINED_VARIABLES = {tv.model: tv for tv in (
    TrainedVariable("model", "history", "define_model", sgd(0.01)),
    TrainedVariable("model_eta_large", "history_eta_large", "define_model", sgd(1.0)),
    TrainedVariable("model_eta_small", "history_eta_small", "define_model", sgd(1e-5)),
    TrainedVariable("model_momentum", "history_momentum", "define_model_with_momentum",
                    sgd(0.01, momentum=0.9)),
    TrainedVariable("model_2_layer", "history_2_layer", "define_model_2_conv", sgd(0.01)),
)}

# Reference results: the solution notebook run for the full EPOCHS, measured by
# scripts/reference_results.py (table in docs/reference_results.md). The notebook's report(), the
# rubric and the notebook text read them from here.
REFERENCE_RUNS = _reference_results.RUNS
REFERENCE_MEASURED = _reference_results.MEASURED
REFERENCE_TEST_LABEL_COUNTS = _reference_results.TEST_LABEL_COUNTS  # test images per digit

# ---------------------------------------------------------------------------------------------
# How the graded runs must be trained (what the grading kernel's fit records are checked for)
# ---------------------------------------------------------------------------------------------
# Keras callbacks that change how a model trains: a graded fit that uses one loses its item.
TRAINING_CALLBACKS = ("LearningRateScheduler", "EarlyStopping", "ReduceLROnPlateau",
                      "TerminateOnNaN", "SwapEMAWeights")
# Callbacks that only observe (logging, saving, the History fit returns): always allowed.
OBSERVING_CALLBACKS = ("History", "CSVLogger", "ModelCheckpoint", "TensorBoard",
                       "ProgbarLogger", "BaseLogger", "RemoteMonitor", "BackupAndRestore")
# A custom callback may change training when its methods use one of these names.
CALLBACK_TRAINING_NAMES = ("stop_training", "optimizer", "learning_rate", "lr", "set_weights",
                           "load_weights", "assign", "assign_add", "assign_sub", "trainable",
                           "trainable_weights", "trainable_variables", "compile", "fit",
                           "train_on_batch", "kernel", "bias")

# ---------------------------------------------------------------------------------------------
# Grade-time training (trusted process): fixed seed, fixed subset, thresholds calibrated by
# scripts/calibrate_thresholds.py (table in docs/calibration.md).
# ---------------------------------------------------------------------------------------------
GRADE_TRAIN_IMAGES = 10_000  # first N training images
GRADE_TEST_IMAGES = 2_000  # first N test images
GRADE_EPOCHS = 1
GRADE_SEED = 0
# Calibrated (docs/calibration.md): worst of 20 reference seeds minus 0.05, rounded down (worst
# seeds 0.8170 / 0.8730 on 2026-11-24; 0.6985 for the plain-SGD define_model_2_conv on
# 2026-12-03); broken models (frozen, zero kernels, lr 1e-5, lr 1.0) reach at most 0.16.
ACCURACY_THRESHOLDS = {  # builder -> minimum test accuracy after grade-time training
    "define_model": 0.76,
    "define_model_with_momentum": 0.82,
    "define_model_2_conv": 0.64,
}

# ---------------------------------------------------------------------------------------------
# Questions and points
# ---------------------------------------------------------------------------------------------
AUTO, MANUAL = "auto", "manual"

@dataclass(frozen=True)
class Item:
    """One scored item of an autograded question: what is checked, on which name, for how much."""

    kind: str  # a key of item_kinds.ITEM_KINDS
    target: str  # a key of BUILDERS or TRAINED_VARIABLES, or an answer item (ITEM_KINDS says which)
    points: float

    @property
    def id(self) -> str:
        """Stable name of the item (results.json, mutants, CSV columns)."""
        return f"{self.kind}_{self.target}"


@dataclass(frozen=True)
class Question:
    id: str  # otter question name, also the results.json test name prefix
    title: str
    points: float
    kind: str  # AUTO or MANUAL
    part: str  # "written" or "notebook"
    items: tuple = ()  # Item, for AUTO questions (their points sum to `points`)
    section: int | None = None  # notebook section (a key of SECTION_TITLES)


def _q(id, title, points, kind, part, *items, section=None):
    return Question(id, title, points, kind, part, tuple(Item(*i) for i in items), section)


# Each notebook section is worth SECTION_POINTS (the notebook says so; spec_problems checks it),
# split between its code and the written question that ends it, which carries most of them.
SECTION_POINTS = 5
SECTION_TITLES = {1: "The baseline model", 2: "Learning rates", 3: "Momentum",
                  4: "A second convolution layer"}  # the notebook's {{section_heading.n}}
QUESTIONS = (
    _q("p1_1", "P1.1 A hidden layer in NumPy (multiple choice)", 2, AUTO, "written",
       ("answer", "p1_1", 2)),
    _q("p1_2", "P1.2 ReLU and softmax", 4, MANUAL, "written"),
    _q("p1_3", "P1.3 Why an MLP with linear activations is a linear model", 3, MANUAL, "written"),
    _q("p2_1", "P2.1 Managing bias and variance despite double descent", 4, MANUAL, "written"),
    _q("p2_2", "P2.2 L1/L2 regularization in neural networks", 3, MANUAL, "written"),
    _q("p3", "P3 2-D convolution by hand", 4, AUTO, "written", ("answer", "p3", 4)),
    # Section 1. Given code earns nothing (the unmodified template scores zero); its checks
    # are feedback only, and the items that rely on the given code say when it was changed.
    _q("baseline", "Baseline model (given): define_model, model, history", 0, AUTO, "notebook",
       ("architecture", "define_model", 0), ("variable", "model", 0), section=1),
    _q("q1", "Q1 The baseline's training curves", 5, MANUAL, "notebook", section=1),
    _q("todo1", "TODO1 Train with learning rate 1", 1, AUTO, "notebook",
       ("variable", "model_eta_large", 1), section=2),
    _q("todo2", "TODO2 Train with learning rate 1e-5", 1, AUTO, "notebook",
       ("variable", "model_eta_small", 1), section=2),
    _q("q2", "Q2 Learning rates 1 and 1e-5", 3, MANUAL, "notebook", section=2),
    _q("todo3", "TODO3 define_model_with_momentum", 1, AUTO, "notebook",
       ("architecture", "define_model_with_momentum", 0.25),
       ("optimizer", "define_model_with_momentum", 0.5),
       ("learns", "define_model_with_momentum", 0.25), section=3),
    _q("todo4", "TODO4 Train with learning rate 0.01 and momentum 0.9", 1, AUTO, "notebook",
       ("variable", "model_momentum", 1), section=3),
    _q("q3", "Q3 Momentum", 3, MANUAL, "notebook", section=3),
    _q("todo5", "TODO5 define_model_2_conv", 1, AUTO, "notebook",
       ("architecture", "define_model_2_conv", 0.5), ("optimizer", "define_model_2_conv", 0.25),
       ("learns", "define_model_2_conv", 0.25), section=4),
    _q("todo6", "TODO6 Train the two-convolution model", 1, AUTO, "notebook",
       ("variable", "model_2_layer", 1), section=4),
    _q("q4", "Q4 One vs two convolution layers", 3, MANUAL, "notebook", section=4),
)
QUESTIONS_BY_ID = {q.id: q for q in QUESTIONS}
PARTS = ("written", "notebook")
PART_POINTS = {part: sum(q.points for q in QUESTIONS if q.part == part) for part in PARTS}
ITEMS = {item.id: item for q in QUESTIONS for item in q.items}
TOTAL_POINTS = sum(PART_POINTS.values())
AUTO_POINTS = sum(q.points for q in QUESTIONS if q.kind == AUTO)
MANUAL_POINTS = TOTAL_POINTS - AUTO_POINTS
_PLOTS = [q.title.split()[0] for q in QUESTIONS if q.kind == MANUAL and q.part == "notebook"]
PLOT_QUESTIONS = f"{_PLOTS[0]}-{_PLOTS[-1]}" if _PLOTS else "none"  # "Q1-Q4", on the runs' plots
MANUAL_GRADING_NOTE = ("Graded by the course staff from the answer in your notebook "
                       "(Gradescope manual grading); not part of the autograder score.")

# ---------------------------------------------------------------------------------------------
# Written answers the autograder reads (variables in the notebook)
# ---------------------------------------------------------------------------------------------
P1_1_VARIABLE = "p1_1"
# Option texts are code only: a description next to one option would point at the key.
P1_1_OPTIONS = {
    "A": "x",
    "B": "np.dot(x, w)",
    "C": "np.dot(x, w) + b",
    "D": "w",
}

# P3: each student gets their own input and kernel, derived from their student ID by
# hw5kit.p3.p3_numbers (small integers in the ranges below, inclusive); the grader recomputes
# the output from the exported ID and gives credit per output cell.
P3_VARIABLE = "p3_output"
P3_INPUT_SHAPE = (6, 6)
P3_KERNEL_SHAPE = (3, 3)
P3_OUTPUT_SHAPE = (P3_INPUT_SHAPE[0] - P3_KERNEL_SHAPE[0] + 1,
                   P3_INPUT_SHAPE[1] - P3_KERNEL_SHAPE[1] + 1)
P3_INPUT_RANGE = (0, 3)
P3_KERNEL_RANGE = (-1, 2)

# The student's ID (a cell at the top of the notebook); P3's numbers are derived from it.
STUDENT_ID_VARIABLE = "student_id"
STUDENT_ID_PATTERN = r"[A-Za-z0-9._@+-]{1,64}"  # after stripping surrounding spaces
STUDENT_ID_EXAMPLE = "12345678"
# Answer items (spec.Item target) -> the notebook variable they read.
ANSWER_ITEM_VARIABLES = {"p1_1": P1_1_VARIABLE, "p3": P3_VARIABLE}
# Every variable the export records as an answer (plain data, not models).
ANSWER_VARIABLES = (P1_1_VARIABLE, P3_VARIABLE, STUDENT_ID_VARIABLE)

# Python versions the notebook, the kit and the grader support (pyproject's requires-python).
PYTHON_VERSIONS = ("3.10", "3.13")
PYTHON_VERSIONS_TEXT = f"Python {PYTHON_VERSIONS[0]} to {PYTHON_VERSIONS[1]}"

# Old-Keras spellings students copy from tutorials -> what to write instead (Keras 3).
KERAS3_FIXES = {
    "Argument(s) not recognized: {'lr'": "Keras 3 renamed `lr`: write `SGD(learning_rate=...)`.",
    "np_utils": "`keras.utils.np_utils` no longer exists: use `keras.utils.to_categorical`.",
    "keras.optimizers.legacy": "Keras 3 has no legacy optimizers: use `keras.optimizers.SGD`.",
    "nb_epoch": "Keras 3 renamed `nb_epoch`: write `fit(..., epochs=...)`.",
}

# ---------------------------------------------------------------------------------------------
# Public checks (the student's kernel): what they cover, what only the autograder does, and the
# checklist of the notebook's last cell
# ---------------------------------------------------------------------------------------------
# Public check kind -> what it verifies (hw5kit.public ends every check with one line of it).
PUBLIC_CHECK_COVERS = {
    "data": "the shape, type and range of the processed arrays",
    "builder": "the architecture and compile settings of the models your function builds (it is "
               "called, never trained)",
    "variable": "the model's architecture and compile settings, and from its History: a fit of "
                "this model, EPOCHS epochs, the steps per epoch of all of x_train at BATCH_SIZE, "
                "validation metrics (Keras does not record the validation set's size)",
    "answer": "the format of the answer only, never whether it is right",
}
AUTOGRADER_ADDS = ("re-runs your notebook and checks every fit call it makes (its fit records: "
                   "data, batch size, epochs, validation set), trains the models your functions "
                   "build (grade-time training), and grades P1.1's letter and P3's numbers")
PUBLIC_CHECK_LINE = "Checked here: {covers}. Only the autograder {adds}."
# The quick-run shortcuts (EPOCHS_ENV_VAR, TRAIN_SUBSET_ENV_VAR) as public checks report them.
QUICK_RUN_NOTE = ("judged with the quick-run shortcut {settings} set in this kernel's "
                  "environment, as the notebook applies it; the autograder expects {epochs} epochs "
                  "on all {images:,} training images")
QUICK_RUN_WARNING = ("Training was shortened by {settings} (set in the environment of this "
                     "kernel). The staff grade " + PLOT_QUESTIONS + " from the plots and "
                     "accuracies your runs print, so submit runs of {epochs} epochs on all "
                     "{images:,} training images: unset {names}, restart the kernel and run every "
                     "cell.")
# A cell the student writes starts with this comment ("# TODO3: ...").
TODO_CELL_PATTERN = r"^\s*#\s*(TODO\s*\d+)\b"
