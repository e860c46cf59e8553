"""UNTRUSTED side: run a student's notebook in fresh, limited kernels and return its export.

`run_submission(path, deadline=...) -> SandboxResult`; see `hw5.sandbox.runner` for how, and
`hw5.sandbox.isolation` for what it does and does not protect. This package never imports
TensorFlow or Keras (the code under `inkernel/` runs inside the student's kernel only).
"""
from .limits import Limits, for_container
from .notebook import InvalidNotebook, read_submission
from .outcome import (
    GRADED,
    INTERNAL_ERROR,
    KERNEL_DIED,
    MEMORY,
    NOT_A_NOTEBOOK,
    NOTEBOOK_TIMEOUT,
    STATUSES,
    CellError,
    SandboxResult,
)
from .runner import run_submission

__all__ = [
    "GRADED",
    "INTERNAL_ERROR",
    "KERNEL_DIED",
    "MEMORY",
    "NOT_A_NOTEBOOK",
    "NOTEBOOK_TIMEOUT",
    "STATUSES",
    "CellError",
    "InvalidNotebook",
    "Limits",
    "SandboxResult",
    "for_container",
    "read_submission",
    "run_submission",
]
