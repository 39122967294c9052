# The two commands a newcomer needs: `make run` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := $(CURDIR)/demo-project
PORT ?= 9950
DEBS := liblo-tools

.PHONY: run test install test-deps bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	@mkdir -p $(DEMO)
	@echo "Try, in another terminal:"
	@echo "  $(VENV)/bin/dawgen send generate prompt='punchy kick' count=4 --wait --port $(PORT)"
	$(VENV)/bin/dawgen serve --project $(DEMO) --port $(PORT) --state-dir $(DEMO)/.dawgen-state

# Debian packages the tests use (liblo's oscsend/oscdump as an independent OSC client).
test-deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# Suites of other runners (busted for Reaper scripts, node for the Max for Live device) add
# themselves here with `EXTRA_TESTS += target`; pytest runs last and prints the closing line.
EXTRA_TESTS :=

test: install test-deps
	@for t in $(EXTRA_TESTS); do $(MAKE) --no-print-directory $$t || exit 1; done
	$(PY) -m pytest

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo-project .pytest_cache
