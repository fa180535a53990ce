# The README's two commands: `make run` (dashboard on demo data) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
UV := $(PYTHON) -m uv
HALL := .venv/bin/hall
DATA ?= $(if $(HALL_DATA),$(HALL_DATA),data)

.PHONY: setup run test lint typecheck browser clean-data

# The environment only: uv (installed with pip when missing), then the locked dependencies, compiled to
# bytecode once at install (where PYTHONDONTWRITEBYTECODE is set, every start would otherwise recompile them).
setup: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv \
		|| $(PYTHON) -m pip install --quiet --user --break-system-packages uv
	$(UV) sync --locked --compile-bytecode
	@touch $@

$(DATA)/demo/.complete: | setup
	$(HALL) demo
	@touch $@

# `hall ingest` exits 1 when a whole file was quarantined; the demo has none, so any failure stops here.
$(DATA)/lake/.ingested: $(DATA)/demo/.complete
	$(HALL) ingest $(DATA)/demo/exports
	@touch $@

$(DATA)/lake/marts/_build.json: $(DATA)/lake/.ingested $(wildcard queries/*.sql)
	$(HALL) build

run: setup $(DATA)/lake/marts/_build.json
	$(HALL) serve

lint: setup
	$(UV) run --locked ruff check .

# mypy over dashboard/core, as pyproject.toml's [tool.mypy] sets it up.
typecheck: setup
	$(UV) run --locked mypy

browser:
	@scripts/ensure-browser

test: setup lint typecheck browser
	$(UV) run --locked pytest -q

clean-data:
	rm -rf $(DATA)/demo $(DATA)/lake
