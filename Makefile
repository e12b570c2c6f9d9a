# AskPro: `make run` starts the whole system with demo data, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench lint install clean-data messages vendor

$(VENV)/.installed: requirements.lock
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements.lock
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(PY) -m askpro.dev run

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) -m benchmarks

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	DATABASE_URL=$${DATABASE_URL:-postgresql://localhost/askpro_lint} $(VENV)/bin/mypy .
	$(PY) manage.py makemigrations --check --dry-run

# Extract gettext strings into locale/de/LC_MESSAGES/django.po and compile the .mo (both committed).
messages:
	$(PY) manage.py makemessages -l de --no-wrap --add-location=file --ignore=.venv --ignore=.askpro --ignore=benchmarks --ignore=tests
	$(PY) manage.py compilemessages -l de --ignore=.venv

clean-data:
	rm -rf .askpro

# Refresh the vendored calendar bundle (needs npm; `make run` does not).
EVENT_CALENDAR_VERSION ?= 5.10.1
EVENT_CALENDAR_DIR := appointments/static/appointments/vendor/event-calendar
vendor:
	rm -rf .vendor-tmp && mkdir -p .vendor-tmp
	cd .vendor-tmp && npm pack --silent @event-calendar/build@$(EVENT_CALENDAR_VERSION) && tar xzf event-calendar-build-*.tgz
	cp .vendor-tmp/package/dist/event-calendar.min.js .vendor-tmp/package/dist/event-calendar.min.css $(EVENT_CALENDAR_DIR)/
	rm -rf .vendor-tmp
	@echo "event-calendar $(EVENT_CALENDAR_VERSION) vendored into $(EVENT_CALENDAR_DIR) (update its README.md)"
