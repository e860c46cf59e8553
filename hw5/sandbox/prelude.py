"""The grading prelude: the first cell the sandbox runs in the student's kernel.

This file is never imported by the grader (the grader process must not import TensorFlow); its
text is read and injected as a cell, followed by ``_hw5_prelude(<config>)``. Everything lives
inside the function so that the student's namespace gains no names (the function deletes itself).

What it does, none of it a security boundary (the student's code runs in the same process and
could undo any of it; the grader's real limits are enforced from outside the kernel):
- makes ``exit()`` / ``quit()`` no-ops (they would end the kernel a moment later);
- caps what one cell can print (the grader also caps what it keeps, this just avoids sending it);
- makes every ``keras.Model.fit`` run 1 epoch on at most ``fit_samples`` samples, whatever the
  arguments (positional or keyword, arrays, dicts, datasets, ``validation_data``), so grading time
  never depends on how long the student chose to train;
- points ``keras.datasets.mnist.load_data`` (all its public aliases) at the hw5kit loader, which
  reads the small subset the sandbox wrote beside the notebook;
- seeds everything with ``keras.utils.set_random_seed``;
- refuses ``import hw5`` (the grader's own package), so a stray import cannot reach grading code.
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

    fit_samples = int(cfg["fit_samples"])
    original_fit = keras.Model.fit
    if getattr(original_fit, "_hw5_wrapped", False):  # prelude run twice: keep the real one
        original_fit = original_fit.__wrapped__
    signature = inspect.signature(original_fit)

    def _is_sliceable(a):
        shape = getattr(a, "shape", None)
        return shape is not None and len(shape) >= 1 and hasattr(a, "__getitem__")

    def _cap(a, n):
        if a is None:
            return None
        if _is_sliceable(a):
            return a[:n]
        if isinstance(a, dict):
            return {k: _cap(v, n) for k, v in a.items()}
        if isinstance(a, (list, tuple)) and a and all(_is_sliceable(v) for v in a):
            return type(a)(_cap(v, n) for v in a)
        return a

    def _is_arrays(a):
        return a is not None and (_is_sliceable(a) or isinstance(a, (dict, list, tuple)))

    def fit(self, *args, **kwargs):
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError:
            return original_fit(self, *args, **kwargs)  # Keras' own error message
        a = bound.arguments
        a["epochs"] = 1
        a["initial_epoch"] = 0
        batch = a.get("batch_size") or 32
        try:
            steps = max(1, math.ceil(fit_samples / int(batch)))
        except Exception:
            steps = max(1, fit_samples // 32)
        x = a.get("x")
        if _is_arrays(x):
            a["x"] = _cap(x, fit_samples)
            for key in ("y", "sample_weight"):
                if a.get(key) is not None:
                    a[key] = _cap(a[key], fit_samples)
            if a.get("steps_per_epoch"):
                a["steps_per_epoch"] = min(int(a["steps_per_epoch"]), steps)
        elif x is not None:  # tf.data.Dataset, generator, PyDataset: cap the steps instead
            given = a.get("steps_per_epoch")
            a["steps_per_epoch"] = min(int(given), steps) if given else steps
        val = a.get("validation_data")
        if isinstance(val, (list, tuple)) and val and _is_arrays(val[0]):
            a["validation_data"] = type(val)(_cap(v, fit_samples) for v in val)
        elif val is not None:
            given = a.get("validation_steps")
            a["validation_steps"] = min(int(given), steps) if given else steps
        return original_fit(*bound.args, **bound.kwargs)

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
