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


def test_a_changed_or_missing_lora_adapter_is_named(tmp_path):
    from bridge.regen import changed_adapters
    from server.output.provenance import file_sha256

    adapter = tmp_path / "a.safetensors"
    adapter.write_bytes(b"one")
    record = {"loras": [{"name": "a", "path": str(adapter), "sha256": file_sha256(str(adapter)), "strength": 1.0}]}
    assert changed_adapters(record) == []
    adapter.write_bytes(b"two, longer")  # another size: the hash cache sees a new file
    (problem,) = changed_adapters(record)
    assert problem.startswith("lora a changed since the file was made") and str(adapter) in problem
    adapter.unlink()
    assert changed_adapters(record) == [f"lora a: its file {adapter} is gone"]
    assert changed_adapters({"request": {}}) == []


def test_regen_refuses_a_file_whose_adapter_changed_unless_forced(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    wav = tmp_path / "kick_1.wav"
    wav.write_bytes(b"RIFF....WAVE")
    wav.with_suffix(".json").write_text(json.dumps({
        "request": {"verb": "generate", "params": {"prompt": "kick", "lora": "a"}}, "seed": 1,
        "model": {"name": "sao"}, "loras": [{"name": "a", "path": str(tmp_path / "gone.safetensors"), "sha256": "0"}]}))
    repo = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-m", "bridge", "regen", str(wav), "--port", "9"], cwd=repo,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "lora a: its file" in r.stderr and "--force" in r.stderr
