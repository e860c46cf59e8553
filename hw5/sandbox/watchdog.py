"""Watching the kernel from outside: memory, the deadlines, and killing what it left behind."""
from __future__ import annotations

import os
import signal
import threading
import time

import psutil

MB = 2**20
MEMORY = "memory"
DEADLINE = "deadline"
CELL_TIMEOUT = "cell-timeout"


def private_rss(proc: psutil.Process) -> int:
    """Anonymous + shared-memory resident bytes (what the OOM killer counts), not the shared
    library pages that RSS also counts (~300 MB of TensorFlow, shared and reclaimable)."""
    try:
        with open(f"/proc/{proc.pid}/status", "rb") as f:
            fields = dict(line.split(b":", 1) for line in f.read().splitlines() if b":" in line)
        return sum(int(fields[k].split()[0]) * 1024 for k in (b"RssAnon", b"RssShmem")
                   if k in fields)
    except (OSError, ValueError, KeyError):
        pass
    try:
        return proc.memory_info().rss
    except psutil.Error:
        return 0


class Watchdog(threading.Thread):
    """Kills the kernel's process tree when it uses more than `memory_mb` of private memory,
    when `deadline` (time.monotonic) passes, or when a cell armed with `arm_cell` is still
    running at its kill time (it was sent SIGINT at its interrupt time first); `reason` says
    which. `uid`: a dedicated sandbox uid whose every process `kill()` also ends."""

    def __init__(self, pid: int, memory_mb: int, deadline: float, poll_interval_s: float = 0.1,
                 uid: int | None = None):
        super().__init__(name="hw5-sandbox-watchdog", daemon=True)
        if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
            raise ValueError(f"refusing to watch pid {pid!r}")
        self.memory_limit = memory_mb * MB
        self.deadline = deadline
        self.poll_interval_s = poll_interval_s
        self.uid = uid
        self.reason: str | None = None
        self.peak_kernel_rss = 0
        self.peak_parent_rss = 0
        self.cell_interrupt_at: float | None = None
        self.cell_kill_at: float | None = None
        self.interrupted = False  # the armed cell was sent SIGINT
        self._pid = pid
        self._stop_event = threading.Event()
        self._seen: dict[int, psutil.Process] = {}
        self._parent = psutil.Process()
        try:
            self._root = psutil.Process(pid)
            self._seen[pid] = self._root
        except psutil.Error:
            self._root = None
        try:
            self._pgid = os.getpgid(pid)
        except OSError:
            self._pgid = None

    def arm_cell(self, interrupt_at: float | None, kill_at: float | None = None) -> None:
        """SIGINT the kernel at `interrupt_at` and kill it at `kill_at` unless disarmed first
        (`arm_cell(None)` when the cell has finished)."""
        self.interrupted = False
        self.cell_kill_at = kill_at
        self.cell_interrupt_at = interrupt_at

    def run(self):
        while not self._stop_event.wait(self.poll_interval_s):
            try:
                self.peak_parent_rss = max(self.peak_parent_rss, self._parent.memory_info().rss)
            except psutil.Error:
                pass
            rss = sum(private_rss(proc) for proc in self._tree())
            self.peak_kernel_rss = max(self.peak_kernel_rss, rss)
            now = time.monotonic()
            if rss > self.memory_limit:
                self.reason = MEMORY
            elif now > self.deadline:
                self.reason = DEADLINE
            elif self.cell_kill_at is not None and now > self.cell_kill_at:
                self.reason = CELL_TIMEOUT
            elif (self.cell_interrupt_at is not None and now > self.cell_interrupt_at
                  and not self.interrupted):
                self.interrupted = True
                try:
                    os.kill(self._pid, signal.SIGINT)
                except OSError:
                    pass
            if self.reason:
                self.kill()
                return

    def snapshot(self) -> None:
        """Remember every current descendant of the kernel, so that kill() reaches it later."""
        self._tree()

    def _tree(self) -> list[psutil.Process]:
        if self._root is None:
            return []
        try:
            procs = [self._root] + self._root.children(recursive=True)
        except psutil.Error:
            procs = []
        for proc in procs:
            self._seen.setdefault(proc.pid, proc)
        return [p for p in procs if p.is_running()]

    def kill(self):
        """SIGKILL the kernel's process group, every process ever seen in its tree, and every
        process of the dedicated sandbox uid."""
        if self._pgid is not None and self._pgid != os.getpgid(0):
            try:
                os.killpg(self._pgid, signal.SIGKILL)
            except OSError:
                pass
        for proc in list(self._seen.values()):
            try:
                if proc.is_running():  # also guards against pid reuse (create time)
                    proc.kill()
            except psutil.Error:
                pass
        if self.uid is not None:
            kill_uid(self.uid)

    def stop(self):
        self._stop_event.set()


def processes_of_uid(uid: int) -> list[psutil.Process]:
    """Live (not zombie) processes whose real, effective or saved uid is `uid`."""
    found = []
    for proc in psutil.process_iter(["uids", "status"]):
        uids = proc.info.get("uids")
        if (uids is not None and uid in (uids.real, uids.effective, uids.saved)
                and proc.info.get("status") != psutil.STATUS_ZOMBIE):
            found.append(proc)
    return found


def kill_uid(uid: int, timeout_s: float = 5.0) -> int:
    """SIGKILL every process of `uid` until none is left (a process forking while we kill it
    is caught on the next pass); return how many were killed. Refuses root and our own uid."""
    if uid in (0, os.getuid(), os.geteuid()):
        raise ValueError(f"refusing to kill every process of uid {uid}")
    killed, end = 0, time.monotonic() + timeout_s
    while time.monotonic() < end:
        procs = processes_of_uid(uid)
        if not procs:
            break
        for proc in procs:
            try:
                proc.kill()
                killed += 1
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=0.2)
    return killed
