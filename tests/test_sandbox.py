"""hw5.sandbox, fast: reading submissions, the status decision, the export channel and encoder,
container limits, the watchdog and cleanup. No kernel is started here (see
test_sandbox_kernels.py for real kernels and test_grade_hostile.py for whole grades)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest

from hw5 import settings
from hw5.sandbox import (
    GRADED,
    INTERNAL_ERROR,
    KERNEL_DIED,
    MEMORY,
    NOT_A_NOTEBOOK,
    NOTEBOOK_TIMEOUT,
    InvalidNotebook,
    Limits,
    read_submission,
    run_submission,
)
from hw5.sandbox import messages, outcome
from hw5.sandbox.channel import ExportChannel, FrameDecoder, encode_frame
from hw5.sandbox.inkernel import serial
from hw5.sandbox.isolation import private_ancestors
from hw5.sandbox.kernel import capped_context
from hw5.sandbox.limits import MB, cgroup_memory_limit_bytes, for_container
from hw5.sandbox.notebook import todo_label
from hw5.sandbox.watchdog import CELL_TIMEOUT, DEADLINE, Watchdog, kill_uid, processes_of_uid
from hw5.sandbox.workdir import rmtree

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def write_nb(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# HW5")]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, str(path))
    return path


# ---------------------------------------------------------------------------------------------
# Unreadable submissions never start a kernel
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
])
def test_invalid_submission(tmp_path, content, fragment):
    path = tmp_path / "hw5.ipynb"
    path.write_bytes(content)
    t0 = time.monotonic()
    result = run_submission(path)
    assert result.status == NOT_A_NOTEBOOK and result.export is None
    assert fragment in result.messages[0], result.messages
    assert time.monotonic() - t0 < 5
    assert json.loads(json.dumps(result.to_dict()))["status"] == "not-a-notebook"


def test_missing_file_and_too_large(tmp_path):
    assert run_submission(tmp_path / "nope.ipynb").status == NOT_A_NOTEBOOK
    path = write_nb(tmp_path / "big.ipynb", "x = 1")
    result = run_submission(path, limits=Limits(notebook_max_bytes=100))
    assert result.status == NOT_A_NOTEBOOK and "MB" in result.messages[0]


def test_read_strips_outputs_metadata_and_shell_lines(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("!pip install tensorflow==1.0\n%matplotlib inline\n"
                                     "if True:\n    %pip install x\nx = 1\nfiles = !ls\n"
                                     "out = %sx ls\n!echo a \\\n  b\ny = 2")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="y" * 20_000_000)]
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
    assert lines[5].startswith("pass  #") and lines[6].startswith("pass  #")
    assert lines[7].startswith("pass  #") and lines[8].startswith("# ")
    compile("\n".join(line for line in lines if not line.startswith("%")), "cell", "exec")
    assert all(line.startswith("#") for line in sub.cells[1].source.split("\n"))
    assert sub.disabled_lines == 5 + 2 and "not run by the grader" in sub.messages[-1]


def test_continuation_line_starting_with_not_equal_is_python(tmp_path):
    source = ("ok = (x_train.shape[0]\n      != 60000)\nflag = (a\n!= b)\n"
              "total = (1 +\n         2)\n")
    sub = read_submission(write_nb(tmp_path / "hw5.ipynb", source), max_bytes=10**9)
    assert sub.cells[0].source == source and sub.disabled_lines == 0


def test_todo_label():
    assert todo_label("# TODO3: define_model_with_momentum\ndef f(): pass") == "TODO3"
    assert todo_label("\n#TODO 6 model_2_layer\nx = 1") == "TODO6"
    assert todo_label("x = 1  # TODO1") is None
    assert todo_label("# Setup\nimport os") is None


def test_read_nbformat3(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({
        "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "code", "collapsed": False, "input": "x = 1", "language": "python",
             "metadata": {}, "prompt_number": 1, "outputs": []}]}]}))
    sub = read_submission(path, max_bytes=10**9)
    assert [c.source for c in sub.cells] == ["x = 1"] and "nbformat 3" in sub.messages[0]
    with pytest.raises(InvalidNotebook):
        path.write_text(json.dumps({"nbformat": 3, "worksheets": "nonsense"}))
        read_submission(path, max_bytes=10**9)


# ---------------------------------------------------------------------------------------------
# The status decision (pure) and its wording (separate)
# ---------------------------------------------------------------------------------------------
def _facts(**kw):
    return outcome.RunFacts(memory_mb=600, cell_timeout_s=60, **kw)


def _fatal(cause, cell=7, todo="TODO4"):
    return outcome.FatalCell(cell, todo, cause)


@pytest.mark.parametrize("facts, status", [
    (_facts(export_present=True), GRADED),
    (_facts(invalid_notebook="empty"), NOT_A_NOTEBOOK),
    (_facts(export_present=False), INTERNAL_ERROR),
    (_facts(internal_error="RuntimeError: x", export_present=True), INTERNAL_ERROR),
    (_facts(startup_failed=True), INTERNAL_ERROR),
    (_facts(startup_failed=True, export_present=True, fatal=[_fatal(outcome.DIED)]),
     KERNEL_DIED),
    (_facts(export_present=True, fatal=[_fatal(outcome.DIED)]), KERNEL_DIED),
    (_facts(export_present=False, fatal=[_fatal(outcome.DIED)]), KERNEL_DIED),
    (_facts(export_present=True, fatal=[_fatal(outcome.DIED), _fatal(outcome.OUT_OF_MEMORY, 9)]),
     MEMORY),
    (_facts(export_present=True, fatal=[_fatal(outcome.CELL_HUNG)]), NOTEBOOK_TIMEOUT),
    (_facts(export_present=True, fatal=[_fatal(outcome.DEADLINE)]), NOTEBOOK_TIMEOUT),
    (_facts(export_present=True, skipped_for_time=[8, 9]), NOTEBOOK_TIMEOUT),
])
def test_decide(facts, status):
    assert outcome.decide(facts)[0] == status
    assert status in outcome.STATUSES


def test_wording_names_the_fatal_cell_and_never_decides():
    status, reasons = outcome.decide(_facts(export_present=True,
                                            fatal=[_fatal(outcome.OUT_OF_MEMORY)]))
    text = " ".join(messages.render(reasons))
    assert status == MEMORY and "cell 8 (TODO4)" in text and "600 MB" in text  # counted from 1
    status, reasons = outcome.decide(_facts(export_present=True, fatal=[_fatal(outcome.DIED)]))
    assert "cell 8 (TODO4)" in " ".join(messages.render(reasons))
    status, reasons = outcome.decide(_facts(export_present=True, skipped_for_time=[8, 9]))
    assert "2 cell(s) from cell 9" in " ".join(messages.render(reasons))


# ---------------------------------------------------------------------------------------------
# The export channel and the in-kernel encoder
# ---------------------------------------------------------------------------------------------
def test_frames_torn_oversized_forged_and_garbage_are_skipped():
    key = b"k" * 32

    def frame(payload: bytes, k: bytes = key) -> bytes:
        return encode_frame(payload, k)

    good1, good2 = {"seq": 1}, {"seq": 2, "x": "é"}
    stream = (b"garbage" + frame(json.dumps(good1).encode())
              + frame(json.dumps({"seq": 99}).encode())[:-5]  # torn
              + frame(b'{"a": "' + b"x" * 500 + b'"}')  # oversized
              + frame(b"[1, 2]") + frame(b"not json")
              + frame(b'{"forged": true}', b"f" * 32)  # signed with another key
              + frame(json.dumps(good2).encode()))
    decoder = FrameDecoder(max_bytes=100, key=key)
    out = []
    for i in range(0, len(stream), 7):  # arbitrary chunking
        out += decoder.feed(stream[i:i + 7])
    assert out == [good1, good2]
    assert decoder.dropped >= 3 and decoder.forged == 1


def test_channel_is_created_by_the_runner_and_refuses_an_existing_path(tmp_path):
    planted = tmp_path / "export.fifo"
    planted.write_text(json.dumps({"builders": "forged"}))
    with pytest.raises(FileExistsError):
        ExportChannel(planted, 1000)
    channel = ExportChannel(tmp_path / "export-0.fifo", 1000)
    writer = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from hw5.sandbox.channel import encode_frame
        fd = os.open({str(channel.path)!r}, os.O_WRONLY)
        for i in range(50):
            os.write(fd, encode_frame(('{{"seq": %d}}' % i).encode(), {channel.key!r}))
        os.write(fd, encode_frame(b'{{"seq": 1000}}', b"not the key"))
        """)
    subprocess.run([sys.executable, "-c", writer], check=True, timeout=60)
    assert channel.close() == {"seq": 49}
    assert channel.frames == 50 and channel.forged == 1 and not channel.path.exists()


def test_encoder_matches_json_and_ignores_patched_json():
    import json as json_module

    data = {"a": [1, 2.5, None, True, False, "é\n\"", {"b": []}], "c": float("nan"),
            "d": (1, 2), "e": -0.0, "f": 10**20}
    expected = json_module.dumps(data, separators=(",", ":")).replace("NaN", "null")
    assert serial.dumps(data) == expected

    class Sneaky(str):
        def __str__(self):
            return "sneaky"

    saved = (json_module.JSONEncoder.encode, json_module.JSONEncoder.iterencode,
             json_module.dumps, json_module.encoder.encode_basestring_ascii)
    try:
        json_module.JSONEncoder.encode = lambda self, o: '"forged"'
        json_module.JSONEncoder.iterencode = lambda self, o, _one_shot=False: iter(['"forged"'])
        json_module.dumps = lambda *a, **k: '"forged"'
        json_module.encoder.encode_basestring_ascii = lambda s: '"forged"'
        assert serial.dumps(data) == expected
        assert serial.dumps({"k": Sneaky("real")}) == '{"k":"real"}'
    finally:
        (json_module.JSONEncoder.encode, json_module.JSONEncoder.iterencode,
         json_module.dumps, json_module.encoder.encode_basestring_ascii) = saved
    with pytest.raises(serial.TooLarge):
        serial.dumps({"a": "x" * 1000}, max_bytes=100)
    with pytest.raises(TypeError):
        serial.dumps({"a": object()})


# ---------------------------------------------------------------------------------------------
# Limits from the container
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cgroup, files, expected", [
    ("0::/grading\n", {"sys/fs/cgroup/grading/memory.max": "805306368\n"}, 768 * MB),
    ("0::/\n", {"sys/fs/cgroup/memory.max": "max\n"}, None),
    ("4:memory:/docker/abc\n", {"sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes":
                                "805306368\n"}, 768 * MB),
    ("4:memory:/\n", {"sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"},
     None),
    ("", {}, None),
])
def test_cgroup_memory_limit(tmp_path, cgroup, files, expected):
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/cgroup").write_text(cgroup)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert cgroup_memory_limit_bytes(tmp_path) == expected


def test_limits_sized_from_the_container():
    small = for_container(Limits(), 768 * MB)
    assert small.memory_mb == 768 - settings.SANDBOX_RESERVED_MB
    assert small.data_limit_mb == small.memory_mb
    assert for_container(Limits(), None) == Limits()
    assert for_container(Limits(), 64 * 2**30).memory_mb == settings.SANDBOX_MEMORY_MB
    assert for_container(Limits(), 100 * MB).memory_mb == settings.SANDBOX_MIN_MEMORY_MB


def test_one_deadline_fits_the_container():
    assert settings.GRADE_DEADLINE_S <= settings.CONTAINER_TIMEOUT_S - 30
    assert 0 < settings.sandbox_budget_s() < settings.GRADE_DEADLINE_S


# ---------------------------------------------------------------------------------------------
# ZeroMQ message cap (pyzmq's public context socket options, given to jupyter_client's client)
# ---------------------------------------------------------------------------------------------
def test_capped_context_drops_a_message_above_the_cap():
    import zmq

    async def exchange():
        context = capped_context(1000)
        sender = zmq.asyncio.Context()
        pull, push = context.socket(zmq.PULL), sender.socket(zmq.PUSH)
        try:
            port = pull.bind_to_random_port("tcp://127.0.0.1")
            push.connect(f"tcp://127.0.0.1:{port}")
            await push.send(b"small")
            assert await asyncio.wait_for(pull.recv(), 5) == b"small"
            await push.send(b"x" * 5000)  # above the cap: the connection drops it
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(pull.recv(), 1)
        finally:
            pull.close(0)
            push.close(0)
            context.destroy(0)
            sender.destroy(0)

    import asyncio

    asyncio.run(exchange())


# ---------------------------------------------------------------------------------------------
# Watchdog and cleanup
# ---------------------------------------------------------------------------------------------
def test_watchdog_kills_on_deadline_and_memory():
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dog = Watchdog(proc.pid, 1536, time.monotonic() + 0.5, 0.05)
    dog.start()
    assert proc.wait(timeout=10) == -9 and dog.reason == DEADLINE
    hog_code = "import time\nb = []\nwhile True:\n b.append(bytearray(16 << 20))\n time.sleep(0.01)"
    hog = subprocess.Popen([sys.executable, "-c", hog_code], start_new_session=True)
    dog = Watchdog(hog.pid, 200, time.monotonic() + 60, 0.05)
    dog.start()
    assert hog.wait(timeout=30) == -9 and dog.reason == outcome.MEMORY
    assert dog.peak_kernel_rss < 400 * MB


def test_watchdog_interrupts_a_cell_then_kills_it_if_it_goes_on():
    code = ("import signal, time\nsignal.signal(signal.SIGINT, lambda *a: print('int', flush=True))\n"
            "print('ready', flush=True)\nwhile True:\n    time.sleep(0.01)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"
    dog = Watchdog(proc.pid, 1536, time.monotonic() + 60, 0.05)
    dog.start()
    now = time.monotonic()
    dog.arm_cell(now + 0.3, now + 1.0)
    assert proc.stdout.readline() == "int\n"  # SIGINT first
    assert proc.wait(timeout=10) == -9 and dog.reason == CELL_TIMEOUT


@pytest.mark.skipif(not IS_ROOT, reason="needs root to start processes as another uid")
def test_kill_uid_reaches_double_forked_processes():
    from hw5.sandbox.isolation import throwaway_uid

    uid = throwaway_uid()
    # a kernel stand-in that escapes its process tree and session: setsid -f double-forks
    escape = "setsid -f sleep 300; exec sleep 300"
    launcher = (f"import os; os.setgroups([]); os.setgid({uid}); os.setuid({uid}); "
                f"os.execv('/bin/sh', ['/bin/sh', '-c', {escape!r}])")
    proc = subprocess.Popen([sys.executable, "-c", launcher], cwd="/")
    deadline = time.monotonic() + 20
    while len(processes_of_uid(uid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(processes_of_uid(uid)) >= 2  # the kernel stand-in and its setsid grandchild
    assert kill_uid(uid) >= 2
    proc.wait(timeout=10)
    assert processes_of_uid(uid) == []
    with pytest.raises(ValueError):
        kill_uid(os.getuid())


def test_rmtree_removes_read_only_trees(tmp_path):
    top = tmp_path / "tree"
    (top / "a" / "b").mkdir(parents=True)
    (top / "a" / "b" / "f.txt").write_text("x")
    for d in (top / "a" / "b", top / "a", top):
        d.chmod(0o500)
    rmtree(top)
    assert not top.exists()


def test_private_ancestors(tmp_path):
    private = tmp_path / "home"
    (private / "py" / "bin").mkdir(parents=True)
    private.chmod(0o700)
    try:
        exposed = private_ancestors([str(private / "py" / "bin" / "python")])
        assert (str(private), ["py"]) in exposed
    finally:
        private.chmod(0o755)


def test_parent_never_imports_tensorflow():
    code = ("import sys, hw5.sandbox, hw5.sandbox.runner, hw5.sandbox.notebook\n"
            "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_sandbox_modules_stay_small():
    for path in (Path(__file__).resolve().parents[1] / "hw5" / "sandbox").rglob("*.py"):
        assert len(path.read_text().splitlines()) < 400, path


def test_untrusted_work_is_not_run_unisolated_by_default(monkeypatch):
    from hw5.sandbox import isolation

    monkeypatch.setattr(isolation.os, "geteuid", lambda: 1000)  # a TA's own account
    monkeypatch.delenv(settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR, raising=False)
    assert isolation.sandbox_user() is None
    with pytest.raises(isolation.NotIsolated, match=settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR):
        isolation.check_isolation(None)
    monkeypatch.setenv(settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR, "1")
    isolation.check_isolation(None)


@pytest.mark.skipif(not IS_ROOT, reason="as root only")
def test_as_root_the_kernel_always_gets_an_unprivileged_uid(monkeypatch):
    from hw5.sandbox import isolation

    for value in (None, "root", "no-such-user-hw5"):
        if value is None:
            monkeypatch.delenv(settings.SANDBOX_USER_ENV_VAR, raising=False)
        else:
            monkeypatch.setenv(settings.SANDBOX_USER_ENV_VAR, value)
        user = isolation.sandbox_user()
        assert user.uid in settings.SANDBOX_THROWAWAY_UIDS and user.gid == user.uid
    monkeypatch.setenv(settings.SANDBOX_USER_ENV_VAR, "nobody")
    assert isolation.sandbox_user().name == "nobody"


@pytest.mark.skipif(not IS_ROOT, reason="needs root to start processes as another uid")
def test_parallel_runs_get_different_throwaway_uids():
    from hw5.sandbox.isolation import throwaway_uid

    busy = throwaway_uid()
    proc = subprocess.Popen([sys.executable, "-c", f"import os, time; os.setgid({busy}); "
                             f"os.setuid({busy}); time.sleep(60)"], cwd="/")
    try:
        deadline = time.monotonic() + 20
        while not processes_of_uid(busy) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert throwaway_uid() != busy
    finally:
        proc.kill()
        proc.wait()
