# The workspace's commands. Everything installs from nothing into .venv.
#   make test   - set up, then run every package's test suite (TF and JAX backends where Keras is used)
#   make demo   - set up, then run each package's quick reproduction into reports/
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(CURDIR)/$(VENV)/bin/python
PIP := $(PY) -m pip
PACKAGES := shared-datasets xcsvm rbkernels innvestigate
STAMP := $(VENV)/.stamp-installed
REPORTS ?= reports
PYTEST_FLAGS ?= -q -p no:cacheprovider
export SHARED_DATASETS_HOME ?= $(CURDIR)/.data
export MPLBACKEND := Agg
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup test test-tools test-shared-datasets test-xcsvm test-rbkernels test-innvestigate \
        demo bench reproduce-xcsvm reproduce-rbkernels reproduce-innvestigate build clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(VENV)/bin/python $(foreach p,$(PACKAGES),$(p)/pyproject.toml) xcsvm/hatch_build.py tools/install-offline-data.sh
	$(PIP) install -q mpich mpi4py
	$(PIP) install -q -e ./shared-datasets[test]
	$(PIP) install -q -e ./xcsvm[test,bench] -e ./rbkernels[test] -e ./innvestigate[test]
	bash tools/install-offline-data.sh "$(SHARED_DATASETS_HOME)"
	touch $@

setup: $(STAMP)

# Each suite runs even when another fails; the target fails if any did.
test: setup
	@failed=""; \
	for t in test-tools test-shared-datasets test-xcsvm test-rbkernels test-innvestigate; do \
	  $(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "FAILED:$$failed"; exit 1; fi; \
	echo "all test suites passed"

test-tools: setup
	$(PY) -m pytest $(PYTEST_FLAGS) tools/tests

test-shared-datasets: setup
	cd shared-datasets && $(PY) -m pytest $(PYTEST_FLAGS)

test-xcsvm: setup
	cd xcsvm && $(PY) -m pytest $(PYTEST_FLAGS)

test-rbkernels: setup
	cd rbkernels && KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_FLAGS)
	cd rbkernels && KERAS_BACKEND=jax $(PY) -m pytest $(PYTEST_FLAGS) -m backend

test-innvestigate: setup
	cd innvestigate && KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_FLAGS)
	cd innvestigate && KERAS_BACKEND=jax $(PY) -m pytest $(PYTEST_FLAGS) -m backend

# The workspace's main job: quick reproductions on offline data, assembled in reports/.
demo: setup
	mkdir -p $(REPORTS)
	$(PY) -m shared_datasets.report --out $(REPORTS)/shared-datasets
	$(PY) tools/assemble_report.py $(REPORTS)

bench: setup
	@for p in $(PACKAGES); do \
	  for b in $$p/benchmarks/bench_*.py; do \
	    [ -e "$$b" ] || continue; echo "== $$b"; $(PY) $$b || exit 1; \
	  done; \
	done

reproduce-xcsvm: setup
	@echo "xcsvm has no reproduction yet"; exit 1

reproduce-rbkernels: setup
	@echo "rbkernels has no reproduction yet"; exit 1

reproduce-innvestigate: setup
	@echo "innvestigate has no reproduction yet"; exit 1

build: setup
	@for p in $(PACKAGES); do (cd $$p && $(CURDIR)/$(VENV)/bin/hatch build -c) || exit 1; done

clean:
	rm -rf $(VENV) $(REPORTS) */dist */build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
	find xcsvm/src -name '*.so' -delete -o -name '*.c' -delete
