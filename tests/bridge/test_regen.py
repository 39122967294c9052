import json

import pytest

from bridge.regen import RegenError, load_provenance, request_from


def test_request_uses_the_files_own_seed_and_count_one(tmp_path):
    wav = tmp_path / "kick_43.wav"
    wav.write_bytes(b"RIFF....WAVE")
    wav.with_suffix(".json").write_text(json.dumps({
        "request": {"verb": "generate", "params": {"prompt": "kick", "count": 4}},
        "params": {"prompt": "kick", "count": 4, "seed": 42}, "seed": 43, "model": {"name": "synth"}}))
    verb, params = request_from(load_provenance(wav))
    assert verb == "generate"
    assert params == {"prompt": "kick", "count": 1, "seed": 43, "model": "synth"}


def test_errors_are_clear(tmp_path):
    with pytest.raises(RegenError, match="no such file"):
        load_provenance(tmp_path / "missing.wav")
    plain = tmp_path / "plain.wav"
    plain.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(RegenError, match="no dawgen provenance"):
        load_provenance(plain)
