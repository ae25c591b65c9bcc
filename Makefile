# The commands of the course. Each target builds the virtual environment it needs
# (.venv) when it is missing or when requirements.txt / pyproject.toml changed.
#   make book                      build the HTML book into _build/html (the main job)
#   make test                      every check (what CI runs, via .ci/run)
#   make grade ASSIGNMENT=<name>   autograde every submission in submitted/*/<name>/
#   make lab                       open the exercises in JupyterLab
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
               ch04_stacked_lstms ch05_time_series ch06_gru

.PHONY: help book test test-fast lint sysdeps exercises check-exercises grade lab \
        bench clean venv

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- environment
$(STAMP): requirements.txt pyproject.toml
	@if ! $(BIN)/python -c "" 2>/dev/null; then \
	  echo ">> creating $(VENV) with $$($(PYTHON) --version)"; \
	  rm -rf $(VENV); $(PYTHON) -m venv $(VENV); \
	fi
	@echo ">> installing requirements into $(VENV) (first time: about 2 minutes)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -e .
	$(BIN)/python -m pip check
	@touch $@

venv: $(STAMP)

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
book: $(STAMP)
	$(BIN)/jupyter-book build . --path-output . -W -n --keep-going
	@echo ">> the book is in _build/html/index.html"

# ---------------------------------------------------------------- checks
lint: $(STAMP)
	$(BIN)/ruff check lstm_ref course_grader tests benchmarks book/_ext

PYTEST := $(BIN)/python -m pytest -p no:cacheprovider

test: sysdeps $(STAMP)
	@echo ">> [1/6] lint"
	$(MAKE) --no-print-directory lint
	@echo ">> [2/6] lstm_ref, Keras parity, repository and assignment checks"
	$(PYTEST) tests -m "not browser and not grading" --durations=5
	@echo ">> [3/6] exercises/ is what nbgrader generates from solutions/"
	$(MAKE) --no-print-directory check-exercises
	@echo ">> [4/6] every notebook of solutions/ and book/ runs (nbval)"
	$(PYTEST) --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
	  -o filterwarnings= -o addopts= --durations=0 solutions book
	@echo ">> [5/6] the book builds strictly"
	$(MAKE) --no-print-directory book
	@echo ">> [6/6] grading a test class, and the book and JupyterLab in a real browser"
	$(PYTEST) tests -m "grading or browser" --durations=0

# Regenerate the student notebooks and fail if they differ from what is committed.
exercises: $(STAMP)
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
grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "usage: make grade ASSIGNMENT=<one of: $(ASSIGNMENTS)>"; exit 2; }
	@[ -x /usr/bin/bwrap ] || command -v bwrap >/dev/null || \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo ">> installing the Debian package bubblewrap (the grading sandbox)"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      bubblewrap >/dev/null; \
	  else echo "ERROR: grading needs bubblewrap: sudo apt-get install -y bubblewrap"; exit 1; fi
	$(BIN)/python -m course_grader grade $(ASSIGNMENT) $(GRADE_ARGS)

# JupyterLab refuses to run as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(STAMP)
	@echo ">> JupyterLab on exercises/ (the Validate button runs the visible tests); Ctrl-C stops it"
	$(BIN)/jupyter lab --ip=127.0.0.1 --notebook-dir=. $(ALLOW_ROOT) \
	  --ServerApp.default_url=/lab/tree/exercises

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_lstm.py
	$(BIN)/python benchmarks/bench_lstm.py --threads 1 --tf-threads 1
	$(BIN)/python benchmarks/bench_grading.py

clean:
	rm -rf _build .pytest_cache
