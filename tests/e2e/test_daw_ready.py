"""DAW-ready files written by a real daemon: exact lengths, seams, loudness, metadata, regen."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from wavinfo import WavInfoReader

from server.post.grid import grid_frames
from server.post.loop import seam_discontinuity_db
from server.post.loudness import integrated_lufs, true_peak_dbtp
from tests.libsndfile import SF_LOOP_INFO_SIZE, SFC_GET_LOOP_INFO, sf_command

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("bpm, bars, signature", [(97.3, 2, "7/8"), (133.33, 1, "3/4"), (60, 1, "4/4"), (200, 4, "4/4")])
def test_loops_are_exactly_on_the_grid(client, bpm, bars, signature):
    path = client.generate({"prompt": "drum loop", "bpm": bpm, "bars": bars, "time_signature": signature, "seed": 3})[0]
    info = sf.info(path)
    assert info.frames == grid_frames(bars, bpm, signature, 48000)
    assert Path(path).name == f"drum-loop_3_{bpm:g}bpm_{bars:g}bar{'s' if bars != 1 else ''}.wav"


def test_a_one_shot_fitted_to_bars_and_a_seamless_pad_loop(client):
    kick = client.generate({"prompt": "kick", "bpm": 120, "bars": 1, "seed": 1, "loop": False})[0]
    assert sf.info(kick).frames == 96000
    pad = client.generate({"prompt": "pad", "bpm": 90, "bars": 2, "seed": 1, "key": "Am"})[0]
    x, rate = sf.read(pad, always_2d=True)
    assert x.shape[0] == grid_frames(2, 90, "4/4", 48000)
    assert seam_discontinuity_db(x) < -60
    assert Path(pad).name == "pad_1_90bpm_Am_2bars.wav"


def test_loop_loudness_and_true_peak(client):
    path = client.generate({"prompt": "house drum loop", "bpm": 124, "bars": 4, "seed": 9})[0]
    x, rate = sf.read(path, always_2d=True)
    assert integrated_lufs(x, rate) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(x, rate) <= -1.0 + 0.05
    quiet = client.generate({"prompt": "drum loop", "bpm": 124, "bars": 4, "seed": 9, "loudness": -20,
                             "true_peak": -3})[0]
    y, _ = sf.read(quiet, always_2d=True)
    assert integrated_lufs(y, rate) == pytest.approx(-20.0, abs=0.5) and true_peak_dbtp(y, rate) <= -3 + 0.05


def test_metadata_read_back_by_independent_readers(client):
    path = client.generate({"prompt": "lofi drum loop", "bpm": 90, "bars": 2, "seed": 5, "key": "F#m",
                            "position": 12.5})[0]
    info = WavInfoReader(path)
    assert info.bext.description == "lofi drum loop" and info.bext.originator == "dawgen"
    assert info.bext.time_reference == int(12.5 * 48000)
    assert info.info.title == "lofi drum loop" and info.smpl.midi_note == 66
    ok, raw = sf_command(path, SFC_GET_LOOP_INFO, SF_LOOP_INFO_SIZE)  # libsndfile's own acid reader
    assert ok == 1
    assert np.frombuffer(raw[12:16], "<f4")[0] == pytest.approx(90.0)
    assert np.frombuffer(raw[8:12], "<i4")[0] == 8  # beats
    side = json.loads(Path(path).with_suffix(".json").read_text())
    assert side["post"]["grid"]["frames"] == sf.info(path).frames and side["libraries"]["numpy"]


def test_flac_carries_vorbis_comments(client):
    from mutagen.flac import FLAC
    path = client.generate({"prompt": "drum loop", "bpm": 100, "bars": 1, "seed": 2, "format": "flac", "key": "C"})[0]
    tags = FLAC(path)
    assert tags["BPM"] == ["100"] and tags["INITIALKEY"] == ["C"] and tags["LOOP"] == ["1"]
    assert json.loads(tags["DAWGEN_PROVENANCE"][0])["seed"] == 2


def test_regen_reproduces_the_file_bit_for_bit_even_without_its_sidecar(daemon, client):
    original = client.generate({"prompt": "punchy kick", "count": 3, "seed": 40, "bit_depth": 16})[1]
    Path(original).with_suffix(".json").unlink()  # regen must find the provenance inside the WAV
    r = subprocess.run([sys.executable, "-m", "bridge", "regen", original, "--port", str(daemon.port), "--dir", "again"],
                       cwd=REPO, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    again = r.stdout.split()[0]
    assert Path(again).parent.name == "again" and Path(again).name == Path(original).name
    a, _ = sf.read(original, dtype="int16")
    b, _ = sf.read(again, dtype="int16")
    assert np.array_equal(a, b)


def test_preview_png_beside_the_file(client):
    path = client.generate({"prompt": "riser", "seed": 1, "preview": True})[0]
    png = Path(path).with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
