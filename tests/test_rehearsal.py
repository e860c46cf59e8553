"""The Gradescope rehearsal (scripts/rehearse_gradescope.py): the committed zip in a bare Debian 12
chroot, setup.sh as root, run_autograder under Gradescope's default 1/2 CPU and 768 MB, on the
solution, the template, a hostile notebook and a notebook allocating 1 GB.

Slow (a few minutes: setup.sh installs the grading stack; the base image is cached outside the
repository), needs root, debootstrap (installed with apt-get when missing) and the package
registries. CI runs as root, where it must not skip.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "rehearse_gradescope.py"
LIMIT_S = 600  # Gradescope's default timeout


@pytest.fixture(scope="module")
def rehearsal(tmp_path_factory) -> dict:
    if os.geteuid() != 0 and not os.environ.get("CI"):
        pytest.skip("the rehearsal needs root (chroot, mounts, cgroups)")
    out = tmp_path_factory.mktemp("rehearsal") / "rehearsal.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--standard", "--json", str(out)],
                          capture_output=True, text=True, timeout=3600, cwd=ROOT)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    return {r["submission"]: r for r in report["submissions"]}


def _graded_in_time(r: dict) -> None:
    assert r["valid"], r["results"]
    assert not r["timed_out"] and r["wall_s"] <= LIMIT_S, r["wall_s"]
    assert r["exit"] == 0, r["log_tail"]


@pytest.mark.slow
def test_rehearsal_solution_full_marks(rehearsal):
    r = rehearsal["solution"]
    _graded_in_time(r)
    assert r["score"] == spec.AUTO_POINTS == r["max_score"], r["results"].get("output")
    assert r["same_as_hw5_grade"], r.get("differences")
    assert r["oom_kills"] == 0
    # Inside, the cgroup file system shows the container's limit, as on Gradescope.
    assert r["limit_seen_inside"] == 768 * 2**20


@pytest.mark.slow
def test_rehearsal_template_zero(rehearsal):
    r = rehearsal["template"]
    _graded_in_time(r)
    assert r["score"] == 0
    assert r["same_as_hw5_grade"], r.get("differences")
    assert r["oom_kills"] == 0


@pytest.mark.slow
def test_rehearsal_hostile_notebook_reaches_nothing(rehearsal):
    r = rehearsal["hostile"]
    _graded_in_time(r)
    probe = r["probe"]
    assert probe is not None, "the hostile notebook did not run (no probe)"
    assert probe["uid"] != 0, probe  # the kernel ran as the sandbox user
    for attempt in ("read_answer_key", "list_source", "read_metadata", "write_results"):
        assert probe[attempt] == "PermissionError", (attempt, probe)
    assert r["score"] == 0 and not r["hacked"]
    assert r["same_as_hw5_grade"], r.get("differences")


@pytest.mark.slow
def test_rehearsal_1gb_notebook_gets_a_valid_result(rehearsal):
    _graded_in_time(rehearsal["1gb"])
    assert rehearsal["1gb"]["same_as_hw5_grade"], rehearsal["1gb"].get("differences")


@pytest.mark.slow
def test_rehearsal_1gb_notebook_is_stopped_by_the_grader_not_the_container(rehearsal):
    r = rehearsal["1gb"]
    assert r["oom_kills"] == 0, (r["oom_kills"], r["status"], r["results"].get("output"))
    assert r["score"] == spec.AUTO_POINTS  # the answers before the allocation keep their credit
