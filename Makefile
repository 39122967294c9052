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
# MIDI audio previews (server/output/midi_preview.py, `preview_audio=true`): the fluidsynth program renders
# a .mid through a General MIDI soundfont (Debian's package recommends timgm6mb-soundfont; pretty_midi
# ships the same TimGM6mb.sf2); its tests render transcribed MIDI.
DEBS += fluidsynth
# The studio page (bridge/web): its browser tests drive headless Chromium through chromedriver (selenium).
DEBS += chromium chromium-driver

.PHONY: run test install install-test test-deps bench clean test-lua

# torch for the model backends' tests. 2.13.0 is a CPU build on the project's machines (a local file);
# an unpinned torch would pull a multi-GB CUDA build. On a GPU box: make test TORCH=torch.
TORCH ?= torch==2.13.0

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[web,fast]'
	touch $@

# Model libraries that cannot be plain extras (they declare other Pythons or pin old torch, so
# they install with --no-deps plus a checked list) add their install target here with
# `TEST_INSTALLS += target`; each target is idempotent and runs after the test extra.
TEST_INSTALLS :=

# Stable Audio (server/backends/stable_audio): stable-audio-tools 0.0.20 declares Python <3.11 and
# pins torch==2.7.1 / torchaudio==2.7.1, so it cannot be a plain dependency (an unpinned install on
# 3.11 silently picks 0.0.19, which cannot load T5 from a local folder). It goes in with --no-deps
# plus the libraries its inference path imports (the `stable-audio` extra; pytorch_lightning is
# imported when a DiT is built but not declared). The installed torch is kept (a constraint).
# torchaudio: no release matches CPU torch 2.13 (2.11's compiled extension needs CUDA libraries),
# and one in site-packages that fails to import breaks transformers (it imports torchaudio whenever
# it is installed). So it goes into its own folder, $(VENV)/dawgen-torchaudio, which only the
# stable-audio backend puts on sys.path, importing its pure-Python parts (stable_audio/imports.py).
# On a machine with a matched torch + torchaudio (CUDA), install torchaudio normally instead.
SAT_VERSION ?= 0.0.20
TORCHAUDIO ?= torchaudio==2.11.0
.PHONY: install-stable-audio
install-stable-audio: $(VENV)/.stable-audio-installed
$(VENV)/.stable-audio-installed: $(VENV)/.installed
	@$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/.torch-constraint.txt 2>/dev/null \
	  || : > $(VENV)/.torch-constraint.txt
	$(PY) -m pip install --quiet -c $(VENV)/.torch-constraint.txt -e '.[stable-audio]'
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python 'stable-audio-tools==$(SAT_VERSION)'
	@if $(PY) -c "import torchaudio" >/dev/null 2>&1; then echo "torchaudio imports: kept"; else \
	  rm -rf $(VENV)/dawgen-torchaudio && \
	  $(PY) -m pip install --quiet --no-deps --target $(VENV)/dawgen-torchaudio '$(TORCHAUDIO)'; fi
	touch $@
TEST_INSTALLS += install-stable-audio

# audiocraft (server/backends/audiocraft): audiocraft 1.3.0 pins torch==2.1.0, torchaudio<2.1.2,
# xformers<0.0.23, av==11.0.0 and spacy, so it goes in with --no-deps (with xformers 0.0.35, which
# imports beside torch 2.13; on CPU dawgen runs its attention on torch) plus the `audiocraft` extra,
# keeping the installed torch (a constraint). torchaudio as for stable-audio (its own folder). spacy
# is not installed (3.8 fails to import here): dawgen provides a stand-in at import time. The wheel
# lacks audiocraft's config/ folder, which the tests' tiny models are composed from: it is taken
# from the source release into $(VENV)/dawgen-audiocraft/config.
AUDIOCRAFT_VERSION ?= 1.3.0
XFORMERS ?= xformers==0.0.35
.PHONY: install-audiocraft
install-audiocraft: $(VENV)/.audiocraft-installed
$(VENV)/.audiocraft-installed: pyproject.toml $(VENV)/.installed
	@$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/.torch-constraint.txt 2>/dev/null \
	  || : > $(VENV)/.torch-constraint.txt
	$(PY) -m pip install --quiet -c $(VENV)/.torch-constraint.txt -e '.[audiocraft]'
	$(PY) -m pip install --quiet --no-deps 'audiocraft==$(AUDIOCRAFT_VERSION)' '$(XFORMERS)'
	@if $(PY) -c "import torchaudio" >/dev/null 2>&1 || [ -d $(VENV)/dawgen-torchaudio/torchaudio ]; then \
	  echo "torchaudio: kept"; else \
	  $(PY) -m pip install --quiet --no-deps --target $(VENV)/dawgen-torchaudio '$(TORCHAUDIO)'; fi
	rm -rf $(VENV)/dawgen-audiocraft && mkdir -p $(VENV)/dawgen-audiocraft/src
	$(PY) -m pip download --quiet --no-deps --no-binary :all: 'audiocraft==$(AUDIOCRAFT_VERSION)' \
	  -d $(VENV)/dawgen-audiocraft/src
	tar xzf $(VENV)/dawgen-audiocraft/src/audiocraft-$(AUDIOCRAFT_VERSION).tar.gz -C $(VENV)/dawgen-audiocraft \
	  --strip-components=1 audiocraft-$(AUDIOCRAFT_VERSION)/config
	rm -rf $(VENV)/dawgen-audiocraft/src
	touch $@
TEST_INSTALLS += install-audiocraft

$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet '$(TORCH)'
	$(PY) -m pip install --quiet -e '.[test]'
	@for t in $(TEST_INSTALLS); do $(MAKE) --no-print-directory $$t || exit 1; done
	touch $@

# Transcription (server/backends/transcribe): Spotify's basic-pitch (Apache-2.0) runs on onnxruntime from
# the nmp.onnx inside its wheel. Its Linux requirements pin TensorFlow, which that path never imports, so
# it installs with --no-deps beside the `transcribe` extra (onnxruntime, librosa, mir_eval, resampy,
# pretty_midi, mido). The extra pins resampy>=0.4.3: basic-pitch asks for <0.4.3, but 0.4.2 imports
# pkg_resources, which setuptools>=81 no longer ships.
.PHONY: install-transcribe
install-transcribe: $(VENV)/.transcribe-installed
$(VENV)/.transcribe-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[transcribe]'
	$(PY) -m pip install --quiet --no-deps basic-pitch==0.4.0
	touch $@
TEST_INSTALLS += install-transcribe

# RoFormer stems (server/backends/roformer): the MSST-compatible BS-/Mel-Band RoFormer classes inside
# audio-separator 0.47.1, whose own requirements (onnx, diffq, pydub, requests, ...) these classes never
# import: it installs with --no-deps beside the `roformer` extra (beartype, einops, rotary-embedding-torch,
# librosa, packaging, pyyaml); the backend loads the four module files by path.
.PHONY: install-roformer
install-roformer: $(VENV)/.roformer-installed
$(VENV)/.roformer-installed: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[roformer]'
	$(PY) -m pip install --quiet --no-deps audio-separator==0.47.1
	touch $@
TEST_INSTALLS += install-roformer

# Voice conversion (server/backends/rvc): rvc-next 0.2.16 (GPL-3.0) for RVC's model classes. Its own
# requirements pull its web UI and device I/O (fastapi, sounddevice, soundcard, pymss, av, ...), which the
# classes dawgen uses never import, so it installs with --no-deps beside the `rvc` extra (transformers,
# librosa, faiss-cpu, praat-parselmouth); the installed torch is kept (a constraint).
.PHONY: install-rvc
install-rvc: $(VENV)/.rvc-installed
$(VENV)/.rvc-installed: pyproject.toml $(VENV)/.installed
	@$(PY) -c "import torch; print('torch==' + torch.__version__)" > $(VENV)/.torch-constraint.txt 2>/dev/null \
	  || : > $(VENV)/.torch-constraint.txt
	$(PY) -m pip install --quiet -c $(VENV)/.torch-constraint.txt -e '.[rvc]'
	$(PY) -m pip install --quiet --no-deps rvc-next==0.2.16
	touch $@
TEST_INSTALLS += install-rvc

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

test: install-test test-deps lint
	@for t in $(EXTRA_TESTS); do $(MAKE) --no-print-directory $$t || exit 1; done
	$(PY) -m pytest

# ruff (config in pyproject.toml) over the Python code; `make test` runs it first.
.PHONY: lint
lint: install-test
	$(PY) -m ruff check server bridge tests bench

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

# The wheels a lent GPU machine lacks for bench/gpu/check.sh (Python 3.12 there, no network): into
# .whl/, which the device call carries. stable-audio-tools declares Python < 3.11, hence its own line.
GPU_WHEELS := --no-deps --only-binary=:all: --python-version 3.12 --implementation cp --platform any \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl
.PHONY: gpu-wheels
gpu-wheels:
	python3 -m pip download -q $(GPU_WHEELS) -r bench/gpu/wheels.txt
	python3 -m pip download -q $(GPU_WHEELS) --ignore-requires-python 'stable-audio-tools==$(SAT_VERSION)'

clean:
	rm -rf $(VENV) demo-project .pytest_cache
