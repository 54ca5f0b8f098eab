# The course's commands. `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
JOBS ?= 2

export PYTHONPATH := $(CURDIR)
export MPLBACKEND := Agg
export TF_CPP_MIN_LOG_LEVEL := 3

.PHONY: help setup build check-build solutions test bench calibrate clean lab

help:  ## list the commands
	@grep -E '^[a-z-]+:.*## ' Makefile | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(VENV)/.installed  ## create .venv with the pinned requirements and the student kit

build: setup  ## rebuild solutions/*.ipynb from their .py sources and labs/ with nbgrader
	$(BIN)/python -m autograder.build

check-build: setup  ## fail if solutions/*.ipynb or labs/ are stale
	$(BIN)/python -m autograder.build --check

solutions: setup  ## run and autograde every reference solution (COURSE_DATA / COURSE_BUDGET apply)
	$(BIN)/python -m autograder.grade --reference

# --dist loadscope: a module's tests share one worker, so each module-scoped fixture (a whole
# batch, a lab through both graders) runs once. (loadgroup's xdist_group marks are ignored
# by pytest-xdist 3.8 under pytest 9: it renames items through an attribute pytest 9 dropped.)
test: setup  ## the test suite (offline data, smoke budget for notebooks)
	$(BIN)/python -m pytest -n $(JOBS) --dist loadscope

lab: setup  ## start JupyterLab on this course (students: labs/; instructors: the Formgrader tab), venv or not
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab --notebook-dir="$(CURDIR)"

bench: setup  ## wall times, F1 reached and thresholds for every lab
	$(BIN)/python benchmarks/bench.py

calibrate: setup  ## recalibrate the offline thresholds of every lab (both budgets)
	for lab in $$(ls solutions); do for budget in smoke full; do \
	  $(BIN)/python -m autograder.calibrate $$lab --data offline --budget $$budget --metric all --seeds 0 1 2 3 4 || exit 1; \
	done; done

clean:  ## remove build products (not the virtual environment)
	rm -rf build .pytest_cache
