"""server.training.chop: tempo from ACID chunks and names, onsets, bars."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from server.output import wavchunks
from server.output.wav import chunk, encode
from server.training.chop import (
    Tempo,
    bar_spans,
    file_tempo,
    is_loop,
    onset_spans,
    read_acid,
    tempo_from_name,
    trimmed_span,
)

from .sounds import RATE, kick, kicks_in_a_row, recording, with_lead


@pytest.mark.parametrize("name, bpm", [
    ("loop_120bpm.wav", 120.0), ("Drums 92.5 BPM.aif", 92.5), ("beat_128bpm_Am_4bars.wav", 128.0),
    ("kick 808.wav", None), ("take_1000bpm.wav", None), ("bpm.wav", None), ("20bpm.wav", None),
])
def test_tempo_from_the_name(name, bpm):
    found = tempo_from_name(name)
    assert (found.bpm if found else None) == bpm


def test_the_acid_chunk_dawgen_writes_is_read_back(tmp_path):
    facts = wavchunks.FileFacts(frames=4, sample_rate=RATE, bpm=97.5, beats=8, loop=True, time_signature=(3, 4))
    path = tmp_path / "loop.wav"
    path.write_bytes(encode(np.zeros((4, 1)), RATE, "16", wavchunks.all_chunks(facts, {})))
    assert read_acid(path) == Tempo(97.5, (3, 4), "acid")
    assert file_tempo(path, bpm=120) == Tempo(97.5, (3, 4), "acid")  # the file's own tempo wins


def test_an_acid_chunk_after_data_and_libsndfiles_meter_order(tmp_path):
    # libsndfile writes denominator before numerator (its issue #190): 4/3 is read back as 3/4.
    acid = chunk(b"acid", struct.pack("<IHHfIHHf", 0x04, 60, 0x8000, 0.0, 6, 4, 3, 140.0))
    wav = encode(np.zeros((4, 1)), RATE, "16")
    path = tmp_path / "after.wav"
    body = wav[8:] + acid
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert read_acid(path) == Tempo(140.0, (3, 4), "acid")
    plain = tmp_path / "plain.wav"
    plain.write_bytes(wav)
    assert read_acid(plain) is None and file_tempo(plain, None) is None
    assert file_tempo(plain, 100.0) == Tempo(100.0, (4, 4), "param")
    (tmp_path / "text.wav").write_text("not a wav")
    assert read_acid(tmp_path / "text.wav") is None


def test_onsets_of_hits_in_silence_and_over_a_tail():
    starts = [0.05, 0.4, 0.75]
    spans = onset_spans(kicks_in_a_row(starts)[:, None], RATE)
    assert [a / RATE for a, _ in spans] == pytest.approx(starts, abs=0.002)
    assert [b for _, b in spans[:-1]] == [a for a, _ in spans[1:]]  # each hit runs to the next
    gap = np.concatenate([with_lead(kick(0), 0.3), np.zeros(RATE // 2), kick(5)])
    spans = onset_spans(gap[:, None], RATE)
    assert len(spans) == 2 and spans[0][1] < spans[1][0]  # the silence between is left out


def test_a_low_sustained_sound_is_one_clip_and_silence_is_none():
    t = np.arange(3 * RATE) / RATE
    pad = 0.3 * np.sin(2 * np.pi * 41 * t) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t)) * np.minimum(1, t / 0.3)
    assert len(onset_spans(pad[:, None], RATE)) == 1  # 41 Hz ripple and a tremolo are not onsets
    assert onset_spans(np.zeros((RATE, 2)), RATE) == []
    assert trimmed_span(np.zeros((RATE, 2))) is None


def test_trimmed_span_cuts_silence_at_both_ends():
    x = np.concatenate([np.zeros(1000), recording(1.0)[:, 0], np.zeros(500)])[:, None]
    first, stop = trimmed_span(x)
    assert first == pytest.approx(1000, abs=5) and stop == pytest.approx(x.shape[0] - 500, abs=5)


def test_bar_spans():
    tempo = Tempo(120.0)  # a bar is 2 s
    assert bar_spans(8 * RATE, RATE, tempo, 5 * RATE) == [(0, 4 * RATE), (4 * RATE, 8 * RATE)]  # 2-bar runs
    assert bar_spans(7 * RATE, RATE, tempo, 20 * RATE) == [(0, 4 * RATE)]  # 3 bars: one 2-bar run
    assert bar_spans(RATE, RATE, tempo, 20 * RATE) == [(0, RATE)]  # under a bar: whole
    assert bar_spans(4 * RATE, RATE, tempo, RATE) == [(0, 2 * RATE), (2 * RATE, 4 * RATE)]  # bar > window
    waltz = Tempo(90.0, (3, 4))  # 2 s bars too
    assert bar_spans(4 * RATE - 3, RATE, waltz, 10 * RATE) == [(0, 4 * RATE - 3)]  # 3 samples short: 2 bars


def test_is_loop():
    bar = 2 * RATE  # at 120 bpm
    assert is_loop(bar, RATE, Tempo(120.0)) and is_loop(16 * bar - 100, RATE, Tempo(120.0))
    assert not is_loop(17 * bar, RATE, Tempo(120.0))  # a song
    assert not is_loop(int(0.4 * RATE), RATE, Tempo(120.0))  # a one-shot
    assert not is_loop(int(4.5 * bar), RATE, Tempo(120.0))  # not whole bars: a recording
    assert not is_loop(bar, RATE, None)
