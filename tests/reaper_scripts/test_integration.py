"""The Reaper client (reaper_scripts/) against a real daemon, through the path it uses inside
REAPER: the action script builds the request, ExecProcess starts `dawgen send --wait` in the
background through /bin/sh, reaper.defer polls the spool files, InsertMedia places the file.
Only REAPER itself is a fake (spec/fake_reaper.lua, driven by harness.lua under lua5.4)."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "reaper_scripts"
HARNESS = Path(__file__).with_name("harness.lua")
LUA = shutil.which("lua5.4")

pytestmark = pytest.mark.skipif(LUA is None, reason="lua5.4 is not installed (`make test-deps` installs it)")


def dawgen_executable(tmp_path: Path) -> Path:
    """The `dawgen` a user points the Settings at: the virtualenv's, else a wrapper around this Python."""
    exe = Path(sys.executable).with_name("dawgen")
    if exe.exists():
        return exe
    wrapper = tmp_path / "dawgen"
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m bridge "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def run_action(tmp_path: Path, action: str, **opts: str) -> dict[str, list[list[str]]]:
    args = [LUA, str(HARNESS), str(SCRIPTS), action, f"dawgen={dawgen_executable(tmp_path)}",
            f"resource={tmp_path / 'reaper-resource'}", *[f"{k}={v}" for k, v in opts.items()]]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts: dict[str, list[list[str]]] = {}
    for line in proc.stdout.splitlines():
        kind, *rest = line.split("\t")
        facts.setdefault(kind, []).append(rest)
    return facts


def sent_params(argv: list[str]) -> dict[str, str]:
    return dict(a.split("=", 1) for a in argv[3:] if "=" in a and not a.startswith("--"))


def test_generate_gets_a_real_loop_into_the_project(daemon, tmp_path):
    facts = run_action(tmp_path, "generate", port=str(daemon.port), project=str(daemon.project),
                       prompt="drum loop", seed="7")
    params = sent_params(facts["ARGV"][0])
    assert params["bpm"] == "93" and params["bars"] == "2" and params["seconds"] == "5.16129"
    assert params["sample_rate"] == "44100" and params["dir"] == "dawgen/reaper"
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, position, undo_depth)] = facts["INSERT"]
    wav = Path(path)
    assert wav.parent == daemon.project / "dawgen" / "reaper"
    info = sf.info(str(wav))
    assert info.samplerate == 44100
    assert info.frames == round(2 * 4 * 60 / 93 * 44100)  # the loop fills the time selection exactly
    assert (track, float(position), undo_depth) == ("Bass", 10.0, "1")
    assert facts["UNDO"] == [["dawgen: Generate"]]
    sidecar = json.loads(wav.with_suffix(".json").read_text())
    assert json.dumps(sidecar).count("93") >= 1
    # the spool is cleaned up after the result came back
    assert list((tmp_path / "reaper-resource" / "Data" / "dawgen-jobs").iterdir()) == []


def test_generate_midi_gets_a_real_drum_clip_of_the_time_selection(daemon, tmp_path):
    """Against the built-in `midi` model: the request the action builds is one the model accepts,
    and the .mid it writes is exactly the 2 bars of the time selection at the project's tempo."""
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    mido = pytest.importorskip("mido")
    facts = run_action(tmp_path, "midi", port=str(daemon.port), project=str(daemon.project), kind="drums", seed="5")
    params = sent_params(facts["ARGV"][0])
    assert params["kind"] == "drums" and params["bars"] == "2" and params["time_signature"] == "4/4"
    assert "BOX" not in facts, facts.get("BOX")
    [(path, track, _position, _depth)] = facts["INSERT"]
    mid = Path(path)
    assert mid.suffix == ".mid" and track == "Bass" and Path(daemon.project) in mid.parents
    assert mido.MidiFile(mid).length == pytest.approx(2 * 4 * 60 / 93, abs=1e-3)


def test_project_below_the_daemon_root_gets_its_own_subfolder(daemon, tmp_path):
    song = daemon.project / "songs" / "tune"
    song.mkdir(parents=True)
    facts = run_action(tmp_path, "generate", port=str(daemon.port), project=str(song),
                       daemon_root=str(daemon.project), subfolder="gen", prompt="kick", seed="1")
    assert sent_params(facts["ARGV"][0])["dir"] == "songs/tune/gen"
    [(path, *_)] = facts["INSERT"]
    assert Path(path).parent == song / "gen" and Path(path).is_file()


def test_vary_builds_its_request_and_shows_the_daemons_error(daemon, tmp_path):
    source = tmp_path / "take.wav"
    sf.write(str(source), [[0.0, 0.0]] * 48000 * 5, 48000)
    facts = run_action(tmp_path, "vary", port=str(daemon.port), project=str(daemon.project), item_file=str(source))
    argv = facts["ARGV"][0]
    assert argv[1:3] == ["send", "vary"]
    params = sent_params(argv)
    assert (params["input"], params["start"], params["end"]) == (str(source), "0.5", "2.5")
    [[message]] = facts["BOX"]
    assert "Vary failed" in message and "unknown_verb" in message and "model for Vary" in message
    assert "INSERT" not in facts


def test_no_daemon_says_how_to_start_one(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    facts = run_action(tmp_path, "generate", port=str(port), project=str(tmp_path), prompt="kick", timeout="2")
    [[message]] = facts["BOX"]
    assert "No dawgen daemon answered" in message and f"127.0.0.1:{port}" in message
    assert "INSERT" not in facts


TOKEN = "k3v_9-QpTokenForTheLaptop0123456789abcdefgh"
LAN = f'[server]\nrequire_token = true\n\n[clients.laptop]\ntoken = "{TOKEN}"\n'


def test_a_daemon_that_wants_a_token_gets_it_and_the_result_is_downloaded_into_the_project(daemon_factory, tmp_path):
    """[server] require_token treats loopback like another machine (issue #23's tests stay on loopback);
    `fetch=always` is what a remote host does by itself: the result comes back over TCP into the project."""
    daemon = daemon_factory(config_text=LAN).start()
    song = tmp_path / "song"
    song.mkdir()
    facts = run_action(tmp_path, "generate", port=str(daemon.port), project=str(song), prompt="kick", seed="3",
                       token=TOKEN, fetch="always")
    assert "BOX" not in facts, facts.get("BOX")
    [argv] = facts["ARGV"]
    assert TOKEN not in "\t".join(argv)  # DAWGEN_TOKEN in the environment, never an argument
    assert argv[argv.index("--fetch") + 1] == str(song / "dawgen" / "reaper")
    [(path, track, _position, _depth)] = facts["INSERT"]
    assert Path(path).parent == song / "dawgen" / "reaper" and Path(path).is_file() and track == "Bass"
    assert sf.info(path).frames == round(2 * 4 * 60 / 93 * 44100)
    assert list((tmp_path / "reaper-resource" / "Data" / "dawgen-jobs").iterdir()) == []
    assert TOKEN not in daemon.log.read_text()

    wrong = TOKEN[::-1]
    facts = run_action(tmp_path, "generate", port=str(daemon.port), project=str(song), prompt="kick", token=wrong,
                       fetch="always")
    [[message]] = facts["BOX"]
    assert "unauthorized" in message and "dawgen token add NAME" in message and wrong not in message
    assert "INSERT" not in facts


def test_get_a_gated_model_without_a_token_says_where_to_accept_the_licence(daemon_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no huggingface_hub token file
    monkeypatch.delenv("HF_TOKEN", raising=False)
    daemon = daemon_factory().start()
    facts = run_action(tmp_path, "get_model", port=str(daemon.port), project=str(daemon.project),
                       model="stable-audio-open-1.0")
    pulls = [a for a in facts["ARGV"] if a[2] == "pull"]
    assert pulls and "name=stable-audio-open-1.0" in pulls[0]
    boxes = [b[0] for b in facts["BOX"]]
    assert "Models you can get (from the daemon at 127.0.0.1:" in boxes[0] and "stable-audio-open-1.0" in boxes[0]
    assert "https://huggingface.co/stabilityai/stable-audio-open-1.0" in boxes[1]  # the notice before the pull
    assert "Get stable-audio-open-1.0 failed" in boxes[-1] and "model_unavailable" in boxes[-1]
    assert "dawgen login" in boxes[-1] and "huggingface.co/stabilityai/stable-audio-open-1.0" in boxes[-1]
