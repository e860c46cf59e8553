"""The kernel's launcher (hw5/sandbox/launcher.py) on its own, with /bin/sh standing in for
ipykernel: rlimits, the export channel's descriptor and key, dropping to the sandbox uid, and
the mount namespace that hides the grader's package. Fast (no Python kernel)."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from hw5.sandbox.channel import ExportChannel, encode_frame
from hw5.sandbox.isolation import SandboxUser, throwaway_uid
from hw5.sandbox.kernel import CHANNEL_ENV_VAR, LAUNCHER, launcher_config

IS_ROOT = os.geteuid() == 0


def run_launcher(config: str, script: str, cwd="/") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LAUNCHER, config, "/bin/sh", "-c", script],
                          capture_output=True, text=True, timeout=60, cwd=cwd)


def test_launcher_without_user_keeps_the_current_user_and_sets_rlimits():
    config = launcher_config({"RLIMIT_CORE": 0, "RLIMIT_FSIZE": 2**20})
    proc = run_launcher(config, "id -u; ulimit -H -c; ulimit -H -f")
    assert proc.stdout.split() == [str(os.geteuid()), "0", "2048"], proc.stderr


def test_launcher_passes_the_channel_and_its_key(tmp_path):
    channel = ExportChannel(tmp_path / "export-0.fifo", 10_000)
    config = launcher_config({}, channel=channel.path, channel_key=channel.key)
    # the shell writes a frame signed with the key it read from the key pipe
    signed = encode_frame(b'{"seq": 1}', channel.key)
    forged = encode_frame(b'{"seq": 2}', b"x" * 32)
    script = (f'cat <&"${CHANNEL_ENV_VAR}_KEY" >/dev/null; '
              f'printf "$1" >&"${CHANNEL_ENV_VAR}"; printf "$2" >&"${CHANNEL_ENV_VAR}"')
    octal = ["".join(f"\\{b:03o}" for b in frame) for frame in (signed, forged)]
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, config, "/bin/sh", "-c", script,
                           "sh", *octal], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert channel.close() == {"seq": 1}
    assert channel.forged == 1


@pytest.mark.skipif(not IS_ROOT, reason="dropping privileges needs root")
def test_launcher_drops_to_the_sandbox_uid_hides_the_grader_and_limits_processes():
    uid = throwaway_uid()
    user = SandboxUser(uid, uid, f"uid {uid}")
    public = Path(tempfile.mkdtemp(prefix="hw5-launcher-"))
    try:
        public.chmod(0o755)
        grader = public / "hw5"
        grader.mkdir()
        (grader / "answer_key.py").write_text("SECRET")  # world-readable on purpose
        connection = public / "kernel.json"
        connection.write_text("{}")
        connection.chmod(0o600)
        script = ("id -u; id -G; awk '/Max processes/ {print $4}' /proc/self/limits; "
                  f"cat {grader}/answer_key.py 2>/dev/null || "
                  f"echo hidden; touch {public}/planted 2>/dev/null || echo no-write; "
                  f"cat {connection}")
        config = launcher_config({"RLIMIT_CORE": 0, "RLIMIT_NPROC": 64}, user, [connection],
                                 hide=[grader])
        proc = run_launcher(config, script)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.split("\n")
        assert lines[:6] == [str(uid), str(uid), "64", "hidden", "no-write", "{}"], proc.stdout
        assert (grader / "answer_key.py").read_text() == "SECRET"  # hidden only in there
        assert connection.stat().st_uid == uid
    finally:
        import shutil

        shutil.rmtree(public)


@pytest.mark.skipif(not IS_ROOT, reason="dropping privileges needs root")
def test_launcher_exposes_only_what_the_kernel_needs_under_a_private_directory():
    uid = throwaway_uid()
    user = SandboxUser(uid, uid, f"uid {uid}")
    private = Path(tempfile.mkdtemp(prefix="hw5-private-"))  # 0700, like /root
    try:
        (private / "needed").mkdir(mode=0o755)
        (private / "needed" / "tool.txt").write_text("ok\n")
        (private / "secret.txt").write_text("SECRET")
        (private / "secret.txt").chmod(0o644)
        control = Path(tempfile.mkdtemp(prefix="hw5-ctl-"))
        connection = control / "kernel.json"
        connection.write_text("{}")
        config = launcher_config({}, user, [connection], expose=[(private, ["needed"])])
        proc = run_launcher(config, f"cat {private}/needed/tool.txt; "
                                    f"cat {private}/secret.txt 2>/dev/null || echo unseen")
        assert proc.stdout.split() == ["ok", "unseen"], (proc.stdout, proc.stderr)
    finally:
        import shutil

        shutil.rmtree(private)
        shutil.rmtree(control)
