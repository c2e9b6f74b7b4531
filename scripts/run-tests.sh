#!/usr/bin/env bash
# Runs pytest in the project venv. pytest's exit code 5 ("no tests collected") is a failure here:
# a test run that ran nothing must not look green.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-artifacts
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "no tests were collected: failing" >&2; exit 1; fi
exit "$rc"
