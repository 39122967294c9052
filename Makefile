# The two commands a newcomer needs: `make run` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEMO := $(CURDIR)/demo-project
PORT ?= 9950
DEBS := liblo-tools
# MIDI and audio in/out (bridge/midi, bridge/audio_io): PortAudio for sounddevice, and JACK, whose
# dummy driver gives the tests real virtual MIDI ports and audio devices on a machine without a
# sound card (jackd2 brings libjack, which python-rtmidi and PortAudio load).
DEBS += libportaudio2 jackd2
# Reaper scripts (reaper_scripts/): REAPER embeds Lua 5.4; busted runs their specs.
DEBS += lua5.4 lua-busted
# Max for Live device (max_for_live/): node builds it and runs its tests (node --test); npm installs
# acorn, which checks that the device's JavaScript is the ES5 that Max's [js] object runs.
DEBS += nodejs
# Stems (server/backends/demucs): files libsndfile cannot read (AAC/M4A, ALAC, video soundtracks) are
# decoded with ffmpeg; its tests separate an .m4a.
DEBS += ffmpeg

.PHONY: run test install install-test test-deps bench clean test-lua

# torch for the model backends' tests. 2.13.0 is a CPU build on the project's machines (a local file);
# an unpinned torch would pull a multi-GB CUDA build. On a GPU box: make test TORCH=torch.
TORCH ?= torch==2.13.0

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

# Model libraries that cannot be plain extras (they declare other Pythons or pin old torch, so
# they install with --no-deps plus a checked list) add their install target here with
# `TEST_INSTALLS += target`; each target is idempotent and runs after the test extra.
TEST_INSTALLS :=

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet '$(TORCH)'
	$(PY) -m pip install --quiet -e '.[test]'
	@for t in $(TEST_INSTALLS); do $(MAKE) --no-print-directory $$t || exit 1; done
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.test-installed

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
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# Suites of other runners (busted for Reaper scripts, node for the Max for Live device) add
# themselves here with `EXTRA_TESTS += target`; pytest runs last and prints the closing line.
EXTRA_TESTS :=
EXTRA_TESTS += test-lua
EXTRA_TESTS += test-m4l

test: install-test test-deps
	@for t in $(EXTRA_TESTS); do $(MAKE) --no-print-directory $$t || exit 1; done
	$(PY) -m pytest

# Reaper scripts' busted specs (a fake REAPER; tests/reaper_scripts/ runs them against a real daemon).
test-lua: test-deps
	cd reaper_scripts && busted --lua=lua5.4 spec

# Max for Live device: `make m4l` rebuilds max_for_live/dawgen.js and dawgen.amxd from max_for_live/src
# (commit both); test-m4l checks they are up to date and runs the node tests (a fake Max and Live;
# tests/max_for_live/ runs the device's requests against a real daemon).
.PHONY: m4l test-m4l
m4l:
	cd max_for_live && node build.js

max_for_live/node_modules/.installed: max_for_live/package-lock.json
	@command -v npm >/dev/null || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get install -y -qq npm >/dev/null; }
	cd max_for_live && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test-m4l: test-deps max_for_live/node_modules/.installed
	cd max_for_live && node build.js --check && node --test --test-reporter=spec test/*.test.js

bench: install-test
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) demo-project .pytest_cache
