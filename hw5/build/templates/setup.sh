#!/usr/bin/env bash
# Gradescope image setup, run once as root in /autograder/source (hw5/build/templates/setup.sh;
# `hw5 build` fills in the names between at signs). It makes:
# - /autograder/venv with the pinned grading stack (requirements.txt). The hw5 package is NOT
#   installed into it: it runs from /autograder/source (python -m hw5), so the student's kernel,
#   which uses the same venv from another directory, cannot import the answer key. A venv also
#   leaves the image's python3, which Gradescope's own harness uses, untouched (and avoids
#   PEP 668's "externally managed environment").
# - the unprivileged user @SANDBOX_USER@ the student's kernel runs as: it may read and execute
#   the venv, never /autograder/source (0700 root).
# - /autograder/cache: matplotlib's font list, which every student's kernel would otherwise build
#   (~3 CPU-s a grade; hw5/sandbox/fontcache.py).
# Works with the image's own python3 from 3.10 on: Gradescope's default Ubuntu 22.04 (3.10),
# Ubuntu 24.04 (3.12), Debian 12 (3.11).
set -euo pipefail
if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
fi
python3 - <<'PY'
import sys
if sys.version_info < (@MIN_PYTHON_TUPLE@):
    sys.exit("hw5 needs Python >= @MIN_PYTHON@; this image's python3 is "
             + sys.version.split()[0] + ": choose Gradescope's default base image (Ubuntu 22.04) "
             "or a newer one")
PY
python3 -m venv @VENV@
@VENV@/bin/python -m pip install --quiet --upgrade pip
@VENV@/bin/python -m pip install --quiet -r /autograder/source/requirements.txt
if ! id -u @SANDBOX_USER@ >/dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin @SANDBOX_USER@
fi
# The students' kernels' matplotlib font list, built once here instead of in every grade.
(cd /autograder/source && @VENV@/bin/python -m hw5 gradescope --prepare)
chmod 711 /autograder
chmod -R a+rX,go-w @VENV@
# Last, after everything that reads it.
chmod 700 /autograder/source
