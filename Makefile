# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# pytest's processes (pytest-xdist): one per core of a small CI machine; each has its own database and Redis db.
# A file runs whole in one of them: its module fixtures are built once and its tests keep their order.
TEST_WORKERS ?= 2
STAMP := $(VENV)/.installed-stamp
# axe-core, the accessibility checker the browser tests inject into each page (package.json, from npm).
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test lint install system-packages messages screenshots bench

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[embedded,test]'
	touch $(STAMP)

install: $(STAMP)

# npm ci keeps the packages' own (old) file times: touch the target so make sees it is up to date.
$(AXE): package.json package-lock.json | system-packages
	npm ci --no-audit --no-fund
	touch $@

## Start the app with demo data on an embedded PostgreSQL and Redis (Ctrl-C stops all).
run: $(STAMP)
	$(PY) -m contrib_budget.quickstart

## Run the static checks, then the whole test suite against PostgreSQL and Redis (127.0.0.1 by default).
test: lint $(STAMP) system-packages $(AXE)
	$(PY) -m pytest -p tests.parallel -n $(TEST_WORKERS) --dist loadfile

## Measure the app against its limits on a fresh database (BENCH_SCALE=smoke|small|large, default small; README "Bench").
## Not part of `make test`: it drops and re-creates BENCH_DATABASE_URL (default: the cb_bench database).
bench: $(STAMP)
	$(PY) -m bench

## Static checks: imports go one way (import-linter), style and likely bugs (ruff), the services' and
## selectors' types (mypy). The contracts and rules are in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

## Refresh the README's screenshots (docs/screenshots/): the accessibility crawl takes them on its way.
screenshots: $(STAMP) system-packages $(AXE)
	README_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/e2e/test_accessibility.py

# $(call apt_install,<command that succeeds when present>,<Debian packages>)
apt_install = if ! $(1) >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
		else \
			echo "Missing system packages: sudo apt-get install $(2)"; exit 1; \
		fi; \
	fi

## Debian's Chromium and npm (browser tests, axe-core), gettext (translations), Pango (WeasyPrint).
system-packages: $(STAMP)
	@$(call apt_install,command -v chromium,chromium)
	@$(call apt_install,command -v npm,nodejs npm)
	@$(call apt_install,command -v xgettext,gettext)
	@$(call apt_install,$(PY) -c "import weasyprint",libpango-1.0-0 libpangoft2-1.0-0)

## Refresh the French catalogues after changing strings (needs gettext):
## each app keeps its own locale/ (members/notifications too); the project package and templates/ use locale/.
messages: $(STAMP) system-packages
	for app in contributions cobudget accounting; do \
		(cd $$app && mkdir -p locale && ../$(PY) ../manage.py makemessages -l fr --no-obsolete >/dev/null); done
	cd members && ../$(PY) ../manage.py makemessages -l fr --no-obsolete --ignore=notifications >/dev/null
	cd members/notifications && mkdir -p locale && ../../$(PY) ../../manage.py makemessages -l fr --no-obsolete >/dev/null
	cd budgets && ../$(PY) ../manage.py makemessages -l fr --no-obsolete >/dev/null
	$(PY) manage.py makemessages -l fr --no-obsolete $(foreach dir,members budgets contributions cobudget accounting tests .venv staticfiles,--ignore=$(dir)) >/dev/null
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null
