"""`dawgen train-midi PART --data FOLDER --name NAME`: the producer's own MIDI through a running
daemon's train job (a real `dawgen serve`), its progress shown as `dawgen send --wait` shows it; and
the arguments that cannot make such a run refused before anything is sent."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def dawgen(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def test_name_submits_a_midi_train_job_to_the_daemon_and_shows_its_progress(daemon, tmp_path):
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("mido")
    from tests.server.training.midi_files import song_folder

    data = song_folder(tmp_path / "my midi", 2)
    r = dawgen("train-midi", "drums", "--data", str(data), "--name", "my-beats", "--steps", "4", "--save-every", "2",
               "--port", str(daemon.port))
    assert r.returncode == 0, r.stderr
    folder = daemon.state / "models" / "my-beats"
    assert r.stdout.split()[0] == str(folder)
    assert "queued job" in r.stderr and "2 of 4 MIDI files" in r.stderr and "4/4" in r.stderr
    assert (folder / "step-4" / "drums.pt").is_file() and 'path = "step-4"' in (folder / "dawgen-model.toml").read_text()
    record = json.loads((folder / "training.json").read_text())
    assert record["kind"] == "midi-drums" and record["settings"]["steps"] == 4 and record["base"]["name"] == "midi"

    made = dawgen("send", "midi/generate", "model=my-beats", "kind=drums", "bars=1", "--wait", "--port", str(daemon.port))
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().endswith(".mid")


@pytest.mark.parametrize(("args", "words"), [
    (["vae", "--data", "d", "--name", "x"], "drums or melody, not vae"),
    (["drums", "--name", "x"], "--name needs --data"),
    (["drums", "--data", "d", "--name", "x", "--epochs", "4"], "--epochs: offline options"),
    (["drums", "--data", "d", "--name", "x", "--out", "w"], "pick one"),
    (["drums", "--data", "d"], "one of --out"),
])
def test_arguments_that_cannot_make_a_run_are_usage_errors(args, words):
    r = dawgen("train-midi", *args, "--port", "9", timeout=60)
    assert r.returncode == 2 and words in r.stderr, r.stderr
