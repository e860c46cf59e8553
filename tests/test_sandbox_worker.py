"""grade-all's long-lived sandbox runner (hw5.ta.sandbox_worker): the same result as a fresh
`python -m hw5.sandbox`, a fresh kernel and uid per notebook, killed with its tree when late."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from hw5.ta.sandbox_worker import SandboxWorker

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.mark.skipif(not IS_ROOT, reason="throwaway uids are handed out as root only")
def test_consecutive_notebooks_of_one_runner_get_different_uids():
    from hw5.sandbox.isolation import throwaway_uid

    assert len({throwaway_uid() for _ in range(5)}) == 5


def test_nothing_a_child_prints_is_read_as_its_answer():
    code = ("import os; from hw5.ta.child_process import answer, protocol_stdout; "
            "out = protocol_stdout(); print('from Python'); os.write(1, b'from C\\n'); "
            "answer(out, None); answer(out, ValueError('bad\\nexport'))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout == "ok\nerror ValueError: bad export\n"
    assert "from Python" in proc.stderr and "from C" in proc.stderr


def _comparable(result: dict) -> dict:
    """A sandbox result without what depends on the moment (times, memory, uid, pids)."""
    export = dict(result["export"] or {})
    export.pop("checkpoint", None)
    return {"status": result["status"], "export": export, "messages": result["messages"],
            "cell_errors": result["cell_errors"], "skipped": result["skipped_cells"]}


@pytest.mark.slow
def test_runner_answers_as_a_fresh_process_and_is_killed_when_late(tmp_path, repo):
    notebook = repo.template_path
    subprocess.run([sys.executable, "-m", "hw5.sandbox", notebook, tmp_path / "fresh.json"],
                   check=True)
    fresh = json.loads((tmp_path / "fresh.json").read_text(encoding="utf-8"))
    worker = SandboxWorker()
    try:
        step = worker.run([notebook, tmp_path / "w.json"], 300)
        assert step.ok, step.detail
        served = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
        assert _comparable(served) == _comparable(fresh)
        os.kill(worker.proc.pid, signal.SIGSTOP)  # a runner that does not answer in time
        step = worker.run([notebook, tmp_path / "late.json"], 2)
        assert step.timed_out and worker.proc is None
        step = worker.run(["no-such.ipynb", tmp_path / "bad.json"], 60)  # started again
        assert step.ok, step.detail
        assert json.loads((tmp_path / "bad.json").read_text("utf-8"))["status"] != "graded"
    finally:
        worker.close()
