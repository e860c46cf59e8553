"""`hw5 build`: regenerate student_template/, solutions/ and autograder/ from assignment/."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("build", help=__doc__.split(": ", 1)[1])
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.set_defaults(func=run)


def run(args) -> int:
    import sys

    from hw5.build import build_all
    from hw5.kit.spec_problems import SpecProblems

    try:
        build_all(root=args.root)
    except SpecProblems as exc:
        print(f"hw5 build: nothing built: {exc}", file=sys.stderr)
        return 1
    return 0
