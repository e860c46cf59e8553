"""One long-lived trusted process per grading worker, for `grade-all`.

`hw5 grade` checks each export in a fresh `python -m hw5.grading.trusted` process, which pays
TensorFlow's import and MNIST's loading (several CPU-seconds) for every submission. The trusted
side is our own code reading plain data, so `grade-all` keeps one such process per worker
(`python -m hw5.ta.trusted_worker`) and hands it one export after another; it runs exactly
`hw5.grading.trusted.check_export_file` on each, under the same data limit. Identical model exports
are trained once per process (`hw5.grading.trusted.train_cached`), each distinct exported model
is analysed once (`hw5.kit.analyse.remember_analyses`) and MNIST's grade-time subset is loaded
once. Each student's notebook still runs in its own fresh sandboxed kernel
(`hw5.ta.sandbox_worker`).

`python -m hw5.ta.trusted_worker [TRAININGS_DIR]`: with a directory, successful grade-time
trainings are also kept there as files and reused by every worker given the same directory
(`hw5.grading.trusted.share_trainings`; grade-all gives its workers one private temporary
directory per run).

Protocol (`hw5.ta.child_process`): one JSON line ``["EXPORT.json", "ITEMS.json"]`` on stdin per
export; one line back, ``ok`` or ``error <what>``. End of stdin ends the process.

The client (`TrustedWorker.check`) has the signature of `hw5.grading.pipeline.run_trusted_checks`.
A worker that does not answer in time is killed with its process tree; one that died is started
again, and an export whose worker had already served others is tried once more on a fresh one
(the death may be the long-lived process's, not the export's). The process ends itself after an
export when its memory has grown (RECYCLE_DATA_SHARE) and is replaced after RECYCLE_AFTER exports.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hw5.grading import pipeline

from .child_process import ChildProcess, protocol_stdout, serve_requests

MODULE = "hw5.ta.trusted_worker"
# A fresh process after this many exports: bounds whatever a long-lived TensorFlow keeps.
RECYCLE_AFTER = 40
# ... or as soon as its data segment passes this share of its limit, so that memory a long-lived
# TensorFlow keeps can never make a later student's model run out of memory.
RECYCLE_DATA_SHARE = 0.8
ANALYSES_KEPT = 256  # distinct model exports whose analysis a worker keeps


# ---------------------------------------------------------------------------------------------
# Server (the trusted process)
# ---------------------------------------------------------------------------------------------
def serve(stdin=None, stdout=None, trainings_dir=None) -> int:
    from hw5.grading import trusted

    stdin, stdout = stdin or sys.stdin, stdout or protocol_stdout()
    trusted.limit_resources()
    if trainings_dir:
        trusted.share_trainings(trainings_dir)
    _warm_up()
    return serve_requests(lambda paths: trusted.check_export_file(*paths), stdin, stdout,
                          stop=lambda: _data_mb() > RECYCLE_DATA_SHARE * trusted.DATA_LIMIT_MB)


def _data_mb() -> float:
    """This process's data segment (what RLIMIT_DATA limits), in MB; 0 where unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _warm_up() -> None:
    """Import TensorFlow and load the grade-time data while the first notebook still runs."""
    from hw5.grading.training import configure_runtime, prepare_data

    configure_runtime()
    import keras  # noqa: F401

    from hw5.grading import answers

    answers.answer_checks()
    prepare_data()
    from hw5.kit import analyse

    analyse.remember_analyses(ANALYSES_KEPT)


# ---------------------------------------------------------------------------------------------
# Client (the grading worker)
# ---------------------------------------------------------------------------------------------
class TrustedWorker(ChildProcess):
    """A `python -m hw5.ta.trusted_worker` child (see `hw5.ta.child_process`)."""

    def __init__(self, recycle_after: int = RECYCLE_AFTER, trainings_dir=None):
        super().__init__(MODULE, recycle_after, args=[str(trainings_dir)] if trainings_dir else [])

    def check(self, export: dict, tmp: Path, timeout: float) -> tuple:
        """Like `pipeline.run_trusted_checks`: (item id -> ItemResult, Step)."""
        export_path, out_path = Path(tmp) / "export.json", Path(tmp) / "items.json"
        export_path.write_text(json.dumps(export), encoding="utf-8")
        deadline = time.monotonic() + timeout
        for attempt in range(2):
            self.ensure_started()
            seasoned = self.served > 0
            step = self.ask([str(export_path), str(out_path)], deadline)
            if step.ok or step.timed_out or not seasoned:
                break
        return pipeline.read_items(out_path, step)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.exit(serve(trainings_dir=sys.argv[1] if len(sys.argv) > 1 else None))
