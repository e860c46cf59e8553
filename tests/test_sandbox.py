"""hw5.sandbox: running untrusted notebooks in a limited kernel.

Fast tests read broken submissions and exercise the watchdog on plain subprocesses; the slow ones
start real kernels with real TensorFlow (about 8-20 s each).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from hw5.sandbox import (
    DIED,
    INVALID,
    MEMORY,
    OK,
    TIMEOUT,
    InvalidNotebook,
    Limits,
    SandboxResult,
    read_submission,
    run_submission,
)
from hw5.sandbox.runner import _read_export, _Watchdog

BUILDER = textwrap.dedent('''\
    import keras
    from keras import layers
    def define_model(learning_rate):
        model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)), layers.Flatten(),
            layers.Dense(100, activation="relu"), layers.Dense(10, activation="softmax")])
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


def write_nb(path: Path, *sources: str, kernel: str | None = "python3") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# HW5")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    if kernel:
        nb.metadata["kernelspec"] = {"name": kernel, "display_name": kernel, "language": "python"}
    nbformat.write(nb, str(path))
    return path


def errors(result: SandboxResult) -> list[tuple[int, str]]:
    return [(e.cell, e.ename) for e in result.cell_errors]


def builder_ok(result: SandboxResult) -> bool:
    return (result.export is not None
            and result.export["builders"]["define_model"]["status"] == "ok")


# ---------------------------------------------------------------------------------------------
# Fast: unreadable submissions never start a kernel
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content, fragment", [
    (b"", "empty"),
    (b"   \n", "whitespace"),
    (b"this is not json", "not a valid notebook"),
    (b'{"cells": [{"cell_type": "code", "source": "x = 1"', "cut off"),
    (b"\xff\xfe\x00garbage", "not a text"),
    (b"[1, 2, 3]", "not a notebook"),
    (b'{"nbformat": 4, "metadata": {}}', "no list of cells"),
    (b'{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}', "no code cells"),
    (json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                 "cells": [{"cell_type": "markdown", "source": "hi", "metadata": {}}]}).encode(),
     "no code cells"),
])
def test_invalid_submission(tmp_path, content, fragment):
    path = tmp_path / "hw5.ipynb"
    path.write_bytes(content)
    t0 = time.monotonic()
    result = run_submission(path)
    assert result.status == INVALID
    assert result.export is None
    assert fragment in result.messages[0], result.messages
    assert time.monotonic() - t0 < 5


def test_missing_file_and_too_large(tmp_path):
    assert run_submission(tmp_path / "nope.ipynb").status == INVALID
    path = write_nb(tmp_path / "big.ipynb", "x = 1")
    result = run_submission(path, limits=Limits(notebook_max_bytes=100))
    assert result.status == INVALID and "MB" in result.messages[0]


def test_read_strips_outputs_metadata_and_shell_lines(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("!pip install tensorflow==1.0\n%matplotlib inline\n"
                                     "if True:\n    %pip install x\nx = 1")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 20_000_000)]
    cell.metadata["tags"] = ["skip-execution", "raises-exception"]
    nb.cells = [cell, nbformat.v4.new_code_cell("%%bash\npip install foo"),
                nbformat.v4.new_raw_cell("raw")]
    path = tmp_path / "hw5.ipynb"
    nbformat.write(nb, str(path))
    sub = read_submission(path, max_bytes=10**9)
    assert [c.index for c in sub.cells] == [0, 1]
    lines = sub.cells[0].source.split("\n")
    assert lines[0].startswith("pass  # [not run by the grader] !pip")
    assert lines[1] == "%matplotlib inline"
    assert lines[3].startswith("    pass  #")
    compile("\n".join(l for l in lines if not l.startswith("%")), "cell", "exec")
    assert all(l.startswith("#") for l in sub.cells[1].source.split("\n"))
    assert sub.disabled_lines == 4 and "not run by the grader" in sub.messages[-1]


def test_read_nbformat3_without_kernelspec(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(_v3_notebook("x = 1")))
    sub = read_submission(path, max_bytes=10**9)
    assert [c.source for c in sub.cells] == ["x = 1"]
    assert "nbformat 3" in sub.messages[0]
    with pytest.raises(InvalidNotebook):
        path.write_text(json.dumps({"nbformat": 3, "worksheets": "nonsense"}))
        read_submission(path, max_bytes=10**9)


def _v3_notebook(*sources):
    return {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
            "worksheets": [{"metadata": {}, "cells": [
                {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Old"}] + [
                {"cell_type": "code", "collapsed": False, "input": s, "language": "python",
                 "metadata": {}, "prompt_number": 1,
                 "outputs": [{"output_type": "stream", "stream": "stdout", "text": "z" * 1000}]}
                for s in sources]}]}


def test_read_export_is_defensive(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"builders": {}}')
    assert _read_export(good, 100) == ({"builders": {}}, None)
    assert _read_export(tmp_path / "missing.json", 100)[0] is None
    big = tmp_path / "big.json"
    big.write_text('{"a": "' + "x" * 200 + '"}')
    assert "larger" in _read_export(big, 100)[1]
    lst = tmp_path / "list.json"
    lst.write_text("[1]")
    assert "not a JSON object" in _read_export(lst, 100)[1]
    link = tmp_path / "link.json"
    link.symlink_to(good)
    assert _read_export(link, 100)[0] is None
    fifo = tmp_path / "fifo.json"
    import os
    os.mkfifo(fifo)
    assert "regular" in _read_export(fifo, 100)[1]


def test_watchdog_kills_on_deadline_and_memory():
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dog = _Watchdog(proc.pid, Limits(poll_interval_s=0.05), time.monotonic() + 0.5)
    dog.start()
    assert proc.wait(timeout=10) == -9 and dog.reason == TIMEOUT
    hog_code = "import time\nb = []\nwhile True:\n b.append(bytearray(16 << 20))\n time.sleep(0.01)"
    hog = subprocess.Popen([sys.executable, "-c", hog_code], start_new_session=True)
    dog = _Watchdog(hog.pid, Limits(memory_mb=200, poll_interval_s=0.05), time.monotonic() + 60)
    dog.start()
    assert hog.wait(timeout=30) == -9 and dog.reason == MEMORY
    assert dog.peak_kernel_rss < 400 * 2**20


def test_parent_never_imports_tensorflow():
    code = ("import sys, hw5.sandbox, hw5.sandbox.runner, hw5.sandbox.notebook\n"
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------------------------------
# Slow: real kernels
# ---------------------------------------------------------------------------------------------
CHECKS = textwrap.dedent('''\
    import os, sys
    import numpy as np
    # fit trains nothing: one NaN epoch with the usual keys, positional args accepted
    assert len(history.history["loss"]) == 1, history.history
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    before = [w.copy() for w in model.get_weights()]
    h = model.fit(np.zeros((5000, 28, 28, 1)), np.zeros((5000, 10)), 32, 7, 0)
    assert h.params["epochs"] == 1 and h is model.history, h.params
    assert all((a == b).all() for a, b in zip(before, model.get_weights()))
    try:  # wrong arguments still get Keras' own error
        define_model(0.01).fit(np.zeros((5, 28, 28, 1)), np.zeros((5, 10)), nb_epoch=3)
        raise AssertionError("nb_epoch accepted")
    except TypeError:
        pass
    # MNIST: every loader gives the small subset
    from tensorflow.keras.datasets import mnist as tf_mnist
    assert len(keras.datasets.mnist.load_data()[0][0]) == 512
    assert len(tf_mnist.load_data()[0][0]) == 512
    # the working directory holds only the notebook, hw5kit and the subset
    expected = {"hw5.ipynb", "hw5kit", "mnist_subset.npz", "tmp", ".cache", ".config",
                ".ipython", ".jupyter", ".keras"}
    assert set(os.listdir(".")) <= expected, sorted(os.listdir("."))
    assert "mnist.npz" not in os.listdir("hw5kit")
    assert os.environ["HOME"] == os.getcwd() and os.environ["MPLBACKEND"] == "Agg"
    assert "PYTHONPATH" not in os.environ
    try:
        import hw5.answer_key
        raise AssertionError("the grader's package is importable")
    except ModuleNotFoundError:
        pass
    ''')


@pytest.mark.slow
def test_positive_notebook(tmp_path):
    tf_before = "tensorflow" in sys.modules
    path = write_nb(
        tmp_path / "hw5.ipynb", BUILDER, "!pip install tensorflow\n" + DATA,
        "model = define_model(0.01)\n"
        "history = model.fit(x_train, y_train, epochs=10, batch_size=32,\n"
        "                    validation_data=(x_test, y_test))",
        "undefined_name + 1",  # an unrelated failing cell costs nothing else
        CHECKS,
        "p1_1 = 'C'")
    result = run_submission(path, workdir=tmp_path)
    assert result.status == OK, (result.messages, result.cell_errors)
    assert errors(result) == [(4, "NameError")], result.cell_errors
    assert builder_ok(result)
    assert result.export["variables"]["model"]["status"] == "ok"
    assert result.export["answers"]["p1_1"]["value"] == "C"
    assert result.stats["disabled_shell_lines"] == 1
    assert result.stats["peak_kernel_rss_mb"] < 1200
    assert result.elapsed_s < 90
    assert [p.name for p in tmp_path.iterdir()] == ["hw5.ipynb"]  # temp dir removed
    if not tf_before:
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules
    json.dumps(result.to_dict())


@pytest.mark.slow
def test_nbformat3_without_kernelspec_runs(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(_v3_notebook(BUILDER)))
    result = run_submission(path)
    assert result.status == OK and builder_ok(result), result.messages
    assert any("nbformat 3" in m for m in result.messages)


@pytest.mark.slow
def test_sys_exit_is_just_an_error(tmp_path):
    # IPython turns SystemExit into an error; the prelude makes exit()/quit() no-ops
    # (and the notebook's kernelspec, here one that does not exist, is ignored)
    path = write_nb(tmp_path / "hw5.ipynb", "import sys\nsys.exit()", "raise SystemExit(3)",
                    "exit()", "quit()", "name = input('name?')", BUILDER, kernel="no-such-kernel")
    result = run_submission(path)
    assert result.status == OK and builder_ok(result), result.messages
    assert [e for _, e in errors(result)] == ["SystemExit", "SystemExit",
                                              "StdinNotImplementedError"]


@pytest.mark.parametrize("killer", ["import os\nos._exit(1)",
                                    "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"])
@pytest.mark.slow
def test_kernel_death(tmp_path, killer):
    path = write_nb(tmp_path / "hw5.ipynb", BUILDER, killer, "x = 1")
    result = run_submission(path)
    assert result.status == DIED, (result.status, result.messages)
    assert result.export is None
    assert "cell 2" in result.messages[-1]


@pytest.mark.slow
def test_infinite_loop_is_interrupted_and_the_rest_runs(tmp_path):
    path = write_nb(tmp_path / "hw5.ipynb", "while True:\n    pass", BUILDER)
    result = run_submission(path, limits=Limits(cell_timeout_s=4))
    assert result.status == OK and builder_ok(result), result.messages
    assert errors(result) == [(1, "CellTimeoutError")]
    assert any("stopped after 4 s" in m for m in result.messages)


@pytest.mark.slow
def test_uninterruptible_loop_ends_in_timeout(tmp_path):
    path = write_nb(tmp_path / "hw5.ipynb", BUILDER,
                    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                    "while True:\n    pass", "x = 1", "y = 2")
    t0 = time.monotonic()
    result = run_submission(path, limits=Limits(cell_timeout_s=3, notebook_timeout_s=6,
                                                export_timeout_s=4))
    assert result.status == TIMEOUT, (result.status, result.messages)
    assert result.export is None
    assert time.monotonic() - t0 < 60
    assert any("were not run" in m for m in result.messages)


@pytest.mark.slow
def test_one_huge_allocation_is_a_memory_error(tmp_path):
    path = write_nb(tmp_path / "hw5.ipynb", "big = bytearray(60 * 2**30)",
                    "import numpy as np\nbig = np.zeros(60 * 2**30, np.uint8)\nbig.fill(1)",
                    BUILDER)
    result = run_submission(path)
    assert result.status == OK and builder_ok(result), result.messages
    assert [e for _, e in errors(result)] == ["MemoryError", "MemoryError"]


@pytest.mark.slow
def test_growing_memory_is_killed(tmp_path):
    path = write_nb(tmp_path / "hw5.ipynb", BUILDER,
                    "import numpy as np\nchunks = []\n"
                    "for _ in range(60 * 16):\n    chunks.append(np.ones(64 * 2**20, np.uint8))")
    result = run_submission(path)
    assert result.status == MEMORY, (result.status, result.messages)
    assert result.export is None
    assert result.stats["peak_kernel_rss_mb"] < 1536 + 1024  # killed within a poll or two


@pytest.mark.slow
def test_huge_output_is_capped(tmp_path):
    rss_before = psutil.Process().memory_info().rss / 2**20
    path = write_nb(
        tmp_path / "hw5.ipynb",
        "print('x' * 200_000_000)",
        # around the in-kernel cap: restore the raw write, then 200 x 1 MB prints
        "import sys\nsys.stdout.__dict__.pop('write', None)\n"
        "for i in range(200):\n    print('y' * 1_000_000)",
        "import os\nfor i in range(50):\n    os.write(1, b'z' * 1_000_000)",
        "from IPython.display import display\nfor i in range(20):\n    display({'text/plain': 'w' * 1_000_000}, raw=True)",
        BUILDER)
    result = run_submission(path)
    assert result.status == OK and builder_ok(result), (result.messages, result.cell_errors)
    assert result.stats["output_bytes_kept"] <= 5_000_000
    assert result.stats["peak_parent_rss_mb"] - rss_before < 150, result.stats
    assert result.cell_errors == []


@pytest.mark.slow
def test_filesystem_vandalism_stays_in_the_sandbox(tmp_path):
    results_dir = tmp_path / "results"
    results_dir.mkdir()
    (results_dir / "results.json").write_text('{"score": 0}')
    path = write_nb(tmp_path / "hw5.ipynb", textwrap.dedent('''\
        import os, json
        fake = json.dumps({"score": 100, "tests": []})
        written = []
        for top in {os.getcwd(), os.path.expanduser("~")}:
            for dirpath, dirnames, filenames in os.walk(top):
                for name in ("results.json", "export.json"):
                    try:
                        with open(os.path.join(dirpath, name), "w") as f:
                            f.write(fake)
                        written.append(dirpath)
                    except OSError:
                        pass
        for dirpath, dirnames, filenames in os.walk(os.getcwd()):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o500)
        assert written
        '''), BUILDER)
    result = run_submission(path, workdir=tmp_path / "work")
    assert result.status == OK and builder_ok(result), (result.messages, result.cell_errors)
    assert (results_dir / "results.json").read_text() == '{"score": 0}'
    assert "score" not in json.dumps(result.export)
    assert list((tmp_path / "work").iterdir()) == []  # read-only dirs removed anyway
