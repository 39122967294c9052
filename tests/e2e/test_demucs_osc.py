"""Stems through a real `dawgen serve` over OSC: tiny random-weight HTDemucs models saved in demucs'
own repo format, named in a config file and loaded by the daemon's model process.

One daemon serves the whole module (the model process loads each tiny model once).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bridge.client import ClientError
from tests.conftest import DaemonProcess
from tests.server.backends import demucs_tiny

TIMEOUT = 120
STEMS4 = demucs_tiny.SOURCES4


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("demucs", reason="the demucs extra is not installed (pip install 'dawgen[demucs]')")
    return demucs_tiny.make_repo(tmp_path_factory.mktemp("demucs-repo"))


@pytest.fixture(scope="module")
def daemon(repo, tmp_path_factory):
    config = (f'[models.stems]\nbackend = "demucs"\npath = "{repo}"\nname = "tiny"\ndevice = "cpu"\n\n'
              f'[models.stems6]\nbackend = "demucs"\npath = "{repo}"\nname = "tiny_6s"\n')
    proc = DaemonProcess(tmp_path_factory.mktemp("demucs-daemon"), config_text=config).start()
    yield proc
    proc.terminate()


@pytest.fixture(scope="module")
def song(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """10 s of 44.1 kHz stereo, the name a user's file would have."""
    path = tmp_path_factory.mktemp("inputs") / "Bootleg Mix.wav"
    audio = demucs_tiny.music(10.0)
    sf.write(path, audio, 44100, subtype="FLOAT")
    return path, audio


def separate(client, timeout=TIMEOUT, **params) -> list[Path]:
    return [Path(p) for p in client.generate({"model": "stems", **params}, verb="separate", timeout=timeout)]


def read(path: Path) -> np.ndarray:
    return sf.read(path, dtype="float64", always_2d=True)[0]


def test_four_stems_as_long_as_the_input_in_one_folder_per_input(daemon, client, song):
    path, audio = song
    seen: list[tuple[float, str]] = []
    ack = client.call("separate", {"model": "stems", "input": str(path)})
    paths = [Path(p) for p in client.wait(str(ack.args[1]), timeout=TIMEOUT,
                                            on_progress=lambda f, s, eta: seen.append((f, s)))]
    assert [p.name for p in paths] == [f"bootleg-mix_{s}.wav" for s in STEMS4]
    assert {p.parent for p in paths} == {daemon.project / "dawgen" / time.strftime("%Y-%m-%d") / "bootleg-mix"}
    for p in paths:
        info = sf.info(p)
        assert (info.frames, info.samplerate, info.channels, info.subtype) == (len(audio), 44100, 2, "PCM_24")
        assert np.abs(read(p)).max() > 1e-4  # random weights still make sound
    side = json.loads(paths[3].with_suffix(".json").read_text())
    assert side["meta"]["stem"] == "vocals" and side["post"]["skipped"] is True
    assert side["model"]["backend"] == "demucs" and side["model"]["weights_sha256"]
    assert side["audio"]["sample_rate"] == 44100 and side["params"]["shifts"] == 1
    separating = [f for f, s in seen if s == "separating"]
    assert len(separating) >= 3 and separating == sorted(separating)  # per segment, in order


def test_without_vocals_is_the_sum_of_the_other_stems(client, song, tmp_path):
    path, audio = song
    stems = separate(client, input=str(path), bit_depth="32f", dir="sum/all")
    without = separate(client, input=str(path), bit_depth="32f", mode="without:vocals", dir="sum/karaoke")
    only = separate(client, input=str(path), bit_depth="32f", mode="only:drums", dir="sum/drums")
    assert [p.name for p in without] == ["bootleg-mix_no_vocals.wav"]
    assert [p.name for p in only] == ["bootleg-mix_drums.wav"]
    parts = {p.stem.split("_", 1)[1]: read(p) for p in stems}
    others = parts["drums"] + parts["bass"] + parts["other"]
    assert read(without[0]).shape == audio.shape
    np.testing.assert_allclose(read(without[0]), others, atol=1e-6)
    np.testing.assert_array_equal(read(only[0]), parts["drums"])  # the same request, the same stems


def test_a_six_stem_model_gives_six(client, song):
    paths = [Path(p) for p in client.generate({"model": "stems6", "input": str(song[0]), "dir": "six"},
                                              verb="separate", timeout=TIMEOUT)]
    assert [p.name for p in paths] == [f"bootleg-mix_{s}.wav" for s in demucs_tiny.SOURCES6]
    assert all(sf.info(p).frames == len(song[1]) for p in paths)


def test_mono_48k_stays_mono_48k_and_exact(client, tmp_path):
    path = tmp_path / "vox take 3.flac"
    mono = demucs_tiny.music(3.3, rate=48000, channels=1)
    sf.write(path, mono, 48000, subtype="PCM_24")
    paths = separate(client, input=str(path), stems="vocals,bass", dir="mono")
    assert [p.name for p in paths] == ["vox-take-3_bass.wav", "vox-take-3_vocals.wav"]  # the model's order
    for p in paths:
        info = sf.info(p)
        assert (info.frames, info.samplerate, info.channels) == (len(mono), 48000, 1)
    resampled = separate(client, input=str(path), mode="only:vocals", sample_rate=44100, dir="mono44")
    assert sf.info(resampled[0]).samplerate == 44100 and sf.info(resampled[0]).frames == round(len(mono) * 44100 / 48000)


def test_the_part_a_daw_item_plays_as_reaper_sends_it(client, song):
    path, _ = song
    # the REAPER action's request: the item's file, its section, the project's rate and a folder
    paths = separate(client, input=str(path), start=1.5, end=4.0, sample_rate=44100, dir="dawgen/item")
    assert len(paths) == 4 and all(sf.info(p).frames == round(4.0 * 44100) - round(1.5 * 44100) for p in paths)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (make test installs it)")
def test_a_format_libsndfile_cannot_read_goes_through_ffmpeg(client, song, tmp_path):
    m4a = tmp_path / "phone memo.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(song[0]), "-t", "3", "-c:a", "aac", str(m4a)], check=True)
    decoded = tmp_path / "decoded.wav"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(m4a), "-c:a", "pcm_f32le", str(decoded)], check=True)
    paths = separate(client, input=str(m4a), mode="only:bass", dir="m4a")
    assert [p.name for p in paths] == ["phone-memo_bass.wav"]
    assert sf.info(paths[0]).frames == sf.info(decoded).frames  # as long as what the decoder gives


def test_missing_or_unreadable_input_is_a_clear_error(client, tmp_path):
    with pytest.raises(ClientError) as info:
        client.call("separate", {"model": "stems", "input": str(tmp_path / "nowhere.wav")})
    assert info.value.code == "bad_request" and "nowhere.wav does not exist" in info.value.message
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    with pytest.raises(ClientError) as info:
        client.call("separate", {"model": "stems", "input": str(junk)})
    assert info.value.code == "bad_request" and str(junk) in info.value.message
    assert "not audio" in info.value.message
    with pytest.raises(ClientError) as info:
        client.call("separate", {"model": "stems", "input": "Music/song.wav"})
    assert info.value.code == "bad_request" and "absolute path" in info.value.message
    assert client.call("ping").address == "/dawgen/pong"  # and the daemon goes on


def test_a_stem_the_model_does_not_have_fails_the_job_naming_its_stems(client, song):
    with pytest.raises(ClientError) as info:
        separate(client, input=str(song[0]), mode="only:guitar", dir="guitar")
    assert info.value.code == "bad_request" and "its stems: drums, bass, other, vocals" in info.value.message


def test_cancel_mid_file_writes_nothing(daemon, client, tmp_path):
    long = tmp_path / "long.wav"
    sf.write(long, demucs_tiny.music(60.0), 44100)
    ack = client.call("separate", {"model": "stems", "input": str(long), "dir": "cancelled"})
    job = str(ack.args[1])
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        reply = client.recv(1.0)
        if reply and reply.address == "/dawgen/progress" and reply.args[0] == job and reply.args[2] == "separating" \
                and float(reply.args[1]) > 0.1:
            break
    else:
        pytest.fail("the job never got under way")
    client.call("cancel", {"job": job})
    with pytest.raises(ClientError) as info:
        client.wait(job, timeout=TIMEOUT)
    assert info.value.code == "cancelled"
    folder = daemon.project / "cancelled"
    assert not folder.exists() or not any(folder.rglob("*"))  # no stem, no sidecar, no temp file
