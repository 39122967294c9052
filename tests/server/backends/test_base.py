"""Backend's one check of optional libraries: every backend declares `requires` + `extra`, and a
missing library reads the same way for every model, from check_available(), load() and
planned_device(). A missing module is simulated by hiding it from importlib.util.find_spec, the
one importer the check asks."""
from __future__ import annotations

import importlib.util
from typing import Any, ClassVar

import pytest

from server.backends import backend_class
from server.backends.base import Backend, RunContext
from server.errors import DawgenError, ErrorCode

TRANSCRIBE_INSTALL = ("make install-transcribe (or: pip install 'dawgen[transcribe]' && "
                      "pip install --no-deps basic-pitch==0.4.0)")
STABLE_AUDIO_INSTALL = ("make install-stable-audio (pip install 'dawgen[stable-audio]', then stable-audio-tools "
                        "0.0.20 with --no-deps: it declares Python <3.11 and pins torch 2.7.1; see docs/MODELS.md, "
                        "'Stable Audio')")

# backend, the module hidden, the whole message (written out: the format is the contract)
CASES = [
    ("musicgen", "transformers", "model 'm' needs transformers (not installed): pip install 'dawgen[musicgen]'"),
    ("musicgen", "torch", "model 'm' needs torch (not installed): pip install 'dawgen[musicgen]'"),
    ("demucs", "demucs", "model 'm' needs demucs (not installed): pip install 'dawgen[demucs]'"),
    ("midi", "mido", "model 'm' needs mido (not installed): pip install 'dawgen[midigen]'"),
    ("midi", "torch", "model 'm' needs torch (not installed): pip install 'dawgen[midigen]'"),
    ("transcribe", "onnxruntime", f"model 'm' needs onnxruntime (not installed): {TRANSCRIBE_INSTALL}"),
    ("transcribe", "basic_pitch", f"model 'm' needs basic_pitch (not installed): {TRANSCRIBE_INSTALL}"),
    ("stable-audio", "stable_audio_tools",
     f"model 'm' needs stable_audio_tools (not installed): {STABLE_AUDIO_INSTALL}"),
    ("stable-audio", "pytorch_lightning", f"model 'm' needs pytorch_lightning (not installed): {STABLE_AUDIO_INSTALL}"),
    ("diffusers", "diffusers", "model 'm' needs diffusers (not installed): pip install 'dawgen[diffusers]'"),
]


BACKENDS = ("musicgen", "demucs", "midi", "transcribe", "stable-audio", "bark", "diffusers")
REQUIRED = {module for name in BACKENDS for module in backend_class(name).requires} | {"torch"}


def hide(monkeypatch: pytest.MonkeyPatch, *hidden: str) -> None:
    """Make find_spec report `hidden` as not installed and the other libraries backends require as
    installed (so only `hidden` can be missing, whatever this machine has); others as they are."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name in hidden:
            return None
        found = real(name, *args)
        if found is None and name in REQUIRED:
            return importlib.util.spec_from_loader(name, loader=None)
        return found

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


@pytest.mark.parametrize("backend, module, message", CASES)
def test_a_missing_library_is_named_with_its_extra_in_one_format(monkeypatch, backend, module, message):
    hide(monkeypatch, module)
    model = backend_class(backend)("m", {})
    assert module in model.requires
    with pytest.raises(DawgenError) as info:
        model.check_available()
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE
    assert info.value.message == message


def test_several_missing_libraries_are_named_together_in_declared_order(monkeypatch):
    hide(monkeypatch, "transformers", "torch")
    with pytest.raises(DawgenError) as info:
        backend_class("musicgen")("m", {}).check_available()
    assert info.value.message == "model 'm' needs torch, transformers (not installed): pip install 'dawgen[musicgen]'"


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_model_backend_declares_an_extra_of_pyproject(backend):
    from pathlib import Path

    import tomllib

    extras = tomllib.loads((Path(__file__).resolve().parents[3] / "pyproject.toml").read_text())
    cls = backend_class(backend)
    assert cls.requires and cls.extra in extras["project"]["optional-dependencies"]
    assert f"'dawgen[{cls.extra}]'" in cls("m", {}).install_command()


class Needy(Backend):
    name: ClassVar[str] = "needy"
    requires: ClassVar[tuple[str, ...]] = ("torch", "dawgen_test_absent_library")
    extra: ClassVar[str] = "needy"
    verbs = {"make": ()}

    def __init__(self, model_name: str) -> None:
        super().__init__(model_name)
        self.load_calls = 0

    def _load(self) -> None:
        self.load_calls += 1


def test_load_checks_the_requirements_before_loading_anything(monkeypatch):
    hide(monkeypatch, "dawgen_test_absent_library")
    model = Needy("n")
    for attempt in (model.load, lambda: model.run("make", RunContext({}))):
        with pytest.raises(DawgenError) as info:
            attempt()
        assert info.value.message == ("model 'n' needs dawgen_test_absent_library (not installed): "
                                      "pip install 'dawgen[needy]'")
    assert model.load_calls == 0 and not model.loaded


def test_the_planned_device_of_a_torch_model_without_torch_names_its_extra(monkeypatch):
    # before one check, pick_device's own import said "pip install 'dawgen[torch]'": no such extra
    hide(monkeypatch, "torch")
    with pytest.raises(DawgenError) as info:
        backend_class("midi")("m", {}).planned_device()
    assert info.value.message == "model 'm' needs torch (not installed): pip install 'dawgen[midigen]'"


def test_stable_audio_finds_torchaudio_in_its_own_folder(monkeypatch, tmp_path):
    from server.backends.stable_audio import imports

    hide(monkeypatch, "torchaudio")
    monkeypatch.setattr(imports, "torchaudio_folder", lambda: tmp_path)
    model = backend_class("stable-audio")("m", {})
    assert model.missing_requirements() == ["torchaudio"]
    (tmp_path / "torchaudio").mkdir()
    (tmp_path / "torchaudio" / "__init__.py").write_text("")  # what `make install-stable-audio` puts there
    assert model.missing_requirements() == []
