# Espace ESAT — `make run` serves the demo, `make test` runs the whole suite.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: install run seed test test-duckdb test-postgresql lint format chromium axe postgresql replicas clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	# openfisca-france is used for its dated parameter files only (no Python dependencies).
	$(PY) -m pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
	touch $@

# Debian's chromium and its headless shell for the real-browser tests (Playwright drives the
# shell; no browser download).
chromium:
	@command -v chromium-headless-shell >/dev/null 2>&1 || { \
	  echo "Installation de chromium (Debian)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-headless-shell >/dev/null; }

# axe-core for the accessibility audit (tests/test_accessibility.py, docs/accessibility.md): the
# pinned version from the npm registry (`npm pack` checks the registry's integrity hash), unpacked
# once into .cache/axe/ (git-ignored); Playwright injects it into chromium. Debian's npm is
# installed when missing, like chromium.
AXE_VERSION := 4.14.1
AXE := .cache/axe/axe-core-$(AXE_VERSION)/axe.min.js

axe: $(AXE)

$(AXE):
	@command -v npm >/dev/null 2>&1 || { \
	  echo "Installation de npm (Debian)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	@echo "Téléchargement d'axe-core $(AXE_VERSION) (registre npm)…"
	rm -rf .cache/axe/axe-core-$(AXE_VERSION) && mkdir -p .cache/axe/axe-core-$(AXE_VERSION)
	cd .cache/axe && npm pack --silent axe-core@$(AXE_VERSION) >/dev/null
	tar -xzf .cache/axe/axe-core-$(AXE_VERSION).tgz -C .cache/axe/axe-core-$(AXE_VERSION) \
	  --strip-components=1 package/axe.min.js package/LICENSE
	rm .cache/axe/axe-core-$(AXE_VERSION).tgz

# Debian's PostgreSQL for the second pass of the suite (scripts/pg_server.py runs a throwaway
# server of its own: no cluster is created or started by the package).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installation de PostgreSQL (Debian)…"; \
	  mkdir -p /etc/postgresql-common/createcluster.d && \
	  echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/espace-esat.conf && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# `make run` is the demo: demo accounts work only in demo mode, announced on every screen.
seed run: export ESAT_DEMO ?= 1

seed: install
	$(PY) -m data.demo

run: seed
	$(PY) -m ui.server --server.address 127.0.0.1 --server.port $(PORT)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# The whole suite twice: on DuckDB, then on a throwaway PostgreSQL server (ESAT_TEST_PG), each
# spread over the machine's cores by pytest-xdist (tests marked xdist_group stay on one worker).
# `$(PY) -m pytest tests/test_x.py` runs one file in one process.
XDIST := -n auto --dist loadgroup
# Python may keep its compiled modules (__pycache__, git-ignored) even where the environment says
# not to: every worker, server and command of the suite would compile the project again (the
# collection alone took 11.7 s instead of 4.2 s).
unexport PYTHONDONTWRITEBYTECODE

test: install chromium axe postgresql lint
	$(PY) -m pytest $(XDIST)
	$(PY) scripts/pg_server.py -- $(PY) -m pytest $(XDIST)

test-duckdb: install chromium axe
	$(PY) -m pytest $(XDIST)

test-postgresql: install chromium axe postgresql
	$(PY) scripts/pg_server.py -- $(PY) -m pytest $(XDIST)

# Outside `make test`: three replicas on PostgreSQL behind Debian's nginx, one killed (docs/scale-out.md).
replicas: install postgresql
	@command -v nginx >/dev/null 2>&1 || { \
	  echo "Installation de nginx (Debian)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
	$(PY) -m scripts.replicas_kill --concurrency 150

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .cache
