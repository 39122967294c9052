"""`dawgen dataset check FOLDER [key=value ...]`: the report on stdout, exit 0; nothing usable, exit 2."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.server.training.sounds import kick, write, write_bad_files

REPO = Path(__file__).resolve().parents[2]


def dawgen(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=REPO, capture_output=True, text=True,
                          check=False, timeout=120)


def test_check_prints_the_summary_and_each_rejected_file_with_its_reason(tmp_path):
    for i in range(2):
        write(tmp_path / "Kicks" / f"kick {i}.wav", kick(i))
    expected = write_bad_files(tmp_path)
    r = dawgen("dataset", "check", str(tmp_path), "kind=stable-audio", "trigger=mine", "seconds=2", "--files")
    assert r.returncode == 0, r.stderr
    assert "2 clips" in r.stdout and "from 2 of 6 files" in r.stdout and "window 88200 frames" in r.stdout
    for name, reason in expected.items():
        assert f"rejected  {name}: {reason} (" in r.stdout
    assert "prompt: mine, kicks, kick 0" in r.stdout
    r = dawgen("dataset", "check", str(tmp_path), "--json")
    report = json.loads(r.stdout)
    assert r.returncode == 0 and report["kind"] == "dance-diffusion" and report["window_frames"] == 65536
    assert {x["file"]: x["reason"] for x in report["rejected"]} == expected


def test_check_exits_2_with_the_reasons_when_nothing_is_usable(tmp_path):
    write_bad_files(tmp_path)
    r = dawgen("dataset", "check", str(tmp_path), "kind=dance-diffusion-lora")
    assert r.returncode == 2 and r.stdout == ""
    assert "bad_request" not in r.stderr and "no usable audio" in r.stderr
    assert "zeros.wav: silent" in r.stderr and "notes-renamed.wav: unreadable" in r.stderr


def test_check_refuses_bad_words(tmp_path):
    write(tmp_path / "kick.wav", kick())
    for words, message in ((["colour=red"], "expected key=value"), (["bpm=fast"], "bpm must be a finite float"),
                           (["kind=nope"], "kind 'nope'"),
                           (["kind=midi-drums"], "no usable MIDI"), (["seconds=nan"], "seconds must be")):
        r = dawgen("dataset", "check", str(tmp_path), *words)
        assert r.returncode == 2 and message in r.stderr, (words, r.stderr)
    r = dawgen("dataset", "check", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and "data folder not found" in r.stderr
