"""Paulstretch, the `process` chains' own step: length, smooth frame joins, the spectral envelope kept,
seamless loops, bounded memory at stretch=1000, clear errors; and the step inside a chain through the engine.

The signals are tones and shaped noise; each property is measured on the result (no reference output)."""
from __future__ import annotations

import importlib.util
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from server.backends.process.chain import apply_chain, parse_chain
from server.backends.process.paulstretch import MAX_OUTPUT_SECONDS, output_frames, paulstretch, window_frames
from server.errors import DawgenError
from tests.server.backends.test_process import engine, refused, rms_db, run  # noqa: F401  (the fixture)

RATE = 22050


def tones(seconds: float = 1.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.15 * np.sin(2 * np.pi * 1320 * t) + 0.05 * np.sin(2 * np.pi * 3300 * t)
    return np.stack([x, 0.8 * x], axis=1).astype(np.float32)


def shaped_noise(cutoff_hz: float, seconds: float = 1.0, rate: int = RATE, seed: int = 1) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    noise = np.random.default_rng(seed).standard_normal(int(seconds * rate))
    sos = butter(4, cutoff_hz, btype="low", fs=rate, output="sos")
    return (0.3 * sosfilt(sos, noise))[:, None].astype(np.float32)


def centroid_hz(x: np.ndarray, rate: int) -> float:
    power = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    return float(np.sum(np.fft.rfftfreq(x.shape[0], 1 / rate) * power) / np.sum(power))


def join_ratio(y: np.ndarray, hop: int, skip: int) -> float:
    """A click's broadband energy at the frame joins: the loudest 32 samples around any join over the
    loudest around any mid-hop, of the audio above 6 kHz (the test tones and noises have almost none:
    a step in the waveform shows up there first)."""
    from scipy.signal import butter, sosfiltfilt

    high = np.square(sosfiltfilt(butter(8, 6000, btype="high", fs=RATE, output="sos"), y[:, 0].astype(np.float64)))
    joins = np.arange(skip, high.size - hop, hop)
    near = max(high[j - 16:j + 16].mean() for j in joins)
    mid = max(high[j + hop // 2 - 16:j + hop // 2 + 16].mean() for j in joins)
    return float(near / mid)


def test_the_result_is_stretch_times_the_input_plus_one_window():
    x = tones(0.5)
    window = window_frames(0.1, RATE)
    for stretch in (1.0, 3.5, 8.0):
        y = paulstretch(x, RATE, stretch=stretch, window_seconds=0.1)
        assert y.shape == (round(stretch * x.shape[0]) + window, 2) and y.dtype == np.float32
    assert output_frames(x.shape[0], RATE, 8.0, 0.1, False) == 8 * x.shape[0] + window


def test_frame_joins_do_not_click_and_the_measure_would_see_one():
    x = tones(1.0)
    window_seconds = 0.1
    hop = window_frames(window_seconds, RATE) // 2
    y = paulstretch(x, RATE, stretch=6.0, window_seconds=window_seconds)
    steady = y[hop * 2:-hop * 2]
    assert join_ratio(steady, hop, hop) < 2.0  # measured: 0.66 (joins no rougher than mid-frame)
    jumps = np.abs(np.diff(steady[:, 0]))
    assert jumps.max() < 1.5 * np.percentile(jumps, 99)  # no outlier step anywhere
    clicked = steady.copy()
    clicked[hop * 10:] += 0.05  # a step at one join, -25 dB below the signal's peak
    assert join_ratio(clicked, hop, hop) > 4.0  # the same measure catches it (measured: 12)


@pytest.mark.parametrize("cutoff", [800.0, 5000.0])
def test_the_spectral_envelope_is_kept(cutoff):
    x = shaped_noise(cutoff)
    y = paulstretch(x, RATE, stretch=8.0, window_seconds=0.25)
    before, after = centroid_hz(x, RATE), centroid_hz(y, RATE)
    assert after == pytest.approx(before, rel=0.08)  # measured here: within 2 %
    # and the level: the power per sample stays the input's (frames scaled back by Parseval)
    assert rms_db(y[RATE:-RATE]) == pytest.approx(rms_db(x), abs=1.5)


def test_tones_keep_their_partials():
    x = tones(1.0)
    y = paulstretch(x, RATE, stretch=4.0, window_seconds=0.25)
    spectrum = np.abs(np.fft.rfft(y[:, 0]))
    freqs = np.fft.rfftfreq(y.shape[0], 1 / RATE)
    strongest = freqs[np.argmax(spectrum)]
    assert strongest == pytest.approx(220, abs=5) and centroid_hz(y, RATE) == pytest.approx(centroid_hz(x, RATE), rel=0.08)
    assert np.corrcoef(y[:, 0], y[:, 1])[0, 1] > 0.999  # one set of phases for both channels: the image kept


def test_a_loop_wraps_around_without_a_jump_or_a_dip():
    x = shaped_noise(3000, seconds=0.6)
    window_seconds = 0.1
    hop = window_frames(window_seconds, RATE) // 2
    y = paulstretch(x, RATE, stretch=5.0, window_seconds=window_seconds, loop=True)
    assert y.shape[0] % hop == 0 and abs(y.shape[0] - 5 * x.shape[0]) <= hop // 2  # whole hops, no fades
    jumps = np.abs(np.diff(y[:, 0]))
    assert abs(float(y[0, 0] - y[-1, 0])) <= np.percentile(jumps, 95)  # the wrap is an ordinary step
    around = np.concatenate([y[-2 * hop:], y[:2 * hop]])
    assert rms_db(around) > rms_db(y) - 1.5  # no dip at the loop point
    wrapped = np.concatenate([y, y])  # played twice: the loop point is just another join
    assert join_ratio(wrapped[y.shape[0] - 8 * hop:y.shape[0] + 8 * hop], hop, hop) < 2.0
    plain = paulstretch(x, RATE, stretch=5.0, window_seconds=window_seconds)
    assert abs(float(plain[0, 0] - plain[-1, 0])) < 1e-3  # without loop: faded in and out instead


def test_stretch_1000_streams_frames_and_the_length_is_capped():
    rate = 8000
    x = shaped_noise(2000, seconds=0.25, rate=rate)
    tracemalloc.start()
    try:
        y = paulstretch(x, rate, stretch=1000.0, window_seconds=0.1)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert y.shape[0] == 1000 * x.shape[0] + window_frames(0.1, rate)
    assert peak < 1.2 * y.nbytes + 2**20  # the output and a frame's work, no 1000x intermediate
    too_long = np.zeros((int(4 * rate), 1), np.float32)  # 4 s x 1000 > MAX_OUTPUT_SECONDS
    with pytest.raises(DawgenError, match=f"at most {MAX_OUTPUT_SECONDS / 60:.0f} minutes") as info:
        paulstretch(too_long, rate, stretch=1000.0)
    assert info.value.code == "bad_request"


def test_the_same_seed_gives_the_same_result():
    x = tones(0.3)
    a, b = paulstretch(x, RATE, 4.0, 0.05, seed=3), paulstretch(x, RATE, 4.0, 0.05, seed=3)
    assert np.array_equal(a, b) and not np.array_equal(a, paulstretch(x, RATE, 4.0, 0.05, seed=4))


@pytest.mark.parametrize(("step", "message"), [
    ('{"effect": "paulstretch", "stretch": 0.5}', "paulstretch.stretch must be 1..1000"),
    ('{"effect": "paulstretch", "stretch": 1001}', "paulstretch.stretch must be 1..1000"),
    ('{"effect": "paulstretch", "window_seconds": 0}', "paulstretch.window_seconds must be 0.01..10"),
    ('{"effect": "paulstretch", "stretch": "big"}', "paulstretch.stretch must be a number"),
    ('{"effect": "paulstretch", "loop": "yes"}', "paulstretch.loop must be true or false"),
    ('{"effect": "paulstretch", "seed": -1}', "paulstretch.seed must be a whole number"),
    ('{"effect": "paulstretch", "factor": 8}', "paulstretch has no parameter 'factor'"),
])
def test_bad_parameters_are_named(step, message):
    with pytest.raises(ValueError, match=message):
        parse_chain(step)


# -- in a chain, through the engine ---------------------------------------------------------------
def test_process_stretches_and_refuses_an_output_past_the_cap_at_submit(engine, tmp_path):  # noqa: F811
    song = tmp_path / "pad.wav"
    sf.write(song, tones(0.5), RATE, subtype="FLOAT")
    [out] = run(engine, "process", input=str(song), bit_depth="32f",
                chain='[{"effect": "paulstretch", "stretch": 8, "window_seconds": 0.25}]')
    y, rate = sf.read(out, dtype="float32", always_2d=True)
    assert rate == RATE and y.shape == (8 * RATE // 2 + window_frames(0.25, RATE), 2)
    twice = '[{"effect": "paulstretch", "stretch": 100}, {"effect": "paulstretch", "stretch": 100}]'
    error = refused(engine, "process", input=str(song), chain=twice)  # 0.5 s x 100 x 100 (+ windows): 84 minutes
    assert error.code == "bad_request" and "84 minutes long; at most 60 minutes" in error.message
    error = refused(engine, "process", input=str(song), chain='[{"effect": "paulstretch", "stretch": 0}]')
    assert error.code == "bad_request" and "paulstretch.stretch must be 1..1000" in error.message


@pytest.mark.skipif(importlib.util.find_spec("pedalboard") is None, reason="the process extra is not installed")
def test_steps_after_a_stretch_work_on_the_stretched_audio():
    x = tones(0.4)
    [stretch] = parse_chain('{"effect": "paulstretch", "stretch": 3, "window_seconds": 0.05}')
    alone = apply_chain(x, RATE, [stretch], lambda *a: None)
    both = apply_chain(x, RATE, parse_chain('[{"effect": "paulstretch", "stretch": 3, "window_seconds": 0.05}, '
                                            '{"effect": "Gain", "gain_db": -6}]'), lambda *a: None)
    assert both.shape == alone.shape == (round(3 * x.shape[0]) + window_frames(0.05, RATE), 2)
    assert rms_db(both) - rms_db(alone) == pytest.approx(-6.0, abs=0.01)
    reverb = parse_chain('[{"effect": "Reverb", "room_size": 0.9, "wet_level": 0.8}, '
                         '{"effect": "paulstretch", "stretch": 2, "window_seconds": 0.05}]')
    tailed = apply_chain(x, RATE, reverb, lambda *a: None, tail=True)
    assert tailed.shape[0] > 2 * x.shape[0] + RATE // 2  # the reverb's tail stretched with the sound


def test_chain_on_generate_stretches_the_result_before_the_post(engine):  # noqa: F811
    [dry] = run(engine, "generate", prompt="warm pad", seed=3)
    [wet] = run(engine, "generate", prompt="warm pad", seed=3,
                chain='[{"effect": "paulstretch", "stretch": 6, "window_seconds": 0.2}]')
    expected = 6 * sf.info(dry).duration + 0.2
    assert sf.info(wet).duration == pytest.approx(expected, abs=0.1)  # the post's trim of the faded end only
