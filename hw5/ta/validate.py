"""`hw5 validate`: the TA's pre-release check of the whole assignment.

0. the spec is consistent (``hw5.kit.spec_problems``); if not, its problems are the only rows
   (nothing is built or graded from an inconsistent spec);
1. build into a temporary directory and compare with the committed outputs (``student_template/``,
   ``solutions/``, ``autograder/``): a stale file means someone forgot ``hw5 build``;
2. grade the solution notebook: it must get every autograded point (``spec.AUTO_POINTS``);
3. grade the unmodified student template: it must score 0;
4. grade one notebook per mutant of ``hw5.mutants.MUTANTS`` (the solution with one builder
   replaced by a faulty one) and of ``NOTEBOOK_MUTANTS`` (training cells changed): each must lose
   points, each item the mutant lists in ``fails`` must be marked failed and the feedback must
   say what its ``expect`` lists; each of ``NOTEBOOK_SPELLINGS`` (honest training cells written
   differently) must keep full marks.

Gradings run in parallel (``--jobs``, default 2), each as its own ``python -m hw5 grade`` process,
exactly as Gradescope runs it. Prints a table (what, expected, got, ok) and exits 1 on any
surprise, 2 on a usage error. ``--quick`` grades a representative subset of the mutants;
``--mutants a,b`` names them.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from hw5.grading.report import from_gradescope
from hw5.grading.results import GRADED
from hw5.kit import spec, spec_problems
from hw5.text import number, table as text_table

# One mutant per kind of fault: architecture, optimizer, grade-time training, the second builder.
QUICK_MUTANTS = ("filters_16", "wrong_optimizer_define_model_with_momentum", "frozen",
                 "two_conv_32", "refit_eta_large_one_epoch")
DEFAULT_JOBS = 2
GRADE_TIMEOUT_S = 900
_IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


@dataclass
class Row:
    """One line of the table."""

    what: str
    expected: str
    got: str
    ok: bool


@dataclass
class Job:
    """One notebook to grade and what its results must show."""

    what: str
    notebook: Path
    kind: str  # "solution", "template", "mutant" or "spelling" (full marks)
    fails: tuple = ()  # mutant: items that must be marked failed
    expect: tuple = ()  # mutant: text the feedback must contain


def register(sub) -> None:
    p = sub.add_parser("validate", help="pre-release check: build is fresh, the solution gets full "
                                        "marks, the template 0, every mutant loses points")
    p.add_argument("--root", default=".", help="repository root (default: .)")
    p.add_argument("--mutants", default=None, metavar="NAME,NAME",
                   help="grade only these mutants (comma-separated; empty: none)")
    p.add_argument("--quick", action="store_true",
                   help=f"grade only a representative subset: {', '.join(QUICK_MUTANTS)}")
    p.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                   help=f"gradings in parallel (default {DEFAULT_JOBS})")
    p.set_defaults(func=run)


def _known_mutants() -> dict:
    """Every mutant ``hw5 validate`` can grade: builder mutants, then notebook-level ones."""
    from hw5.mutants import MUTANTS_BY_NAME, NOTEBOOK_MUTANTS_BY_NAME

    return {**MUTANTS_BY_NAME, **NOTEBOOK_MUTANTS_BY_NAME}


def run(args) -> int:
    MUTANTS_BY_NAME = _known_mutants()

    if args.mutants is not None:
        names = [n.strip() for n in args.mutants.split(",") if n.strip()]
    elif args.quick:
        names = list(QUICK_MUTANTS)
    else:
        names = list(MUTANTS_BY_NAME)
    unknown = [n for n in names if n not in MUTANTS_BY_NAME]
    if unknown:
        print(f"hw5 validate: unknown mutant(s) {', '.join(unknown)}; known: "
              f"{', '.join(MUTANTS_BY_NAME)}", file=sys.stderr)
        return 2
    rows = validate(Path(args.root), names, jobs=max(1, args.jobs))
    print(table(rows))
    bad = [r for r in rows if not r.ok]
    print(f"\n{len(rows) - len(bad)}/{len(rows)} as expected"
          + (f"; SURPRISES: {', '.join(dict.fromkeys(r.what for r in bad))}" if bad else ""))
    return 1 if bad else 0


def validate(root: Path, mutant_names, jobs: int = DEFAULT_JOBS, log=sys.stderr) -> list[Row]:
    """Every check, in table order (spec first, build, then solution, template, mutants)."""
    rows = check_spec()
    if not rows[0].ok:
        return rows
    root = Path(root).resolve()
    rows.append(check_build(root))
    with tempfile.TemporaryDirectory(prefix="hw5-validate-") as tmp:
        work = Path(tmp)
        try:
            job_list = make_jobs(root, mutant_names, work)
        except Exception as exc:  # no solution notebook, a mutant that does not apply...
            return rows + [Row("notebooks", "solution, template and mutants written",
                               f"{type(exc).__name__}: {exc}", False)]
        results = grade_all(job_list, work, jobs, log)
        rows += [judge(job, results[job.what]) for job in job_list]
    return rows


# ---------------------------------------------------------------------------------------------
# 0. The spec is consistent
# ---------------------------------------------------------------------------------------------
def check_spec(spec_=spec) -> list[Row]:
    """One row when ``spec_`` is consistent, else one failing row per problem."""
    found = spec_problems.problems(spec_)
    if not found:
        return [Row("spec", "consistent (hw5.kit.spec_problems)", "no problems", True)]
    return [Row("spec", "consistent", problem, False) for problem in found]


# ---------------------------------------------------------------------------------------------
# 1. The build is fresh
# ---------------------------------------------------------------------------------------------
def check_build(root: Path) -> Row:
    from hw5.build import AUTOGRADER_DIR, SOLUTIONS_DIR, STUDENT_DIR, build_all
    from hw5.build.readme import README_NAME

    what, expected = "build", "committed outputs = a fresh `hw5 build`"
    try:
        with tempfile.TemporaryDirectory(prefix="hw5-validate-build-") as tmp:
            base = Path(tmp).resolve()
            with contextlib.redirect_stdout(io.StringIO()):
                written = build_all(root, base)
            fresh = {p.relative_to(base).as_posix(): p.read_bytes() for p in map(Path, written)
                     if p.relative_to(base).parts[0] in (STUDENT_DIR, SOLUTIONS_DIR, AUTOGRADER_DIR,
                                                         README_NAME)}
    except Exception as exc:
        return Row(what, expected, f"the build failed: {type(exc).__name__}: {exc}", False)
    missing = sorted(rel for rel in fresh if not (root / rel).is_file())
    stale = sorted(rel for rel in fresh if (root / rel).is_file()
                   and (root / rel).read_bytes() != fresh[rel])
    # student_template/ is entirely generated: anything else there is left over.
    extra = sorted(p.relative_to(root).as_posix() for p in (root / STUDENT_DIR).rglob("*")
                   if p.is_file() and not (set(p.relative_to(root).parts) & _IGNORED_PARTS)
                   and p.relative_to(root).as_posix() not in fresh)
    if not (missing or stale or extra):
        return Row(what, expected, f"identical ({len(fresh)} files)", True)
    parts = [f"{label}: {', '.join(names)}" for label, names in
             (("stale", stale), ("missing", missing), ("not generated", extra)) if names]
    return Row(what, expected, "; ".join(parts) + " (run `hw5 build`)", False)


# ---------------------------------------------------------------------------------------------
# 2-4. Notebooks to grade
# ---------------------------------------------------------------------------------------------
def make_jobs(root: Path, mutant_names, work: Path) -> list[Job]:
    import nbformat

    from hw5.build import SOLUTIONS_DIR, STUDENT_DIR
    from hw5.mutants import NOTEBOOK_MUTANTS_BY_NAME, apply_notebook_mutant, apply_to_notebook

    solution_path = root / SOLUTIONS_DIR / spec.NOTEBOOK_NAME
    template_path = root / STUDENT_DIR / spec.NOTEBOOK_NAME
    jobs = [Job("solution", solution_path, "solution"), Job("template", template_path, "template")]
    solution_nb = nbformat.read(str(solution_path), as_version=4)
    known = _known_mutants()
    for name in mutant_names:
        m = known[name]
        path = work / "notebooks" / f"mutant_{name}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        mutated = (apply_notebook_mutant(solution_nb, m) if name in NOTEBOOK_MUTANTS_BY_NAME
                   else apply_to_notebook(solution_nb, m.builder, m.source))
        nbformat.write(mutated, str(path))
        spelling = name in NOTEBOOK_MUTANTS_BY_NAME and not m.fails
        jobs.append(Job(f"{'spelling' if spelling else 'mutant'} {name}", path,
                        "spelling" if spelling else "mutant", tuple(m.fails),
                        tuple(m.expect) if name in NOTEBOOK_MUTANTS_BY_NAME else ()))
    return jobs


def grade_one(notebook: Path, out: Path) -> dict:
    """``python -m hw5 grade`` in its own process; the results.json, or {"error": why}."""
    import hw5

    env = dict(os.environ)
    package_parent = str(Path(hw5.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run([sys.executable, "-m", "hw5", "grade", str(notebook), "-o", str(out)],
                              cwd=out.parent, env=env, capture_output=True, text=True,
                              timeout=GRADE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"`hw5 grade` took more than {GRADE_TIMEOUT_S} s"}
    if proc.returncode != 0 or not out.is_file():
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or ["no output"]
        return {"error": f"`hw5 grade` exited {proc.returncode}: {tail[0]}"}
    try:
        return json.loads(out.read_text(encoding="utf-8"))
    except ValueError as exc:
        return {"error": f"results.json is not JSON ({exc})"}


def grade_all(jobs: list[Job], work: Path, workers: int, log=sys.stderr) -> dict:
    """what -> results.json (or {"error": ...}), grading ``workers`` notebooks at a time."""
    results = {}
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_one, job.notebook,
                               work / "results" / f"{i:02d}.json"): job
                   for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                results[job.what] = future.result()
            except Exception as exc:
                results[job.what] = {"error": f"{type(exc).__name__}: {exc}"}
            if log is not None:
                print(f"[{time.monotonic() - start:5.0f} s] graded {job.what}", file=log,
                      flush=True)
    return results


def failed_items(results: dict) -> list[str]:
    """Ids of the items a results.json records as failed, in spec order (read from the result
    model it carries; [] when it carries none)."""
    result = from_gradescope(results)
    return result.failed_items() if result is not None else []


def judge(job: Job, results: dict) -> Row:
    full = spec.AUTO_POINTS
    if "error" in results:
        return Row(job.what, _expected(job), results["error"], False)
    result = from_gradescope(results)
    if result is None:
        return Row(job.what, _expected(job), "results.json without the hw5 result model", False)
    score = result.score
    failed = result.failed_items()
    got = f"{number(score)}/{number(full)}"
    if result.status != GRADED:
        got += f"; status {result.status}"
    if job.kind in ("solution", "spelling"):
        ok = score == full and result.status == GRADED
        if failed:
            got += f"; failed: {', '.join(failed)}"
    elif job.kind == "template":
        ok = score == 0
    else:
        missing = [item for item in job.fails if item not in failed]
        ok = score < full and not missing
        got += f"; failed: {', '.join(failed) or 'nothing'}"
        if missing:
            got += f"; NOT failed: {', '.join(missing)}"
        feedback = "\n".join(str(t.get("output", "")) for t in results.get("tests", []))
        unsaid = [text for text in job.expect if text not in feedback]
        if unsaid:
            ok = False
            got += f"; feedback lacks: {'; '.join(unsaid)}"
    return Row(job.what, _expected(job), got, ok)


def _expected(job: Job) -> str:
    full = number(spec.AUTO_POINTS)
    if job.kind in ("solution", "spelling"):
        return f"{full}/{full}"
    if job.kind == "template":
        return f"0/{full}"
    return f"< {full}; fails {', '.join(job.fails)}"


def table(rows: list[Row]) -> str:
    return text_table([("what", "expected", "got", "ok")] + [
        (r.what, r.expected, r.got, "ok" if r.ok else "SURPRISE") for r in rows])
