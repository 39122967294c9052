"""The registry: which model a verb goes to without `model=`, and a broken backend disabling only
its own models."""
from __future__ import annotations

import importlib.util

import pytest

from server import backends
from server.config import parse
from server.errors import DawgenError
from server.registry import Registry


def test_a_verb_goes_to_the_default_model_else_the_first_configured_else_a_builtin(tmp_path):
    registry = Registry(parse({"models": {"stems": {"backend": "demucs", "path": str(tmp_path), "name": "x"}}}))
    assert registry.model_for("generate") == "synth"  # the default model does it
    # the configured demucs model does `separate` but its files are missing: said, with why
    with pytest.raises(DawgenError) as err:
        registry.model_for("separate")
    assert err.value.code == "model_unavailable" and "'stems'" in err.value.message
    assert registry.model_for("no-such-verb") == "synth"  # the caller reports the unknown verb


def test_a_verb_only_a_builtin_does_goes_to_the_builtin():
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("mido", reason="mido is not installed (make test installs it)")
    registry = Registry(parse({}))
    assert "midi" not in registry.problems()  # its extra is installed and its weights ship with dawgen
    assert registry.model_for("midi/generate") == "midi"


def test_a_builtin_without_its_extra_is_refused_with_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # as where torch is not installed
                        lambda name, *a, **kw: None if name == "torch" else real(name, *a, **kw))
    registry = Registry(parse({}))
    assert "pip install 'dawgen[" in registry.problems()["midi"]
    with pytest.raises(DawgenError) as err:
        registry.model_for("midi/generate")
    assert err.value.code == "model_unavailable" and "'midi'" in err.value.message and "torch" in err.value.message
    assert registry.model_for("generate") == "synth"  # every other model keeps working


def test_a_backend_that_fails_to_import_disables_only_its_models(monkeypatch, tmp_path):
    broken = tmp_path / "dawgen_broken_backend.py"
    broken.write_text("def broken(:\n")  # a syntax error, as a half-edited file has
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.BACKENDS, "broken", "dawgen_broken_backend:Backend")
    registry = Registry(parse({"models": {"b": {"backend": "broken"}}}))
    assert "SyntaxError" in registry.problems()["b"]
    assert registry.backend("synth").loaded  # the rest works


def engine_in(tmp_path):
    from server.config import load
    from server.engine import Engine
    from server.journal import Journal

    return Engine(load(None, {"output.root": str(tmp_path)}), journal=Journal(":memory:"))


def listed_params(engine, name: str, verb: str) -> list[str]:
    listed = {m["name"]: m for m in engine.models()}
    return [p["name"] for p in listed[name]["verbs"][verb]]


def test_models_lists_only_the_common_params_that_mean_something_for_the_verb(tmp_path):
    """A MIDI verb lists no audio params, and transcribe (whose files are as long as their audio)
    lists no `bars`; so whether or not the extras are installed (an unavailable model is listed too)."""
    engine = engine_in(tmp_path)
    synth, midi = listed_params(engine, "synth", "generate"), listed_params(engine, "midi", "midi/generate")
    transcribe = listed_params(engine, "transcribe", "transcribe")
    assert "loudness" in synth and "bars" in synth
    assert "loudness" not in midi and "bars" in midi
    assert "loudness" not in transcribe and "bars" not in transcribe


@pytest.mark.parametrize("name, verb", [("synth", "generate"), ("midi", "midi/generate"), ("transcribe", "transcribe")])
def test_models_lists_exactly_the_params_submit_accepts(tmp_path, name, verb):
    """`/dawgen/models` and submit agree, for a model that can take requests (make test installs
    every extra; elsewhere a missing one is a visible skip, not a pass)."""
    engine = engine_in(tmp_path)
    why = engine.registry.problems().get(name)
    if why:
        pytest.skip(f"model {name!r} is unavailable here: {why}")
    accepted = engine.params_for(name, verb)
    assert accepted and sorted(listed_params(engine, name, verb)) == sorted(spec.name for spec in accepted)
