"""Starting the student's kernel under limits, and the Jupyter clients that talk to it.

The kernel command is always ``python -c LAUNCHER CONFIG python -m ipykernel_launcher -f FILE``
with this interpreter, LAUNCHER being the text of `launcher.py` (rlimits, the export channel's
descriptor, mount namespace, dropping to the sandbox uid; see there).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launcher.py").read_text(encoding="utf-8")
CHANNEL_ENV_VAR = "HW5_EXPORT_FD"


def launcher_config(rlimits: dict | None, user=None, chown=(), channel=None, hide=(),
                    expose=(), channel_key: bytes = b"") -> str:
    """The JSON argument of `LAUNCHER`; `user` is a `SandboxUser` or None."""
    return json.dumps({
        "rlimits": rlimits or {}, "channel": None if channel is None else str(channel),
        "channel_key": channel_key.hex(),
        "channel_env": CHANNEL_ENV_VAR, "hide": [str(p) for p in hide],
        "expose": [[str(d), list(entries)] for d, entries in expose],
        "staging": os.path.dirname(os.path.realpath(str(chown[0]))) if chown else None,
        "user": None if user is None else {"uid": user.uid, "gid": user.gid,
                                           "chown": [str(p) for p in chown]}})


def capped_context(max_message_bytes: int):
    """A ZeroMQ context whose sockets drop any message above `max_message_bytes` before it is
    read into memory (pyzmq's public per-context default socket options)."""
    import zmq
    import zmq.asyncio

    context = zmq.asyncio.Context()
    context.setsockopt(zmq.MAXMSGSIZE, int(max_message_bytes))
    context.setsockopt(zmq.RCVHWM, 128)
    return context


def kernel_manager(connection_file: str, *, rlimits: dict, user, channel, context, hide=(),
                   expose=(), channel_key: bytes = b""):
    """An AsyncKernelManager that launches through `LAUNCHER` and whose clients use `context`."""
    from jupyter_client.manager import AsyncKernelManager

    class SandboxKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            connection = os.path.realpath(self.connection_file)
            cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", connection]
            return [sys.executable, "-c", LAUNCHER,
                    launcher_config(rlimits, user, [connection], channel, hide, expose,
                                    channel_key),
                    *cmd]

        def client(self, **kwargs):
            kwargs.setdefault("context", context)  # jupyter_client's public `context` trait
            return super().client(**kwargs)

    return SandboxKernelManager(kernel_name="python3", connection_file=connection_file,
                                context=context)


def notebook_client(nb, km, limits, run):
    """An nbclient NotebookClient keeping at most `cell_output_bytes` per cell and
    `total_output_bytes` in all; `run` gets the cell-error and timeout callbacks."""
    import nbformat
    from nbclient import NotebookClient

    class CappedNotebookClient(NotebookClient):
        def process_message(self, msg, cell, cell_index):
            msg_type = msg.get("msg_type", "")
            if msg_type.startswith("comm") or msg_type == "update_display_data":
                return None  # widgets and display updates are not needed for grading
            if msg_type in ("stream", "display_data", "execute_result", "error"):
                content = msg.get("content") or {}
                content.pop("transient", None)  # no display-id bookkeeping
                size = approx_size(content)
                used = run.output_per_cell.get(cell_index, 0)
                if (used + size > limits.cell_output_bytes
                        or run.output_kept + size > limits.total_output_bytes):
                    run.output_dropped += size
                    if cell_index not in run.output_truncated:
                        run.output_truncated.add(cell_index)
                        cell.outputs.append(nbformat.v4.new_output(
                            "stream", name="stderr",
                            text="[further output of this cell was dropped by the grader]\n"))
                    return None
                run.output_per_cell[cell_index] = used + size
                run.output_kept += size
            return super().process_message(msg, cell, cell_index)

    return CappedNotebookClient(
        nb, km=km, timeout=int(limits.cell_timeout_s), timeout_func=run.cell_timeout,
        allow_errors=True, interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeoutError", "evalue": "stopped by the grader",
                          "traceback": []},
        startup_timeout=int(limits.startup_timeout_s), iopub_timeout=2,
        raise_on_iopub_timeout=False, record_timing=False, store_widget_state=False,
        shutdown_kernel="immediate", on_cell_error=run.on_cell_error)


def approx_size(obj, limit: int = 1 << 40) -> int:
    """Characters of text in a message content (strings summed through dicts and lists)."""
    total, stack = 0, [obj]
    while stack and total < limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        else:
            total += 8
    return total
