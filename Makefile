# Two entry points, both self-contained on a fresh clone: `make test` and `make bench`.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: test bench install clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

test: $(STAMP)
	$(VENV)/bin/python -m pytest -q
	NUMBA_ENABLE_CUDASIM=1 $(VENV)/bin/python -m pytest -q tests/cuda

bench: $(STAMP)
	$(VENV)/bin/python -m benchmarks run benchmarks/sweeps/quick.toml

clean:
	rm -rf $(VENV) results .pytest_cache
