"""The checkpointed export, written after every cell (runs in the grader's own namespace).

An IPython ``post_run_cell`` hook describes what the namespace holds now (builders, trained
variables and their histories, fit calls, data, answers) and writes it as one frame to the
runner's channel, so a kernel that dies later keeps everything answered so far. Each entry is
encoded on its own with a size limit (one oversized answer or model costs only that entry), and
each builder is described under its own time limit, only when it is new or changed (or failed
and the namespace gained names since).
"""
import hmac as _hmac
import os as _os
import signal as _signal

import time as _time

import numpy as _np

# The load contract (checked by inkernel.bootstrap_source as this file loads): what this
# file defines for the files after it, and what it uses from the files before it.
PROVIDES = ("install",)
NEEDS = ("ARRAYS", "KIT", "MODELS", "STATE", "describe_array", "dumps", "fit_is_stand_in",
         "history_call", "install_environment", "install_fit", "install_mnist",
         "load_private_kit", "on_pre_run_cell", "slice_assigned")

_os_write = _os.write
_hmac_digest = _hmac.digest
_perf_counter = _time.perf_counter
_sigmask = _signal.pthread_sigmask
_setitimer = _signal.setitimer
_signal_signal = _signal.signal
_dict_get = dict.get
_MISSING = object()
_DATA_NAMES = ("x_train", "y_train", "x_test", "y_test")
_MAX_OTHER_FIT_CALLS = 50
_QUIET = {_signal.SIGINT, _signal.SIGALRM}


class BuilderTimeout(BaseException):
    """The grader's time limit for describing one builder (not an Exception: student code
    that catches Exception cannot swallow it)."""


_TIMER = {"fired": False}


def with_time_limit(seconds, fn):
    _TIMER["fired"] = False

    def expired(signum, frame):
        _TIMER["fired"] = True
        raise BuilderTimeout()

    previous = _signal_signal(_signal.SIGALRM, expired)
    _setitimer(_signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        _setitimer(_signal.ITIMER_REAL, 0)
        _signal_signal(_signal.SIGALRM, previous)


def _error_entry(what, exc):
    return {"status": "error", "error": f"{what}: {type(exc).__name__}: {exc}"[:1000]}


class Checkpointer:
    def __init__(self, cfg, kit, keras, fit_stand_in, fd, key, namespace):
        self.spec = kit["spec"]
        self.describe = kit["describe"]
        self.keras = keras
        self.history_class = keras.callbacks.History
        self.fit_stand_in = fit_stand_in
        self.fd = fd
        self.key = key
        self.ns = namespace
        self.entry_max = int(cfg["entry_max_bytes"])
        self.total_max = int(cfg["export_max_bytes"])
        self.builder_timeout = float(cfg["builder_timeout_s"])
        self.magic = bytes.fromhex(cfg["frame_magic"])
        self.end = bytes.fromhex(cfg["frame_end"])
        self.builders = {}  # name -> (fn, namespace keys, encoded text, final)
        self.seq = 0
        self.spent_s = 0.0  # time spent in checkpoints so far (reported in the next one)

    def encode(self, value):
        return dumps(value, self.entry_max)

    def encode_config(self, value):
        return dumps(value, self.entry_max // 2)

    # -- the hook ---------------------------------------------------------------------------
    def after_cell(self, *_args):
        start = _perf_counter()
        try:
            text = self.collect()
            if self.fd is not None:
                self.write(text.encode("utf-8"))
        except BaseException:  # noqa: BLE001 - the previous checkpoint stands
            pass
        self.spent_s += _perf_counter() - start

    def write(self, payload):
        mac = _hmac_digest(self.key, payload, "sha256")
        frame = self.magic + len(payload).to_bytes(4, "big") + payload + mac + self.end
        previous = _sigmask(_signal.SIG_BLOCK, _QUIET)  # no torn frame from an interrupt
        try:
            view = memoryview(frame)
            while view:
                view = view[_os_write(self.fd, view):]
        finally:
            _sigmask(_signal.SIG_SETMASK, previous)

    # -- what is recorded -------------------------------------------------------------------
    def collect(self):
        self.seq += 1
        sections = {
            "builders": self.builder_pieces(),
            "variables": self.variable_pieces(),
            "histories": self.history_pieces(),
            "data": self.data_pieces(),
            "answers": self.answer_pieces(),
        }
        self.shrink(sections)
        calls = [dict(c) for c in self.kept_fit_calls()]
        head = {"schema": 3, "checkpoint": {"seq": self.seq, "after_cell": STATE["cell"],
                                            "spent_s": round(self.spent_s, 3)},
                "fit_stand_in": fit_is_stand_in(self.keras, self.fit_stand_in),
                "mnist_sizes": STATE["mnist_sizes"]}
        parts = [dumps(head)[:-1], ',"fit_calls":', self.safe(lambda: calls, [])]
        for section, pieces in sections.items():
            body = ",".join(dumps(name) + ":" + text for name, text in pieces.items())
            parts.append("," + dumps(section) + ":{" + body + "}")
        return "".join(parts) + "}"

    def kept_fit_calls(self):
        """Every call on a model the trained variables hold now or that made one of their
        histories, and the last ``_MAX_OTHER_FIT_CALLS`` others: throwaway fits (an lr search)
        never push the graded records out."""
        graded = set()
        for variable in self.spec.TRAINED_VARIABLES.values():
            number = MODELS.id_of(_dict_get(self.ns, variable.model), create=False)
            if number is not None:
                graded.add(number)
            history = _dict_get(self.ns, variable.history)
            made_by = history_call(history) if history is not None else None
            if made_by is not None:
                graded.add(STATE["fit_calls"][made_by - 1]["model_object"])
        calls = STATE["fit_calls"]
        others = [c["call"] for c in calls if c["model_object"] not in graded]
        keep = set(others[-_MAX_OTHER_FIT_CALLS:])
        return [c for c in calls if c["model_object"] in graded or c["call"] in keep]

    def safe(self, make, fallback):
        try:
            return self.encode(make())
        except BaseException as exc:  # noqa: BLE001
            if isinstance(exc, KeyboardInterrupt):
                raise
            value = fallback(exc) if callable(fallback) else fallback
            return dumps(value)

    def shrink(self, sections):
        """Replace the largest entries by errors until the whole export fits."""
        def total():
            return sum(len(t) for pieces in sections.values() for t in pieces.values())

        while total() > self.total_max - 100_000:
            section, name = max(((s, n) for s, p in sections.items() for n in p),
                                key=lambda sn: len(sections[sn[0]][sn[1]]))
            sections[section][name] = dumps(
                {"status": "error", "error": "too large for the export", "model": None,
                 "calls": [], "value": None, "repr": ""})

    def builder_pieces(self):
        out = {}
        keys = frozenset(self.ns)
        for name, builder_spec in self.spec.BUILDERS.items():
            fn = _dict_get(self.ns, name, _MISSING)
            cached = self.builders.get(name)
            if cached is not None and cached[0] is fn and (cached[3] or cached[1] == keys):
                out[name] = cached[2]
                continue
            if fn is _MISSING:
                out[name] = dumps({"status": "missing", "error": f"{name} is not defined",
                                   "calls": []})
                continue
            if not callable(fn):
                out[name] = dumps({"status": "error", "calls": [],
                                   "error": f"{name} is a {type(fn).__name__}, not a function"})
                continue
            out[name] = self.describe_builder(name, fn, builder_spec, keys)
        return out

    def describe_builder(self, name, fn, builder_spec, keys):
        where = "" if STATE["cell"] is None else f" (as defined in cell {STATE['cell'] + 1})"
        why = (f"{name}{where} did not return within {self.builder_timeout:g} s (the grader's "
               "limit for calling it with its test arguments)")
        stopped = dumps({"status": "error", "calls": [], "error": why})
        self.builders[name] = (fn, keys, stopped, True)  # stands if we are interrupted
        try:
            value = with_time_limit(self.builder_timeout, lambda: self.describe.describe_builder(
                fn, builder_spec, dumps=self.encode_config,
                stop_on=(KeyboardInterrupt, BuilderTimeout)))
            if _TIMER["fired"]:
                value["status"], value["error"] = "error", why
            text = self.encode(value)
            final = value.get("status") == "ok" or _TIMER["fired"]
        except BuilderTimeout:
            return stopped
        except KeyboardInterrupt:
            return stopped
        except BaseException as exc:  # noqa: BLE001 - TooLarge, or a bug: this entry only
            text, final = dumps(dict(_error_entry(f"{name} could not be exported", exc),
                                     calls=[])), False
        self.builders[name] = (fn, keys, text, final)
        return text

    def variable_pieces(self):
        out = {}
        is_model = self.describe._is_model
        for name in self.spec.TRAINED_VARIABLES:
            value = _dict_get(self.ns, name, _MISSING)
            if value is _MISSING:
                out[name] = dumps({"status": "missing", "error": f"{name} is not defined",
                                   "model": None, "model_object": None})
                continue

            def make(name=name, value=value):
                entry = self.describe.describe_variable(name, value, dumps=self.encode_config)
                entry["model_object"] = MODELS.id_of(value) if is_model(value) else None
                return entry

            out[name] = self.safe(make, lambda exc, name=name: dict(
                _error_entry(f"{name} could not be exported", exc), model=None,
                model_object=None))
        return out

    def history_pieces(self):
        out = {}
        for variable in self.spec.TRAINED_VARIABLES.values():
            name = variable.history
            value = _dict_get(self.ns, name, _MISSING)
            if value is _MISSING:
                entry = {"status": "missing", "fit_call": None, "error": f"{name} is not defined"}
            elif isinstance(value, self.history_class):
                entry = {"status": "ok", "fit_call": history_call(value), "error": None}
            else:
                entry = {"status": "not_a_history", "fit_call": None, "error": (
                    f"{name} is a {type(value).__name__}, not the History that fit() returns")}
            out[name] = dumps(entry)
        return out

    def data_pieces(self):
        out = {}
        for name in _DATA_NAMES:
            value = _dict_get(self.ns, name, _MISSING)
            if value is _MISSING:
                out[name] = dumps({"status": "missing"})
                continue
            out[name] = self.safe(lambda value=value, name=name: self.describe_array(name, value),
                                  lambda exc: _error_entry("could not be read", exc))
        return out

    def note_cut(self, name, value):
        """When the cell that just ran rebound ``name`` to a slice (``x_train = x_train[:N]``),
        remember where: the grading kernel's arrays are smaller than the student's, so a cut
        of at least that many rows would not show in the row count. Forgotten on a new load."""
        number = ARRAYS.id_of(value)
        seen = STATE["data_objects"]
        if seen.get(name) == number:
            return
        seen[name] = number
        cells = dict(STATE["cells"])
        source = cells.get(STATE["cell"])
        # only a view counts: a slice in a branch that did not run leaves an array of its own
        is_view = getattr(value, "base", None) is not None
        cut = slice_assigned(source, name) if source and is_view else None
        if cut:
            STATE["cuts"][name] = f"cell {STATE['cell'] + 1}: {cut}"

    def describe_array(self, name, value):
        array = _np.asarray(value)
        entry = {"status": "ok", "shape": [int(d) for d in array.shape],
                 "dtype": str(array.dtype), "min": None, "max": None, "one_hot": None}
        sample = describe_array(value)
        self.note_cut(name, value)
        entry.update(digest=sample.get("digest"), object=sample.get("object"),
                     strict_view=sample.get("strict_view"), cut=STATE["cuts"].get(name))
        if array.size and array.dtype.kind in "biuf":
            entry["min"], entry["max"] = float(array.min()), float(array.max())
        if name.startswith("y"):
            classes = self.spec.NUM_CLASSES
            entry["one_hot"] = bool(
                array.ndim == 2 and array.shape[1] == classes and array.dtype.kind in "biuf"
                and bool(_np.isin(array, (0, 1)).all()) and bool((array.sum(axis=1) == 1).all()))
        return entry

    def answer_pieces(self):
        out = {}
        for name in self.spec.ANSWER_VARIABLES:
            value = _dict_get(self.ns, name, _MISSING)
            if value is _MISSING:
                out[name] = dumps({"status": "missing", "value": None, "repr": ""})
                continue
            out[name] = self.safe(
                lambda value=value: self.describe.describe_answer(value, self.entry_max // 2),
                lambda exc: dict(_error_entry("the answer could not be exported", exc),
                                 value=None, repr=""))
        return out


def install(cfg):
    from IPython import get_ipython

    shell = get_ipython()
    kit = load_private_kit(cfg["kit"])
    KIT.update(kit)
    STATE["cells"] = [(int(index), source) for index, source in cfg["cells"]]
    install_environment(cfg, shell)
    import keras

    keras.utils.set_random_seed(int(cfg["seed"]))
    stand_in = install_fit(keras, lambda: shell.user_ns)
    install_mnist(kit["mnist"])
    fd = _os.environ.pop(cfg["channel_env"], None)
    key_fd = _os.environ.pop(cfg["channel_env"] + "_KEY", None)
    key = b""
    if key_fd is not None:
        key = _os.read(int(key_fd), 64)
        _os.close(int(key_fd))
    checkpointer = Checkpointer(cfg, kit, keras, stand_in, None if fd is None else int(fd), key,
                                shell.user_ns)
    shell.events.register("pre_run_cell", on_pre_run_cell)
    shell.events.register("post_run_cell", checkpointer.after_cell)
