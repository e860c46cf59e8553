"""The grading prelude: the first cell the sandbox runs in the student's kernel.

This file is never imported by the grader (the grader process must not import TensorFlow); its
text is read and injected as a cell, followed by ``_hw5_prelude(<config>)``. Everything lives
inside the function so that the student's namespace gains no names (the function deletes itself).

What it does, none of it a security boundary (the student's code runs in the same process and
could undo any of it; the grader's real limits are enforced from outside the kernel):
- makes ``exit()`` / ``quit()`` no-ops (they would end the kernel a moment later);
- caps what one cell can print (the grader also caps what it keeps, this just avoids sending it);
- makes ``keras.Model.fit`` train nothing: it checks its arguments like Keras (wrong ones still
  raise Keras' own error) and returns a one-epoch ``History`` of NaN with the usual keys
  (``loss``, the compiled metrics, ``val_*``), so grading time and memory never depend on how
  long the student chose to train;
- points ``keras.datasets.mnist.load_data`` (all its public aliases) at the hw5kit loader, which
  reads the small subset the sandbox wrote beside the notebook;
- seeds everything with ``keras.utils.set_random_seed``;
- refuses ``import hw5`` (the grader's own package), so a stray import cannot reach grading code;
- replaces ``otter`` by a stand-in whose ``grader.check(...)`` does nothing (public checks are for
  the student; grading reads only the export).
"""


def _hw5_prelude(cfg):
    import importlib
    import inspect
    import math
    import sys

    # --- 1. the grader's package is not for the notebook --------------------------------------
    class _BlockGraderPackage:
        def find_spec(self, name, path=None, target=None):
            if name == "hw5" or name.startswith("hw5."):
                raise ModuleNotFoundError(f"No module named {name!r} (not available while grading)")

    sys.meta_path.insert(0, _BlockGraderPackage())

    # --- 1b. the public checks are the student's, not the grader's ------------------------------
    # `grader.check(...)` cells would rebuild every model (time, ~100 MB) and importing otter
    # costs ~90 MB more; nothing they print is trusted, so a stand-in `otter` answers them.
    import types

    class _Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    otter = types.ModuleType("otter")
    otter.Notebook = _Notebook
    sys.modules["otter"] = otter

    # --- 2. per-cell output cap inside the kernel ---------------------------------------------
    cap = int(cfg["cell_output_chars"])
    state = {"used": 0, "noted": False}

    def _reset(*_args, **_kwargs):
        state["used"] = 0
        state["noted"] = False

    def _capped(stream):
        original = stream.write

        def write(text):
            try:
                n = len(text)
            except Exception:
                return original(text)
            room = cap - state["used"]
            if n <= room:
                state["used"] += n
                return original(text)
            if room > 0:
                original(text[:room])
                state["used"] = cap
            if not state["noted"]:
                state["noted"] = True
                original(f"\n[output truncated by the grader after {cap:,} characters]\n")
            return n

        try:
            stream.write = write
        except Exception:
            pass

    for name in ("stdout", "stderr"):
        _capped(getattr(sys, name))
    try:
        from IPython import get_ipython

        shell = get_ipython()
        shell.events.register("pre_run_cell", _reset)
        # exit() / quit() would stop the kernel a moment later (racing the next cells): make
        # them no-ops, as sys.exit() already is in IPython.
        shell.ask_exit = lambda *args, **kwargs: None
    except Exception:
        pass

    # --- 3. Keras: seed, short fit, MNIST from the subset ---------------------------------------
    import keras

    keras.utils.set_random_seed(int(cfg["seed"]))

    original_fit = keras.Model.fit
    if getattr(original_fit, "_hw5_wrapped", False):  # prelude run twice: keep the real one
        original_fit = original_fit.__wrapped__
    signature = inspect.signature(original_fit)

    def _metric_names(model):
        try:
            metrics = (model.get_compile_config() or {}).get("metrics") or []
        except Exception:
            return []
        if isinstance(metrics, (str, dict)):
            metrics = [metrics]
        names = []
        for m in metrics if isinstance(metrics, (list, tuple)) else []:
            if isinstance(m, str):
                names.append(m)
            elif isinstance(m, dict):
                names.append(str((m.get("config") or {}).get("name") or m.get("class_name")))
        return names

    def fit(self, *args, **kwargs):
        # No training at all: the grader never uses what the kernel trains (it trains the
        # exported configs itself), and a traced training graph costs ~50-80 MB per model.
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original_fit(self, *args, **kwargs)  # Keras' own error message
        a = bound.arguments
        if not getattr(self, "compiled", False) or a.get("x") is None:
            return original_fit(*bound.args, **bound.kwargs)  # Keras' own error message
        names = ["loss", *_metric_names(self)]
        if a.get("validation_data") is not None or a.get("validation_split"):
            names += [f"val_{n}" for n in names]
        history = keras.callbacks.History()
        history.set_model(self)
        history.epoch = [0]
        history.params = {"epochs": 1, "steps": 1, "verbose": 0}
        history.history = {n: [math.nan] for n in names}
        self.history = history
        return history

    fit._hw5_wrapped = True
    fit.__wrapped__ = original_fit
    fit.__doc__ = original_fit.__doc__
    keras.Model.fit = fit

    try:
        import hw5kit.mnist as _mnist

        def load_data(path="mnist.npz"):
            return _mnist.load_mnist(allow_download=False)

        for module_name in ("keras.datasets.mnist", "keras.src.datasets.mnist",
                            "keras._tf_keras.keras.datasets.mnist",
                            "tensorflow.keras.datasets.mnist"):
            try:
                module = importlib.import_module(module_name)
                module.load_data = load_data
            except Exception:
                pass
    except Exception as exc:  # the sandbox always ships hw5kit; report rather than fail
        print(f"[grader] could not patch the MNIST loader: {type(exc).__name__}: {exc}",
              file=sys.stderr)
