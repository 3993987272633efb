# Haven — two commands on a fresh machine with Python 3.11+:  `make run`  and  `make test`.
#
#   make setup   .venv from the lock files, a secret key, migrations, compiled translations
#   make run     setup + demo organization + production server on http://127.0.0.1:$(PORT)
#                (haven.settings_demo: production settings plus the demo app)
#   make test    setup + lint + type check + every test on SQLite (browser tests included),
#                then the same suite on PostgreSQL when one is reachable
#   make lint    ruff, mypy, migrations in sync, the layer contracts (import-linter)
#   make axe     axe-core (pinned, from npm) for the accessibility browser tests; make test runs it
#   make bench   every benchmark in bench/ (results in bench/results/)
#   make clean   caches and test artifacts (never $(HAVEN_DATA_DIR): that is your data)
#
# Missing system tools (python3-venv, gettext, chromium, npm) are installed with apt-get when
# running as root; otherwise make stops and says what to install.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= $(shell command -v python3.11 || command -v python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HAVEN_DATA_DIR ?= var
export HAVEN_DATA_DIR
PORT ?= $(or $(HAVEN_PORT),8000)
HOST ?= 127.0.0.1
CHROMIUM ?= /usr/bin/chromium
# axe-core (the accessibility engine the browser tests inject), from npm, pinned; it lives in
# the venv so `make distclean` removes it and a fresh clone installs it again.
AXE_VERSION := 4.10.3
AXE_DIR := $(VENV)/node
AXE := $(AXE_DIR)/node_modules/axe-core/axe.min.js
ARTIFACTS := test-artifacts
PG_DEFAULT_URL := postgres://postgres@127.0.0.1:5432/test
# Tests never read $(HAVEN_DATA_DIR)/secret_key: they get a fixed key of their own.
TEST_SECRET := make-test-only-secret-key-0123456789abcdefghijklmnopq
FORMAT_CHECK ?= no
# The SQLite and PostgreSQL runs share nothing, so by default they run at the same time.
PARALLEL ?= yes
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input

# apt_install(packages, what is missing): install as root, else stop with advice.
define apt_install
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "==> installing $(1) with apt-get"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq $(1); \
	else \
		echo "$(2) is missing: install it (Debian/Ubuntu: sudo apt-get install $(1))" >&2; \
		exit 1; \
	fi
endef

.PHONY: help setup venv run test lint bench pytest pytest-postgres chromium axe gettext messages \
	migrate clean distclean

help:
	@sed -n '/^#   make setup/,/^#   make clean/s/^#//p' $(MAKEFILE_LIST)

# --- setup ---------------------------------------------------------------------------------------

setup: $(STAMP) $(HAVEN_DATA_DIR)/secret_key messages migrate

venv: $(STAMP)

# Re-installs only when a lock file (or the package definition) changes.
$(STAMP): requirements.lock requirements-dev.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Haven needs Python 3.11 or newer; found " + sys.version.split()[0])'
	@if [ ! -x $(BIN)/python ]; then \
		echo "==> creating $(VENV) with $(PYTHON)"; \
		if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
			rm -rf $(VENV); \
			ver=$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
			$(call apt_install,python3-venv python$$ver-venv,Python's venv module (ensurepip)); \
			$(PYTHON) -m venv $(VENV); \
		fi; \
	fi
	@echo "==> installing pinned dependencies from requirements-dev.lock"
	@$(PIP) install -q -r requirements-dev.lock
	@$(PIP) install -q --no-deps -e .
	@touch $@

$(HAVEN_DATA_DIR)/secret_key:
	@mkdir -p -m 700 $(HAVEN_DATA_DIR)
	@umask 077 && $(PYTHON) -c 'import secrets, string; a = string.ascii_letters + string.digits + "!#%*+-=_~"; print("".join(secrets.choice(a) for _ in range(50)))' > $@.tmp
	@mv $@.tmp $@ && chmod 600 $@
	@echo "==> created $@ (keep it private; losing it logs everyone out)"

gettext:
	@command -v msgfmt >/dev/null || { $(call apt_install,gettext,gettext (msgfmt)); }

messages: $(STAMP) $(HAVEN_DATA_DIR)/secret_key gettext
	@$(BIN)/haven compilemessages -v0 -i .venv -i .git -i $(HAVEN_DATA_DIR) -i build

migrate: $(STAMP) $(HAVEN_DATA_DIR)/secret_key
	@umask 077 && $(BIN)/haven migrate --noinput -v0

chromium:
	@[ -x $(CHROMIUM) ] || { $(call apt_install,chromium,Chromium ($(CHROMIUM))); }

axe: $(AXE)

$(AXE): $(STAMP)
	@command -v npm >/dev/null || { $(call apt_install,npm,npm (to install axe-core)); }
	@echo "==> installing axe-core $(AXE_VERSION) from npm into $(AXE_DIR)"
	@mkdir -p $(AXE_DIR)
	@npm install --silent --no-audit --no-fund --no-save --prefix $(AXE_DIR) axe-core@$(AXE_VERSION)
	@grep -q '"version": "$(AXE_VERSION)"' $(AXE_DIR)/node_modules/axe-core/package.json
	@touch $@

# --- run -----------------------------------------------------------------------------------------

# The demo settings: production's plus the demo app (demo organization, `haven demo`, `haven seed`).
run: export DJANGO_SETTINGS_MODULE := haven.settings_demo
run: setup
	@$(BIN)/haven demo
	@exec $(BIN)/haven serve --host $(HOST) --port $(PORT)

# --- checks --------------------------------------------------------------------------------------

lint: $(STAMP)
	@mkdir -p $(ARTIFACTS); rc=0; \
	echo "==> ruff check"; \
	$(BIN)/ruff check . || rc=1; \
	if [ "$(FORMAT_CHECK)" = yes ]; then \
		echo "==> ruff format --check"; $(BIN)/ruff format --check . || rc=1; \
	fi; \
	echo "==> import-linter (the layers of docs/architecture.md)"; \
	$(BIN)/lint-imports --no-cache || rc=1; \
	echo "==> mypy (strict)"; \
	HAVEN_SECRET_KEY=$(TEST_SECRET) $(BIN)/mypy haven || rc=1; \
	echo "==> migrations match the models"; \
	HAVEN_SECRET_KEY=$(TEST_SECRET) $(BIN)/haven makemigrations --check --dry-run >/dev/null \
		|| { echo "models changed without a migration: run .venv/bin/haven makemigrations" >&2; rc=1; }; \
	if [ $$rc = 0 ]; then echo "==> lint: clean" | tee -a $(ARTIFACTS)/summary.txt; \
	else echo "==> lint: FAILED (ruff, layers, mypy or migrations; see above)" | tee -a $(ARTIFACTS)/summary.txt; fi; \
	exit $$rc

# Prints "<label>: N tests ran: P passed, F failed, E errors, S skipped" from a JUnit report.
define JUNIT_SUMMARY
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[2]).getroot()
suite = root if root.tag == "testsuite" else root[0]
n, f, e, s = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
print(f"==> {sys.argv[1]}: {n} tests ran: {n - f - e - s} passed, {f} failed, {e} errors, {s} skipped")
endef
export JUNIT_SUMMARY

# One pytest run. $(1): label; $(2): DATABASE_URL ("" for the default SQLite).
# Each run gets its own data folder and, on PostgreSQL, its own test database name, so
# runs side by side or one after another never share state.
define run_pytest
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p $(ARTIFACTS); \
	echo "==> pytest on $(1)"; \
	rc=0; \
	env -u DATABASE_URL $(if $(2),DATABASE_URL='$(2)' HAVEN_TEST_DATABASE_NAME=haven_test_$$(date +%s)_$$$$) \
		HAVEN_SECRET_KEY=$(TEST_SECRET) HAVEN_DATA_DIR="$$tmp" \
		$(BIN)/pytest --junitxml=$(ARTIFACTS)/junit-$(1).xml $(PYTEST_ARGS) || rc=$$?; \
	$(BIN)/python -c "$$JUNIT_SUMMARY" $(1) $(ARTIFACTS)/junit-$(1).xml \
		| tee -a $(ARTIFACTS)/summary.txt || true; \
	exit $$rc
endef

pytest: setup chromium axe
	@$(call run_pytest,sqlite,)

pytest-postgres: setup chromium axe
	@url="$${DATABASE_URL:-}"; \
	if [ -z "$$url" ]; then \
		if $(BIN)/python -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2).close()' 2>/dev/null; then \
			url="$(PG_DEFAULT_URL)"; \
		else \
			echo "==> postgresql: none reachable at 127.0.0.1:5432 and DATABASE_URL unset; skipped" | tee -a $(ARTIFACTS)/summary.txt; \
			exit 0; \
		fi; \
	fi; \
	$(MAKE) _pytest-db DB_URL="$$url"

_pytest-db:
	@$(call run_pytest,postgresql,$(DB_URL))

test: setup chromium axe
	@mkdir -p $(ARTIFACTS) && : > $(ARTIFACTS)/summary.txt
	@rc=0; \
	$(MAKE) lint || rc=1; \
	if [ "$(PARALLEL)" = yes ]; then \
		echo "==> pytest on SQLite and on PostgreSQL side by side (logs: $(ARTIFACTS)/pytest-*.log)"; \
		$(MAKE) pytest > $(ARTIFACTS)/pytest-sqlite.log 2>&1 & sqlite=$$!; \
		$(MAKE) pytest-postgres > $(ARTIFACTS)/pytest-postgresql.log 2>&1 & postgres=$$!; \
		wait $$sqlite || rc=1; cat $(ARTIFACTS)/pytest-sqlite.log; \
		wait $$postgres || rc=1; cat $(ARTIFACTS)/pytest-postgresql.log; \
	else \
		$(MAKE) pytest || rc=1; \
		$(MAKE) pytest-postgres || rc=1; \
	fi; \
	echo; echo "==> summary"; cat $(ARTIFACTS)/summary.txt; \
	if [ $$rc = 0 ]; then echo "==> all checks passed"; else echo "==> FAILED (see above)"; fi; \
	exit $$rc

# --- benchmarks ----------------------------------------------------------------------------------

bench: setup
	@$(BIN)/python bench/run.py $(BENCH)

# --- housekeeping --------------------------------------------------------------------------------

clean:
	rm -rf $(ARTIFACTS) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov build \
		.import_linter_cache .grimp_cache \
		*.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
