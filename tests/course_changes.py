"""Two ordinary course changes, scripted as a course would make them by hand (issue 18): they
touch only the master notebook (``assignment/hw5.ipynb``) and the spec (``hw5/kit/spec.py``);
the reference run of the new experiment is then measured by ``scripts/reference_results.py``.

- ``add_adam_experiment``: section 5, "TODO7": a builder ``define_model_with_adam(learning_rate)``
  (the baseline compiled with ``Adam``) and the model ``model_adam`` it trains at 0.001, scored on
  the builder's optimizer and the trained model (1 point each), with a written question Q5;
- ``p3_worth_five``: P3 worth 5 points instead of 4.

README "Changing the assignment" walks through the same edits; tests/test_course_change.py
applies both to a copy of the repository and proves them with ``hw5 build`` and ``hw5 validate``.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

SPEC = Path("hw5") / "kit" / "spec.py"
MASTER = Path("assignment") / "hw5.ipynb"
NEW_RUN = "model_adam"
NEW_BUILDER = "define_model_with_adam"


def _edit(path: Path, *replacements) -> None:
    """Replace each (old, new) exactly once in ``path``: a change that no longer applies fails."""
    text = path.read_text(encoding="utf-8")
    for old, new in replacements:
        if text.count(old) != 1:
            raise AssertionError(f"{path}: expected one {old!r}, found {text.count(old)}")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def _cells(*specs):
    make = {"raw": nbformat.v4.new_raw_cell, "markdown": nbformat.v4.new_markdown_cell,
            "code": nbformat.v4.new_code_cell}
    return [make[kind](source) for kind, source in specs]


# ---------------------------------------------------------------------------------------------
# (a) A fifth experiment: Adam at 0.001
# ---------------------------------------------------------------------------------------------
SPEC_BUILDER = '''    "define_model_with_adam": Builder(
        "define_model_with_adam", "baseline", ("learning_rate",),
        probes=({"learning_rate": 0.001}, {"learning_rate": 0.02}),
        train_args={"learning_rate": 0.001},
        optimizer=OptimizerSpec("Adam", {"learning_rate": ARGUMENT}),
    ),
}
'''
SPEC_VARIABLE = '''    TrainedVariable("model_adam", "history_adam", "define_model_with_adam",
                    OptimizerSpec("Adam", {"learning_rate": 0.001})),
)}
'''
SPEC_QUESTIONS = '''    _q("todo7", "TODO7 Train with Adam", 2, AUTO, "notebook",
       ("optimizer", "define_model_with_adam", 1), ("variable", "model_adam", 1), section=5),
    _q("q5", "Q5 Adam and SGD", 3, MANUAL, "notebook", section=5),
)
QUESTIONS_BY_ID'''

BUILDER_CELL = '''# TODO7: define_model_with_adam(learning_rate)
def define_model_with_adam(learning_rate):
    """The baseline CNN, compiled with Adam at the given learning rate."""
    # BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"),
            layers.MaxPooling2D((2, 2)),
            layers.Flatten(),
            layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
    # END SOLUTION'''
TRAIN_CELL = '''# TODO7: model_adam and history_adam
""" # BEGIN PROMPT
model_adam = ...
history_adam = ...
""" # END PROMPT
# BEGIN SOLUTION NO PROMPT
model_adam = define_model_with_adam(0.001)
history_adam = model_adam.fit(
    x_train, y_train, batch_size=BATCH_SIZE, epochs=EPOCHS, validation_data=(x_test, y_test)
)
# END SOLUTION
report("model_adam", model_adam, history_adam)'''
TEST_CELL = '''def test_todo7(define_model_with_adam, model_adam, history_adam):
    from hw5kit import public

    public.check_builder("define_model_with_adam", define_model_with_adam)
    public.check_variable("model_adam", model_adam, history_adam)


test_todo7(define_model_with_adam, model_adam, history_adam)'''
Q5_ANSWER = '''**Model answer.** Adam adapts the step of every weight to the size of its recent gradients, so
it trains faster than plain SGD at the first epochs (training accuracy {{ref.first_accuracy.model_adam}}
against {{ref.first_accuracy.model}}) and ends at {{ref.accuracy.model_adam}} against {{ref.accuracy.model}}.

**A full answer mentions:**

- Observation: Adam reaches a higher training accuracy sooner than plain SGD (1 pt).
- Reason: per-weight step sizes from running averages of the gradients and their squares (2 pt).

**Common partial-credit cases:**

- Only the observation: 1 of 3 points.'''

SECTION_5 = _cells(
    ("markdown", "{{section_heading.5}}\n\nPlain SGD uses one learning rate for every weight. "
                 "*Adam* keeps running averages of each weight's gradients and of their squares, "
                 "and scales every weight's step by them."),
    ("raw", "# BEGIN QUESTION\nname: todo7\npoints: 2"),
    ("markdown", "### TODO7 Train with Adam (2 points)\n\nWrite `define_model_with_adam("
                 "learning_rate)`: the baseline CNN compiled with `keras.optimizers.Adam` at the "
                 "given learning rate. Build `model_adam` with it at learning rate "
                 "**{{lr.model_adam}}** and train it exactly like `model`; store the result of "
                 "`fit` in `history_adam`."),
    ("raw", "# BEGIN SOLUTION"),
    ("code", BUILDER_CELL),
    ("code", TRAIN_CELL),
    ("raw", "# END SOLUTION"),
    ("raw", "# BEGIN TESTS"),
    ("code", TEST_CELL),
    ("raw", "# END TESTS"),
    ("raw", "# END QUESTION"),
    ("markdown", "### Comparing SGD and Adam (given)"),
    ("code", 'plot_comparison({"model": (model, history), "model_adam": (model_adam, '
             'history_adam)})'),
    ("raw", "# BEGIN QUESTION\nname: q5\nmanual: true\npoints: 3"),
    ("markdown", "### Q5 Adam and SGD (3 points)\n\nWhat do you observe in the plot: how does "
                 "Adam train compared with plain SGD? Why?"),
    ("raw", "# BEGIN SOLUTION"),
    ("markdown", Q5_ANSWER),
    ("raw", "# END SOLUTION"),
    ("raw", "# END QUESTION"),
)


def add_adam_experiment(root: Path) -> None:
    root = Path(root)
    _edit(root / SPEC,
          ('''    ),
}


# Builders handed out''', '''    ),
''' + SPEC_BUILDER + '''

# Builders handed out'''),
          ('''sgd(0.01)),
)}
''', "sgd(0.01)),\n" + SPEC_VARIABLE),
          (''')
QUESTIONS_BY_ID''', SPEC_QUESTIONS),
          ('''                  4: "A second convolution layer"}''',
           '''                  4: "A second convolution layer", 5: "Another optimizer"}'''))
    nb = nbformat.read(str(root / MASTER), as_version=4)
    at = next(i for i, c in enumerate(nb.cells)
              if c.cell_type == "markdown" and c.source.startswith("**Collaboration and sources"))
    nb.cells[at:at] = SECTION_5
    intro = nb.cells[1]
    intro.source = intro.source.replace("in four sections", "in five sections")
    nbformat.write(nb, str(root / MASTER))


# ---------------------------------------------------------------------------------------------
# (b) P3 worth 5 points
# ---------------------------------------------------------------------------------------------
def p3_worth_five(root: Path) -> None:
    root = Path(root)
    _edit(root / SPEC, ('''_q("p3", "P3 2-D convolution by hand", 4, AUTO, "written", ("answer", "p3", 4)),''',
                        '''_q("p3", "P3 2-D convolution by hand", 5, AUTO, "written", ("answer", "p3", 5)),'''))
    nb = nbformat.read(str(root / MASTER), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "raw" and cell.source.startswith("# BEGIN QUESTION\nname: p3\n"):
            cell.source = cell.source.replace("points: 4", "points: 5")
        elif cell.cell_type == "markdown" and cell.source.startswith("### P3 "):
            cell.source = cell.source.replace("(4 points)", "(5 points)", 1)
    nbformat.write(nb, str(root / MASTER))
