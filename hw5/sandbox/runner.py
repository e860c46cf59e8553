"""Run a student's notebook in fresh, limited Jupyter kernels and return its export.

The grader side of the sandbox. This process never imports TensorFlow or Keras and never
executes student code: it reads the submission as data (`notebook`), prepares a temporary
directory (`workdir`), creates the export channel (`channel`), starts a kernel under limits
(`kernel`, `isolation`), runs the grader's in-kernel code (`inkernel`) and then the student's
cells through nbclient while a `watchdog` enforces memory and time from outside. The in-kernel
code writes a checkpoint of the export after every cell.

When a cell ends the kernel (it exits, is killed for memory, or ignores the interrupt past its
grace period), a fresh kernel runs the notebook again without that cell (up to
`Limits.max_kernels` kernels, while time is left) and the newest checkpoint is graded: one
fatal cell costs that cell. Everything shares one absolute `deadline` (time.monotonic) that the
coordinator gives, so the sandbox and the trusted step fit one whole-grade budget.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from hw5 import settings

from . import inkernel, messages
from .channel import END, MAGIC, ExportChannel
from .isolation import NotIsolated, check_isolation, private_ancestors, sandbox_user
from .kernel import CHANNEL_ENV_VAR, capped_context, kernel_manager, notebook_client
from .limits import MB, Limits, for_container
from .notebook import InvalidNotebook, read_submission, todo_label
from .outcome import (CELL_HUNG, DEADLINE, DIED, OUT_OF_MEMORY, CellError, FatalCell, RunFacts,
                      SandboxResult, decide)
from .watchdog import CELL_TIMEOUT, MEMORY, Watchdog, kill_uid
from .workdir import KIT_DIR, chown_tree, kernel_env, rmtree, tail, write_workdir

GRADER_DIR = KIT_DIR.parent  # hidden from the kernel where the container allows it
_SHUTDOWN_RESERVE_S = 10  # kept before the deadline for stopping the kernel and cleaning up
_CAUSES = {MEMORY: OUT_OF_MEMORY, CELL_TIMEOUT: CELL_HUNG, "deadline": DEADLINE}


def run_submission(notebook_path: str | os.PathLike, workdir: str | os.PathLike | None = None,
                   limits: Limits | None = None, *, kit_dir: str | os.PathLike | None = None,
                   deadline: float | None = None) -> SandboxResult:
    """Run the notebook at `notebook_path` and return its export (never raises for anything
    the submission does).

    `workdir`: where the temporary directory is created (removed afterwards). `limits`: default
    `for_container()` (memory sized from the real container). `deadline`: absolute
    time.monotonic() by which everything, cleanup included, has ended (default: now +
    `settings.sandbox_budget_s()`). `kit_dir`: the directory whose ``*.py`` become ``hw5kit/``.
    """
    t0 = time.monotonic()
    limits = limits or for_container()
    deadline = deadline if deadline is not None else t0 + settings.sandbox_budget_s()
    run = _Run(Path(notebook_path), limits, Path(kit_dir) if kit_dir else KIT_DIR, deadline)
    try:
        run.run(workdir)
    except Exception as exc:  # a bug or a broken grader setup: report, never raise
        run.facts.internal_error = f"{type(exc).__name__}: {messages.short(str(exc))}"
    result = run.result()
    result.elapsed_s = round(time.monotonic() - t0, 2)
    return result


def warm_up(limits: Limits | None = None) -> None:
    """Import what a run needs, cut the MNIST subset and find the kernels' font list now: a
    long-lived runner (`hw5.ta.sandbox_worker`) pays this once, not once per notebook."""
    import jupyter_client.manager  # noqa: F401
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401
    import zmq.asyncio  # noqa: F401

    from . import fontcache
    from .workdir import mnist_subset

    limits = limits or for_container()
    mnist_subset(limits.train_images, limits.test_images)
    fontcache.font_lists()


class _Run:
    """One submission: possibly several kernels, one deadline."""

    def __init__(self, path: Path, limits: Limits, kit_dir: Path, deadline: float):
        self.path, self.limits, self.kit_dir, self.deadline = path, limits, kit_dir, deadline
        self.facts = RunFacts(memory_mb=limits.memory_mb, cell_timeout_s=limits.cell_timeout_s)
        self.submission = None
        self.user = None
        self.export: dict | None = None
        self.kernels: list[_Kernel] = []
        self.skipped: set[int] = set()
        self.notes: list[str] = []

    def run(self, workdir) -> None:
        try:
            self.submission = read_submission(self.path, self.limits.notebook_max_bytes)
        except InvalidNotebook as exc:
            self.facts.invalid_notebook = str(exc)
            return
        self.notes = list(self.submission.messages)
        self.user = sandbox_user()
        try:
            check_isolation(self.user)
        except NotIsolated as exc:
            self.facts.internal_error = str(exc)
            return
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix="hw5-sandbox-", dir=workdir))
        control = Path(tempfile.mkdtemp(prefix="hw5-sandbox-ctl-"))
        try:
            self._kernels(root, control)
        finally:
            if self.user is not None:
                kill_uid(self.user.uid)  # double-forked leftovers too, before the trusted step
            rmtree(root)
            rmtree(control)

    def _kernels(self, root: Path, control: Path) -> None:
        cells = self.submission.cells
        mnist = write_workdir(root, [c.source for c in cells], self.kit_dir, self.limits)
        env = kernel_env(root, mnist, self.limits)
        if self.user is not None:
            chown_tree(root, self.user.uid, self.user.gid)
            os.chmod(control, 0o711)  # the kernel reaches its connection file, lists nothing
        for number in range(self.limits.max_kernels):
            todo = [c for c in cells if c.index not in self.skipped]
            kernel = _Kernel(self, number, todo, root, control, env)
            self.kernels.append(kernel)
            _run_coroutine(kernel.execute())
            if kernel.export is not None and _progress(kernel.export) >= _progress(self.export):
                self.export = kernel.export
            if kernel.startup_failed:
                self.facts.startup_failed = True
                break
            if kernel.fatal is None:
                break
            self.facts.fatal.append(kernel.fatal)
            self.skipped.add(kernel.fatal.cell)
            left = self.deadline - time.monotonic()
            if kernel.fatal.cause == DEADLINE or left < self.limits.restart_min_s:
                break

    # -- the outcome ------------------------------------------------------------------------
    def result(self) -> SandboxResult:
        last = self.kernels[-1] if self.kernels else None
        cell_errors = list(last.cell_errors) if last else []
        for fatal in self.facts.fatal:
            ename = {OUT_OF_MEMORY: "MemoryLimit", CELL_HUNG: "CellTimeoutError",
                     DEADLINE: "DeadlineExceeded"}.get(fatal.cause, "KernelDied")
            cell_errors.append(CellError(fatal.cell, ename, f"the kernel ended ({fatal.cause})",
                                         fatal.todo, True))
        cell_errors.sort(key=lambda e: e.cell)
        if last is not None and last.skipped_for_time:
            self.facts.skipped_for_time = list(last.skipped_for_time)
        if last is not None and last.prelude_error:
            self.facts.prelude_error = last.prelude_error
        self.facts.export_present = self.export is not None
        status, reasons = decide(self.facts)
        texts = list(self.notes)
        texts += messages.cell_error_messages(cell_errors, self.limits.cell_timeout_s,
                                              self.limits.memory_mb)
        texts += messages.render(reasons)
        skipped = sorted(self.skipped | set(self.facts.skipped_for_time))
        return SandboxResult(status, self.export, cell_errors, skipped, texts, stats={
            "kernels": len(self.kernels),
            "cells_run": last.cells_run if last else 0,
            "cells_total": len(self.submission.cells) if self.submission else 0,
            "checkpoints": sum(k.frames for k in self.kernels),
            "frames_dropped": sum(k.frames_dropped for k in self.kernels),
            "frames_forged": sum(k.frames_forged for k in self.kernels),
            "peak_kernel_rss_mb": max((k.peak_kernel_mb for k in self.kernels), default=None),
            "peak_parent_rss_mb": max((k.peak_parent_mb for k in self.kernels), default=None),
            "output_bytes_kept": sum(k.output_kept for k in self.kernels),
            "output_bytes_dropped": sum(k.output_dropped for k in self.kernels),
            "disabled_shell_lines": self.submission.disabled_lines if self.submission else 0,
            "memory_limit_mb": self.limits.memory_mb,
            "data_limit_mb": self.limits.data_limit_mb,
            "kernel_log_tail": last.log_tail if last else "",
            "kernel_user": self.user.name if self.user else None,
        })


def _progress(export: dict | None) -> int:
    if export is None:
        return -2
    after = (export.get("checkpoint") or {}).get("after_cell")
    return after if isinstance(after, int) else -1


class _Kernel:
    """One kernel: prelude, then the given cells in order, under the watchdog."""

    def __init__(self, run: _Run, number: int, cells, root: Path, control: Path, env: dict):
        self.run, self.number, self.cells = run, number, cells
        self.root, self.control, self.env = root, control, env
        self.limits = run.limits
        self.cell_errors: list[CellError] = []
        self.cell_index_map: dict[int, int] = {}  # run-notebook index -> submitted index
        self.current: int | None = None  # submitted index of the running cell
        self.fatal: FatalCell | None = None
        self.startup_failed = False
        self.prelude_error: str | None = None
        self.skipped_for_time: list[int] = []
        self.export: dict | None = None
        self.frames = self.frames_dropped = self.frames_forged = self.cells_run = 0
        self.output_per_cell: dict[int, int] = {}
        self.output_kept = self.output_dropped = 0
        self.output_truncated: set[int] = set()
        self.watchdog: Watchdog | None = None
        self.peak_kernel_mb = self.peak_parent_mb = 0.0
        self.log_tail = ""
        self.interrupted_cell = False

    # nbclient hooks ----------------------------------------------------------------------
    def cell_timeout(self, cell) -> int:
        return max(1, int(self._nbclient_timeout))

    def on_cell_error(self, cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content") or {}
        ename = messages.short(str(content.get("ename", "Error")), 100)
        if cell_index == 0:
            self.prelude_error = f"{ename}: {messages.short(str(content.get('evalue', '')))}"
            return
        index = self.cell_index_map.get(cell_index)
        if index is None:
            return
        if ename == "KeyboardInterrupt" and self.watchdog and self.watchdog.interrupted:
            ename = "CellTimeoutError"
        source = next((c.source for c in self.cells if c.index == index), "")
        self.cell_errors.append(CellError(index, ename, messages.short(
            str(content.get("evalue", ""))), todo_label(source)))

    # the run -----------------------------------------------------------------------------
    async def execute(self):
        import nbformat
        from nbclient.exceptions import DeadKernelError

        limits = self.limits
        channel = ExportChannel(self.control / f"export-{self.number}.fifo",
                                limits.export_max_bytes)
        config = {"cell_output_chars": int(limits.cell_output_bytes * 0.9), "seed": limits.seed,
                  "cells": [[c.index, c.source] for c in self.cells],
                  "entry_max_bytes": limits.entry_max_bytes,
                  "export_max_bytes": limits.export_max_bytes,
                  "builder_timeout_s": limits.builder_timeout_s,
                  "frame_magic": MAGIC.hex(), "frame_end": END.hex(),
                  "channel_env": CHANNEL_ENV_VAR}
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells.append(nbformat.v4.new_code_cell(inkernel.bootstrap_source(config,
                                                                            self.run.kit_dir)))
        for cell in self.cells:
            self.cell_index_map[len(nb.cells)] = cell.index
            nb.cells.append(nbformat.v4.new_code_cell(cell.source))

        user = self.run.user
        rlimits = {"RLIMIT_CORE": 0}
        if limits.data_limit_mb:
            rlimits["RLIMIT_DATA"] = int(limits.data_limit_mb * MB)
        if limits.file_size_mb:
            rlimits["RLIMIT_FSIZE"] = int(limits.file_size_mb * MB)
        if limits.nproc and user is not None:
            rlimits["RLIMIT_NPROC"] = int(limits.nproc)
        context = capped_context(limits.zmq_max_message_bytes)
        km = kernel_manager(str(self.control / f"kernel-{self.number}.json"), rlimits=rlimits,
                            user=user, channel=channel.path, channel_key=channel.key,
                            context=context,
                            hide=[GRADER_DIR] if user is not None else [],
                            expose=private_ancestors(extra=[self.root])
                            if user is not None else [])
        client = notebook_client(nb, km, limits, self)
        log_path = self.control / f"kernel-{self.number}.log"
        deadline = self.run.deadline - _SHUTDOWN_RESERVE_S
        self._nbclient_timeout = limits.startup_timeout_s
        phase = "start"
        with open(log_path, "wb") as log:
            try:
                await km.start_kernel(cwd=str(self.root), env=self.env, stdout=log,
                                      stderr=subprocess.STDOUT)
                pid = getattr(km.provisioner, "pid", None)
                if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
                    raise RuntimeError(f"the kernel process has no usable pid ({pid!r})")
                self.watchdog = Watchdog(pid, limits.memory_mb, deadline,
                                         limits.poll_interval_s,
                                         uid=user.uid if user is not None else None)
                self.watchdog.start()
                async with client.async_setup_kernel():
                    phase = "prelude"
                    await client.async_execute_cell(nb.cells[0], 0, execution_count=0)
                    if self.prelude_error:
                        self.startup_failed = True
                        return
                    phase = "student"
                    for index in range(1, len(nb.cells)):
                        if not await self._run_cell(client, nb, index, deadline):
                            break
                    self.current = None
            except Exception as exc:
                if not isinstance(exc, DeadKernelError) and await _alive(km):
                    raise
                self._died(phase)
            finally:
                await self._shutdown(km, client)
                context.destroy(linger=0)
                self.export = channel.close()
                self.frames, self.frames_dropped = channel.frames, channel.dropped
                self.frames_forged = channel.forged
        self.log_tail = tail(log_path, 2000)

    async def _run_cell(self, client, nb, index: int, deadline: float) -> bool:
        limits = self.limits
        now = time.monotonic()
        if deadline - now < 2:
            self.skipped_for_time = [self.cell_index_map[i]
                                     for i in range(index, len(nb.cells))]
            return False
        interrupt_at = min(now + limits.cell_timeout_s, deadline)
        kill_at = min(interrupt_at + limits.cell_kill_grace_s, deadline)
        self._nbclient_timeout = kill_at - now + 5  # the watchdog acts first
        self.current = self.cell_index_map[index]
        self.watchdog.arm_cell(None)
        self.watchdog.arm_cell(interrupt_at, kill_at)
        try:
            await client.async_execute_cell(nb.cells[index], index, execution_count=index)
        finally:
            self.watchdog.arm_cell(None)
        self.cells_run += 1
        return True

    def _died(self, phase: str) -> None:
        reason = self.watchdog.reason if self.watchdog else None
        if phase != "student" or self.current is None:
            self.startup_failed = True
            return
        source = next((c.source for c in self.cells if c.index == self.current), "")
        cause = _CAUSES.get(reason, DIED)
        self.fatal = FatalCell(self.current, todo_label(source), cause)
        if cause == DEADLINE:
            later = [c.index for c in self.cells if c.index > self.current]
            self.skipped_for_time = later

    async def _shutdown(self, km, client):
        if self.watchdog is not None:
            self.watchdog.snapshot()  # descendants leave the tree once the kernel is gone
        try:
            await asyncio.wait_for(km.shutdown_kernel(now=True), 15)
        except Exception:
            pass
        if self.watchdog is not None:
            self.watchdog.stop()
            self.watchdog.kill()  # anything the kernel left behind
            self.peak_kernel_mb = round(self.watchdog.peak_kernel_rss / MB, 1)
            self.peak_parent_mb = round(self.watchdog.peak_parent_rss / MB, 1)
        try:
            if client.kc is not None:
                client.kc.stop_channels()
        except Exception:
            pass
        try:
            await asyncio.wait_for(km.cleanup_resources(), 5)
        except Exception:
            pass


async def _alive(km) -> bool:
    try:
        return bool(await km.is_alive())
    except Exception:
        return False


def _run_coroutine(coro):
    """asyncio.run, also when called from a thread or code that already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict = {}

    def target():
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="hw5-sandbox-loop")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")
