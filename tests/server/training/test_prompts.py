"""server.training.prompts through prepare(): sidecars, metadata files, names, trigger."""
from __future__ import annotations

import json
from pathlib import Path

from server.training.dataset import prepare
from server.training.prompts import name_prompt

from .sounds import RATE, kick, write

SA = dict(sample_rate=RATE, channels=2, window_frames=RATE)


def test_name_prompt():
    assert name_prompt(Path("Kicks/808 punchy.wav")) == "kicks, 808 punchy"
    assert name_prompt(Path("Drum_Loops/Lo-Fi  beat_2.wav")) == "drum loops, lo-fi beat 2"


def test_prompts_from_sidecars_metadata_and_names_with_the_trigger_in_front(tmp_path):
    names = ["Kicks/808 punchy.wav", "a.wav", "b.wav", "c.wav", "sub/d.wav", "e.wav", "f.wav"]
    for i, name in enumerate(names):
        write(tmp_path / name, kick(i))
    (tmp_path / "a.wav.txt").write_text("dusty  snare\n")
    (tmp_path / "b.json").write_text(json.dumps({"prompt": "bright hat"}))
    (tmp_path / "metadata.csv").write_text('file,prompt\nc.wav,"deep tom, roomy"\nmissing.wav,gone\n')
    (tmp_path / "metadata.jsonl").write_text(json.dumps({"file": "sub/d.wav", "prompt": "rim shot"}) + "\n")
    (tmp_path / "e.json").write_text("{broken")  # falls back to the name
    (tmp_path / "sub" / "metadata.jsonl").write_text(json.dumps({"file_name": "../f.wav", "prompt": "clap"}) + "\n")
    ds = prepare(tmp_path, "stable-audio-lora", trigger="mypack", **SA)
    prompts = {f.file: (f.prompt, f.prompt_from) for f in ds.files}
    assert prompts == {
        "Kicks/808 punchy.wav": ("mypack, kicks, 808 punchy", "name"),
        "a.wav": ("mypack, dusty snare", "sidecar"),
        "b.wav": ("mypack, bright hat", "sidecar"),
        "c.wav": ("mypack, deep tom, roomy", "metadata"),
        "sub/d.wav": ("mypack, rim shot", "metadata"),
        "e.wav": ("mypack, e", "name"),
        "f.wav": ("mypack, clap", "metadata"),
    }
    assert all(c.prompt == prompts[c.source][0] for c in ds.clips)
    assert any("metadata.csv names 1 file(s) that are not in the folder" in n for n in ds.notes)
    assert any("2 from name" in n and "3 from metadata" in n and "2 from sidecar" in n for n in ds.notes)
    assert ds.rejected == [] and ds.skipped == 3  # a.wav.txt, b.json, e.json are not audio


def test_a_broken_metadata_file_is_noted_and_names_are_used(tmp_path):
    write(tmp_path / "Snares" / "tight.wav", kick(1))
    (tmp_path / "metadata.jsonl").write_text("not json\n")
    ds = prepare(tmp_path, "stable-audio", **SA)
    assert ds.files[0].prompt == "snares, tight"
    assert any("metadata.jsonl ignored: line 1 is not JSON" in n for n in ds.notes)
