#!/usr/bin/env bash
# Run the tests that need the student's kernel to run as another user
# (test_kernel_runs_as_the_sandbox_user) from a venv every user can run: the system python3 and
# the autograder's pinned requirements, in a world-readable temporary directory. As root only
# (it makes a throwaway user). Fails when any such test fails OR SKIPS (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
TESTS="${1:-kernel_runs_as_the_sandbox_user}"
[ "$(id -u)" = 0 ] || { echo "sandbox_user_test.sh: needs root" >&2; exit 1; }

python=$(PATH=/usr/local/bin:/usr/bin:/bin command -v python3 || true)
if [ -z "$python" ] || ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
  python=$(PATH=/usr/local/bin:/usr/bin:/bin command -v python3)
fi
venv=$(mktemp -d "${TMPDIR:-/tmp}/hw5-public-venv.XXXXXX")
trap 'rm -rf --one-file-system "$venv"' EXIT
chmod 755 "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install -q -r hw5/build/templates/requirements.txt "pytest>=8" "pytest-timeout>=2.3"
chmod -R a+rX "$venv"
echo "sandbox-user tests with $("$venv/bin/python" --version) from a world-readable venv"

set +e
"$venv/bin/python" -m pytest -m slow -k "$TESTS" -p no:cacheprovider -rs \
  --junitxml="$venv/junit.xml" tests
rc=$?
set -e
"$venv/bin/python" - "$venv/junit.xml" <<'PY'
import sys
import xml.etree.ElementTree as ET

suite = ET.parse(sys.argv[1]).getroot()
suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
counts = {k: int(suite.get(k, 0)) for k in ("tests", "skipped", "failures", "errors")}
print("sandbox-user tests:", counts)
if counts["tests"] == 0 or counts["skipped"]:
    sys.exit("sandbox-user tests: none ran, or some skipped (see the reasons above)")
PY
exit "$rc"
