"""One long-lived sandbox runner per grading worker, for `grade-all`.

`hw5 grade` runs each notebook through a fresh `python -m hw5.sandbox` process, which imports
the Jupyter client, nbclient, ZeroMQ and numpy and cuts the kernel's MNIST subset before it
starts the kernel (~1 CPU-s). That process is the grader's own code and never executes student
code: the student's notebook runs in the Jupyter kernel it starts, a fresh, limited process
under its own uid for every submission. So `grade-all` keeps one runner per worker
(`python -m hw5.ta.sandbox_worker`) and hands it one notebook after another; for each it calls
exactly `python -m hw5.sandbox`'s `main` with the same arguments, which starts a fresh kernel.
A runner that overruns the deadline is killed with its process tree (kernel included), as the
coordinator kills a `python -m hw5.sandbox` process; one that died is started again for the
next notebook.

Protocol (`hw5.ta.child_process`): one JSON line, the argument list of `python -m hw5.sandbox`,
per notebook; one line back, ``ok`` or ``error <what>``. End of stdin ends the process.
"""
from __future__ import annotations

import sys
import time

from .child_process import ChildProcess, protocol_stdout, serve_requests

MODULE = "hw5.ta.sandbox_worker"
RECYCLE_AFTER = 100  # a fresh runner after this many notebooks


def serve(stdin=None, stdout=None) -> int:
    from hw5.sandbox.__main__ import main
    from hw5.sandbox.runner import warm_up

    stdin, stdout = stdin or sys.stdin, stdout or protocol_stdout()
    warm_up()
    return serve_requests(lambda args: main([str(a) for a in args]), stdin, stdout)


class SandboxWorker(ChildProcess):
    """A `python -m hw5.ta.sandbox_worker` child (see `hw5.ta.child_process`)."""

    def __init__(self, recycle_after: int = RECYCLE_AFTER):
        super().__init__(MODULE, recycle_after)

    def run(self, args: list, timeout: float):
        """Like `pipeline.run_step("hw5.sandbox", args, timeout)`: a Step."""
        return self.ask([str(a) for a in args], time.monotonic() + max(1.0, timeout))


if __name__ == "__main__":
    sys.exit(serve())
