"""The registry: which model a verb goes to without `model=`, and a broken backend disabling only
its own models."""
from __future__ import annotations

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
    if "midi" not in registry.problems():
        assert registry.model_for("midi/generate") == "midi"  # the built-in one


def test_a_backend_that_fails_to_import_disables_only_its_models(monkeypatch, tmp_path):
    broken = tmp_path / "dawgen_broken_backend.py"
    broken.write_text("def broken(:\n")  # a syntax error, as a half-edited file has
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(backends.BACKENDS, "broken", "dawgen_broken_backend:Backend")
    registry = Registry(parse({"models": {"b": {"backend": "broken"}}}))
    assert "SyntaxError" in registry.problems()["b"]
    assert registry.backend("synth").loaded  # the rest works


def test_models_lists_exactly_the_common_params_each_verb_accepts(tmp_path):
    """`/dawgen/models` and submit agree: a MIDI verb lists no audio params, and transcribe (whose
    files are as long as their audio) lists no `bars`."""
    from server.config import load
    from server.engine import Engine
    from server.journal import Journal

    engine = Engine(load(None, {"output.root": str(tmp_path)}), journal=Journal(":memory:"))
    listed = {m["name"]: m for m in engine.models()}
    names = {name: [p["name"] for p in listed[name]["verbs"][verb]]
             for name, verb in (("synth", "generate"), ("midi", "midi/generate"), ("transcribe", "transcribe"))}
    assert "loudness" in names["synth"] and "bars" in names["synth"]
    assert "loudness" not in names["midi"] and "bars" in names["midi"]
    assert "loudness" not in names["transcribe"] and "bars" not in names["transcribe"]
    for name, verb in (("synth", "generate"), ("midi", "midi/generate"), ("transcribe", "transcribe")):
        if name not in engine.registry.problems():  # an installed model: listed == accepted
            assert sorted(names[name]) == sorted(spec.name for spec in engine.params_for(name, verb))
