"""`python -m hw5.sandbox NOTEBOOK OUT.json`: run one submission, write its SandboxResult as JSON.

The grading pipeline runs the sandbox in this separate process so that the coordinating process
stays small (no Jupyter client libraries) while the trusted checks, later, load TensorFlow.
"""
import json
import sys

from .runner import run_submission


def main(argv=None) -> int:
    notebook, out = sys.argv[1:] if argv is None else argv
    result = run_submission(notebook)
    with open(out, "w", encoding="utf-8") as fh:
        json.dump(result.to_dict(), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
