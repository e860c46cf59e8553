"""`hw5 build`: regenerate student_template/, solutions/ and autograder/ from assignment/."""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("build", help=__doc__.split(": ", 1)[1])
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.set_defaults(func=run)


def run(args) -> int:
    from hw5.build import build_all

    build_all(root=args.root)
    return 0
