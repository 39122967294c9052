"""Loudness: LUFS against the BS.1770 reference tone, true peak between samples, normalisation + limiter."""
from __future__ import annotations

import json

import numpy as np
import pytest

from server.backends.synth.render import render
from server.post.loop import make_seamless, seam_discontinuity_db
from server.post.loudness import integrated_lufs, normalize, true_peak_dbtp

SR = 48000


def sine(freq: float, seconds: float, amp: float, channels: int = 2, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.stack([amp * np.sin(2 * np.pi * freq * t + phase)] * channels, axis=1).astype(np.float32)


def pink_noise(seconds: float, seed: int) -> np.ndarray:
    """1/f power (-3 dB/octave) by shaping white noise's spectrum; stereo, uncorrelated channels."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spec = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    f = np.fft.rfftfreq(n, 1 / SR)
    spec *= 1 / np.sqrt(np.maximum(f, 20.0))
    x = np.fft.irfft(spec, n, axis=1).T
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


def test_lufs_of_the_reference_tone() -> None:
    # BS.1770: a 0 dBFS 997 Hz sine in one channel reads -3.01 LKFS (the K filter is ~0 dB there).
    assert integrated_lufs(sine(997.0, 5.0, 1.0, channels=1), SR) == pytest.approx(-3.01, abs=0.05)
    # Stereo, both channels: +3 dB; -20 dB of gain: -20 LU.
    assert integrated_lufs(sine(997.0, 5.0, 0.1), SR) == pytest.approx(-20.0, abs=0.05)


def test_lufs_of_a_clip_shorter_than_a_block_is_padded_not_refused() -> None:
    short = sine(997.0, 0.2, 0.1)  # 200 ms: half a gating block
    # Zero-padded to 400 ms: the same energy over twice the time reads 3 dB lower than a long tone.
    assert integrated_lufs(short, SR) == pytest.approx(-23.0, abs=0.1)
    assert integrated_lufs(np.zeros((100, 2), np.float32), SR) == -np.inf


def test_true_peak_sees_the_peak_between_samples() -> None:
    # fs/4 sine at 45 degrees: every sample sits at 0.707 of the real peak (-3 dB).
    x = sine(SR / 4, 0.5, 0.5, phase=np.pi / 4)
    sample_peak_db = 20 * np.log10(np.abs(x).max())
    assert sample_peak_db == pytest.approx(20 * np.log10(0.5) - 3.01, abs=0.05)
    assert true_peak_dbtp(x, SR) == pytest.approx(20 * np.log10(0.5), abs=0.2)
    assert true_peak_dbtp(np.zeros((10, 1)), SR) == -np.inf


def drum_signal() -> np.ndarray:
    """Peaky: kicks four to the floor with silence between (crest factor far above a pink noise)."""
    kick = render("kick", seed=5, seconds=0.2).samples
    beat = np.zeros((SR // 2, 2), np.float32)
    beat[:kick.shape[0]] = kick
    return np.tile(beat, (8, 1)) * np.float32(0.05)  # 4 s, quiet: needs a lot of gain


# -14 LUFS of quiet kicks needs their peaks pushed past -1 dBTP: the limiter must act. Pink noise's
# peaks stay under the ceiling at -14 LUFS: gain alone reaches the target, the limiter stays out.
@pytest.mark.parametrize("name, limited", [("drums", True), ("pink", False)])
def test_normalize_to_minus_14_lufs_under_the_ceiling(name: str, limited: bool) -> None:
    x = drum_signal() if name == "drums" else pink_noise(4.0, seed=2)
    out, report = normalize(x, SR, -14.0, ceiling_dbtp=-1.0)
    assert out.shape == x.shape and out.dtype == np.float32
    assert integrated_lufs(out, SR) == pytest.approx(-14.0, abs=0.5)
    assert true_peak_dbtp(out, SR) <= -1.0 + 1e-6
    assert np.abs(out).max() < 1.0
    assert report["lufs_after"] == pytest.approx(integrated_lufs(out, SR))
    assert report["true_peak_after"] == pytest.approx(true_peak_dbtp(out, SR))
    assert report["lufs_before"] == pytest.approx(integrated_lufs(x, SR))
    reduction = report["limiter_max_reduction_db"]
    assert (reduction > 0.5, reduction == 0.0) == (limited, not limited)
    json.dumps(report, allow_nan=False)  # the report goes into provenance as strict JSON


def test_a_limited_loop_reaches_the_target_in_two_limited_rounds(monkeypatch) -> None:
    """Each limited round re-runs the limiter and re-filters what it changed; the secant step lands a
    drum loop that loses ~0.4 LU to the limiter within tolerance on the second (dB-for-dB took three)."""
    from server.post import loudness

    rounds = []
    original = loudness.gain_curve
    monkeypatch.setattr(loudness, "gain_curve", lambda *a, **k: rounds.append(1) or original(*a, **k))
    x = render("drum loop", seed=1, bpm=96, bars=4, sample_rate=SR).samples
    out, report = normalize(x, SR, -14.0, ceiling_dbtp=-1.0, periodic=True)
    assert report["limiter_max_reduction_db"] > 3.0 and len(rounds) == 2
    assert abs(integrated_lufs(out, SR) - -14.0) <= 0.1 and true_peak_dbtp(out, SR) <= -1.0 + 1e-6


def test_a_quiet_sine_is_raised_to_the_target() -> None:
    x = sine(1000.0, 5.0, 0.1)
    x *= np.float32(10 ** ((-30 - integrated_lufs(x, SR)) / 20))
    assert integrated_lufs(x, SR) == pytest.approx(-30.0, abs=0.01)
    out, report = normalize(x, SR, -14.0)
    assert integrated_lufs(out, SR) == pytest.approx(-14.0, abs=0.1)
    assert report["gain_db"] == pytest.approx(16.0, abs=0.1) and report["limiter_max_reduction_db"] == 0.0
    # A sine this loud is far under the ceiling: the gain is a plain gain, the waveform untouched.
    np.testing.assert_allclose(out, x * np.float32(10 ** (16 / 20)), rtol=1e-3, atol=1e-6)


def test_peak_normalise_a_one_shot_to_the_ceiling() -> None:
    kick = render("kick", seed=2).samples * np.float32(0.1)
    out, report = normalize(kick, SR, None, ceiling_dbtp=-1.0)
    assert report["mode"] == "peak"
    assert true_peak_dbtp(out, SR) == pytest.approx(-1.0, abs=0.1)
    assert true_peak_dbtp(out, SR) <= -1.0 + 1e-6


def test_never_over_the_ceiling_even_when_pushed_hard() -> None:
    # A full-scale square wave asked for -6 LUFS: the limiter must hold every inter-sample peak.
    t = np.arange(3 * SR) / SR
    square = np.stack([0.9 * np.sign(np.sin(2 * np.pi * 100 * t))] * 2, axis=1).astype(np.float32)
    out, report = normalize(square, SR, -6.0, ceiling_dbtp=-1.0)
    assert true_peak_dbtp(out, SR) <= -1.0 + 1e-6
    assert np.abs(out).max() <= 10 ** (-1 / 20)
    assert report["true_peak_before"] > 0.0  # the input's own inter-sample peaks were over full scale


def test_silence_and_bad_arguments() -> None:
    silent = np.zeros((SR, 2), np.float32)
    out, report = normalize(silent, SR, -14.0)
    assert report["mode"] == "silent" and np.array_equal(out, silent)
    json.dumps(report, allow_nan=False)
    x = sine(1000.0, 1.0, 0.1)
    with pytest.raises(ValueError):
        normalize(x, SR, -14.0, ceiling_dbtp=0.5)  # above full scale: would clip
    with pytest.raises(ValueError):
        normalize(x, SR, 3.0)
    with pytest.raises(ValueError):
        integrated_lufs(np.zeros((SR, 6), np.float32), SR)


def test_periodic_normalize_keeps_a_seamless_loop_seamless() -> None:
    # A loud bass loop that needs limiting: with periodic=True the limiter's gain wraps across the
    # seam, so the seam stays as clean as make_seamless left it.
    bass = render("bass", seed=1, seconds=3).samples
    loop, _ = make_seamless(bass, int(1.7 * SR) + 7, SR)
    assert seam_discontinuity_db(loop) < -60.0
    out, report = normalize(loop, SR, -8.0, periodic=True)
    assert report["limiter_max_reduction_db"] > 1.0
    assert true_peak_dbtp(out, SR, periodic=True) <= -1.0 + 1e-6
    assert seam_discontinuity_db(out) < -60.0
