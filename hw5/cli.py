"""`hw5` command line: a thin table of verbs over the package's modules."""
from __future__ import annotations

import argparse
import sys


def _build(args):
    from hw5.build import build_all

    build_all(root=args.root)
    return 0


def _grade(args):
    from hw5.grading.cli import grade_command

    return grade_command(args)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hw5", description=__doc__)
    sub = parser.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("build", help="regenerate student_template/, solutions/ and autograder/ "
                                     "from assignment/")
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.set_defaults(func=_build)

    p = sub.add_parser("grade", help="grade one submission exactly as Gradescope does")
    p.add_argument("submission", help="the student's .ipynb")
    p.add_argument("-o", "--output", default="results.json", help="Gradescope results.json path")
    p.set_defaults(func=_grade)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
