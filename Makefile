# The commands of the course. Each target builds the virtual environment it needs
# (.venv, from the lock requirements.txt) when it is missing or the lock changed.
#   make book                      build the HTML book into _build/html (the main job)
#   make test                      every check (what CI runs, via .ci/run)
#   make grade ASSIGNMENT=<name>   autograde every submission in submitted/*/<name>/
#   make lab                       open the exercises in JupyterLab
#   make hub                       the course on JupyterHub for a class (as root)
#   make lock                      regenerate requirements.txt after editing requirements.in
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed

# nbgrader calls `alembic` from PATH and Jupyter finds kernels through it: the venv first.
export PATH := $(BIN):$(PATH)
# Keep TensorFlow's log lines out of pages and test output, and float32 results stable.
# These must be set in the process that starts the kernels; inside a notebook is too late.
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0
export PYDEVD_DISABLE_FILE_VALIDATION := 1
export JUPYTER_PLATFORM_DIRS := 1

ASSIGNMENTS := ch01_vanishing_gradients ch02_lstm_cell ch03_text_classification \
               ch04_stacked_lstms ch05_time_series ch06_gru ch07_sequence_outputs

.PHONY: help book test test-fast test-grading lint sysdeps exercises check-exercises grade lab \
        bench clean venv lock

help:
	@sed -n '1,8p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- environment
# One locked environment for learners, CI and grading. requirements.in holds the direct
# requirements; requirements.txt is the lock made from it by `make lock` (every package
# pinned, with hashes). Whenever the lock changes, .venv is rebuilt from scratch, so a
# package removed from the lock leaves the environment too. lstm_ref is installed
# editable on top, with the locked setuptools and no dependencies of its own.
# uv installs the lock (hashes required; faster than pip, which took 90 to 140 s). uv itself
# comes from requirements-uv.txt, also written by `make lock`, with hashes, through pip.
UV_VERSION := $(shell sed -n 's/^uv==\([0-9.]*\).*/\1/p' requirements-uv.txt)
LOCK_PYTHON := 3.11
UV_DIR := .cache/uv-$(UV_VERSION)
UV := $(UV_DIR)/bin/uv
$(UV): requirements-uv.txt
	rm -rf $(UV_DIR)
	$(PYTHON) -m venv $(UV_DIR)
	$(UV_DIR)/bin/pip install --quiet --disable-pip-version-check \
	  --require-hashes --no-deps -r requirements-uv.txt
	@touch $@

$(STAMP): requirements.txt | $(UV)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
	  echo "ERROR: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())'); the course needs 3.11 or newer (keras 3.15)."; \
	  echo "       Run make with PYTHON=python3.11 (or newer)."; exit 1; }
	@echo ">> building $(VENV) from scratch from the lock requirements.txt ($$($(PYTHON) --version))"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@# --compile-bytecode: the grading sandbox cannot write .pyc files (nor can any process
	@# under PYTHONDONTWRITEBYTECODE=1), so without it every kernel compiles TensorFlow anew
	$(UV) pip install --quiet --compile-bytecode --python $(BIN)/python --require-hashes \
	  --no-deps -r requirements.txt
	$(BIN)/python -m pip check
	@touch $@

# lstm_ref itself (editable): only pyproject.toml changes call for a reinstall.
EDITABLE := $(VENV)/.editable
$(EDITABLE): $(STAMP) pyproject.toml course_grader/pyproject.toml
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet \
	  --no-deps --no-build-isolation -e . -e ./course_grader \
	  2>&1 | { grep -v -e "^WARNING: Location" || true; }
	cd / && $(BIN)/python -c "import lstm_ref, course_grader"
	@touch $@

venv: $(EDITABLE)

# Regenerate the lock after editing requirements.in (uv resolves for every platform at
# once: tensorflow-cpu on Linux, tensorflow elsewhere). Existing pins are kept unless
# they must move; `make lock UPGRADE=1` moves every pin, uv's own included, to the newest
# allowed release.
lock: $(UV)
	@cp requirements.txt .cache/lock.txt; cp requirements-uv.txt .cache/lock-uv.txt
	$(UV) pip compile --quiet --universal --python-version $(LOCK_PYTHON) --generate-hashes \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade,) \
	  requirements.in -o .cache/lock.txt
	echo "uv$(if $(UPGRADE),,==$(UV_VERSION))" | $(UV) pip compile --quiet --universal \
	  --python-version $(LOCK_PYTHON) --generate-hashes --custom-compile-command "make lock" \
	  $(if $(UPGRADE),--upgrade,) - -o .cache/lock-uv.txt
	@# Replace a lock only when it changed: a new mtime alone would rebuild .venv.
	@for f in requirements.txt requirements-uv.txt; do \
	   new=.cache/lock$${f#requirements}; \
	   if cmp -s $$new $$f; then echo ">> $$f is up to date"; \
	   else mv $$new $$f; echo ">> $$f regenerated: commit it with requirements.in"; fi; done

# System packages the checks need: a browser for the page and JupyterLab tests,
# bubblewrap for the grading sandbox. Installed with apt-get when we are root.
SYSDEPS_CMDS := /usr/bin/chromium /usr/bin/bwrap
sysdeps:
	@missing=""; for f in $(SYSDEPS_CMDS); do [ -x $$f ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing Debian packages chromium and bubblewrap (missing:$$missing)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      chromium bubblewrap >/dev/null; \
	  else \
	    echo "ERROR: missing$$missing. Install them first:"; \
	    echo "  sudo apt-get install -y chromium bubblewrap"; exit 1; \
	  fi; \
	fi

# ---------------------------------------------------------------- the book
book: $(EDITABLE)
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	@echo ">> the book is in _build/html/index.html"

# ---------------------------------------------------------------- checks
lint: $(EDITABLE)
	$(BIN)/ruff check .

PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
# Each stage prints its duration, also when it fails.
TIMED = t0=$$(date +%s); trap 'echo ">> ... $(1) took $$(( $$(date +%s) - t0 )) s"' EXIT;
# nbval keeps what it executed and hands the chapters to the book's execution cache, so the
# strict build after it executes nothing (tests/nbval_keep.py). Every notebook of book/ and
# solutions/ is executed once here, two at a time.
KEPT := .scratch/nbval

test: sysdeps $(EDITABLE)
	@echo ">> [1/6] lint (Python files and notebooks)"
	@$(call TIMED,lint) $(MAKE) --no-print-directory lint
	@echo ">> [2/6] lstm_ref, Keras parity, the lock, repository and assignment checks"
	@$(call TIMED,unit tests) $(PYTEST) tests -m "not browser and not grading" -n 2 --durations=5
	@echo ">> [3/6] exercises/ is what nbgrader generates from solutions/"
	@$(call TIMED,exercises check) $(MAKE) --no-print-directory check-exercises
	@echo ">> [4/6] every notebook of solutions/ and book/ runs (nbval, 2 at a time)"
	@rm -rf $(KEPT); mkdir -p .scratch
	@$(call TIMED,nbval) $(PYTEST) -p tests.nbval_keep --nbval-keep=$(KEPT) \
	  --nbval-keep-cache=_build/.jupyter_cache --nbval-lax --nbval-current-env \
	  --nbval-cell-timeout=300 -n 2 --dist loadfile -o filterwarnings= -o addopts= \
	  --durations=0 solutions book
	@echo ">> [5/6] the book builds strictly (-W -n), from the outputs nbval just made"
	@$(call TIMED,book) $(MAKE) --no-print-directory book 2>&1 | tee .scratch/book.log
	@n=$$(grep -c "Executing notebook" .scratch/book.log || true); if [ "$$n" != 0 ]; then \
	  echo "ERROR: the book build executed $$n notebook(s) that nbval had just run;"; \
	  echo "       tests/nbval_keep.py no longer fills the execution cache."; exit 1; fi
	@echo ">> [6/6] grading a test class, and the book and JupyterLab in a real browser"
	@$(call TIMED,grading and browser) $(MAKE) --no-print-directory test-grading

# The grading and browser checks in two lanes side by side (they wait on kernels, servers
# and browsers as much as they compute): the Dask cluster and the JupyterHub class in one,
# logged to .scratch/lane2.log and shown when done; everything else, live, in the other.
# (pytest-xdist's loadgroup would do this, but its groups are lost under pytest 9.2.)
LANE2 := tests/test_grading_dask.py tests/test_hub.py
test-grading: $(EDITABLE)
	@mkdir -p .scratch
	@$(PYTEST) $(LANE2) -m "grading or browser" --durations=5 > .scratch/lane2.log 2>&1 & lane2=$$!; \
	 trap 'kill $$lane2 2>/dev/null' INT TERM; rc=0; rc2=0; \
	 $(PYTEST) tests -m "grading or browser" $(addprefix --ignore=,$(LANE2)) --durations=10 || rc=$$?; \
	 wait $$lane2 || rc2=$$?; \
	 echo ">> the other lane ($(LANE2)):"; cat .scratch/lane2.log; \
	 exit $$(( rc || rc2 ))

# Regenerate the student notebooks and fail if they differ from what is committed.
exercises: $(EDITABLE)
	$(BIN)/nbgrader generate_assignment --force --no-db "*"

check-exercises: exercises
	@if [ -n "$$(git status --porcelain -- exercises)" ]; then \
	  git status --short -- exercises; \
	  echo "ERROR: exercises/ differs from what 'nbgrader generate_assignment' makes of solutions/."; \
	  echo "       Run 'make exercises' and commit the result (never edit exercises/ by hand)."; \
	  exit 1; \
	fi

# ---------------------------------------------------------------- people
# Grading needs bubblewrap only (no browser): installed here when we are root.
grade: $(EDITABLE)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=<one of: $(ASSIGNMENTS)>"; exit 2; }
	@[ -x /usr/bin/bwrap ] || command -v bwrap >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing the Debian package bubblewrap (the grading sandbox)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      bubblewrap >/dev/null; \
	  else echo "ERROR: grading needs bubblewrap: sudo apt-get install -y bubblewrap"; exit 1; fi
	$(BIN)/python -m course_grader grade $(ASSIGNMENT) $(if $(DASK),--dask $(DASK),) $(GRADE_ARGS)

# JupyterLab refuses to run as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

# The learner's view: the file browser on exercises/ and nbgrader's Validate button only
# (lab/learner/). INSTRUCTOR=1: the whole course folder with nbgrader's instructor panels.
lab: $(EDITABLE)
ifeq ($(INSTRUCTOR),)
	@echo ">> JupyterLab on exercises/ (Validate runs the visible tests); Ctrl-C stops it"
	@# lab/learner is the config folder (its custom/custom.css keeps the Validate dialog
	@# short); the learner's own JupyterLab settings and workspaces stay in their home.
	JUPYTER_CONFIG_DIR=$(CURDIR)/lab/learner $(BIN)/jupyter lab --ip=127.0.0.1 $(ALLOW_ROOT) \
	  --ServerApp.root_dir=$(CURDIR)/exercises \
	  --LabApp.user_settings_dir=$(HOME)/.jupyter/lab/user-settings \
	  --LabApp.workspaces_dir=$(HOME)/.jupyter/lab/workspaces
else
	@echo ">> JupyterLab on the course folder with nbgrader's instructor panels; Ctrl-C stops it"
	$(BIN)/jupyter lab --ip=127.0.0.1 $(ALLOW_ROOT) --ServerApp.root_dir=$(CURDIR)
endif

bench: $(EDITABLE)
	$(BIN)/python benchmarks/bench_lstm.py
	$(BIN)/python benchmarks/bench_lstm.py --threads 1 --tf-threads 1
	$(BIN)/python benchmarks/bench_grading.py
	$(BIN)/python benchmarks/bench_hub.py

clean:
	rm -rf _build .pytest_cache

# ---------------------------------------------------------------- a class on JupyterHub
# `make hub` (as root): JupyterHub for a class on this machine, see README "Teaching a class
# on JupyterHub". The exchange folder is the one setting most sites change.
EXCHANGE          ?= /usr/local/share/nbgrader/exchange
HUB_IP            ?= 127.0.0.1
HUB_PORT          ?= 8000
HUB_STATE         ?= /srv/lstm-course-hub
INSTRUCTORS_GROUP ?= lstm-instructors
LEARNERS_GROUP    ?= lstm-learners
.PHONY: hub
hub: $(EDITABLE)
	@test "$$(id -u)" = 0 || { echo "ERROR: run 'sudo make hub': each person's server starts under their own Unix account"; exit 2; }
	export LSTM_COURSE_DIR="$(CURDIR)" LSTM_COURSE_PYTHON="$(BIN)/python" \
	  LSTM_COURSE_EXCHANGE="$(EXCHANGE)" LSTM_HUB_IP="$(HUB_IP)" LSTM_HUB_PORT="$(HUB_PORT)" \
	  LSTM_HUB_STATE="$(HUB_STATE)" LSTM_COURSE_INSTRUCTORS_GROUP="$(INSTRUCTORS_GROUP)" \
	  LSTM_COURSE_LEARNERS_GROUP="$(LEARNERS_GROUP)"; \
	$(BIN)/python hub/prepare.py && \
	exec $(BIN)/jupyterhub -f hub/jupyterhub_config.py
