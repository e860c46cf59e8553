"""UNTRUSTED side: run a student's notebook in a fresh, limited kernel and return its export.

`run_submission(path) -> SandboxResult`; see `hw5.sandbox.runner` for the limits and what they do
not cover. This package never imports TensorFlow or Keras.
"""
from .notebook import InvalidNotebook, read_submission
from .runner import (
    DIED,
    ERROR,
    INVALID,
    MEMORY,
    NO_EXPORT,
    OK,
    STATUSES,
    TIMEOUT,
    CellError,
    Limits,
    SandboxResult,
    run_submission,
)

__all__ = [
    "DIED",
    "ERROR",
    "INVALID",
    "MEMORY",
    "NO_EXPORT",
    "OK",
    "STATUSES",
    "TIMEOUT",
    "CellError",
    "InvalidNotebook",
    "Limits",
    "SandboxResult",
    "read_submission",
    "run_submission",
]
