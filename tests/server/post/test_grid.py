"""The grid: beats per bar, exact frame counts, tempo estimation, stretching onto the grid, one-shots.

Everything is measured on audio: onsets found in the stretched loops, frequencies by FFT.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from server.backends.synth import loops
from server.backends.synth.render import render
from server.backends.synth.words import parse
from server.post.grid import beats_per_bar, estimate_tempo, fit_to_grid, grid_frames, time_stretch, trim_one_shot

SR = 48000


@pytest.mark.parametrize("sig,beats", [("4/4", 4.0), ("3/4", 3.0), ("7/8", 3.5), ("6/8", 3.0), ("5/4", 5.0),
                                       ("12/8", 6.0), ("2/2", 4.0), (" 7/8 ", 3.5)])
def test_beats_per_bar(sig: str, beats: float) -> None:
    assert beats_per_bar(sig) == beats


@pytest.mark.parametrize("bad", ["5", "4/0", "4/3", "x/4", "4/x", "", "0/4", "4/4/4", "-4/4", "4.5/4"])
def test_beats_per_bar_refuses_what_is_not_a_time_signature(bad: str) -> None:
    with pytest.raises(ValueError, match="time_signature"):
        beats_per_bar(bad)


def exact_frames(bars: int, bpm: str, sig: str, sr: int) -> int:
    """The contract in exact rational arithmetic (bpm given as its decimal text), written out apart
    from grid.py. Python's round() rounds halves to even; no case below lands on a half."""
    num, den = (int(v) for v in sig.split("/"))
    value = Fraction(bars) * Fraction(num * 4, den) * 60 / Fraction(bpm) * sr
    return round(value)


TEMPOS = ["60", "61.5", "72", "90", "97.3", "100", "120", "128", "133.33", "140", "155.5", "174", "199.99", "200"]


@pytest.mark.parametrize("sig", ["4/4", "3/4", "7/8"])
def test_grid_frames_and_fit_to_grid_are_exact_over_a_tempo_grid(sig: str) -> None:
    rng = np.random.default_rng(7)
    noise = (0.1 * rng.standard_normal((SR * 40, 2))).astype(np.float32)
    for bpm in TEMPOS:
        for bars in (1, 2, 4, 8):
            want = exact_frames(bars, bpm, sig, SR)
            assert grid_frames(bars, float(bpm), sig, SR) == want, (bpm, bars, sig)
            # Both longer and shorter inputs come out exactly on the grid (source tempo given: on tempo).
            for have in (want + 1234, max(1, want - 999)):
                out, report = fit_to_grid(noise[:have], SR, want, float(bpm), source_bpm=float(bpm))
                assert out.shape == (want, 2) and out.dtype == np.float32
                assert report["stretch_ratio"] is None and report["frames_out"] == want


def test_grid_frames_refuses_bad_values() -> None:
    for args in [(0, 120, "4/4", SR), (2, 0, "4/4", SR), (2, float("nan"), "4/4", SR), (2, 120, "4/4", 0),
                 (2, 120, "4/4", 44100.5), (2, 120, "4/5", SR)]:
        with pytest.raises(ValueError):
            grid_frames(*args)


@pytest.mark.parametrize("prompt,bpm", [("drum loop", 90.0), ("drum loop", 120.0), ("drum loop", 140.0),
                                        ("drum loop", 97.3), ("house drum loop", 97.3), ("trap drum loop", 140.0),
                                        ("breakbeat drum loop", 90.0)])
def test_estimate_tempo_of_synth_loops_within_one_percent(prompt: str, bpm: float) -> None:
    loop = render(prompt, seed=1, bpm=bpm, bars=2).samples
    est = estimate_tempo(loop, SR)
    assert est is not None and abs(est / bpm - 1) < 0.01, (prompt, bpm, est)


@pytest.mark.parametrize("rate", [44100, 96000])
def test_estimate_tempo_at_other_sample_rates(rate: int) -> None:
    est = estimate_tempo(render("drum loop", seed=1, bpm=97.3, bars=2, sample_rate=rate).samples, rate)
    assert est is not None and abs(est / 97.3 - 1) < 0.01, est


@pytest.mark.parametrize("bpm", [70.0, 174.0])
def test_estimate_tempo_far_from_120_is_right_up_to_an_octave(bpm: float) -> None:
    est = estimate_tempo(render("house drum loop", seed=2, bpm=bpm, bars=2).samples, SR)
    assert est is not None and min(abs(est * m / bpm - 1) for m in (0.5, 1, 2)) < 0.01, est


def test_estimate_tempo_none_without_a_pulse() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(4 * SR) / SR
    assert estimate_tempo(0.1 * rng.standard_normal((4 * SR, 2)), SR) is None        # noise
    assert estimate_tempo((0.5 * np.sin(2 * np.pi * 220 * t))[:, None], SR) is None  # a steady tone
    assert estimate_tempo(render("warm pad", seed=1, seconds=4).samples, SR) is None
    assert estimate_tempo(np.zeros((4 * SR, 2)), SR) is None
    assert estimate_tempo(render("kick", seed=1).samples, SR) is None                 # one hit, no pulse


def peak_frequency(x: np.ndarray, sr: int) -> float:
    mono = x.mean(axis=1) * np.hanning(len(x))
    mag = np.abs(np.fft.rfft(mono))
    k = int(np.argmax(mag))
    a, b, c = np.log(mag[k - 1:k + 2])
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sr / len(x)


@pytest.mark.parametrize("freq", [55.0, 440.0])
def test_time_stretch_changes_length_not_pitch(freq: float) -> None:
    t = np.arange(2 * SR) / SR
    tone = np.stack([0.5 * np.sin(2 * np.pi * freq * t)] * 2, axis=1).astype(np.float32)
    for ratio in (1.25, 0.8):
        out = time_stretch(tone, SR, ratio)
        assert out.dtype == np.float32 and out.shape[1] == 2
        assert abs(out.shape[0] - tone.shape[0] / ratio) <= 1
        mid = out[out.shape[0] // 4: 3 * out.shape[0] // 4]
        # 5 cents; Rubber Band's R2 "crisp" mode would be 100+ cents off on a 55 Hz sine.
        assert abs(1200 * np.log2(peak_frequency(mid, SR) / freq)) < 5.0
        # Level within 1 dB (the short window costs a 55 Hz sine about 0.5 dB; 440 Hz is within 0.1).
        assert abs(20 * np.log10(np.sqrt(np.mean(mid ** 2)) / (0.5 / np.sqrt(2)))) < 1.0
        assert np.array_equal(out, time_stretch(tone, SR, ratio))  # deterministic: regen relies on it


def test_time_stretch_keeps_the_layout_and_refuses_bad_ratios() -> None:
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    mono = time_stretch(tone, SR, 1.1)
    assert mono.ndim == 2 and mono.shape[1] == 1
    for bad in (0.0, -1.0, 10.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="ratio"):
            time_stretch(tone, SR, bad)


def kick_onsets(x: np.ndarray, sr: int) -> list[int]:
    """First frame of each kick: the level crosses 30 % of the peak after 50 ms below it."""
    env = np.abs(x).max(axis=1)
    found: list[int] = []
    last = -sr
    for i in np.flatnonzero(env > 0.3 * env.max()):
        if i - last > 0.05 * sr:
            found.append(int(i))
        last = i
    return found


def test_fit_to_grid_stretches_a_loop_and_its_kicks_land_on_the_new_grid() -> None:
    parsed = parse("drum loop")
    kick = loops.render_loop(SR, np.random.default_rng(1), parsed.traits, parsed.style, bpm=120, bars=2,
                             only=("kick",))
    x = (0.9 * kick.samples / np.abs(kick.samples).max()).astype(np.float32)
    steps = [h.step for h in kick.hits if h.voice == "kick"]
    before = kick_onsets(x, SR)
    assert len(before) == len(steps) >= 4
    assert max(abs(f - s * 60 / 120 / 4 * SR) for f, s in zip(before, steps)) < 0.5e-3 * SR  # the measure works

    want = grid_frames(2, 126, "4/4", SR)
    out, report = fit_to_grid(x, SR, want, 126.0, source_bpm=120.0)
    assert out.shape == (want, 2) and report["stretch_ratio"] == pytest.approx(126 / 120)
    after = kick_onsets(out, SR)
    assert len(after) == len(steps)
    # Against the 126 grid, with the detector's own offset on each kick (measured at 120) taken out.
    errors_ms = [abs(a - (b - s * 60 / 120 / 4 * SR) - s * 60 / 126 / 4 * SR) / SR * 1000
                 for a, b, s in zip(after, before, steps)]
    assert max(errors_ms) < 4.0, errors_ms
    # Not stretched, the last kick would be this far off the 126 grid: the check can fail.
    assert steps[-1] * 60 / 4 * (1 / 120 - 1 / 126) * 1000 > 50


def test_fit_to_grid_estimates_the_tempo_of_a_full_loop() -> None:
    x = render("drum loop", seed=1, bpm=120, bars=2).samples
    want = grid_frames(2, 126, "4/4", SR)
    out, report = fit_to_grid(x, SR, want, 126.0)
    assert report["estimated_bpm"] == pytest.approx(120, rel=0.01)
    assert report["stretch_ratio"] == pytest.approx(126 / report["estimated_bpm"])
    assert out.shape == (want, 2) and report["frames_in"] == x.shape[0] and report["frames_out"] == want
    # The stretched loop measures at the new tempo.
    assert estimate_tempo(out, SR) == pytest.approx(126, rel=0.01)


def test_fit_to_grid_folds_octaves_and_respects_the_tolerance() -> None:
    x = render("house drum loop", seed=1, bpm=120, bars=2).samples
    n = grid_frames(2, 120, "4/4", SR)
    for source in (60.0, 120.0, 240.0, 120.5):  # half/double time and 0.4 % off: on tempo
        out, report = fit_to_grid(x, SR, n, 120.0, source_bpm=source)
        assert report["stretch_ratio"] is None and np.array_equal(out, x[:n]), source
    _, report = fit_to_grid(x, SR, grid_frames(2, 124, "4/4", SR), 124.0, source_bpm=62.0 * 0.97)
    assert report["source_bpm"] == pytest.approx(124 * 0.97) and report["stretch_ratio"] == pytest.approx(1 / 0.97)


def test_fit_to_grid_without_a_pulse_only_trims_and_keep_tail_keeps_the_tail() -> None:
    rng = np.random.default_rng(5)
    noise = (0.1 * rng.standard_normal((3 * SR, 2))).astype(np.float32)
    out, report = fit_to_grid(noise, SR, 2 * SR, 120.0)
    assert report["estimated_bpm"] is None and report["stretch_ratio"] is None
    assert np.array_equal(out, noise[:2 * SR])
    out, report = fit_to_grid(noise, SR, 2 * SR, 120.0, source_bpm=120.0, keep_tail=True)
    assert out.shape[0] == 3 * SR and report["frames_out"] == 3 * SR
    with pytest.raises(ValueError):
        fit_to_grid(noise, SR, 0, 120.0)


def test_trim_one_shot_drops_leading_silence_keeps_the_attack_and_ends_on_zero() -> None:
    kick = render("kick", seed=3).samples
    lead = int(0.3 * SR)
    x = np.concatenate([np.zeros((lead, 2), np.float32), kick, np.zeros((SR, 2), np.float32)])
    out = trim_one_shot(x, SR)
    level = np.abs(x).max(axis=1)
    first = int(np.flatnonzero(level >= level.max() * 1e-3)[0])  # -60 dB under the peak
    preroll = SR // 1000
    assert first >= lead
    assert out.shape[0] < x.shape[0] - lead - SR // 2               # leading and trailing silence gone
    np.testing.assert_array_equal(out[preroll:preroll + 2000], x[first:first + 2000])  # attack untouched
    assert np.abs(out).max() == np.abs(kick).max()                  # the peak survives
    assert np.all(out[0] == 0) and np.all(out[-1] == 0)             # starts and ends exactly at zero


def test_trim_one_shot_fades_a_tail_that_is_cut_off() -> None:
    t = np.arange(SR // 2) / SR
    x = np.stack([0.8 * np.sin(2 * np.pi * 100 * t)] * 2, axis=1).astype(np.float32)  # never decays
    out = trim_one_shot(x, SR, fade_ms=10.0)
    fade = SR // 100
    assert out.shape == x.shape                                      # nothing to drop, only the fade
    np.testing.assert_array_equal(out[1:-fade], x[1:-fade])
    assert np.all(out[-1] == 0) and np.abs(out[-2]).max() < 1e-4      # lands on zero, no step at the end
    assert np.abs(out[-fade:]).max() < 0.8 and np.abs(out[-fade // 10:]).max() < 0.05  # really fades
    silent = np.zeros((100, 2), np.float32)
    assert np.array_equal(trim_one_shot(silent, SR), silent)
    with pytest.raises(ValueError):
        trim_one_shot(x, SR, threshold_db=3.0)
