"""The notebook's processed data: images (N, 28, 28, 1) of floats in [0, 1], one-hot labels."""
from __future__ import annotations

from . import spec
from .check_result import CheckResult, never_raises, shape_text


# ---------------------------------------------------------------------------------------------
@never_raises
def check_images(x, name="x_train") -> CheckResult:
    import numpy as np

    shape = tuple(getattr(x, "shape", ()))
    want = tuple(spec.IMAGE_SHAPE)
    if len(shape) != 1 + len(want) or shape[1:] != want:
        hint = (": add the channel axis, e.g. x.reshape(-1, 28, 28, 1)"
                if shape[1:] == want[:2] else "")
        found = shape_text(shape) if shape else type(x).__name__
        return CheckResult(f"{name}_shape", False, f"{name}: expected shape (N, "
                                                   f"{', '.join(map(str, want))}), found "
                                                   f"{found}{hint}")
    dtype = np.asarray(x[:1]).dtype
    if not np.issubdtype(dtype, np.floating):
        return CheckResult(f"{name}_dtype", False,
                           f"{name}: expected floating-point pixels, found {dtype}: "
                           f"x.astype('float32') / {spec.PIXEL_SCALE:g}")
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo < 0 or hi > 1:
        return CheckResult(f"{name}_range", False,
                           f"{name}: expected pixels in [0, 1], found [{lo:g}, {hi:g}]: divide by "
                           f"{spec.PIXEL_SCALE:g}")
    if 0 < hi <= 1 / spec.PIXEL_SCALE + 1e-9:
        return CheckResult(f"{name}_range", False,
                           f"{name}: the brightest pixel is {hi:g}: the images were divided by "
                           f"{spec.PIXEL_SCALE:g} twice")
    return CheckResult(f"{name}_ok", True,
                       f"{name}: {shape[0]:,} images {shape_text(want)} in [0, 1]")


@never_raises
def check_labels(y, name="y_train", n_images=None) -> CheckResult:
    import numpy as np

    shape = tuple(getattr(y, "shape", ()))
    k = spec.NUM_CLASSES
    if len(shape) != 2 or shape[1] != k:
        hint = (f": one-hot encode them with keras.utils.to_categorical({name}, {k})"
                if len(shape) == 1 else "")
        return CheckResult(f"{name}_shape", False,
                           f"{name}: expected one-hot labels of shape (N, {k}), found "
                           f"{shape_text(shape) if shape else type(y).__name__}{hint}")
    if n_images is not None and shape[0] != n_images:
        return CheckResult(f"{name}_count", False,
                           f"{name}: {shape[0]:,} labels for {n_images:,} images")
    arr = np.asarray(y)
    if not (np.all((arr == 0) | (arr == 1)) and np.all(arr.sum(axis=1) == 1)):
        return CheckResult(f"{name}_onehot", False,
                           f"{name}: every row must hold a single 1 and {k - 1} zeros: "
                           f"keras.utils.to_categorical({name}, {k})")
    return CheckResult(f"{name}_ok", True, f"{name}: {shape[0]:,} one-hot labels")


def check_data(x_train, y_train, x_test, y_test) -> list:
    return [check_images(x_train, "x_train"),
            check_labels(y_train, "y_train", _len(x_train)),
            check_images(x_test, "x_test"),
            check_labels(y_test, "y_test", _len(x_test))]


def _len(x):
    try:
        return int(x.shape[0])
    except Exception:
        return None
