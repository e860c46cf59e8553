"""`python -m hw5 gradescope [ROOT]`: what Gradescope's ``run_autograder`` runs, as root, once per
submission.

ROOT is laid out as Gradescope's ``/autograder`` (``source/`` holding this package and the answer
key, ``submission/`` holding the upload, ``results/``, ``submission_metadata.json``); it defaults
to ``$HW5_GRADESCOPE_ROOT`` or ``/autograder``. The notebook is picked by the rule shared with
`grade-all` (`hw5.submissions`), graded by `grade_to_file`, and ``results/results.json`` is
always written: with no notebook, a zero result saying what to upload.
"""
from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path

from hw5 import settings
from hw5.grading.cli import fallback_results, grade_to_file
from hw5.grading.report import write_results
from hw5.grading.results import NOT_A_NOTEBOOK
from hw5.kit import spec
from hw5.submissions import pick_notebook

DEFAULT_ROOT = "/autograder"
# Only root may read these once grading starts: the answer key, the results, who submitted.
PRIVATE = (("source", 0o700), ("results", 0o700), ("submission_metadata.json", 0o600))


def register(sub) -> None:
    p = sub.add_parser("gradescope", help="Gradescope's entry (run_autograder): grade ROOT/submission "
                                          "into ROOT/results/results.json")
    p.add_argument("root", nargs="?", default=None,
                   help=f"the Gradescope root (default ${settings.GRADESCOPE_ROOT_ENV_VAR} or "
                        f"{DEFAULT_ROOT})")
    p.add_argument("--prepare", action="store_true",
                   help="setup.sh's step: build what every grade reuses (the kernels' font list) "
                        "under ROOT, grade nothing")
    p.set_defaults(func=gradescope_command)


def gradescope_command(args) -> int:
    root = gradescope_root(args.root)
    if args.prepare:
        return prepare(root)
    run(root)
    return 0


def prepare(root: Path) -> int:
    """Build, once in the image, what each grade would otherwise build in the student's kernel."""
    from hw5.sandbox import fontcache

    _use_cache_under(root)
    built = fontcache.font_lists()
    print("kernels' font list: " + (", ".join(map(str, built)) or
                                    "none (matplotlib could not build one; each kernel will)"))
    return 0


def _use_cache_under(root: Path) -> None:
    os.environ.setdefault(settings.CACHE_DIR_ENV_VAR, str(root / settings.GRADESCOPE_CACHE_DIR))


def gradescope_root(arg: str | None = None) -> Path:
    return Path(arg or os.environ.get(settings.GRADESCOPE_ROOT_ENV_VAR) or DEFAULT_ROOT)


def run(root: Path) -> dict:
    """Grade the submission under ``root``; return the results written (never raises)."""
    out = root / "results" / "results.json"
    try:
        return _run(root, out)
    except Exception as exc:  # results.json is written whatever happens
        traceback.print_exc()
        results = fallback_results(f"{type(exc).__name__}: {exc}")
        write_results(results, out)
        return results


def _run(root: Path, out: Path) -> dict:
    out.parent.mkdir(parents=True, exist_ok=True)
    submitters = submitter_ids(root / "submission_metadata.json")
    _make_private(root)
    _use_sandbox_user()
    _use_cache_under(root)
    notebook, note = pick_notebook(root / "submission")
    if notebook is None:
        results = fallback_results(note, NOT_A_NOTEBOOK)
        write_results(results, out)
        print(note, file=sys.stderr)
        return results
    return grade_to_file(notebook, out, submitter_ids=submitters, messages=[note] if note else [])


def submitter_ids(metadata: Path) -> tuple[str, ...]:
    """The ``sid``s of the submission's users (Gradescope's metadata); () if unknown."""
    try:
        users = json.loads(metadata.read_text(encoding="utf-8")).get("users") or []
        return tuple(str(u["sid"]).strip() for u in users
                     if isinstance(u, dict) and str(u.get("sid") or "").strip())
    except (OSError, ValueError, AttributeError, TypeError):
        return ()


def _make_private(root: Path) -> None:
    for rel, mode in PRIVATE:
        try:
            os.chmod(root / rel, mode)
        except OSError:
            pass  # absent (no metadata in a local run): nothing to protect


def _use_sandbox_user() -> None:
    """As root, run the student's kernel as the unprivileged user made by setup.sh."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    import pwd  # POSIX only; `hw5 --help` imports this module on any system

    try:
        pwd.getpwnam(settings.SANDBOX_USER)
    except KeyError:
        return
    os.environ.setdefault(settings.SANDBOX_USER_ENV_VAR, settings.SANDBOX_USER)
