# cfusage: everything a fresh machine needs, from python3 and make alone.
PYTHON ?= python3
UV := $(PYTHON) -m uv
export UV_PYTHON := $(shell command -v $(PYTHON))
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
RUN := $(UV) run --frozen --extra notebooks
.DEFAULT_GOAL := help

.PHONY: help uv env demo test lint format lab bench sample clean

help:
	@echo "make demo   sample API server -> client -> report.html (no credentials)"
	@echo "make test   lint + the whole test suite (notebooks included)"
	@echo "make lab    JupyterLab on notebooks/"
	@echo "make bench  benchmarks against their naive baselines"

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --frozen --extra notebooks
	@touch $@

env: .venv/.synced

demo: env
	$(RUN) python -m cfusage.demo

test: env
	$(RUN) ruff check cfusage tests benchmarks
	$(RUN) ruff format --check cfusage tests benchmarks
	$(RUN) pytest

format: env
	$(RUN) ruff format cfusage tests benchmarks
	$(RUN) ruff check --fix cfusage tests benchmarks

lab: env
	$(RUN) jupyter lab notebooks/

bench: env
	$(RUN) python -m benchmarks

sample: env
	$(RUN) python -m cfusage.sample data/sample

clean:
	rm -rf .venv .pytest_cache report.html
