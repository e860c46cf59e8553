"""Run a student's notebook in a fresh, limited Jupyter kernel and return its export.

The grader side of the sandbox. This process never imports TensorFlow or Keras and never
executes student code: it reads the submission as data (`notebook.py`), prepares a temporary
directory holding only the notebook, a copy of ``hw5kit`` and a small MNIST subset, starts an
ipykernel there under limits, runs the grading prelude, the student's code cells and the export
cell through nbclient, reads the export file back as untrusted JSON, and cleans up.

Limits (defaults in ``hw5.kit.spec``, overridable through `Limits`):
- time: per cell (interrupt, then go on with the next cell), for all the student's cells (the
  rest are skipped; the export still runs), for the export cell, and a hard deadline for
  everything enforced by a watchdog thread that kills the kernel's process tree;
- memory: the watchdog polls the RSS of the kernel's whole process tree and kills it above
  `memory_mb`; RLIMIT_DATA (which, unlike RLIMIT_AS, TensorFlow tolerates) turns one huge
  allocation into a MemoryError inside the cell; RLIMIT_FSIZE caps the size of any file written;
- output: at most `cell_output_bytes` per cell and `total_output_bytes` in all are kept; ZeroMQ
  drops any single kernel message above `zmq_max_message_bytes` before it is read into memory.

User: when this process runs as root and ``$HW5_SANDBOX_USER`` (``spec.SANDBOX_USER_ENV_VAR``)
names an existing non-root user, the kernel runs as that user: the temporary directory is chowned
to it, and the launcher (root until then) sets the rlimits, chowns the kernel's connection file,
drops the supplementary groups, then the group and user ids, and only then execs ipykernel. On
Gradescope, run_autograder sets it (the user comes from setup.sh), so the notebook cannot read
/autograder/source (the answer key) or write /autograder/results.

Otherwise this is not a security boundary on its own: the kernel runs as the same user as this
process, so a deliberately hostile notebook can read anything this user can (site-packages,
including the installed `hw5` package) and write anywhere this user can. Locally, run untrusted
submissions in a container (or as root with ``HW5_SANDBOX_USER`` set).
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

try:
    import pwd
except ImportError:  # not POSIX: no sandbox user
    pwd = None

from hw5.kit import spec

from .notebook import InvalidNotebook, read_submission

KIT_DIR = Path(__file__).resolve().parent.parent / "kit"
PRELUDE_SOURCE = Path(__file__).with_name("prelude.py")
EXPORT_SOURCE = Path(__file__).with_name("export_cell.py")
MNIST_SUBSET_NAME = "mnist_subset.npz"

OK = "ok"
TIMEOUT = "timeout"
MEMORY = "memory"
DIED = "died"
INVALID = "invalid_notebook"
NO_EXPORT = "no_export"
ERROR = "error"
STATUSES = (OK, TIMEOUT, MEMORY, DIED, INVALID, NO_EXPORT, ERROR)

_EVALUE_CHARS = 300
_MB = 2**20


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run (defaults from `hw5.kit.spec`)."""

    cell_timeout_s: float = spec.SANDBOX_CELL_TIMEOUT_S
    notebook_timeout_s: float = spec.SANDBOX_NOTEBOOK_TIMEOUT_S
    export_timeout_s: float = spec.SANDBOX_EXPORT_TIMEOUT_S
    startup_timeout_s: float = spec.SANDBOX_STARTUP_TIMEOUT_S
    memory_mb: int = spec.SANDBOX_MEMORY_MB
    data_limit_mb: int | None = spec.SANDBOX_DATA_LIMIT_MB
    file_size_mb: int | None = spec.SANDBOX_FILE_SIZE_MB
    threads: int = spec.SANDBOX_THREADS
    cell_output_bytes: int = spec.SANDBOX_CELL_OUTPUT_BYTES
    total_output_bytes: int = spec.SANDBOX_TOTAL_OUTPUT_BYTES
    zmq_max_message_bytes: int = spec.SANDBOX_ZMQ_MAX_MESSAGE_BYTES
    notebook_max_bytes: int = spec.SANDBOX_NOTEBOOK_MAX_BYTES
    export_max_bytes: int = spec.SANDBOX_EXPORT_MAX_BYTES
    train_images: int = spec.SANDBOX_TRAIN_IMAGES
    test_images: int = spec.SANDBOX_TEST_IMAGES
    seed: int = spec.SANDBOX_SEED
    poll_interval_s: float = 0.1

    @property
    def hard_deadline_s(self) -> float:
        """Wall-clock limit for the kernel's whole life: every phase plus slack."""
        return spec.sandbox_hard_deadline_s(self.startup_timeout_s, self.notebook_timeout_s,
                                            self.export_timeout_s)


@dataclass
class CellError:
    """An error raised by one of the student's cells."""

    cell: int
    """Index of the cell in the submitted notebook (0-based, markdown cells counted)."""
    ename: str
    """Exception class name (``CellTimeoutError`` when the grader stopped the cell)."""
    evalue: str
    """The exception message, shortened."""


@dataclass
class SandboxResult:
    """What running one submission produced; plain data."""

    status: str
    """One of STATUSES: "ok" means the export was read back."""
    export: dict | None = None
    """`hw5kit.describe.describe_namespace` output (untrusted JSON), or None."""
    messages: list[str] = field(default_factory=list)
    """Explanations for the student, in the order things happened."""
    cell_errors: list[CellError] = field(default_factory=list)
    """Errors raised by the student's cells (the run went on after each)."""
    elapsed_s: float = 0.0
    """Wall-clock seconds for the whole run, preparation and cleanup included."""
    stats: dict = field(default_factory=dict)
    """Diagnostics for the staff: peak RSS, output kept/dropped, cells run, kernel log tail."""

    @property
    def ok(self) -> bool:
        return self.status == OK

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------
def run_submission(notebook_path: str | os.PathLike, workdir: str | os.PathLike | None = None,
                   limits: Limits = Limits(), *, kit_dir: str | os.PathLike | None = None
                   ) -> SandboxResult:
    """Run the notebook at `notebook_path` in a fresh kernel and return its export.

    `workdir`: where the temporary directory is created (default: the system temp dir); it is
    removed afterwards. `kit_dir`: the directory whose ``*.py`` files become ``hw5kit/``
    (default: this package's ``hw5/kit``). Never raises for anything the submission does.
    """
    t0 = time.monotonic()
    try:
        result = _run_submission(Path(notebook_path), workdir, limits,
                                 Path(kit_dir) if kit_dir else KIT_DIR)
    except Exception as exc:  # a bug or a broken grader setup: report, never raise
        result = SandboxResult(ERROR, messages=[(
            f"The grader failed while running the notebook ({type(exc).__name__}: "
            f"{_short(str(exc))}). This is not your fault; please tell the course staff.")])
    result.elapsed_s = round(time.monotonic() - t0, 2)
    return result


def _run_submission(path: Path, workdir, limits: Limits, kit_dir: Path) -> SandboxResult:
    try:
        submission = read_submission(path, limits.notebook_max_bytes)
    except InvalidNotebook as exc:
        return SandboxResult(INVALID, messages=[str(exc)])
    run = _Run(submission, limits, kit_dir)
    run.user = _sandbox_user()
    if workdir is not None:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="hw5-sandbox-", dir=workdir))
    control = Path(tempfile.mkdtemp(prefix="hw5-sandbox-ctl-"))
    try:
        try:
            mnist = _write_workdir(root, submission, kit_dir, limits)
        except Exception as exc:
            return SandboxResult(ERROR, messages=[*submission.messages, (
                f"The grader could not prepare the notebook's directory ({type(exc).__name__}: "
                f"{_short(str(exc))}). This is not your fault; please tell the course staff.")])
        env = _kernel_env(root, mnist, limits)
        if run.user is not None:
            _chown_tree(root, run.user.pw_uid, run.user.pw_gid)
            os.chmod(control, 0o711)  # the kernel reaches its connection file, lists nothing
        _run_coroutine(run.execute(root, control, env))
        return run.result()
    finally:
        _rmtree(root)
        _rmtree(control)


# ---------------------------------------------------------------------------------------------
# The temporary directory and the kernel's environment
# ---------------------------------------------------------------------------------------------
def _sandbox_user() -> pwd.struct_passwd | None:
    """The user the kernel runs as, or None for this process's user (see the module doc)."""
    name = os.environ.get(spec.SANDBOX_USER_ENV_VAR, "").strip()
    if not name or pwd is None or os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam(name)
    except KeyError:
        return None
    return user if user.pw_uid != 0 else None


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.lchown(root, uid, gid)
    for parent, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(parent, name), uid, gid)


_SUBSET_CACHE: dict[tuple[int, int], dict] = {}


def _mnist_subset(train: int, test: int) -> dict:
    key = (train, test)
    if key not in _SUBSET_CACHE:
        from hw5.kit.mnist import load_mnist  # numpy only

        (xtr, ytr), (xte, yte) = load_mnist(allow_download=False)
        _SUBSET_CACHE[key] = {"x_train": xtr[:train].copy(), "y_train": ytr[:train].copy(),
                              "x_test": xte[:test].copy(), "y_test": yte[:test].copy()}
    return _SUBSET_CACHE[key]


def _write_workdir(root: Path, submission, kit_dir: Path, limits: Limits) -> Path:
    """Fill `root` with the notebook, hw5kit/*.py and the MNIST subset; return the subset path."""
    import nbformat
    import numpy as np

    _copy_kit(kit_dir, root / "hw5kit")
    mnist = root / MNIST_SUBSET_NAME
    np.savez(mnist, **_mnist_subset(limits.train_images, limits.test_images))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c.source) for c in submission.cells]
    nbformat.write(nb, str(root / spec.NOTEBOOK_NAME))
    for sub in ("tmp", ".config", ".cache", ".ipython", ".jupyter", ".keras"):
        (root / sub).mkdir()
    return mnist


def _copy_kit(kit_dir: Path, kit: Path) -> None:
    kit.mkdir(parents=True)
    for source in sorted(kit_dir.glob("*.py")):
        shutil.copyfile(source, kit / source.name)
    if not (kit / "__init__.py").exists():
        (kit / "__init__.py").write_text("")


def _kernel_env(root: Path, mnist: Path, limits: Limits) -> dict:
    threads = str(limits.threads)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": str(root),
        "TMPDIR": str(root / "tmp"),
        "XDG_CONFIG_HOME": str(root / ".config"),
        "XDG_CACHE_HOME": str(root / ".cache"),
        "XDG_DATA_HOME": str(root / ".local" / "share"),
        "IPYTHONDIR": str(root / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
        "JUPYTER_DATA_DIR": str(root / ".jupyter" / "data"),
        "MPLCONFIGDIR": str(root / ".config" / "matplotlib"),
        "KERAS_HOME": str(root / ".keras"),
        "KERAS_BACKEND": "tensorflow",
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "MALLOC_ARENA_MAX": "2",
        "OMP_NUM_THREADS": threads,
        "TF_NUM_INTRAOP_THREADS": threads,
        "TF_NUM_INTEROP_THREADS": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": str(limits.seed),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        spec.MNIST_ENV_VAR: str(mnist),
        spec.EPOCHS_ENV_VAR: "1",
        spec.TRAIN_SUBSET_ENV_VAR: str(limits.train_images),
    }
    if os.environ.get("LD_LIBRARY_PATH"):
        env["LD_LIBRARY_PATH"] = os.environ["LD_LIBRARY_PATH"]
    return env


# ---------------------------------------------------------------------------------------------
# Kernel manager / client with limits
# ---------------------------------------------------------------------------------------------
# Runs in the kernel's interpreter before ipykernel (as the grader's user): set the rlimits,
# optionally become the sandbox user (chown the connection file to it first), exec the kernel.
# argv[1]: {"rlimits": {name: value}, "user": None | {"uid", "gid", "chown": [paths]}}.
_LAUNCHER = (
    "import json, os, resource, sys\n"
    "config = json.loads(sys.argv[1])\n"
    "for name, value in config['rlimits'].items():\n"
    "    resource.setrlimit(getattr(resource, name), (value, value))\n"
    "user = config.get('user')\n"
    "if user:\n"
    "    for path in user['chown']:\n"
    "        os.chown(path, user['uid'], user['gid'])\n"
    "    os.setgroups([])\n"
    "    os.setgid(user['gid'])\n"
    "    os.setuid(user['uid'])\n"
    "    if (os.getresuid() != (user['uid'],) * 3 or os.getresgid() != (user['gid'],) * 3\n"
    "            or os.getgroups()):\n"
    "        sys.exit('hw5 sandbox: could not drop privileges')\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def _kernel_classes():
    """Build the manager/client subclasses (jupyter_client imported lazily)."""
    import zmq
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    class CappedKernelClient(AsyncKernelClient):
        """Shell and IOPub sockets refuse messages above a size and buffer few of them."""

        max_message_bytes = spec.SANDBOX_ZMQ_MAX_MESSAGE_BYTES

        def _create_connected_socket(self, channel, identity=None):
            if channel not in ("iopub", "shell"):
                return super()._create_connected_socket(channel, identity=identity)
            sock = self.context.socket(zmq.SUB if channel == "iopub" else zmq.DEALER)
            sock.linger = 1000
            # A larger message makes ZeroMQ drop it (and reconnect) before it is read.
            sock.setsockopt(zmq.MAXMSGSIZE, int(self.max_message_bytes))
            sock.setsockopt(zmq.RCVHWM, 128)
            if identity:
                sock.identity = identity
            if getattr(self, "curve_publickey", None) is not None:
                sock.curve_secretkey = self.curve_secretkey
                sock.curve_publickey = self.curve_publickey
                sock.curve_serverkey = self.curve_publickey
            sock.connect(self._make_url(channel))
            return sock

    class SandboxKernelManager(AsyncKernelManager):
        """Always `python -m ipykernel_launcher` of this interpreter, under rlimits."""

        rlimits: dict | None = None
        user: pwd.struct_passwd | None = None  # run the kernel as this user (we are root)
        max_message_bytes = spec.SANDBOX_ZMQ_MAX_MESSAGE_BYTES

        def format_kernel_cmd(self, extra_arguments=None):
            connection_file = os.path.realpath(self.connection_file)
            cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file]
            return [sys.executable, "-c", _LAUNCHER, launcher_config(
                self.rlimits, self.user, [connection_file]), *cmd]

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            kc.max_message_bytes = self.max_message_bytes
            return kc

    return SandboxKernelManager, CappedKernelClient


def launcher_config(rlimits: dict | None, user: pwd.struct_passwd | None = None,
                    chown: list | tuple = ()) -> str:
    """The JSON argument of `_LAUNCHER`."""
    return json.dumps({"rlimits": rlimits or {}, "user": None if user is None else {
        "uid": user.pw_uid, "gid": user.pw_gid, "chown": [str(p) for p in chown]}})


def _make_notebook_client(nb, km, limits: Limits, run: _Run):
    from nbclient import NotebookClient

    class CappedNotebookClient(NotebookClient):
        """Keeps at most `cell_output_bytes` per cell and `total_output_bytes` of outputs."""

        def process_message(self, msg, cell, cell_index):
            msg_type = msg.get("msg_type", "")
            if msg_type.startswith("comm") or msg_type == "update_display_data":
                return None  # widgets and display updates are not needed for grading
            if msg_type in ("stream", "display_data", "execute_result", "error"):
                content = msg.get("content") or {}
                content.pop("transient", None)  # no display-id bookkeeping
                size = _approx_size(content)
                used = run.output_per_cell.get(cell_index, 0)
                if (used + size > limits.cell_output_bytes
                        or run.output_kept + size > limits.total_output_bytes):
                    run.output_dropped += size
                    if cell_index not in run.output_truncated:
                        run.output_truncated.add(cell_index)
                        import nbformat

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


def _approx_size(obj, limit: int = 1 << 40) -> int:
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


# ---------------------------------------------------------------------------------------------
# Watchdog: memory and the hard deadline, from outside the kernel
# ---------------------------------------------------------------------------------------------
class _Watchdog(threading.Thread):
    def __init__(self, pid: int, limits: Limits, deadline: float):
        super().__init__(name="hw5-sandbox-watchdog", daemon=True)
        self.limits = limits
        self.deadline = deadline
        self.reason: str | None = None
        self.peak_kernel_rss = 0
        self.peak_parent_rss = 0
        self._stop_event = threading.Event()
        self._seen: dict[int, psutil.Process] = {}
        self._parent = psutil.Process()
        if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
            raise ValueError(f"refusing to watch pid {pid!r}")
        try:
            self._root = psutil.Process(pid)
            self._seen[pid] = self._root
        except psutil.Error:
            self._root = None
        try:
            self._pgid = os.getpgid(pid)
        except OSError:
            self._pgid = None

    def run(self):
        limit = self.limits.memory_mb * _MB
        while not self._stop_event.wait(self.limits.poll_interval_s):
            try:
                self.peak_parent_rss = max(self.peak_parent_rss,
                                           self._parent.memory_info().rss)
            except psutil.Error:
                pass
            rss = 0
            for proc in self._tree():
                try:
                    rss += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_kernel_rss = max(self.peak_kernel_rss, rss)
            if rss > limit:
                self.reason = MEMORY
                self.kill()
                return
            if time.monotonic() > self.deadline:
                self.reason = TIMEOUT
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
        """SIGKILL the kernel's process group and every process ever seen in its tree."""
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

    def stop(self):
        self._stop_event.set()


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------
class _Run:
    def __init__(self, submission, limits: Limits, kit_dir: Path):
        self.submission = submission
        self.limits = limits
        self.kit_dir = kit_dir
        self.messages: list[str] = list(submission.messages)
        self.cell_errors: list[CellError] = []
        self.export: dict | None = None
        self.export_problem: str | None = None
        self.kernel_died = False
        self.phase = "start"  # start -> prelude -> student -> export -> done
        self.died_in_phase: str | None = None
        self.died_in_cell: int | None = None
        self.internal_error: str | None = None
        self.prelude_error: str | None = None
        self.skipped_from: int | None = None
        self.export_timed_out = False
        self.export_error: CellError | None = None
        self.cells_run = 0
        self.current_timeout = limits.cell_timeout_s
        self.cell_index_map: dict[int, int] = {}  # run-notebook index -> submitted index
        self.output_per_cell: dict[int, int] = {}
        self.output_kept = 0
        self.output_dropped = 0
        self.output_truncated: set[int] = set()
        self.watchdog: _Watchdog | None = None
        self.kernel_log_tail = ""
        self.user: pwd.struct_passwd | None = None  # see _sandbox_user

    # nbclient hooks ----------------------------------------------------------------------
    def cell_timeout(self, cell) -> int:
        return max(1, int(self.current_timeout))

    def on_cell_error(self, cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content") or {}
        error = CellError(self.cell_index_map.get(cell_index, -1),
                          _short(str(content.get("ename", "Error")), 100),
                          _short(str(content.get("evalue", ""))))
        if cell_index == 0:
            self.prelude_error = f"{error.ename}: {error.evalue}"
        elif cell_index in self.cell_index_map:
            self.cell_errors.append(error)
        else:
            self.export_error = error
            if error.ename == "CellTimeoutError":
                self.export_timed_out = True

    # the run -----------------------------------------------------------------------------
    async def execute(self, root: Path, control: Path, env: dict):
        import nbformat
        from nbclient.exceptions import DeadKernelError

        limits = self.limits
        prelude = (PRELUDE_SOURCE.read_text(encoding="utf-8") + "\n\n_hw5_prelude("
                   + repr({"cell_output_chars": int(limits.cell_output_bytes * 0.9),
                           "seed": limits.seed})
                   + ")\ndel _hw5_prelude\n")
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nb.cells.append(nbformat.v4.new_code_cell(prelude))
        for cell in self.submission.cells:
            self.cell_index_map[len(nb.cells)] = cell.index
            nb.cells.append(nbformat.v4.new_code_cell(cell.source))

        manager_class, client_class = _kernel_classes()
        km = manager_class(kernel_name="python3",
                           connection_file=str(control / "kernel.json"))
        km.client_factory = client_class
        km.max_message_bytes = limits.zmq_max_message_bytes
        rlimits = {"RLIMIT_CORE": 0}
        if limits.data_limit_mb:
            rlimits["RLIMIT_DATA"] = int(limits.data_limit_mb * _MB)
        if limits.file_size_mb:
            rlimits["RLIMIT_FSIZE"] = int(limits.file_size_mb * _MB)
        km.rlimits = rlimits
        km.user = self.user
        client = _make_notebook_client(nb, km, limits, self)
        log_path = control / "kernel.log"
        current = None
        with open(log_path, "wb") as log:
            try:
                await km.start_kernel(cwd=str(root), env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
                pid = getattr(km.provisioner, "pid", None)
                if not isinstance(pid, int) or pid <= 1 or pid == os.getpid():
                    raise RuntimeError(f"the kernel process has no usable pid ({pid!r})")
                self.watchdog = _Watchdog(pid, limits, time.monotonic() + limits.hard_deadline_s)
                self.watchdog.start()
                async with client.async_setup_kernel():
                    self.current_timeout = limits.startup_timeout_s
                    current = 0
                    self.phase = "prelude"
                    await client.async_execute_cell(nb.cells[0], 0, execution_count=0)
                    notebook_deadline = time.monotonic() + limits.notebook_timeout_s
                    self.phase = "student"
                    for index in range(1, len(nb.cells)):
                        remaining = notebook_deadline - time.monotonic()
                        if remaining < 1:
                            self.skipped_from = self.cell_index_map[index]
                            break
                        self.current_timeout = min(limits.cell_timeout_s, remaining)
                        current = index
                        await client.async_execute_cell(nb.cells[index], index,
                                                        execution_count=index)
                        self.cells_run += 1
                    current = None
                    self.phase = "export"
                    await self._export(client, nb, root)
                    self.phase = "done"
            except Exception as exc:
                if not isinstance(exc, DeadKernelError) and await _alive(km):
                    self.internal_error = f"{type(exc).__name__}: {_short(str(exc))}"
                else:
                    self.kernel_died = True
                    self.died_in_phase = self.phase
                    self.died_in_cell = self.cell_index_map.get(current) if current else None
            finally:
                await self._shutdown(km, client)
        self.kernel_log_tail = _tail(log_path, 2000)

    async def _export(self, client, nb, root: Path):
        import nbformat

        token = secrets.token_hex(16)  # chosen only now
        path = root / f"_hw5_export_{token}.json"
        # A pristine kit in a directory that did not exist while student code ran: the notebook
        # may have rewritten or monkeypatched its own hw5kit/ copy.
        fresh = root / f"_hw5_kit_{token}"
        _copy_kit(self.kit_dir, fresh / "hw5kit")
        source = (EXPORT_SOURCE.read_text(encoding="utf-8") + "\n\n_hw5_export("
                  + repr(str(path)) + f", {int(self.limits.export_max_bytes)}, "
                  + repr(str(fresh)) + ")\n")
        nb.cells.append(nbformat.v4.new_code_cell(source))
        self.current_timeout = self.limits.export_timeout_s
        index = len(nb.cells) - 1
        await client.async_execute_cell(nb.cells[index], index, execution_count=index)
        self.export, self.export_problem = _read_export(path, self.limits.export_max_bytes)

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
        try:
            if client.kc is not None:
                client.kc.stop_channels()
        except Exception:
            pass
        try:
            await asyncio.wait_for(km.cleanup_resources(), 5)
        except Exception:
            pass

    # the outcome -------------------------------------------------------------------------
    def result(self) -> SandboxResult:
        limits = self.limits
        messages = self.messages
        reason = self.watchdog.reason if self.watchdog else None
        where = (f" while running cell {self.died_in_cell}" if self.died_in_cell is not None
                 else "")
        timeouts = [e for e in self.cell_errors if e.ename == "CellTimeoutError"]
        for e in timeouts:
            messages.append(
                f"Cell {e.cell} was stopped after {int(limits.cell_timeout_s)} s (the grader's "
                "limit per cell). When grading, every fit() runs a single epoch on a small "
                "subset, so a cell this slow is usually stuck in a loop or waiting for input.")
        for e in self.cell_errors:
            if e.ename == "MemoryError":
                messages.append(
                    f"Cell {e.cell} ran out of memory (MemoryError): the grader allows "
                    f"{limits.data_limit_mb or limits.memory_mb} MB per process.")
        if self.skipped_from is not None:
            messages.append(
                f"Your notebook's cells ran for more than {int(limits.notebook_timeout_s)} s in "
                f"total, so cells from cell {self.skipped_from} on were not run.")
        if self.prelude_error:
            messages.append("The grader's setup cell failed (" + self.prelude_error + "); "
                            "results may be incomplete. Please tell the course staff.")

        if reason == MEMORY:
            status = MEMORY
            messages.append(
                f"Your notebook used more than {limits.memory_mb} MB of memory{where}, so the "
                "grader stopped it and could not read your functions and variables. Look for "
                "very large arrays or lists (for example copies of the whole dataset inside a "
                "loop).")
        elif reason == TIMEOUT:
            status = TIMEOUT
            messages.append(
                f"Your notebook did not finish within {int(limits.hard_deadline_s)} s, so the "
                "grader stopped it and could not read your functions and variables.")
        elif self.kernel_died and self.died_in_phase in ("start", "prelude"):
            status = ERROR
            messages.append(
                "The grader's Python kernel failed to start or to load TensorFlow before any of "
                "your code ran. This is not your fault; please tell the course staff.")
        elif self.kernel_died and self.died_in_phase == "export":
            status = DIED
            messages.append(
                "The Python kernel stopped while the grader was calling your functions to read "
                "them (after all your cells had run), so nothing could be graded automatically. "
                "Check that each define_model... function runs on its own and returns a model.")
        elif self.kernel_died:
            status = DIED
            messages.append(
                f"The Python kernel stopped{where} (for example through exit(), quit(), "
                "os._exit() or a crash), so the grader could not read your functions and "
                "variables. Remove any line that ends the kernel and check that the notebook "
                "runs from top to bottom with Kernel → Restart & Run All.")
        elif self.internal_error:
            status = ERROR
            messages.append(f"The grader failed while running the notebook ({self.internal_error}"
                            "). This is not your fault; please tell the course staff.")
        elif self.export is not None:
            status = OK
        elif self.export_timed_out or (self.skipped_from is not None and self.export is None):
            status = TIMEOUT
            messages.append("The grader ran out of time before it could read your functions "
                            "and variables.")
        else:
            status = NO_EXPORT
            why = (f"{self.export_error.ename}: {self.export_error.evalue}" if self.export_error
                   else self.export_problem or "no export was written")
            messages.append(f"The grader could not read your functions and variables ({why}).")
        return SandboxResult(
            status, self.export if status == OK else None, messages, self.cell_errors,
            stats={
                "cells_run": self.cells_run,
                "cells_total": len(self.submission.cells),
                "peak_kernel_rss_mb": round(self.watchdog.peak_kernel_rss / _MB, 1)
                if self.watchdog else None,
                "peak_parent_rss_mb": round(self.watchdog.peak_parent_rss / _MB, 1)
                if self.watchdog else None,
                "output_bytes_kept": self.output_kept,
                "output_bytes_dropped": self.output_dropped,
                "disabled_shell_lines": self.submission.disabled_lines,
                "kernel_log_tail": self.kernel_log_tail,
                "kernel_user": self.user.pw_name if self.user else None,
            })


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def _read_export(path: Path, max_bytes: int) -> tuple[dict | None, str | None]:
    """Read the export file as untrusted data: regular file, bounded size, a JSON object."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None, "the export file was not written"
    except OSError as exc:
        return None, f"the export file could not be opened ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "the export is not a regular file"
        if info.st_size > max_bytes:
            return None, f"the export is larger than {max_bytes:,} bytes"
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > max_bytes:
            return None, f"the export is larger than {max_bytes:,} bytes"
    finally:
        os.close(fd)
    try:
        data = json.loads(b"".join(chunks).decode("utf-8"))
    except Exception as exc:
        return None, f"the export is not valid JSON ({type(exc).__name__})"
    if not isinstance(data, dict):
        return None, "the export is not a JSON object"
    return data, None


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


def _rmtree(path: Path):
    """Remove a tree the student may have made read-only."""
    def onerror(func, name, _exc):
        try:
            os.chmod(os.path.dirname(name) or name, 0o700)
            if os.path.isdir(name) and not os.path.islink(name):
                os.chmod(name, 0o700)
            func(name)
        except Exception:
            pass

    try:
        shutil.rmtree(path, onerror=onerror)
    except Exception:
        pass
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _tail(path: Path, n: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def _short(text: str, n: int = _EVALUE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
