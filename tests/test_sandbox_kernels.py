"""hw5.sandbox on real kernels with real TensorFlow: the solution notebook plus one fatal or
hostile last cell keeps its export, the feedback names the cell, and the export cannot be
planted or shaped by the notebook. Each test runs 1-2 kernels (30-90 s on 2 shared cores)."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import textwrap
from pathlib import Path

import nbformat
import pytest

from hw5 import settings
from hw5.kit import spec
from hw5.kit.analyse_runs import EXPORT_SCHEMA
from hw5.sandbox.channel import END, MAGIC
from hw5.sandbox import GRADED, KERNEL_DIED, MEMORY, NOTEBOOK_TIMEOUT, Limits, run_submission
from hw5.sandbox.limits import MB, for_container

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / spec.NOTEBOOK_NAME
IS_ROOT = os.geteuid() == 0
FAST = Limits(cell_timeout_s=20, cell_kill_grace_s=5, builder_timeout_s=8)
CONTAINER_768 = for_container(FAST, 768 * MB)


def solution_plus(tmp_path: Path, *cells: str) -> Path:
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    path = tmp_path / "hw5.ipynb"
    nbformat.write(nb, str(path))
    return path


def assert_complete(export: dict, lost_builders=()):
    """Every builder, trained variable, history and answer of the solution is in the export."""
    assert export["schema"] == EXPORT_SCHEMA and export["fit_stand_in"] is True
    for name, entry in export["builders"].items():
        assert entry["status"] == ("error" if name in lost_builders else "ok"), (name, entry)
    for name, variable in spec.TRAINED_VARIABLES.items():
        entry = export["variables"][name]
        assert entry["status"] == "ok" and entry["model"]["weight_shapes"], (name, entry)
        assert entry["model"]["class_module"].startswith("keras.")
        history = export["histories"][variable.history]
        assert history["status"] == "ok" and isinstance(history["fit_call"], int), history
        call = next(c for c in export["fit_calls"] if c["call"] == history["fit_call"])
        assert call["model_object"] == entry["model_object"]  # that very model's fit
        arguments = call["arguments"]
        assert arguments["epochs"] == spec.EPOCHS and arguments["batch_size"] == spec.BATCH_SIZE
        assert call["x"]["relation"] == "same", call["x"]  # the notebook's own x_train
    assert export["answers"]["p1_1"]["value"] is not None
    assert export["answers"]["p3_output"]["status"] == "ok"
    assert export["data"]["y_train"]["one_hot"] is True
    assert export["mnist_sizes"]["train"] == export["data"]["x_train"]["shape"][0]


def fatal_cell_index(path: Path) -> int:
    return len(nbformat.read(path, as_version=4).cells) - 1


# RLIMIT_DATA turns one process's growth into a MemoryError; children growing together are
# what only the watchdog (private memory of the whole tree) stops.
GROW_IN_CHILDREN = ("import os, time\nfor _ in range(12):\n    if os.fork() == 0:\n"
                    "        block = b'x' * (100 * 2**20)\n        time.sleep(600)\n"
                    "        os._exit(0)\ntime.sleep(600)")
HANG_IGNORING_INTERRUPTS = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


@pytest.mark.parametrize("name, cell, limits, status, says", [
    ("os_exit", "# TODO6: bye\nimport os\nos._exit(1)", FAST, KERNEL_DIED, "(TODO6)"),
    ("allocate_700mb_in_768mb", "import numpy as np\nbig = np.ones(700 * 2**20, np.uint8)",
     CONTAINER_768, GRADED, "MemoryError"),
    ("grow_past_the_limit", GROW_IN_CHILDREN, CONTAINER_768, MEMORY, "MB of memory"),
    ("endless_loop", "while True:\n    pass", FAST, GRADED, "was stopped after"),
    ("endless_loop_ignoring_interrupts", HANG_IGNORING_INTERRUPTS, FAST, NOTEBOOK_TIMEOUT,
     "kept running"),
    ("len_512", "len = 512\nstr = None\nglobals = 1\nValueError = 3\njson = 'x'\n"
     "isinstance = None\ndict = list\nprint = None", FAST, GRADED, None),
    ("answer_8mb", "student_id = 'x' * (8 * 2**20)", FAST, GRADED, None),
])
def test_one_fatal_last_cell_costs_one_cell(tmp_path, name, cell, limits, status, says):
    path = solution_plus(tmp_path, cell)
    result = run_submission(path, limits=limits)
    assert result.status == status, (result.status, result.messages, result.cell_errors)
    assert_complete(result.export)
    text = " ".join(result.messages)
    if says:
        assert says in text, result.messages
    fatal = [e for e in result.cell_errors if e.fatal]
    if status in (KERNEL_DIED, MEMORY, NOTEBOOK_TIMEOUT):
        assert [e.cell for e in fatal] == [fatal_cell_index(path)], result.cell_errors
        assert f"cell {fatal_cell_index(path) + 1}" in text  # counted from 1
        assert result.skipped_cells == [fatal_cell_index(path)]
    else:
        assert not fatal
    if name == "answer_8mb":
        assert result.export["answers"]["student_id"]["status"] == "error"
    json.dumps(result.to_dict())


def test_a_hung_builder_costs_only_that_builder(tmp_path):
    path = solution_plus(tmp_path, "def define_model_2_conv(learning_rate):\n    while True:\n"
                                   "        pass")
    result = run_submission(path, limits=FAST)
    assert result.status == GRADED, (result.messages, result.cell_errors)
    assert_complete(result.export, lost_builders=("define_model_2_conv",))
    error = result.export["builders"]["define_model_2_conv"]["error"]
    cell = len(nbformat.read(path, as_version=4).cells) - 1
    assert "did not return" in error and f"cell {cell + 1}" in error, error


def test_the_export_cannot_be_planted_or_shaped_by_the_notebook(tmp_path):
    """Patching json (encoder, dumps) and Keras' own to_json, writing export-like files
    everywhere it can, and writing well-framed forged checkpoints into every FIFO it holds
    (from a thread that goes on after the last cell) changes nothing that is recorded."""
    cheat = textwrap.dedent('''\
        import json, os
        fake = {"builders": {}, "variables": {}, "answers": {"p1_1": {"value": "A"}}}

        def tamper(o):  # every Dense layer in any Keras config gets 999 units
            if isinstance(o, dict):
                o = {k: tamper(v) for k, v in o.items()}
                if o.get("class_name") == "Dense" and isinstance(o.get("config"), dict):
                    o["config"]["units"] = 999
            elif isinstance(o, list):
                o = [tamper(v) for v in o]
            return o

        encode, iterencode, dumps = (json.JSONEncoder.encode, json.JSONEncoder.iterencode,
                                     json.dumps)
        json.JSONEncoder.encode = lambda self, o: encode(self, tamper(o))
        json.JSONEncoder.iterencode = (
            lambda self, o, *a, **k: iterencode(self, tamper(o), *a, **k))
        json.dumps = lambda o, *a, **k: dumps(tamper(o), *a, **k)
        import keras
        keras.Model.to_json = lambda self, **k: json.dumps({"forged": True})
        define_model = (lambda f: lambda learning_rate: f(learning_rate))(define_model)  # new
        written = 0
        for top in {os.getcwd(), os.path.expanduser("~"), os.environ["TMPDIR"]}:
            for d, _, _ in os.walk(top):
                for name in ("export.json", "export-0.fifo", "export-1.fifo", "kernel.json"):
                    try:
                        open(os.path.join(d, name), "x").write(repr(fake))
                        written += 1
                    except OSError:
                        pass
        import stat, threading, time
        forged = json.dumps(fake).encode()
        frame = (MAGIC + len(forged).to_bytes(4, "big") + forged + bytes(32) + END)
        fifos = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                if stat.S_ISFIFO(os.fstat(int(fd)).st_mode):
                    fifos.append(int(fd))
            except OSError:
                pass
        def forge():
            while True:
                for fd in fifos:
                    try:
                        os.write(fd, frame)
                    except OSError:
                        pass
                time.sleep(0.05)
        threading.Thread(target=forge, daemon=True).start()
        time.sleep(1)
        ''').replace("MAGIC", repr(MAGIC)).replace("END", repr(END))
    path = solution_plus(tmp_path, cheat)
    result = run_submission(path, limits=FAST)
    assert result.status == GRADED, (result.messages, result.cell_errors)
    assert not result.cell_errors, result.cell_errors  # the cheat itself ran
    assert_complete(result.export)
    models = [entry["model"] for entry in result.export["builders"]["define_model"]["calls"]]
    for model in models + [result.export["variables"]["model"]["model"]]:
        config = json.loads(model["config_json"])
        assert config["class_name"] == "Sequential" and len(config["config"]["layers"]) >= 5
        units = [layer["config"]["units"] for layer in config["config"]["layers"]
                 if layer["class_name"] == "Dense"]
        assert units == [100, 10], units
    assert result.export["answers"]["p1_1"]["value"] != "A"
    assert result.stats["frames_forged"] > 0


@pytest.mark.skipif(not IS_ROOT, reason="the throwaway uid needs root")
def test_kernel_cannot_read_the_key_nor_write_the_venv_or_the_output(tmp_path):
    out = Path(tempfile.mkdtemp(prefix="hw5-results-"))  # reachable by all, writable by root
    out.chmod(0o755)
    probe = textwrap.dedent(f'''\
        import os, sys
        facts = {{"uid": os.getuid()}}
        for what, path in (("key", {str(ROOT / "hw5" / "answer_key.py")!r}),):
            try:
                open(path).read(); facts[what] = "read"
            except OSError as exc:
                facts[what] = type(exc).__name__
        for what, path in (("venv", os.path.join(sys.prefix, "planted.pth")),
                           ("out", {str(out / "results.json")!r})):
            try:
                open(path, "w").write("x"); facts[what] = "written"
            except OSError as exc:
                facts[what] = type(exc).__name__
        student_id = repr(sorted(facts.items()))
        ''')
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(probe)]
    path = tmp_path / "hw5.ipynb"
    nbformat.write(nb, str(path))
    result = run_submission(path, limits=FAST)
    assert result.status == GRADED, (result.messages, result.stats.get("kernel_log_tail"))
    facts = dict(eval(result.export["answers"]["student_id"]["value"]))  # noqa: S307 - our own
    assert facts["uid"] in settings.SANDBOX_THROWAWAY_UIDS
    assert facts["key"] != "read" and facts["venv"] != "written" and facts["out"] != "written"
    assert not (out / "results.json").exists()
    assert result.stats["kernel_user"] == f"uid {facts['uid']}"
    shutil.rmtree(out)


BUILDER = textwrap.dedent('''\
    import keras
    from keras import layers
    def define_model(learning_rate):
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
            layers.Flatten(), layers.Dense(100, activation="relu"),
            layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                      loss="categorical_crossentropy", metrics=["accuracy"])
        return model
    ''')
DATA = textwrap.dedent('''\
    import numpy as np
    from hw5kit.mnist import load_mnist
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_train = x_train.reshape(-1, 28, 28, 1).astype("float32") / 255
    x_test = x_test.reshape(-1, 28, 28, 1).astype("float32") / 255
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)
    ''')
ENVIRONMENT_CHECKS = f"TRAIN_ROWS = {Limits().train_images}\n" + textwrap.dedent('''\
    import os
    import numpy as np
    # fit trains nothing: NaN epochs as asked, the usual keys, positional arguments accepted
    assert len(history.history["loss"]) == 3 and history.epoch == [0, 1, 2], history.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    before = [w.copy() for w in model.get_weights()]
    h = model.fit(np.zeros((50, 28, 28, 1)), np.zeros((50, 10)), 32, 7, 0)
    assert h.params["epochs"] == 7 and h is model.history, h.params
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))
    try:  # wrong arguments still get Keras' own error
        define_model(0.01).fit(np.zeros((5, 28, 28, 1)), np.zeros((5, 10)), nb_epoch=3)
        raise AssertionError("nb_epoch accepted")
    except TypeError:
        pass
    from tensorflow.keras.datasets import mnist as tf_mnist
    assert len(keras.datasets.mnist.load_data()[0][0]) == TRAIN_ROWS
    assert len(tf_mnist.load_data()[0][0]) == TRAIN_ROWS
    expected = {"hw5.ipynb", "hw5kit", "mnist_subset.npz", "tmp", ".cache", ".config",
                ".ipython", ".jupyter", ".keras"}
    assert set(os.listdir(".")) <= expected, sorted(os.listdir("."))
    assert os.environ["HOME"] == os.getcwd() and os.environ["MPLBACKEND"] == "Agg"
    assert "HW5_EPOCHS" not in os.environ and "HW5_EXPORT_FD" not in os.environ
    assert not [k for k in os.environ if k.startswith("HW5_EXPORT")]
    try:
        import hw5.answer_key
        raise AssertionError("the grader's package is importable")
    except ModuleNotFoundError:
        pass
    ''')


def _notebook(tmp_path: Path, *sources: str, nbformat_3: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# HW5")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    path = tmp_path / "hw5.ipynb"
    if nbformat_3:
        path.write_text(nbformat.writes(nbformat.convert(nb, 3), version=3))
    else:
        nbformat.write(nb, str(path))
    return path


def test_the_grading_kernel_environment(tmp_path):
    path = _notebook(
        tmp_path, BUILDER, "!pip install tensorflow\n" + DATA,
        "model = define_model(0.01)\n"
        "history = model.fit(x_train, y_train, epochs=3, batch_size=64,\n"
        "                    validation_data=(x_test, y_test))",
        "undefined_name + 1",  # an unrelated failing cell costs nothing else
        ENVIRONMENT_CHECKS,
        "import sys\nsys.exit()", "exit()", "quit()", "name = input('name?')",
        "print('x' * 200_000_000)",
        "from IPython.display import display\nfor i in range(10):\n"
        "    display({'text/plain': 'w' * 9_000_000}, raw=True)",  # above the ZeroMQ cap
        "p1_1 = 'C'", nbformat_3=True)
    result = run_submission(path, workdir=tmp_path / "work", limits=FAST)
    assert result.status == GRADED, (result.messages, result.cell_errors)
    assert [(e.cell, e.ename) for e in result.cell_errors] == [
        (4, "NameError"), (6, "SystemExit"), (9, "StdinNotImplementedError")]
    export = result.export
    assert export["builders"]["define_model"]["status"] == "ok"
    assert export["answers"]["p1_1"]["value"] == "C"
    call = export["fit_calls"][0]
    train, test = FAST.train_images, FAST.test_images
    assert (call["arguments"]["epochs"], call["arguments"]["batch_size"], call["x"]["shape"],
            call["cell"]) == (3, 64, [train, 28, 28, 1], 3)
    assert [call["validation"][k]["shape"] for k in "xy"] == [[test, 28, 28, 1], [test, 10]]
    # the very arrays of the namespace, as the cell wrote them; no callback, fresh weights
    assert {k: call[k]["relation"] for k in "xy"} == {"x": "same", "y": "same"}
    assert call["x"]["digest"] == export["data"]["x_train"]["digest"]
    assert call["source"] == {"x": "x_train", "y": "y_train",
                              "validation_data": "(x_test, y_test)",
                              "validation_x": "x_test", "validation_y": "y_test"}
    assert (call["callbacks"], call["warm_start"], call["compile"]["optimizer"]["class_name"]) \
        == ([], None, "SGD")
    assert export["histories"]["history"] == {"status": "ok", "fit_call": 1, "error": None}
    assert export["mnist_sizes"] == {"train": train, "test": test}
    assert result.stats["disabled_shell_lines"] == 1
    assert result.stats["output_bytes_kept"] <= 5_000_000
    assert any("nbformat 3" in m for m in result.messages)
    assert list((tmp_path / "work").iterdir()) == []  # temp dir removed
