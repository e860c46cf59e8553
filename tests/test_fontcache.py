"""The kernels' matplotlib font list: built once by the grader, never again by a kernel."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hw5 import settings
from hw5.sandbox import fontcache
from hw5.sandbox.limits import Limits
from hw5.sandbox.workdir import KIT_DIR, MATPLOTLIB_CONFIG, kernel_env, write_workdir

pytest.importorskip("matplotlib")

# What the kernel does when it meets matplotlib: logs "generated new fontManager" on a rebuild.
IMPORT_MATPLOTLIB = ("import logging; logging.basicConfig(level=logging.INFO); "
                     "import matplotlib.font_manager")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(settings.CACHE_DIR_ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.setattr(fontcache, "_found", {})
    return tmp_path / "cache"


def rebuilds_font_list(config_dir) -> bool:
    env = {**os.environ, "MPLCONFIGDIR": str(config_dir), "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", IMPORT_MATPLOTLIB], env=env,
                          capture_output=True, text=True, check=True)
    return "generated new fontManager" in done.stderr


def test_a_kernel_given_the_font_list_does_not_build_its_own(fresh_cache, tmp_path):
    assert rebuilds_font_list(tmp_path / "empty")  # without it, every kernel does
    fontcache.copy_into(tmp_path / "kernel")
    assert [p.name for p in (tmp_path / "kernel").iterdir()] == \
        [p.name for p in fontcache.font_lists()]
    assert not rebuilds_font_list(tmp_path / "kernel")


def test_the_font_list_is_built_once_per_cache(fresh_cache, monkeypatch):
    first = fontcache.font_lists()
    assert first and all(p.is_relative_to(fresh_cache) for p in first)
    stamps = [p.stat().st_mtime_ns for p in first]
    monkeypatch.setattr(fontcache, "_found", {})  # another grader process
    assert fontcache.font_lists() == first
    assert [p.stat().st_mtime_ns for p in first] == stamps
    assert [p.name for p in fresh_cache.iterdir()] == [first[0].parent.name]  # no staging left


def test_every_workdir_gets_the_font_list_where_the_kernel_looks(fresh_cache, tmp_path):
    root = tmp_path / "work"
    root.mkdir()
    mnist = write_workdir(root, ["x = 1"], KIT_DIR, Limits())
    env = kernel_env(root, mnist, Limits())
    assert env["MPLCONFIGDIR"] == str(root / MATPLOTLIB_CONFIG)
    assert not rebuilds_font_list(env["MPLCONFIGDIR"])


def test_gradescope_prepare_builds_it_under_the_root(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != settings.CACHE_DIR_ENV_VAR}
    done = subprocess.run([sys.executable, "-m", "hw5", "gradescope", str(tmp_path), "--prepare"],
                          env=env, capture_output=True, text=True, check=True)
    built = list((tmp_path / settings.GRADESCOPE_CACHE_DIR).glob("matplotlib-*/fontlist-*.json"))
    assert len(built) == 1 and str(built[0]) in done.stdout
