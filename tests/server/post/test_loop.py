"""Seamless loops: exact length, the seam's discontinuity measured before and after, level through fades."""
from __future__ import annotations

import numpy as np
import pytest

from server.backends.synth.render import render
from server.post.loop import make_seamless, seam_discontinuity_db

SR = 48000
L = 47_000  # 1.0 - 1/48 s: 107.7 cycles of 110 Hz, so a plain cut does not line up


def sine(freq: float, frames: int, amp: float = 0.5) -> np.ndarray:
    t = np.arange(frames) / SR
    return np.stack([amp * np.sin(2 * np.pi * freq * t)] * 2, axis=1).astype(np.float32)


def prediction_errors_db(x: np.ndarray) -> np.ndarray:
    """The seam measure at every interior frame: what the material itself scores without a seam."""
    err = np.abs(x[2:] - (2 * x[1:-1] - x[:-2])).max(axis=1)
    return 20 * np.log10(np.maximum(err, 1e-20))


def test_a_plain_cut_of_a_sine_clicks_and_the_crossfade_removes_it() -> None:
    x = sine(110.0, L + SR // 10)
    assert seam_discontinuity_db(x[:L]) > -40.0  # the cut lands mid-cycle: a click
    out, mode = make_seamless(x, L, SR)
    assert mode == "crossfade" and out.shape == (L, 2) and out.dtype == np.float32
    assert seam_discontinuity_db(out) < -60.0
    np.testing.assert_array_equal(out[480:], x[480:L])  # only the crossfade region is touched
    # The crossfade itself adds no click anywhere inside the loop either.
    assert prediction_errors_db(out).max() < -60.0


def test_without_spare_material_the_seam_is_faded() -> None:
    x = sine(110.0, L)
    out, mode = make_seamless(x, L, SR)
    assert mode == "fade" and out.shape == (L, 2)
    assert seam_discontinuity_db(out) < -60.0
    assert np.all(out[0] == 0) and np.all(out[-1] == 0)
    np.testing.assert_array_equal(out[480:L - 480], x[480:L - 480])


def test_short_material_is_padded_and_its_own_end_faded() -> None:
    x = sine(110.0, L // 2)
    out, mode = make_seamless(x, L, SR)
    assert mode == "fade" and out.shape == (L, 2)
    assert np.all(out[L // 2:] == 0)
    assert np.all(out[L // 2 - 1] == 0)                    # the material's end fades to zero...
    assert prediction_errors_db(out).max() < -60.0         # ...so nothing inside the loop clicks
    assert seam_discontinuity_db(out) < -60.0


def test_white_noise_loop_is_measured_against_its_own_texture() -> None:
    rng = np.random.default_rng(11)
    x = (0.25 * rng.standard_normal((L + SR // 10, 2))).astype(np.float32)
    interior = prediction_errors_db(x[:L])
    out, mode = make_seamless(x, L, SR)
    seam = seam_discontinuity_db(out)
    # Noise is "discontinuous" everywhere (about -6 dBFS here), so a seam cannot be judged against
    # -60 dB. The crossfaded seam is the material's own x[L-1] -> x[L] step: no worse than its texture.
    assert np.median(interior) > -20.0
    assert seam <= np.percentile(interior, 99.9)


def test_equal_power_for_uncorrelated_material_keeps_the_level_through_the_crossfade() -> None:
    rng = np.random.default_rng(12)
    n = SR // 10  # a long 100 ms crossfade to have enough frames to measure
    x = (0.25 * rng.standard_normal((L + 2 * n, 2))).astype(np.float32)
    out, mode = make_seamless(x, L, SR, crossfade_ms=100.0)
    mid = out[n // 4: 3 * n // 4]  # where linear fades would dip most (-3 dB at the centre)
    rms_db = 20 * np.log10(np.sqrt(np.mean(mid.astype(np.float64) ** 2)) / 0.25)
    assert mode == "crossfade" and abs(rms_db) < 0.7


def test_equal_gain_for_correlated_material_keeps_a_sine_intact() -> None:
    # Head and tail in phase (the loop is a whole number of cycles): equal gain reproduces the sine
    # exactly; equal power would swell it by up to 3 dB mid-fade.
    n_cycles = 100
    loop = int(n_cycles * SR / 120.0)  # 120 Hz: exactly 400 frames a cycle
    x = sine(120.0, loop + SR // 10)
    out, _ = make_seamless(x, loop, SR, crossfade_ms=50.0)
    np.testing.assert_allclose(out, x[:loop], atol=1e-5)


def test_synth_material_cut_off_grid_becomes_seamless() -> None:
    n = int(1.7 * SR) + 7  # an arbitrary cut, not on any period of the material
    bass = render("bass", seed=1, seconds=3).samples
    assert seam_discontinuity_db(bass[:n]) > -40.0
    out, mode = make_seamless(bass, n, SR)
    assert mode == "crossfade" and seam_discontinuity_db(out) < -60.0

    pad = render("warm pad", seed=1, seconds=3).samples  # noisy texture: judged against itself
    assert seam_discontinuity_db(pad[:n]) > -40.0
    out, _ = make_seamless(pad, n, SR)
    assert seam_discontinuity_db(out) <= np.percentile(prediction_errors_db(out), 99.9)


def test_a_drum_loop_seam_is_no_bigger_than_its_own_hits() -> None:
    # Cut at a downbeat, the seam IS a drum onset (x[L] starts bar 3): as big a jump as any hit, no more.
    long = render("drum loop", seed=4, bpm=120, bars=3).samples
    n = 4 * SR  # two bars at 120 bpm
    out, mode = make_seamless(long, n, SR)
    assert mode == "crossfade" and out.shape == (n, 2)
    assert seam_discontinuity_db(out) <= prediction_errors_db(out).max()


def test_bad_arguments() -> None:
    x = sine(110.0, SR)
    with pytest.raises(ValueError):
        make_seamless(x, 1, SR)
    with pytest.raises(ValueError):
        make_seamless(x, 100, SR, crossfade_ms=10.0)  # 480 crossfade frames > 100 loop frames
    with pytest.raises(ValueError):
        make_seamless(x, L, SR, crossfade_ms=0.0)
    with pytest.raises(ValueError):
        seam_discontinuity_db(x[:1])
