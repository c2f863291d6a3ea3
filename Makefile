# The two commands: `make run` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
export DAGSTER_HOME ?= $(CURDIR)/.lakehouse/dagster_home
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: install manifest instance run test system-deps bqemulator dev docs bench bench-scale lint clean sample-mirror dbt query \
	snapshot lock check lake-history version-view vacuum migrate-lake

install: $(INSTALLED)

# Exactly the versions of requirements.lock, then the project itself, editable, on top of them (pip
# check fails if the lock lacks one of its dependencies: run `make lock`).
LOCK := requirements.lock
$(INSTALLED): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $@

# Every Python dependency of pyproject.toml (with the dev and deploy extras) pinned, for CPython 3.11 on
# Linux (.venv, the code image). Re-resolved after a change to pyproject.toml, keeping every pin that
# still fits; `make lock UPGRADE=1` takes the newest release each requirement allows instead.
UV_VERSION := 0.13.9
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra deploy --python-version 3.11 \
		--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) --quiet -o $(LOCK)

# The dbt manifest Dagster loads, prepared as dagster-dbt documents for deployment, and again
# whenever a file of the dbt project is newer than it.
MANIFEST := dbt_project/target/manifest.json
DBT_FILES := $(shell find dbt_project/models dbt_project/macros dbt_project/seeds -type f) \
	dbt_project/dbt_project.yml dbt_project/profiles.yml
manifest: $(MANIFEST)

$(MANIFEST): $(INSTALLED) $(DBT_FILES)
	$(VENV)/bin/dagster-dbt project prepare-and-package --file lake_assets/project.py
	touch $@

# The Dagster instance `make run` and `make dev` share: its config, and the download pool's limit.
TLC_DOWNLOAD_CONCURRENCY ?= 2
instance: install
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	$(VENV)/bin/dagster instance concurrency set tlc_download $(TLC_DOWNLOAD_CONCURRENCY) > /dev/null

# Materialize the whole graph on the embedded default: local lake, DuckDB, the sample mirror.
run: install manifest instance
	$(PY) -m lake_assets.materialize_all

# TEST_WORKERS pytest-xdist workers side by side: the e2e and deploy tiers spend most of their time waiting
# on daemon ticks, so two workers overlap those waits with the other tiers' work (docs/operations.md, "Tests").
TEST_WORKERS ?= 2
test: install system-deps bqemulator lint manifest
	$(PY) -m pytest -n $(TEST_WORKERS)

# The edit-test loop: ruff and the unit tier (README.md, "The two commands": how long it takes); `make lint` adds
# sqlfluff on the models, `make test` every tier.
check: install manifest
	$(VENV)/bin/ruff check lake_assets tests data benchmarks
	$(PY) -m pytest -q tests/unit

# Rewrite tests/unit/asset_graph_snapshot.json from the code's asset graph, after an intended change to it
# (review its diff and commit it with the change).
snapshot: install manifest
	UPDATE_SNAPSHOT=1 $(PY) -m pytest -q tests/unit/test_asset_graph_snapshot.py

# Debian's chromium for the e2e tier (playwright drives it; it never downloads a browser of its own),
# and Debian's PostgreSQL server for the deploy tier (its fixture starts a throwaway cluster).
system-deps:
	command -v chromium > /dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	ls /usr/lib/postgresql/*/bin/pg_ctl > /dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql)

# The BigQuery emulator of the gcp tier, in its own virtualenv (see the requirements file's comment).
BQEMU_VENV := .venv-bqemu
BQEMU_REQUIREMENTS := tests/gcp/bqemulator-requirements.txt
bqemulator: $(BQEMU_VENV)/.installed

$(BQEMU_VENV)/.installed: $(BQEMU_REQUIREMENTS)
	test -x $(BQEMU_VENV)/bin/python || $(PYTHON) -m venv $(BQEMU_VENV)
	$(BQEMU_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BQEMU_VENV)/bin/python -m pip install --quiet -r $(BQEMU_REQUIREMENTS)
	# DuckDB cannot download its spatial extension here: install it from the wheel into the HOME the
	# emulator is started with (the fixture uses this one), where DuckDB looks for extensions.
	mkdir -p $(BQEMU_VENV)/home
	HOME=$(CURDIR)/$(BQEMU_VENV)/home $(BQEMU_VENV)/bin/python -c "import duckdb; from duckdb_extensions import import_extension; import_extension('spatial', con=duckdb.connect())"
	touch $@

# Benchmarks print figures (see docs/performance.md); they are never timed tests.
bench: install manifest
	$(PY) benchmarks/run.py

# Twelve full-size yellow months through `materialize_all` against one DuckDB statement (~30 min).
bench-scale: install manifest
	$(PY) benchmarks/scale.py

# The Dagster UI on 127.0.0.1:3000, with the instance `make run` recorded its runs in.
dev: install manifest instance
	exec $(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# dbt and SQL on the local warehouse while `make dev` runs, each in its turn
# (docs/operations.md, "One warehouse, several users"): make dbt ARGS="build --select fact_trips"; make query SQL="select count(*) from core.fact_trips"
dbt: install
	$(PY) -m lake_assets.warehouse_cli dbt $(ARGS)

query: install
	$(PY) -m lake_assets.warehouse_cli query "$(SQL)"

# The versions of the conformed lake (docs/versioned-lake.md):
# make lake-history SERVICE=green MONTH=2021-01; make version-view SERVICE=green VERSION=3; make vacuum
lake-history: install
	$(PY) -m lake_assets.versions_cli history $(SERVICE) $(if $(MONTH),--month $(MONTH))

version-view: install
	$(PY) -m lake_assets.versions_cli view $(SERVICE) $(VERSION)

vacuum: install
	$(PY) -m lake_assets.versions_cli vacuum $(SERVICE)

# A lake built before the conformed layer was versioned (plain Parquet partitions), converted in place.
migrate-lake: install
	$(PY) -m lake_assets.migrate_lake

# dbt's docs site (models, columns, lineage) of the warehouse `make run` built, on 127.0.0.1:$(DOCS_PORT).
DOCS_PORT ?= 8080
DBT_DOCS_FLAGS := --project-dir dbt_project --profiles-dir dbt_project --target-path target/docs
docs: install
	DUCKDB_PATH=$${DUCKDB_PATH:-$(CURDIR)/.lakehouse/warehouse.duckdb} $(VENV)/bin/dbt docs generate $(DBT_DOCS_FLAGS)
	exec $(VENV)/bin/dbt docs serve $(DBT_DOCS_FLAGS) --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

# ruff for the Python; sqlfluff for the models, as dbt compiles them for an empty DuckDB of its own
# (so linting never touches the warehouse or the manifest Dagster reads).
LINT_DIR := $(CURDIR)/.lakehouse/lint
lint: install
	$(VENV)/bin/ruff check lake_assets tests data benchmarks
	mkdir -p $(LINT_DIR)
	cd dbt_project && DUCKDB_PATH=$(LINT_DIR)/warehouse.duckdb DUCKDB_TEMP_DIRECTORY=$(LINT_DIR)/tmp \
		DBT_TARGET=local DBT_TARGET_PATH=$(LINT_DIR)/target ../$(VENV)/bin/sqlfluff lint models --nocolor

# Rebuild data/tlc_sample/ from the real files in ../shared/data/tlc (see the script's docstring).
sample-mirror: install
	$(PY) data/make_sample_mirror.py

clean:
	rm -rf .lakehouse dbt_project/target dbt_project/logs
