"""Gradescope's limits for the rehearsal: a cgroup per submission (cgroup v1 cpu + memory, or v2),
and the shell that runs inside it with the cgroup file system mounted as a container sees it.
"""
from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path


class Cgroup:
    """1/2 CPU and N MB (no swap) for a process tree; v1 (cpu + memory) or v2."""

    def __init__(self, cpu: float, memory_mb: int):
        name = f"hw5-rehearsal-{os.getpid()}-{time.monotonic_ns()}"
        period, quota, limit = 100_000, int(cpu * 100_000), memory_mb * 2**20
        v1_memory = Path("/sys/fs/cgroup/memory")
        if (v1_memory / "memory.limit_in_bytes").exists():
            self.version = 1
            self.cpu = self._v1_child("cpu", name)
            self.memory = self._v1_child("memory", name)
            (self.cpu / "cpu.cfs_period_us").write_text(str(period))
            (self.cpu / "cpu.cfs_quota_us").write_text(str(quota))
            (self.memory / "memory.limit_in_bytes").write_text(str(limit))
            if (self.memory / "memory.memsw.limit_in_bytes").exists():
                (self.memory / "memory.memsw.limit_in_bytes").write_text(str(limit))
            self.dirs = [self.cpu, self.memory]
        elif Path("/sys/fs/cgroup/cgroup.controllers").exists():
            self.version = 2
            parent = Path("/sys/fs/cgroup") / _own_group("").lstrip("/")
            _enable_v2_controllers(parent)
            self.memory = self.cpu = parent / name
            self.memory.mkdir()
            (self.memory / "cpu.max").write_text(f"{quota} {period}")
            (self.memory / "memory.max").write_text(str(limit))
            (self.memory / "memory.swap.max").write_text("0")
            self.dirs = [self.memory]
        else:
            sys.exit("neither cgroup v1 (cpu, memory) nor v2 is mounted under /sys/fs/cgroup")

    @staticmethod
    def _v1_child(controller: str, name: str) -> Path:
        path = Path("/sys/fs/cgroup") / controller / _own_group(controller).lstrip("/") / name
        path.mkdir()
        return path

    def pids(self) -> list[int]:
        return [int(p) for p in (self.memory / "cgroup.procs").read_text().split()]

    def peak_mb(self) -> float | None:
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        path = self.memory / name
        return round(int(path.read_text()) / 2**20) if path.exists() else None

    def oom_kills(self) -> int:
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        m = re.search(r"^oom_kill (\d+)$", (self.memory / name).read_text(), re.M)
        return int(m.group(1)) if m else 0

    def kill_all(self) -> int:
        """Kill what is left in the group; return how many processes were left."""
        left = self.pids()
        for _ in range(50):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        return len(left)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def _enable_v2_controllers(parent: Path) -> None:
    """Let ``parent``'s children use cpu and memory. v2 allows that only in a group holding no
    processes, so this process first moves into a leaf group of its own (not tested here: these
    machines mount v1)."""
    control = parent / "cgroup.subtree_control"
    if {"cpu", "memory"} <= set(control.read_text().split()):
        return
    try:
        control.write_text("+cpu +memory")
    except OSError:
        leaf = parent / f"hw5-rehearsal-main-{os.getpid()}"
        leaf.mkdir(exist_ok=True)
        (leaf / "cgroup.procs").write_text(str(os.getpid()))
        try:
            control.write_text("+cpu +memory")
        except OSError as exc:
            sys.exit(f"cgroup v2: cannot enable cpu and memory below {parent} ({exc}); other "
                     f"processes share that group: run the rehearsal from a group of its own")


def _own_group(controller: str) -> str:
    """This process's group for a v1 controller ("" = the v2 line)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(",") or (not controller and controllers == ""):
            return path
    return "/"


# Inside the submission's own cgroup and mount namespaces: mount the cgroup file system as a
# container sees it (its group is the root), then run_autograder.
INNER = """
if [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ] || [ -d /sys/fs/cgroup/cpu ]; then
  mount -t tmpfs cgroup /sys/fs/cgroup && mkdir /sys/fs/cgroup/cpu /sys/fs/cgroup/memory &&
  mount -t cgroup -o cpu cgroup /sys/fs/cgroup/cpu &&
  mount -t cgroup -o memory cgroup /sys/fs/cgroup/memory
else
  mount -t cgroup2 cgroup2 /sys/fs/cgroup
fi || echo "rehearsal: could not mount the container's cgroup view" >&2
echo "rehearsal: memory limit seen inside: $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes \
  /sys/fs/cgroup/memory.max 2>/dev/null)"
exec /autograder/run_autograder
"""
