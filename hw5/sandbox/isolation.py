"""Who the student's kernel runs as.

As root (Gradescope, a container, `sudo hw5 grade`) the kernel always runs as an unprivileged
uid: the user named by ``$HW5_SANDBOX_USER`` when it exists and is not root, otherwise a
throwaway numeric uid (`settings.SANDBOX_THROWAWAY_UIDS`, no passwd entry needed, one per
run). Either uid is dedicated to the sandbox, so after the run every process of it is killed (this also reaches
processes that double-forked out of the kernel's tree) and RLIMIT_NPROC bounds how many it
may start. The kernel's directory is chowned to that uid; the grader's files, the venv and the
output folder stay unreadable or read-only to it by their ordinary permissions.

As non-root, the kernel can only run as the grader's own user, who can read the answer key and
write into the venv: `check_isolation` refuses unless ``$HW5_ALLOW_UNISOLATED=1`` says the
notebook is trusted (for example the course's own solution), and names the safe command.
"""
from __future__ import annotations

import itertools
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from hw5 import settings

try:
    import pwd
except ImportError:  # not POSIX
    pwd = None


@dataclass(frozen=True)
class SandboxUser:
    uid: int
    gid: int
    name: str  # the passwd name, or "uid <n>" for the throwaway uid


class NotIsolated(RuntimeError):
    """Grading untrusted work without isolation was refused; the message says what to do."""


REFUSAL = (
    "Refusing to run an untrusted notebook as the current user (it could read the answer key "
    "and write into the venv and the output folder). Run the grader as root in a container, "
    "for example `docker run --rm -v \"$PWD\":/work -w /work <image> hw5 grade ...` (the kernel "
    f"then runs as an unprivileged uid), or set {settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR}=1 "
    "if the notebook is trusted.")


def sandbox_user() -> SandboxUser | None:
    """The unprivileged uid the kernel runs as, or None when we are not root."""
    if pwd is None or os.geteuid() != 0:
        return None
    name = os.environ.get(settings.SANDBOX_USER_ENV_VAR, "").strip()
    if name:
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            entry = None
        if entry is not None and entry.pw_uid != 0:
            return SandboxUser(entry.pw_uid, entry.pw_gid, entry.pw_name)
    uid = throwaway_uid()
    return SandboxUser(uid, uid, f"uid {uid}")


_UID_CALLS = itertools.count()  # how many throwaway uids this process has asked for
_UID_STRIDE = 97


def throwaway_uid() -> int:
    """A uid of `settings.SANDBOX_THROWAWAY_UIDS` that no process uses now (starting from one
    derived from our pid, so concurrent runs start apart, and moving on with every call, so a
    long-lived runner gives consecutive notebooks different uids: files one kernel left outside
    its directory are not the next one's)."""
    from .watchdog import processes_of_uid

    uids = settings.SANDBOX_THROWAWAY_UIDS
    start = (os.getpid() + _UID_STRIDE * next(_UID_CALLS)) % len(uids)
    for step in range(len(uids)):
        uid = uids[(start + step) % len(uids)]
        if not processes_of_uid(uid):
            return uid
    raise RuntimeError("every throwaway sandbox uid is in use")


def check_isolation(user: SandboxUser | None) -> None:
    """Raise NotIsolated when the kernel would run unisolated and that was not allowed."""
    if user is not None or pwd is None:
        return
    if os.environ.get(settings.SANDBOX_ALLOW_UNISOLATED_ENV_VAR, "").strip() == "1":
        return
    raise NotIsolated(REFUSAL)


def private_ancestors(paths=None, extra=()) -> list[tuple[str, list[str]]]:
    """[(directory, [entry, ...])]: directories on the way to the interpreter and its libraries
    (and `extra`, e.g. the kernel's working directory) that other users cannot traverse (e.g.
    /root, 0700), with the entries the kernel needs in each; the launcher exposes just those
    entries inside its own mount namespace."""
    if paths is None:
        paths = {os.path.realpath(sys.executable), os.path.realpath(sys.base_prefix),
                 os.path.realpath(sys.prefix), sys.prefix}
    paths = set(paths) | {os.path.realpath(p) for p in extra}
    needed: dict[str, set[str]] = {}
    for path in sorted(paths):
        parts = Path(path).parts
        for depth in range(1, len(parts)):
            directory = str(Path(*parts[:depth]))
            try:
                mode = os.stat(directory).st_mode
            except OSError:
                break
            if not mode & stat.S_IXOTH:
                needed.setdefault(directory, set()).add(parts[depth])
    return [(d, sorted(entries)) for d, entries in sorted(needed.items())]
