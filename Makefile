# Two commands do everything on a fresh machine with Python 3.10+:
#   make demo   segment a bundled sample scene with the embedded model
#   make test   lint, the book, unit tests (OpenCV 5.x and 4.x), the notebooks (nbval) and the
#               notebooks on coco (the stand-in of the real network, where ../shared/reference has
#               its graph): the installs first (the stand-in and lint beside them), then the
#               suites side by side, JOBS at a time
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What a learner uses (the `notebooks` extra): make demo, make check and make lab need no more.
LEARNER := $(VENV)/.learner-installed
# The newest OpenCV 4.x, installed beside the default 5.x so the unit tests run on both.
CV4_VERSION := 4.14.0.94
CV4 := $(VENV)/opencv4
# The training tests (PyTorch mirror against OpenCV) need torch, the `train` extra: installed for
# the tests only, so `make demo` and `make lab` stay light, and only where pip's find-links hold a
# CPU wheel (~190 MB, as on this project's machines and CI): PyPI's own Linux wheel brings the
# CUDA libraries (several GB). Elsewhere those tests are skipped with their reason (CI, which sets
# MASKRCNN_TUTORIAL_STRICT=1, fails them instead); install the extra yourself
# (pip install -e '.[train]', CPU wheels from pytorch.org) to run them.
TRAIN := $(VENV)/.train-installed
# The book's tools (Sphinx, MyST-NB, the book theme: the `docs` extra), for `make book` and the
# browser tests that read the book.
DOCS := $(VENV)/.docs-installed
PYTEST := $(BIN)/python -m pytest
UV := $(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python
# The stand-in of the real network that the coco tests build (tests/reference.py), kept between runs.
export MASKRCNN_TUTORIAL_STANDIN_CACHE := $(CURDIR)/$(VENV)/standin
# The notebooks' stored outputs come from this model; nbval runs them on it, whatever is fetched.
NOTEBOOK_MODEL := shapes
# How many suites `make test` runs at once (this project's machines have 2 cores; each suite
# prints its output whole when it ends). JOBS=1 runs them one after another.
JOBS ?= 2
# Suites side by side run OpenCV, PyTorch and numpy's BLAS on one thread each: two suites on
# two cores otherwise fight over them (a forward pass of the stand-in took 3.7 s of CPU on one
# thread, 4.3 s on two; with only OpenCV's limited, the coco notebooks took 783 s instead of
# 602 s beside the unit suite). JOBS=1 leaves them their defaults.
SUITE_THREADS := $(if $(filter 1,$(JOBS)),,OPENCV_FOR_THREADS_NUM=1 OMP_NUM_THREADS=1)
# Each suite's output whole when it ends, where make can (GNU make 4.0+; macOS ships 3.81).
OUTPUT_SYNC := $(if $(filter output-sync,$(.FEATURES)),--output-sync=target)
# nbval's own model cache.
NBVAL_CACHE := build/nbval-cache
# Everything the suites need installed (`make tools`).
TEST_TOOLS := $(TRAIN) $(DOCS) $(CV4)/.installed
# Notebook 09 fine-tunes for this many steps under test and in its stored outputs (a reader's
# run takes its default, 300): a short schedule that still really trains.
export MASKRCNN_TUTORIAL_TRAIN_STEPS := 60

.PHONY: demo check test tools standin-cache lint book unit unit-cv4 notebooks notebooks-coco \
	run-notebooks bench lab clean

# A venv where none is (Python 3.10+).
define NEW_VENV
@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "error: Python 3.10+ is needed; set PYTHON=python3.x")'
@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
endef

# A learner's targets install with pip, as the README's steps by hand do (pip honours a
# classroom's pip configuration: a mirror, a proxy, a folder of wheels).
$(LEARNER): pyproject.toml
	$(NEW_VENV)
	$(BIN)/python -m pip install -q -e '.[notebooks]'
	@touch $@

# The test tools install with uv (itself from pip): one resolve, parallel downloads. On this
# project's 2-core machine a fresh venv with every extra took 38 s with uv, 135 s with pip.
# Bytecode is compiled at install, as pip does: where PYTHONDONTWRITEBYTECODE is set (these
# machines set it), every process would otherwise compile each module it imports. A learner's
# extra is in it, so make test on a fresh clone never runs the learner's pip step.
$(STAMP): pyproject.toml
	$(NEW_VENV)
	$(BIN)/python -m pip install -q uv
	$(UV) -e '.[test,notebooks]'
	@touch $(LEARNER) $@

# torch from pip's find-links only (see TRAIN above): uv does not read pip's configuration.
$(TRAIN): $(STAMP)
	@if $(BIN)/python -m pip install -q --no-index --no-deps 'torch==2.13.0' 2>/dev/null; then \
		$(UV) -e '.[train]' && touch $@; \
	else echo "note: no local CPU wheel of torch; the training tests will be skipped" \
		"(and fail under MASKRCNN_TUTORIAL_STRICT=1, as .ci/run sets it)"; fi

$(DOCS): $(STAMP)
	$(UV) -e '.[docs]'
	@touch $@

$(CV4)/.installed: $(STAMP)
	$(UV) --no-deps --target $(CV4) opencv-python-headless==$(CV4_VERSION)
	@touch $@

demo: $(LEARNER)
	@mkdir -p out
	$(BIN)/maskrcnn-tutorial segment maskrcnn_tutorial/data/scene.png --out out/demo.png --json out/demo.json
	@echo "open out/demo.png to see the result"

# One command per laptop before a workshop (notebooks/WORKSHOP.md): every check must say ok;
# coco is checked where it is installed (make check COCO=--coco requires it).
check: $(LEARNER)
	$(BIN)/maskrcnn-tutorial doctor $(COCO)

lint: $(STAMP)
	$(BIN)/ruff check maskrcnn_tutorial tests benchmarks notebooks book
	$(BIN)/ruff format --check maskrcnn_tutorial tests benchmarks notebooks book

# The series as a static HTML book (build/book/index.html), from the notebooks' stored outputs
# (nothing runs), warnings as errors. Publish: copy build/book to any static web host
# (.github/workflows/book.yml does it for GitHub Pages).
book: $(DOCS)
	$(BIN)/python -m book.build build/book

# The book first (`make book`, in this job: run side by side, a prerequisite would let make start
# another suite first); the browser tests then read it instead of building it again.
unit: $(TRAIN) $(DOCS)
	@$(MAKE) --no-print-directory book
	MASKRCNN_TUTORIAL_BOOK=$(CURDIR)/build/book $(PYTEST) tests -m "not notebooks_coco"

# The suite again on OpenCV 4.x, over the tests that call OpenCV (marked `opencv` in tests/conftest.py).
unit-cv4: $(CV4)/.installed $(TRAIN)
	PYTHONPATH=$(CV4) $(PYTEST) tests -p no:cacheprovider -m "opencv and not browser and not notebooks_coco"

# Its own model cache (09 registers the model it trains), not the one of the person running it.
notebooks: $(TRAIN)
	rm -rf $(NBVAL_CACHE)
	MASKRCNN_TUTORIAL_MODEL=$(NOTEBOOK_MODEL) MASKRCNN_TUTORIAL_CACHE=$(CURDIR)/$(NBVAL_CACHE) \
		$(PYTEST) -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg

# Every notebook top to bottom on coco: the stand-in installed as it (time and peak memory in
# test-artifacts/notebooks-coco.txt); skipped where ../shared/reference is absent.
notebooks-coco: $(TRAIN)
	$(PYTEST) -p no:cacheprovider tests/test_notebooks_coco.py -m notebooks_coco

# Every install the suites need, one after another (two pips must never write one venv at once).
tools: $(STAMP)
	@$(MAKE) --no-print-directory -j1 $(TEST_TOOLS)

# The stand-in of the real network the coco tests use, built into its cache (a note, and
# nothing built, where ../shared/reference is absent).
standin-cache: $(STAMP)
	$(BIN)/python -m tests.reference

# First the installs, with the stand-in and lint beside them (pip keeps one core busy, the
# stand-in the other); then the suites side by side, the longest first (make starts them in
# this order), so the short ones fill in at the end.
test:
	@$(MAKE) --no-print-directory -j$(JOBS) $(OUTPUT_SYNC) tools standin-cache lint
	@$(SUITE_THREADS) $(MAKE) --no-print-directory -j$(JOBS) $(OUTPUT_SYNC) unit notebooks-coco unit-cv4 notebooks

# Re-run every notebook in a fresh kernel and store its outputs (after changing the package or
# retraining the shapes model), so nbval compares against what a reader now sees.
run-notebooks: $(TRAIN)
	cd notebooks && for nb in [0-9][0-9]_*.ipynb; do \
		MASKRCNN_TUTORIAL_MODEL=$(NOTEBOOK_MODEL) ../$(BIN)/jupyter nbconvert --to notebook --execute --inplace "$$nb" || exit 1; done

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_postprocess.py
	$(BIN)/python benchmarks/bench_forward.py
	$(BIN)/python benchmarks/bench_mask_branch.py
	$(BIN)/python benchmarks/bench_standin.py

# JupyterLab refuses to start as root (containers run as root) unless told it is meant.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(LEARNER)
	$(BIN)/jupyter lab notebooks $(ROOT_FLAG)

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
