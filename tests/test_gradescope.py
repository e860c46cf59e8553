"""Gradescope: the autograder zip run as Gradescope runs it, the unprivileged kernel user, and the
student handout zip.

- The simulation (slow) unzips ``autograder/hw5-autograder.zip`` into a temporary root laid out
  like Gradescope's ``/autograder`` (``source/``, ``submission/``, ``results/``,
  ``submission_metadata.json``), runs ``source/run_autograder`` with ``HW5_GRADESCOPE_ROOT``
  pointing there and ``python3`` on PATH being this interpreter (this environment stands in for
  the venv that setup.sh makes), and checks its results.json equals ``python -m hw5 grade`` on the
  same notebook (only execution_time may differ): solution, template and a hostile notebook.
  Fast variants feed it files that are not notebooks (graded at once) to check which file is
  picked and what the student is told.
- The unprivileged user: a whole grading with the kernel as a throwaway system user whenever we
  are root and ``useradd`` exists (CI); the launcher makes this interpreter reachable to that
  user even under a private directory, so nothing is skipped for that. The launcher's own steps:
  tests/test_sandbox_launcher.py. The full deployment in a bare image: tests/test_rehearsal.py.
"""
from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from hw5 import settings
from hw5.build import STUDENT_DIR, autograder_zip, build_all, student_zip
from hw5.kit import spec
from hw5.sandbox import runner

from conftest import ROOT, Repo, full_scores, grade, scores

TEMPLATE = Repo(ROOT).template_path
solution = Repo(ROOT).solution

ZIP = ROOT / "autograder" / autograder_zip.ZIP_NAME
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ---------------------------------------------------------------------------------------------
# A Gradescope-like root
# ---------------------------------------------------------------------------------------------
METADATA = {  # as Gradescope writes /autograder/submission_metadata.json
    "id": 123456789,
    "created_at": "2026-11-24T14:22:32.365935-08:00",
    "assignment": {
        "id": 25828, "course_id": 1234, "title": "HW5: Image classification with CNNs",
        "release_date": "2026-11-17T00:00:00.000000-08:00",
        "due_date": "2026-12-01T23:59:00.000000-08:00", "late_due_date": None,
        "group_submission": False, "group_size": None, "total_points": "40.0",
    },
    "submission_method": "upload",
    "users": [{"email": "student@example.com", "id": 1234, "name": "Student User",
               "sid": "12345678"}],
    "previous_submissions": [{"submission_time": "2026-11-23T10:00:00.000000-08:00",
                              "score": 0.0, "results": {"score": 0.0, "tests": []}}],
}


SIDS = tuple(u["sid"] for u in METADATA["users"])  # what `hw5 grade --submitter-id` is given


def make_root(base: Path, files: dict[str, bytes], zip_path: Path = ZIP) -> Path:
    """``base`` laid out like /autograder: source/ from the zip, submission/ holding ``files``."""
    source = base / "source"
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = source / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
            os.chmod(target, (info.external_attr >> 16) & 0o777)  # zipfile drops the modes
    for rel, data in files.items():
        (base / "submission" / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / "submission" / rel).write_bytes(data)
    (base / "submission").mkdir(exist_ok=True)
    (base / "results").mkdir()
    (base / "submission_metadata.json").write_text(json.dumps(METADATA, indent=2))
    return base


def run_autograder(base: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run base/source/run_autograder as Gradescope does, python3 being this interpreter."""
    bin_dir = base / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "python3"
    if not shim.exists():
        # A script, not a symlink: a symlinked venv interpreter outside its venv loses the venv.
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        shim.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HW5_")}
    env[settings.GRADESCOPE_ROOT_ENV_VAR] = str(base)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', os.defpath)}"
    proc = subprocess.run([str(base / "source" / "run_autograder")], cwd=base, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc


def results_of(base: Path) -> dict:
    return json.loads((base / "results" / "results.json").read_text(encoding="utf-8"))


def _nb_bytes(nb) -> bytes:
    return nbformat.writes(nb).encode("utf-8")


def _comparable(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("execution_time", "_stdout")}


# ---------------------------------------------------------------------------------------------
# run_autograder -> `python -m hw5 gradescope`: which notebook, which messages (fast: the files
# are not notebooks, so the real grader answers at once)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("files, graded", [
    ({"my submission (1).ipynb": b"{}"}, None),
    ({"a.ipynb": b"{}", "HW5.IPYNB": b"{}", "z.ipynb": b"{}"}, "HW5.IPYNB"),
    ({"b.ipynb": b"{}", "a.ipynb": b"{}"}, "a.ipynb"),
    ({"a.ipynb": b"{}", "sub/hw5.ipynb": b"{}", "notes.txt": b""}, "sub/hw5.ipynb"),
    ({"hw5.ipynb": b"{}", ".ipynb_checkpoints/hw5-checkpoint.ipynb": b"{}",
      "._hw5.ipynb": b"", "__MACOSX/._hw5.ipynb": b""}, None),
])
def test_run_autograder_grades_the_picked_notebook(tmp_path, files, graded):
    base = make_root(tmp_path / "gs", files)
    run_autograder(base)
    results = results_of(base)
    # It graded a notebook ("{}": an invalid one, so a zero per question at once).
    assert results["tests"] and "No notebook found" not in results["output"], results
    if graded:
        assert (f"Your submission holds {len(files) - ('notes.txt' in files)} notebooks; only "
                f"{graded} was graded.") in results["output"], results
    else:
        assert "notebooks; only" not in results["output"]
    # Only root may read the answer key, the results and the metadata.
    for rel, mode in (("source", 0o700), ("results", 0o700), ("submission_metadata.json", 0o600)):
        assert stat.S_IMODE((base / rel).stat().st_mode) == mode, rel


@pytest.mark.parametrize("files", [{}, {"hw5.py": b"print(1)", "answers.pdf": b"%PDF",
                                        "._hw5.ipynb": b""}])
def test_run_autograder_without_a_notebook_says_what_to_upload(tmp_path, files):
    base = make_root(tmp_path / "gs", files)
    run_autograder(base)
    results = results_of(base)
    assert results["score"] == 0
    assert results["extra_data"]["hw5"]["status"] == "not-a-notebook"
    assert spec.NOTEBOOK_NAME in results["output"] and "No notebook found" in results["output"]
    for name in files:
        assert name in results["output"]


def test_gradescope_entry_writes_results_when_the_root_is_broken(tmp_path):
    """No submission folder, no metadata, no source: still a valid zero result."""
    proc = subprocess.run([sys.executable, "-m", "hw5", "gradescope", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    results = results_of(tmp_path)
    assert results["score"] == 0 and "No notebook found" in results["output"]


def test_gradescope_root_defaults(monkeypatch):
    from hw5.grading import gradescope

    monkeypatch.delenv(settings.GRADESCOPE_ROOT_ENV_VAR, raising=False)
    assert gradescope.gradescope_root() == Path("/autograder")
    monkeypatch.setenv(settings.GRADESCOPE_ROOT_ENV_VAR, "/elsewhere")
    assert gradescope.gradescope_root() == Path("/elsewhere")
    assert gradescope.gradescope_root("/given") == Path("/given")


@pytest.mark.parametrize("users, ids", [
    ([{"name": "A", "sid": "123"}, {"name": "B", "sid": 456}, {"name": "C", "sid": None},
      {"name": "D"}], ("123", "456")),
    ([], ()),
    ("not a list", ()),
])
def test_submitter_ids_from_the_metadata(tmp_path, users, ids):
    from hw5.grading.gradescope import submitter_ids

    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({**METADATA, "users": users}))
    assert submitter_ids(path) == ids
    path.write_text("{not json")
    assert submitter_ids(path) == ()
    assert submitter_ids(tmp_path / "missing.json") == ()


# ---------------------------------------------------------------------------------------------
# The unprivileged kernel user
# ---------------------------------------------------------------------------------------------
def _user_exists(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture
def throwaway_user():
    """A fresh system user (no home, no login shell), deleted afterwards; root + useradd only."""
    if not IS_ROOT:
        pytest.skip("creating a user needs root")
    if not (shutil.which("useradd") and shutil.which("userdel")):
        pytest.skip("useradd/userdel not available")
    import pwd

    name = "hw5t" + secrets.token_hex(4)
    subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir",
                    "/nonexistent", "--shell", "/usr/sbin/nologin", name],
                   check=True, capture_output=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", name], capture_output=True)
        subprocess.run(["groupdel", name], capture_output=True)  # if userdel left it


@pytest.fixture
def public_tmp():
    """A directory other users can reach (pytest's tmp_path is below a 0700 directory)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="hw5-test-"))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_kernel_runs_as_the_sandbox_user(throwaway_user, public_tmp, monkeypatch):
    """A whole sandbox run as the user: it cannot read a root-only file nor write beside it.

    Never skipped: the launcher makes this interpreter reachable to the user even when it lives
    under a private directory (/root in CI), so the test passes only where the unprivileged path
    really works."""
    user, tmp_path = throwaway_user, public_tmp
    probe = tmp_path / "probe"
    probe.mkdir()
    probe.chmod(0o777)
    secret = tmp_path / "answer_key.py"
    secret.write_text("SECRET = 1\n")
    secret.chmod(0o600)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"""
import os, json
facts = {{"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(), "home": os.environ["HOME"]}}
try:
    open({str(secret)!r}).read(); facts["secret"] = "read"
except OSError as exc:
    facts["secret"] = type(exc).__name__
try:
    open({str(tmp_path / 'planted')!r}, "w").write("x"); facts["write"] = "written"
except OSError as exc:
    facts["write"] = type(exc).__name__
open(os.path.join(os.getcwd(), "mine.txt"), "w").write("ok")  # its own directory is writable
open({str(probe / 'facts.json')!r}, "w").write(json.dumps(facts))
""")]
    path = tmp_path / "hw5.ipynb"
    nbformat.write(nb, str(path))
    monkeypatch.setenv(settings.SANDBOX_USER_ENV_VAR, user.pw_name)
    result = runner.run_submission(path)
    assert result.ok, (result.status, result.messages, result.stats.get("kernel_log_tail"))
    assert result.stats["kernel_user"] == user.pw_name
    assert not result.cell_errors, result.cell_errors
    facts = json.loads((probe / "facts.json").read_text())
    assert (facts["uid"], facts["gid"], facts["groups"]) == (user.pw_uid, user.pw_gid, [])
    assert facts["secret"] == "PermissionError" and facts["write"] == "PermissionError"
    assert not (tmp_path / "planted").exists()


# ---------------------------------------------------------------------------------------------
# The Gradescope simulation: run_autograder's results.json == `hw5 grade`'s
# ---------------------------------------------------------------------------------------------
def _grade_both(tmp_path: Path, name: str, data: bytes):
    """(run_autograder's results, `hw5 grade`'s results) for one submitted file, graded at the
    same time (two processes)."""
    base = make_root(tmp_path / "gs", {name: data})
    direct_nb = tmp_path / "direct" / name
    direct_nb.parent.mkdir()
    direct_nb.write_bytes(data)

    def gradescope():
        run_autograder(base)
        return results_of(base)

    def direct():
        return grade(direct_nb, tmp_path / "direct" / "results.json", submitter_ids=SIDS)

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(gradescope), pool.submit(direct)
        return base, a.result(), b.result()


def _assert_same(gradescope: dict, direct: dict):
    assert [t["name"] for t in gradescope["tests"]] == [t["name"] for t in direct["tests"]]
    assert [t["score"] for t in gradescope["tests"]] == [t["score"] for t in direct["tests"]]
    assert _comparable(gradescope) == _comparable(direct)
    assert isinstance(gradescope["execution_time"], (int, float))


@pytest.mark.slow
def test_gradescope_simulation_solution(tmp_path):
    base, gs, direct = _grade_both(tmp_path, spec.NOTEBOOK_NAME, _nb_bytes(solution()))
    _assert_same(gs, direct)
    assert scores(gs) == full_scores() and gs["score"] == spec.AUTO_POINTS


@pytest.mark.slow
def test_gradescope_simulation_template(tmp_path):
    # Any file name works.
    base, gs, direct = _grade_both(tmp_path, "Template copy (2).ipynb",
                                   TEMPLATE.read_bytes())
    _assert_same(gs, direct)
    assert gs["score"] == 0


HOSTILE = """
import json, os, subprocess, sys, time
ROOT = {root!r}
RECORD = {record!r}
FAKE = json.dumps({{"score": 1000.0, "output": "HACKED", "tests": []}})
written = []
targets = [os.path.join(os.getcwd(), "results.json"), os.path.expanduser("~/results.json"),
           "/autograder/results/results.json"]
for d, dirs, files in os.walk(ROOT):
    targets.append(os.path.join(d, "results.json"))
for t in targets:
    try:
        with open(t, "w") as f:
            f.write(FAKE)
        written.append(t)
    except OSError:
        pass
with open(RECORD, "w") as f:
    json.dump(written, f)
# A detached process that keeps rewriting the results for a minute.
subprocess.Popen([sys.executable, "-c",
                  "import time\\nfor _ in range(600):\\n"
                  "    open(%r, 'w').write(%r)\\n    time.sleep(0.1)"
                  % (os.path.join(ROOT, "results", "results.json"), FAKE)],
                 start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(FAKE)
"""


@pytest.mark.slow
def test_gradescope_simulation_hostile(tmp_path):
    """A notebook writing a fake results.json everywhere in the Gradescope tree, plus a detached
    process rewriting it: the grader's results.json is the last word, and equals `hw5 grade`'s."""
    base = tmp_path / "gs"
    public = Path(tempfile.mkdtemp(prefix="hw5-test-"))  # where the sandbox uid may write
    public.chmod(0o777)
    record = public / "hostile_ran.json"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(HOSTILE.format(root=str(base), record=str(record)))]
    if os.path.isdir("/autograder/results"):
        pytest.skip("a real /autograder exists here; the hostile notebook would write into it")
    data = _nb_bytes(nb)
    make_root(base, {spec.NOTEBOOK_NAME: data})
    try:
        run_autograder(base)
        gs = results_of(base)
        written = json.loads(record.read_text())
        # The kernel ran as the sandbox uid: it reached none of the Gradescope tree.
        assert not [w for w in written if w.startswith(str(base))], written
        time.sleep(1.5)  # a surviving writer would have overwritten the results by now
        assert results_of(base) == gs
        assert gs["score"] == 0 and "HACKED" not in json.dumps(gs)
        # The same notebook through `hw5 grade` (whose kernel gets a uid of its own).
        record.unlink()
        direct_nb = tmp_path / "direct" / spec.NOTEBOOK_NAME
        direct_nb.parent.mkdir()
        direct_nb.write_bytes(data)
        direct = grade(direct_nb, tmp_path / "direct" / "results.json", submitter_ids=SIDS)
    finally:
        shutil.rmtree(public, ignore_errors=True)
    _assert_same(gs, direct)


# ---------------------------------------------------------------------------------------------
# The student handout zip
# ---------------------------------------------------------------------------------------------
def _build(out: Path) -> Path:
    import contextlib

    with contextlib.redirect_stdout(io.StringIO()):
        build_all(ROOT, out)
    return out / student_zip.DIST_DIR / student_zip.ZIP_NAME


@pytest.fixture(scope="module")
def handout(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("handout-build"))


def test_student_zip_is_deterministic_and_complete(handout, tmp_path):
    built = handout.parents[1]
    _build(tmp_path)
    assert (tmp_path / student_zip.DIST_DIR / student_zip.ZIP_NAME).read_bytes() \
        == handout.read_bytes()
    with zipfile.ZipFile(handout) as zf:
        infos = zf.infolist()
        names = [i.filename for i in infos]
        assert names == sorted(names)
        assert all(i.date_time == autograder_zip.ZIP_DATE for i in infos)
        assert all(n.startswith("hw5/") for n in names)
        for required in ("hw5/hw5.ipynb", "hw5/README.md", "hw5/hw5kit/__init__.py",
                         "hw5/hw5kit/mnist.py", "hw5/hw5kit/spec.py", "hw5/hw5kit/public.py",
                         "hw5/hw5kit/mnist.npz", "hw5/hw5kit/MNIST-LICENSE.md"):
            assert required in names, required
        for q in spec.QUESTIONS:
            assert (f"hw5/tests/{q.id}.py" in names) == (q.kind == spec.AUTO), q.id
        assert zf.read("hw5/hw5kit/mnist.npz") == (ROOT / "hw5/kit/mnist.npz").read_bytes()
        assert zf.read("hw5/hw5.ipynb") == (built / STUDENT_DIR / spec.NOTEBOOK_NAME).read_bytes()
        assert not any("answer_key" in n or "solution" in n.lower() for n in names)
    # Every other file is the build's student_template/ file.
    template = {p.relative_to(built / STUDENT_DIR).as_posix(): p.read_bytes()
                for p in (built / STUDENT_DIR).rglob("*") if p.is_file()}
    with zipfile.ZipFile(handout) as zf:
        inside = {n[len("hw5/"):]: zf.read(n) for n in names if not n.endswith("mnist.npz")}
    assert inside == template


@pytest.mark.slow
def test_student_zip_runs_offline(handout, tmp_path):
    """Unzipped, the notebook's first cells import hw5kit and load MNIST from the shipped copy."""
    from nbclient import NotebookClient

    with zipfile.ZipFile(handout) as zf:
        zf.extractall(tmp_path)
    folder = tmp_path / "hw5"
    nb = nbformat.read(str(folder / spec.NOTEBOOK_NAME), as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(code) if "load_mnist()" in c.source)
    keras_home = tmp_path / "empty-keras-home"
    keras_home.mkdir()
    nb.cells = code[:upto + 1] + [nbformat.v4.new_code_cell(
        "import hw5kit.mnist, os\n"
        "assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)\n"
        f"assert os.path.samefile(hw5kit.mnist.SHIPPED, {str(folder / 'hw5kit' / 'mnist.npz')!r})\n"
        f"assert not os.path.exists({str(keras_home / 'datasets')!r}), 'nothing downloaded'\n"
        "print('offline ok')")]
    env_backup = dict(os.environ)
    try:
        os.environ.pop(spec.MNIST_ENV_VAR, None)
        os.environ["KERAS_HOME"] = str(keras_home)
        os.environ["HOME"] = str(tmp_path)
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    assert "offline ok" in nb.cells[-1].outputs[0]["text"]
