# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install chromium gettext pango messages check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[embedded,test]'
	touch $(STAMP)

install: $(STAMP)

## Start the app with demo data on an embedded PostgreSQL and Redis (Ctrl-C stops all).
run: $(STAMP)
	$(PY) -m contrib_budget.quickstart

## Run the whole test suite against PostgreSQL and Redis (127.0.0.1 by default).
test: $(STAMP) chromium gettext pango
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest

chromium:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else \
			echo "Chromium is missing: install Debian's chromium package (sudo apt-get install chromium)."; exit 1; \
		fi; \
	fi

gettext:
	@if ! command -v xgettext >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; \
		else \
			echo "GNU gettext is missing: install Debian's gettext package (sudo apt-get install gettext)."; exit 1; \
		fi; \
	fi

pango: $(STAMP)
	@if ! $(PY) -c "import weasyprint" >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
		else \
			echo "WeasyPrint needs Pango: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0"; exit 1; \
		fi; \
	fi

## Refresh the French catalogues after changing strings (needs gettext):
## each app keeps its own locale/; the project package and templates/ use locale/.
messages: $(STAMP) gettext
	for app in members budgets contributions cobudget; do \
		(cd $$app && mkdir -p locale && ../$(PY) ../manage.py makemessages -l fr --no-obsolete >/dev/null); done
	$(PY) manage.py makemessages -l fr --no-obsolete $(foreach dir,members budgets contributions cobudget tests .venv staticfiles,--ignore=$(dir)) >/dev/null
	$(PY) manage.py compilemessages --ignore=.venv >/dev/null
