"""`python -m hw5.sandbox NOTEBOOK OUT.json [--deadline T]`: run one submission, write its
SandboxResult (interface 2) as JSON.

`--deadline`: absolute time.monotonic() (system-wide on Linux) by which the sandbox must have
ended, so the coordinator shares one whole-grade deadline with the trusted step; default now +
`hw5.settings.sandbox_budget_s()`. The pipeline runs the sandbox in this separate process so
that the coordinating process stays small while the trusted checks, later, load TensorFlow.
"""
import argparse
import json
import sys

# nbformat imports jsonschema, which imports the optional rfc3987_syntax when it is installed: it
# builds a grammar at import, ~2 CPU-s in every sandbox process, for the "iri" string format that
# no notebook schema uses. Marking it absent makes jsonschema skip that one format check.
sys.modules.setdefault("rfc3987_syntax", None)

from .runner import run_submission  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw5.sandbox")
    parser.add_argument("notebook")
    parser.add_argument("out")
    parser.add_argument("--deadline", type=float, default=None)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    result = run_submission(args.notebook, deadline=args.deadline)
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result.to_dict(), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
