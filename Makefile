# The two commands of the README. Each one sets up whatever is missing first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench soak setup clean

setup:
	@bash scripts/bootstrap.sh

demo: setup  ## run a simulated station end to end (capture, classify, store, forward)
	@$(VENV)/bin/trapd demo

test: setup  ## check the code (ruff, mypy), then run the default test suite (no benchmarks, no long soak)
	@bash scripts/check-code.sh
	@bash scripts/run-tests.sh

bench: setup  ## benchmarks: ratios and figures measured side by side in one run
	@$(PY) -m tests.bench

soak: setup  ## long fault-injection and soak tests
	@bash scripts/run-tests.sh -m slow

clean:
	rm -rf $(VENV) .pytest_cache
