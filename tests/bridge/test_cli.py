"""bridge/cli.py: argument parsing stays light; each command imports what it needs when it runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TRAINER = "server.backends.midi.train"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_parsing_any_command_leaves_the_midi_trainer_unimported():
    # checked on sys.modules in a fresh process, not on time
    code = ("import sys; from bridge.cli import _parser; p = _parser(); "
            "a = p.parse_args(['serve', '--port', '9999']); "
            "b = p.parse_args(['train-midi', 'all', '--out', 'w', '--epochs', '2']); "
            "print(a.command, b.command, b.train_args); "
            f"print({TRAINER!r} in sys.modules, 'server.backends.midi' in sys.modules)")
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["serve train-midi ['all', '--out', 'w', '--epochs', '2']", "False False"]


def test_train_midi_still_parses_its_own_arguments():
    help_run = subprocess.run([sys.executable, "-m", "bridge", "train-midi", "--help"], cwd=REPO,
                              capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert help_run.stdout.startswith("usage: dawgen train-midi")
    assert "--out OUT" in help_run.stdout and "{melody,drums,vae,harmony,all}" in help_run.stdout
    bad = subprocess.run([sys.executable, "-m", "bridge", "train-midi", "all", "--epochs", "two"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2  # argparse's usage error, before any training
    assert "dawgen train-midi: error:" in bad.stderr and "--out" in bad.stderr
