"""Grader code that runs INSIDE the student's kernel (never imported by the grader process).

The runner reads these files as text and sends them in the first cell, which executes them into
one fresh module dictionary holding every builtin as it was before any student code ran
(`bootstrap_source`); the student's namespace gains no names and cannot shadow ours.

Since the files share that one namespace, each declares its load contract: ``PROVIDES``, the
names it defines for the files after it, and ``NEEDS``, the names it uses from the files before
it. The loader checks both as each file loads, and tests/test_inkernel_contract.py checks that the
declarations are exactly what the code uses.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = ("serial.py", "environment.py", "fitrecord.py", "checkpoint.py")  # executed in this order
# The private copy of hw5kit the grader uses, in import order.
KIT_MODULES = ("reference_results", "spec", "mnist", "describe")
GRADER_MODULE = "_hw5_grader"


def bootstrap_source(config: dict, kit_dir: Path, files: list | None = None) -> str:
    """The first cell: run FILES (or ``files``, ``(name, text)`` pairs) in a fresh namespace,
    each checked against its load contract, then ``install(config)``."""
    if files is None:
        files = [(name, (HERE / name).read_text(encoding="utf-8")) for name in FILES]
    kit = {name: (kit_dir / f"{name}.py").read_text(encoding="utf-8") for name in KIT_MODULES}
    config = dict(config, kit=kit)
    return (
        "(lambda b: b.exec(b.compile(\n"
        "    'for _n, _t in _HW5_FILES:\\n'\n"
        "    '    _had = set(globals())\\n'\n"
        "    '    exec(compile(_t, \"<hw5-grader/\" + _n + \">\", \"exec\"), globals())\\n'\n"
        "    '    _broken = [x for x in NEEDS if x not in _had]'\n"
        "    ' + [x for x in PROVIDES if x not in globals()]\\n'\n"
        "    '    if _broken:\\n'\n"
        "    '        raise ImportError(_n + \": load contract: missing \"'\n"
        "    ' + \", \".join(_broken))\\n'\n"
        "    'install(_HW5_CONFIG)\\n', '<hw5-grader>', 'exec'),\n"
        f"    dict(((k, v) for k, v in b.vars(b).items() if not k.startswith('__')),\n"
        f"         __name__={GRADER_MODULE!r}, __builtins__=b,\n"
        f"         _HW5_FILES={files!r},\n"
        f"         _HW5_CONFIG=__import__('json').loads({json.dumps(config)!r}))))"
        "(__import__('builtins'))\n")
