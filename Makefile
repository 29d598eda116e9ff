# The workspace's commands. Everything installs from nothing into .venv.
#   make test   - set up, then run every package's test suite (TensorFlow, JAX and PyTorch backends where Keras is used)
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
        demo bench bench-shared-datasets bench-xcsvm bench-rbkernels bench-innvestigate reproduce-xcsvm reproduce-rbkernels reproduce-innvestigate build clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(STAMP): $(VENV)/bin/python $(foreach p,$(PACKAGES),$(p)/pyproject.toml) xcsvm/hatch_build.py tools/install-offline-data.sh
	$(PIP) install -q mpich mpi4py
	$(PIP) install -q -e ./shared-datasets[test]
	$(PIP) install -q -e ./xcsvm[test,bench] -e ./rbkernels[test] -e ./innvestigate[test]
	# PyTorch, CPU build (pip finds it in the machine's wheel folder; elsewhere:
	# pip install torch --index-url https://download.pytorch.org/whl/cpu).
	$(PIP) install -q "torch==2.13.0"
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
	cd rbkernels && KERAS_BACKEND=torch $(PY) -m pytest $(PYTEST_FLAGS) -m backend

test-innvestigate: setup
	cd innvestigate && KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_FLAGS)
	cd innvestigate && KERAS_BACKEND=jax $(PY) -m pytest $(PYTEST_FLAGS) -m backend
	cd innvestigate && KERAS_BACKEND=torch $(PY) -m pytest $(PYTEST_FLAGS) -m backend

# The workspace's main job: quick reproductions on offline data, assembled in reports/.
demo: setup
	mkdir -p $(REPORTS)
	$(PY) -m shared_datasets.report --out $(REPORTS)/shared-datasets
	$(PY) -m xcsvm.experiments.reproduce --quick --out $(REPORTS)/xcsvm
# shared_datasets.startup as launcher: rbkernels imports Keras before its __main__ runs.
	KERAS_BACKEND=tensorflow $(PY) -m shared_datasets.startup rbkernels.experiments.reproduce --quick --out $(REPORTS)/rbkernels
	KERAS_BACKEND=tensorflow $(PY) innvestigate/examples/run_all.py --quick --out $(REPORTS)/innvestigate
	$(PY) tools/assemble_report.py $(REPORTS)

# Every package's benchmarks, each writing its results beside its BENCHMARKS.md.
# Long: tens of minutes on 2 cores. One package alone: make bench-xcsvm (etc.).
bench: bench-shared-datasets bench-xcsvm bench-rbkernels bench-innvestigate

bench-shared-datasets: setup
	cd shared-datasets && $(PY) benchmarks/bench_generator.py

bench-xcsvm: setup
	cd xcsvm && $(PY) benchmarks/bench_validation.py
	cd xcsvm && $(PY) benchmarks/bench_liblinear.py
	cd xcsvm && $(PY) benchmarks/bench_speedup.py
	cd xcsvm && $(PY) benchmarks/bench_distributed.py

bench-rbkernels: setup
	cd rbkernels && KERAS_BACKEND=tensorflow $(PY) benchmarks/bench_kae.py
	cd rbkernels && KERAS_BACKEND=tensorflow $(PY) benchmarks/bench_accuracy.py
	cd rbkernels && $(PY) benchmarks/bench_throughput.py

bench-innvestigate: setup
	cd innvestigate && KERAS_BACKEND=tensorflow $(PY) benchmarks/bench_analyzers.py

# The thesis' tables and figures as committed in <package>/reproduction/ (see each
# <package>/REPRODUCTION.md; running times on 2 cores in README.md). Not part of make test.
reproduce-xcsvm: setup
	$(PY) -m xcsvm.experiments.validation --out xcsvm/reproduction/table_III1
	$(PY) -m xcsvm.experiments.letter_scaling --out xcsvm/reproduction/table_III1
	$(PY) -m xcsvm.experiments.reproduce --shape lshtc_small --llw-max-iter 5 --out xcsvm/reproduction/tables_III3_III4_lshtc_small
	$(PY) -m xcsvm.experiments.reproduce --out xcsvm/reproduction/tables_III3_III4_benchmark_shape
	$(PY) -m xcsvm.experiments.llw_convergence --out xcsvm/reproduction/table_III5_long --max-epochs 1000 --chunk 20 --budget-minutes 75
	$(PY) xcsvm/benchmarks/bench_speedup.py --repeats 5 --out xcsvm/reproduction/fig_III2/speedup
	$(PY) xcsvm/benchmarks/bench_distributed.py --out xcsvm/reproduction/fig_III2/distributed.md
	$(PY) -m xcsvm.experiments.time_over_c --repeats 3 --out xcsvm/reproduction/fig_III3
	$(PY) -m xcsvm.experiments.cs_stopping --out xcsvm/reproduction/fig_III3

# rbkernels: Chapter IV at the sizes of rbkernels/REPRODUCTION.md (shortened protocols). Every
# step keeps the cells already in its CSV (--resume), so with the committed CSVs this only
# re-tabulates and redraws; delete a CSV to rerun its cells.
RBK = KERAS_BACKEND=tensorflow $(PY) -m shared_datasets.startup rbkernels.experiments
RBK_OUT = rbkernels/reproduction
# Fashion-MNIST at MNIST-5k's training size (4 500 random training / 1 000 random test images)
RBK_FASHION5K = --datasets fashion_mnist --max-train 4500 --max-test 1000
RBK_SHORT = --max-epochs 10 --train-batches 50 --val-batches 10 --test-batches 20 --patience 3 --learning-rate 5e-3
reproduce-rbkernels: setup
	$(RBK).adapting_bases --datasets letter --features 3000 300 30 --repeats 3 \
	  --max-epochs 20 --train-batches 100 --val-batches 20 --test-batches 50 --patience 5 --learning-rate 5e-3 \
	  --resume --out $(RBK_OUT)/letter_table_A1
	$(RBK).adapting_bases --datasets digits --features 3000 300 30 --repeats 3 \
	  --max-epochs 20 --train-batches 100 --val-batches 20 --test-batches 50 --patience 5 --learning-rate 5e-3 \
	  --resume --out $(RBK_OUT)/digits_table_A1
	$(RBK).kernel_approximation --datasets letter --features 10 30 100 300 --repeats 3 --uab-repeats 2 \
	  --resume --out $(RBK_OUT)/kernel_approximation_letter
	$(RBK).kernel_approximation --datasets letter --features 10 30 100 300 1000 3000 --repeats 3 --uab-repeats 1 \
	  --resume --out $(RBK_OUT)/kernel_approximation_letter
	$(RBK).adapting_bases --datasets satimage dna mnist5k --features 1000 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/table_IV1_standins
	$(RBK).transfer --datasets mnist5k --features 100 1000 --splits 5 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/transfer_mnist5k
	$(RBK).deep_kernels --datasets satimage mnist5k --features 300 3000 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/deep_kernels_medium
	$(RBK).fast_kernels --datasets satimage --features 128 1024 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/fast_kernels_satimage
	$(RBK).fast_kernels --datasets mnist5k --features 128 1024 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/fast_kernels_mnist5k
	$(RBK).optimization --datasets mnist5k --features 100 1000 --repeats 1 \
	  --max-epochs 100 --patience 10 --learning-rate 1e-3 --resume --out $(RBK_OUT)/optimization_medium
	$(RBK).deep_kernels $(RBK_FASHION5K) --features 300 3000 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/deep_kernels_fashion5k
	$(RBK).fast_kernels $(RBK_FASHION5K) --features 128 --repeats 1 $(RBK_SHORT) \
	  --resume --out $(RBK_OUT)/fast_kernels_fashion5k
	$(RBK).optimization $(RBK_FASHION5K) --features 100 1000 --repeats 1 \
	  --max-epochs 100 --patience 10 --learning-rate 1e-3 --resume --out $(RBK_OUT)/optimization_fashion5k
	$(RBK).optimization --datasets satimage --features 100 1000 --repeats 1 \
	  --max-epochs 100 --patience 10 --learning-rate 1e-3 --resume --out $(RBK_OUT)/optimization_satimage
	$(RBK).reproduce --quick --out $(RBK_OUT)/quick

# innvestigate: the full-size runs of Chapter V's figures (trained networks kept in
# $(REPORTS)/innvestigate-models, so an interrupted run resumes), then Fig. V.4's timing
# (rows already measured are kept). innvestigate/reproduction/quick/ is the --quick run.
INNVESTIGATE_FIGURES = visualizations misprediction compare_methods hyperparameters \
	compare_architectures batchnorm_handling perturbation_analysis bounding_box_analysis
reproduce-innvestigate: setup
	KERAS_BACKEND=tensorflow $(PY) innvestigate/examples/run_all.py --out innvestigate/reproduction/full \
		--models-dir $(REPORTS)/innvestigate-models --resume --only $(INNVESTIGATE_FIGURES)
	KERAS_BACKEND=tensorflow $(PY) innvestigate/benchmarks/fig_v4_runtime.py --out innvestigate/reproduction/full \
		--images 512 --batch 16 --size 112
	KERAS_BACKEND=tensorflow $(PY) innvestigate/benchmarks/fig_v4_runtime.py --out innvestigate/reproduction/fig_v4_224 \
		--images 512 --batch 16 --size 224
	# Fig. V.9: 2.1.2's two batch-norm linearisations against closed formulas (needs the 2.1.2
	# interpreter of tools/innvestigate_crosscheck/README.md; skipped without it)
	if [ -x .venv-inn212/bin/python ]; then .venv-inn212/bin/python \
		innvestigate/benchmarks/fig_v9_batchnorm_212.py --out innvestigate/reproduction/full; fi

build: setup
	@for p in $(PACKAGES); do (cd $$p && $(CURDIR)/$(VENV)/bin/hatch build -c) || exit 1; done

# Habits. `make lint`: ruff (lint, then format check; ruff.toml) and mypy (strict on
# shared-datasets and on xcsvm's public API; each package's pyproject.toml), all steps run,
# the target fails if any did. `make format`: what ruff can fix, fixed. `make coverage`:
# each package's suite under coverage (pytest-cov), with a missed-lines table and the total.
# None of them is part of `make test`. pre-commit runs the same checks on each commit:
# .venv/bin/pre-commit install.
.PHONY: lint format coverage
LINT_STAMP := $(VENV)/.stamp-lint

# mypy resolves numpy, scipy and matplotlib through shared-datasets' dependencies.
$(LINT_STAMP): $(VENV)/bin/python tools/lint-requirements.txt shared-datasets/pyproject.toml
	$(PIP) install -q -r tools/lint-requirements.txt
	$(PIP) install -q -e ./shared-datasets
	touch $@

lint: $(LINT_STAMP)
	@status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff format --check . || status=1; \
	(cd shared-datasets && $(CURDIR)/$(VENV)/bin/mypy) || status=1; \
	(cd xcsvm && $(CURDIR)/$(VENV)/bin/mypy) || status=1; \
	exit $$status

format: $(LINT_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

COV_FLAGS := --cov-report=term --cov-branch
coverage: setup
	cd shared-datasets && $(PY) -m pytest $(PYTEST_FLAGS) --cov=shared_datasets $(COV_FLAGS)
	cd xcsvm && $(PY) -m pytest $(PYTEST_FLAGS) --cov=xcsvm $(COV_FLAGS)
	cd rbkernels && KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_FLAGS) --cov=rbkernels $(COV_FLAGS)
	cd innvestigate && KERAS_BACKEND=tensorflow $(PY) -m pytest $(PYTEST_FLAGS) --cov=innvestigate $(COV_FLAGS)

clean:
	rm -rf $(VENV) $(REPORTS) */dist */build .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
	find xcsvm/src -name '*.so' -delete -o -name '*.c' -delete

# The documentation site (docs/): one Sphinx site for the four packages, built from nothing
# into docs/_build/html with warnings as errors. `make docs-check` opens the built site in
# headless Chromium (Debian's `chromium`, installed here when missing and run as root) and
# writes screenshots to docs/_build/screenshots/. Neither is part of `make test`.
.PHONY: docs docs-check
DOCS_STAMP := $(VENV)/.stamp-docs

$(DOCS_STAMP): $(STAMP) docs/requirements.txt
	$(PIP) install -q -r docs/requirements.txt
	touch $@

docs: $(DOCS_STAMP)
	rm -rf docs/_build/html docs/_build/doctrees
	KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=3 $(PY) -m sphinx -b html -W --keep-going -q \
	  -d docs/_build/doctrees docs docs/_build/html
	@echo "docs: open docs/_build/html/index.html"

docs-check: $(DOCS_STAMP)
	@test -f docs/_build/html/index.html || $(MAKE) --no-print-directory docs
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$DOCS_CHROMIUM" ] || \
	  { [ "$$(id -u)" = 0 ] && apt-get update -q && apt-get install -y -q chromium; } || \
	  { echo "docs-check needs Chromium: apt-get install chromium (as root), or set DOCS_CHROMIUM"; exit 1; }
	$(PY) -m pytest $(PYTEST_FLAGS) docs/tests
