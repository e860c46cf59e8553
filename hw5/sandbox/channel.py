"""The export channel: a FIFO the runner owns, read by a runner thread.

The runner creates the FIFO in its own private directory before the kernel starts (creation
fails if anything already exists at that path) and holds the read end. The kernel's launcher
opens the write end before any student code runs and hands the descriptor to the grader's
in-kernel code; after privileges are dropped the kernel cannot open the FIFO by path. Each
checkpoint is one frame: MAGIC, 4-byte big-endian length, UTF-8 JSON object, HMAC-SHA256 of
the object under a per-kernel key, END. The reader keeps the newest frame that is intact and
authentic; a torn, oversized, malformed or forged frame is skipped (and counted) and reading
resyncs on the next MAGIC.

The key reaches the grader's in-kernel code through a pipe the launcher fills and hands over
before any student code runs; it is never in the kernel's environment, argv or input history.
What this does not prevent: the key and the descriptor live in the student's process, so code
that digs the grader's objects out of memory (gc) could still sign frames of its own. See
"What the export can prove" in docs/design.md.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import select
import struct
import threading
from pathlib import Path

MAGIC = b"\x00HW5EXPORT\x01"
END = b"\x00HW5END\x01"
_HEADER = struct.Struct(">I")


_MAC = 32


def sign(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, payload, hashlib.sha256).digest()


def encode_frame(payload: bytes, key: bytes) -> bytes:
    return MAGIC + _HEADER.pack(len(payload)) + payload + sign(key, payload) + END


class FrameDecoder:
    """Incremental decoder: feed bytes, get the JSON objects of complete, authentic frames."""

    def __init__(self, max_bytes: int, key: bytes):
        self.max_bytes = max_bytes
        self.key = key
        self.buffer = bytearray()
        self.dropped = 0  # frames skipped: torn, oversized, not a JSON object
        self.forged = 0  # well-formed frames whose signature is wrong

    def feed(self, data: bytes) -> list[dict]:
        self.buffer += data
        out = []
        while True:
            start = self.buffer.find(MAGIC)
            if start < 0:
                del self.buffer[: max(0, len(self.buffer) - len(MAGIC))]
                return out
            del self.buffer[:start]
            head = len(MAGIC) + _HEADER.size
            if len(self.buffer) < head:
                return out
            (length,) = _HEADER.unpack_from(self.buffer, len(MAGIC))
            if length > self.max_bytes:
                self.dropped += 1
                del self.buffer[:1]  # resync on the next MAGIC
                continue
            end = head + length
            if len(self.buffer) < end + _MAC + len(END):
                return out
            if self.buffer[end + _MAC:end + _MAC + len(END)] != END:
                self.dropped += 1
                del self.buffer[:1]
                continue
            payload = bytes(self.buffer[head:end])
            mac = bytes(self.buffer[end:end + _MAC])
            del self.buffer[:end + _MAC + len(END)]
            if not hmac.compare_digest(mac, sign(self.key, payload)):
                self.forged += 1
                continue
            try:
                value = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                value = None
            if isinstance(value, dict):
                out.append(value)
            else:
                self.dropped += 1


class ExportChannel:
    """One FIFO per kernel; `latest` is the newest checkpoint read from it (or None)."""

    def __init__(self, path: Path, max_bytes: int):
        self.path = Path(path)
        self.key = secrets.token_bytes(32)
        os.mkfifo(self.path, 0o600)  # FileExistsError if anything is there already
        self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._decoder = FrameDecoder(max_bytes, self.key)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.latest: dict | None = None
        self.frames = 0
        self._thread = threading.Thread(target=self._read_loop, name="hw5-export-channel",
                                        daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._decoder.dropped

    @property
    def forged(self) -> int:
        return self._decoder.forged

    def _read_loop(self):
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._fd], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                data = os.read(self._fd, 1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                return
            if not data:  # no writer (yet, or any more)
                self._stop.wait(0.05)
                continue
            self._take(self._decoder.feed(data))

    def _take(self, frames: list[dict]):
        if frames:
            with self._lock:
                self.latest = frames[-1]
                self.frames += len(frames)

    def close(self) -> dict | None:
        """Stop reading (after draining what is buffered) and return the newest checkpoint."""
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            while True:
                data = os.read(self._fd, 1 << 20)
                if not data:
                    break
                self._take(self._decoder.feed(data))
        except OSError:
            pass
        try:
            os.close(self._fd)
        except OSError:
            pass
        try:
            os.unlink(self.path)
        except OSError:
            pass
        return self.latest
