"""Resource limits of one sandbox run, sized from `hw5.settings` and the real container."""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from hw5 import settings

MB = 2**20
_NO_LIMIT = 2**60  # cgroup v1 reports "no limit" as a huge page-rounded number


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run (defaults from `hw5.settings`; see `for_container`)."""

    cell_timeout_s: float = settings.SANDBOX_CELL_TIMEOUT_S
    cell_kill_grace_s: float = settings.SANDBOX_CELL_KILL_GRACE_S
    builder_timeout_s: float = settings.SANDBOX_BUILDER_TIMEOUT_S
    startup_timeout_s: float = settings.SANDBOX_STARTUP_TIMEOUT_S
    max_kernels: int = settings.SANDBOX_MAX_KERNELS
    restart_min_s: float = settings.SANDBOX_RESTART_MIN_S
    memory_mb: int = settings.SANDBOX_MEMORY_MB
    data_limit_mb: int | None = settings.SANDBOX_DATA_LIMIT_MB
    file_size_mb: int | None = settings.SANDBOX_FILE_SIZE_MB
    nproc: int | None = settings.SANDBOX_NPROC
    threads: int = settings.SANDBOX_THREADS
    cell_output_bytes: int = settings.SANDBOX_CELL_OUTPUT_BYTES
    total_output_bytes: int = settings.SANDBOX_TOTAL_OUTPUT_BYTES
    zmq_max_message_bytes: int = settings.SANDBOX_ZMQ_MAX_MESSAGE_BYTES
    notebook_max_bytes: int = settings.SANDBOX_NOTEBOOK_MAX_BYTES
    export_max_bytes: int = settings.SANDBOX_EXPORT_MAX_BYTES
    entry_max_bytes: int = settings.SANDBOX_ENTRY_MAX_BYTES
    train_images: int = settings.SANDBOX_TRAIN_IMAGES
    test_images: int = settings.SANDBOX_TEST_IMAGES
    seed: int = settings.SANDBOX_SEED
    poll_interval_s: float = 0.1


def cgroup_memory_limit_bytes(root: str | os.PathLike = "/") -> int | None:
    """The memory limit of this process's cgroup (v2 ``memory.max``, v1
    ``memory.limit_in_bytes``), or None when there is none or it cannot be read."""
    root = Path(root)
    candidates = []
    try:
        lines = (root / "proc/self/cgroup").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        rel = path.lstrip("/")
        if controllers == "":  # v2 unified hierarchy
            candidates += [root / "sys/fs/cgroup" / rel / "memory.max",
                           root / "sys/fs/cgroup/memory.max"]
        elif "memory" in controllers.split(","):
            candidates += [root / "sys/fs/cgroup/memory" / rel / "memory.limit_in_bytes",
                           root / "sys/fs/cgroup/memory/memory.limit_in_bytes"]
    candidates += [root / "sys/fs/cgroup/memory.max",
                   root / "sys/fs/cgroup/memory/memory.limit_in_bytes"]
    for path in candidates:
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value <= 0 or value >= _NO_LIMIT else value
    return None


def for_container(limits: Limits | None = None, memory_limit_bytes: int | None = -1) -> Limits:
    """`limits` with the kernel's memory (watchdog and RLIMIT_DATA) sized from the container.

    The sandbox runs before the trusted step, so the kernel may use what the container leaves
    after the coordinator and the sandbox runner (`settings.SANDBOX_RESERVED_MB`); never more
    than the defaults, never less than `settings.SANDBOX_MIN_MEMORY_MB`. `memory_limit_bytes`
    -1 means: read it from the cgroup.
    """
    limits = limits or Limits()
    if memory_limit_bytes == -1:
        simulated = os.environ.get(settings.CONTAINER_MEMORY_ENV_VAR, "").strip()
        memory_limit_bytes = (int(simulated) * MB if simulated.isdigit()
                              else cgroup_memory_limit_bytes())
    if memory_limit_bytes is None:
        return limits
    available = memory_limit_bytes // MB - settings.SANDBOX_RESERVED_MB
    kernel_mb = max(settings.SANDBOX_MIN_MEMORY_MB, min(limits.memory_mb, available))
    data_mb = limits.data_limit_mb
    if data_mb is not None:
        data_mb = max(settings.SANDBOX_MIN_MEMORY_MB, min(data_mb, available))
    return replace(limits, memory_mb=int(kernel_mb), data_limit_mb=data_mb)
