# cfusage: everything a fresh machine needs, from python3 and make alone.
PYTHON ?= python3
UV := $(PYTHON) -m uv
# The real interpreter behind any shim (pyenv): uv keeps a venv only for the Python it was made with.
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy
RUN := $(UV) run --no-sync
.DEFAULT_GOAL := help

.PHONY: help uv env browser demo test format lab bench sample screenshots clean

help:
	@echo "make demo   sample API server -> client -> report.html (no credentials)"
	@echo "make test   lint + the whole test suite (notebooks included)"
	@echo "make lab    JupyterLab on notebooks/"
	@echo "make bench  benchmarks against their naive baselines"
	@echo "make screenshots  regenerate docs/report.png and docs/explorer.png from today's output"

uv:
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check uv

.venv/.synced: pyproject.toml uv.lock | uv
	$(UV) sync --frozen --extra notebooks
	@touch $@

env: .venv/.synced

demo: env
	$(RUN) python -m cfusage.sample.demo

# The browser test drives JupyterLab in Debian's Chromium; without it that test skips with a message.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian's chromium for the browser test..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "Could not install chromium: the browser test will be skipped."; \
	  else echo "No chromium and no root apt-get: the browser test will be skipped."; fi; }

test: env browser
	$(RUN) ruff check cfusage tests benchmarks docs
	$(RUN) ruff format --check cfusage tests benchmarks docs
	$(RUN) mypy
	$(RUN) pytest -n 2 --dist loadfile

format: env
	$(RUN) ruff format cfusage tests benchmarks docs
	$(RUN) ruff check --fix cfusage tests benchmarks docs

lab: env
	$(RUN) jupyter lab notebooks/

bench: env
	$(RUN) python -m benchmarks

screenshots: env browser
	$(RUN) python docs/screenshots.py

sample: env
	$(RUN) python -m cfusage.sample --package

clean:
	rm -rf .venv .pytest_cache report.html
