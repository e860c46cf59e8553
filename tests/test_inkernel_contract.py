"""The in-kernel files share one namespace: their load contracts (PROVIDES / NEEDS) are exact.

Each file under hw5/sandbox/inkernel/ declares what it defines for the files after it and what it
uses from the files before it; the loader checks the declarations as the files load in the
student's kernel, and this test checks that they are exactly what the code uses (read with
``symtable``, the compiler's own scopes), so a reader or a linter can follow every shared name.
"""
from __future__ import annotations

import ast
import builtins
import subprocess
import sys
import symtable

import pytest

from hw5.kit import mnist
from hw5.sandbox import inkernel

KIT_DIR = mnist.__file__.rsplit("/", 1)[0]
CALLED_BY_THE_LOADER = {"install"}


def _source(name: str) -> str:
    return (inkernel.HERE / name).read_text(encoding="utf-8")


def _declared(name: str) -> tuple[set, set]:
    found = {}
    for node in ast.parse(_source(name)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                getattr(node.targets[0], "id", None) in ("PROVIDES", "NEEDS"):
            found[node.targets[0].id] = set(ast.literal_eval(node.value))
    assert set(found) == {"PROVIDES", "NEEDS"}, f"{name} declares no load contract"
    return found["PROVIDES"], found["NEEDS"]


def _defined_and_used(name: str) -> tuple[set, set]:
    """Names the file binds at module level, and names it uses from outside itself."""
    top = symtable.symtable(_source(name), name, "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    used = set()

    def walk(table):
        for symbol in table.get_symbols():
            global_here = table.get_type() == "module" or symbol.is_global()
            if global_here and symbol.is_referenced():
                used.add(symbol.get_name())
        for child in table.get_children():
            walk(child)

    walk(top)
    return defined, used - defined - set(dir(builtins))


@pytest.mark.parametrize("name", inkernel.FILES)
def test_a_file_uses_exactly_what_it_declares_it_needs(name):
    _, needs = _declared(name)
    _, used = _defined_and_used(name)
    assert used == needs, (f"{name}: used but not in NEEDS: {sorted(used - needs)}; "
                           f"in NEEDS but unused: {sorted(needs - used)}")


def test_every_need_is_provided_by_an_earlier_file_and_every_provision_is_used():
    provided, used_later = set(), set()
    for name in inkernel.FILES:
        provides, needs = _declared(name)
        defined, _ = _defined_and_used(name)
        assert needs <= provided, f"{name} needs {sorted(needs - provided)}, not provided before it"
        assert provides <= defined, f"{name} provides {sorted(provides - defined)} it never defines"
        assert not provides & provided, f"{name} redefines {sorted(provides & provided)}"
        provided |= provides
        used_later |= needs
    assert provided - used_later == CALLED_BY_THE_LOADER


def test_the_loader_refuses_a_broken_contract():
    files = [("first.py", "PROVIDES = ('shared',)\nNEEDS = ()\nshared = 1\n"),
             ("second.py", "PROVIDES = ()\nNEEDS = ('shared', 'forgotten')\n")]
    source = inkernel.bootstrap_source({}, inkernel.Path(KIT_DIR), files=files)
    run = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode != 0
    assert "ImportError: second.py: load contract: missing forgotten" in run.stderr
