"""The client side of grade-all's long-lived helper processes (`hw5.ta.trusted_worker`,
`hw5.ta.sandbox_worker`): one ``python -m MODULE`` child that answers one JSON line at a time.

Protocol: one JSON line per request on the child's stdin; one line back, ``ok`` or
``error <what>``. End of stdin ends the child. A child that does not answer in time is killed
with its whole process tree (a kernel it started must not outlive it), one that died is started
again on the next request, and a fresh one replaces it after `recycle_after` requests.
"""
from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import traceback

from hw5.grading import pipeline

_STDERR_TAIL = 3


class ChildProcess:
    """A `python -m module *args` child, started on creation and again when needed."""

    def __init__(self, module: str, recycle_after: int, args=()):
        self.module = module
        self.args = list(args)
        self.recycle_after = recycle_after
        self.proc: subprocess.Popen | None = None
        self.served = 0
        self._stderr = None
        self.start()

    def start(self) -> None:
        self.close()
        self._stderr = tempfile.TemporaryFile(prefix="hw5-child-")
        self.proc = subprocess.Popen([sys.executable, "-m", self.module, *self.args],
                                     env=pipeline._child_env(), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     bufsize=1)
        self.served = 0

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pipeline._kill_tree(self.proc.pid)
            self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def ensure_started(self) -> None:
        """A running child that has not yet served `recycle_after` requests."""
        if self.proc is None or self.proc.poll() is not None \
                or self.served >= self.recycle_after:
            self.start()

    def ask(self, request: list, deadline: float) -> pipeline.Step:
        """Send `request`; the child's answer as a Step (killed when `deadline` passes)."""
        self.ensure_started()
        start = time.monotonic()
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:
            return self._died(start)
        answer = self._read_line(deadline)
        seconds = time.monotonic() - start
        if answer is None:
            pipeline._kill_tree(self.proc.pid)
            self.close()
            return pipeline.Step(False, True, f"python -m {self.module} stopped after "
                                              f"{seconds:.0f} s", seconds)
        if answer == "":
            return self._died(start)
        self.served += 1
        if answer.strip() == "ok":
            return pipeline.Step(True, seconds=seconds)
        return pipeline.Step(False, False, f"python -m {self.module}: {answer.strip()}", seconds)

    def _read_line(self, deadline: float) -> str | None:
        """The child's next line; "" when it ended, None when `deadline` passed first."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(max(0.0, deadline - time.monotonic())):
                return None
        return self.proc.stdout.readline()

    def _died(self, start: float) -> pipeline.Step:
        code = self.proc.wait()
        self._stderr.seek(0)
        err = self._stderr.read().decode("utf-8", "replace")
        tail = " | ".join(err.strip().splitlines()[-_STDERR_TAIL:]) or "no output"
        self.close()
        return pipeline.Step(False, False, f"python -m {self.module} exited {code}: {tail}",
                             time.monotonic() - start)


def protocol_stdout():
    """The child's side: a text stream on its real stdout for the answers, after which file
    descriptor 1 and `sys.stdout` point at stderr, so that nothing else printed (by our code or
    a library, from Python or C) can be read as an answer."""
    sys.stdout.flush()
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def answer(stdout, error: Exception | None) -> None:
    """The child's side: one answer line (``ok`` or ``error <what>``)."""
    text = "ok" if error is None else "error " + \
        f"{type(error).__name__}: {error}".replace("\n", " ")[:500]
    stdout.write(text + "\n")
    stdout.flush()


def serve_requests(handle, stdin, stdout, stop=lambda: False) -> int:
    """The child's side: ``handle(request)`` for each JSON line on ``stdin``, one answer line
    each (an exception is that request's ``error`` answer); ends with ``stdin``, or after an
    answer when ``stop()`` says so (the client starts a fresh child for the next request)."""
    for line in stdin:
        if not line.strip():
            continue
        error = None
        try:
            handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - the client records it for this request
            traceback.print_exc(file=sys.stderr)
            error = exc
        answer(stdout, error)
        if stop():
            break
    return 0
