#!/usr/bin/env bash
# The code checks itself: ruff (lint, then nothing else) and mypy (types, with the pydantic plugin), both
# configured in pyproject.toml. Runs both even when the first finds something, one line per finding and a
# verdict for each, and exits non-zero on any finding (2 when a tool is missing).
#   bash scripts/check-code.sh                         # the whole tree
#   bash scripts/check-code.sh --statistics            # extra arguments go to ruff
#   RUFF_OUTPUT_FORMAT=full bash scripts/check-code.sh # ruff with the source around each finding
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
VENV=${VENV:-.venv}

for tool in ruff mypy; do
    if [ ! -x "$VENV/bin/$tool" ]; then
        echo "check-code: $VENV/bin/$tool is missing; install the dev extra (make setup)" >&2
        exit 2
    fi
done

failed=()

echo "== ruff check (pyproject.toml [tool.ruff])"
if "$VENV/bin/ruff" check --no-cache --output-format "${RUFF_OUTPUT_FORMAT:-concise}" "$@" .; then
    echo "ruff: no findings"
else
    failed+=(ruff)
fi

echo
echo "== mypy (pyproject.toml [tool.mypy]: $(sed -n 's/^files = \[\(.*\)\]/\1/p' pyproject.toml | tr -d '"'))"
if "$VENV/bin/mypy" --no-incremental --cache-dir=/dev/null; then
    echo "mypy: no findings"
else
    failed+=(mypy)
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
    echo "check-code: findings from ${failed[*]}: fix them (see above) before running the tests" >&2
    exit 1
fi
echo "check-code: ruff and mypy clean"
