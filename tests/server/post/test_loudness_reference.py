"""The fast loudness path against references: pyloudnorm's BS.1770-4 reading (which the meter
replaced), a whole-file soxr true peak (what the limiter used to re-measure), and the ceiling on
signals built to break a true-peak limiter."""
from __future__ import annotations

import numpy as np
import pytest
import soxr

from server.post import truepeak
from server.post.grid import trim_one_shot
from server.post.loudness import integrated_lufs, normalize, true_peak_dbtp

SR = 48000
RNG = np.random.default_rng(7)


def _tone(freq: float, seconds: float, amp: float, rate: int = SR, channels: int = 2, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([amp * np.sin(2 * np.pi * freq * t + phase)] * channels, axis=1).astype(np.float32)


def _square(freq: float, seconds: float, amp: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.stack([amp * np.sign(np.sin(2 * np.pi * freq * t))] * 2, axis=1).astype(np.float32)


def _gappy() -> np.ndarray:
    """Bursts between long digital silences (the K filter's state decays toward subnormals there)."""
    x = np.zeros((5 * SR, 2), np.float32)
    for start in (0.5, 2.0, 4.2):
        n = int(0.3 * SR)
        x[int(start * SR): int(start * SR) + n] = RNG.standard_normal((n, 2)) * 0.3
    return x


SIGNALS = {
    "noise": lambda: (RNG.standard_normal((4 * SR, 2)) * 0.1).astype(np.float32),
    "full-scale noise": lambda: np.clip(RNG.standard_normal((2 * SR, 2)), -1, 1).astype(np.float32),
    "square": lambda: _square(100.0, 2.0, 0.9),
    "fs/4 at 45 degrees": lambda: _tone(SR / 4, 1.0, 0.9, phase=np.pi / 4),
    "low tone": lambda: _tone(40.0, 3.0, 0.5),
    "mono": lambda: _tone(997.0, 2.0, 0.3, channels=1),
    "five channels": lambda: (RNG.standard_normal((2 * SR, 5)) * 0.05).astype(np.float32),
    "bursts and silence": _gappy,
    "near the -70 gate": lambda: (RNG.standard_normal((3 * SR, 2)) * 10 ** (-68 / 20)).astype(np.float32),
}


def _pyloudnorm(x: np.ndarray, rate: int) -> float:
    import pyloudnorm

    return float(pyloudnorm.Meter(rate).integrated_loudness(x.astype(np.float64)))


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_lufs_reads_as_pyloudnorm(name: str) -> None:
    x = SIGNALS[name]()
    assert integrated_lufs(x, SR) == pytest.approx(_pyloudnorm(x, SR), abs=1e-3)


@pytest.mark.parametrize("rate", [44100, 32000, 22050, 96000])
def test_lufs_reads_as_pyloudnorm_at_other_rates(rate: int) -> None:
    # Block bounds are int() of float products: at rates where 100 ms is not a whole number of
    # frames they are uneven, and must be pyloudnorm's to the frame.
    x = (RNG.standard_normal((int(2.37 * rate), 2)) * 0.2).astype(np.float32)
    assert integrated_lufs(x, rate) == pytest.approx(_pyloudnorm(x, rate), abs=1e-3)


def _reference_true_peak(x: np.ndarray) -> float:
    """The former measure: soxr HQ 4x on the interleaved file, once, plus the samples."""
    up = soxr.resample(np.ascontiguousarray(x, dtype=np.float32), 1000, 4000, quality="HQ")
    return 20 * np.log10(max(float(np.abs(up).max()), float(np.abs(x).max())))


@pytest.mark.parametrize("name", ["noise", "full-scale noise", "square", "fs/4 at 45 degrees", "mono"])
def test_true_peak_reads_as_the_whole_file_oversampler(name: str) -> None:
    x = SIGNALS[name]()
    assert true_peak_dbtp(x, SR) == pytest.approx(_reference_true_peak(x), abs=1e-4)


@pytest.mark.parametrize("name", ["full-scale noise", "square", "fs/4 at 45 degrees", "low tone", "bursts and silence"])
@pytest.mark.parametrize("target", [None, -14.0, -6.0])
@pytest.mark.parametrize("periodic", [False, True])
def test_never_over_the_ceiling_on_hard_signals(name: str, target: float | None, periodic: bool) -> None:
    x = SIGNALS[name]()
    out, report = normalize(x, SR, target, -1.0, periodic=periodic)
    measured = true_peak_dbtp(out, SR, periodic=periodic)
    assert measured <= -1.0 + 1e-6
    assert _reference_true_peak(out) <= -1.0 + 1e-4 or periodic  # a loop's peak may sit at the seam
    assert report["true_peak_after"] == pytest.approx(measured, abs=1e-4)
    assert report["lufs_after"] == pytest.approx(_pyloudnorm(out, SR), abs=1e-3)
    assert out.shape == x.shape


def test_limited_peak_check_reads_as_the_whole_clip() -> None:
    # After the limiter only the spans its gain touched are oversampled again: the reading must be
    # the whole clip's, with the changes at the ends of a loop reaching across the seam.
    x = (RNG.standard_normal((3 * SR, 2)) * 0.2).astype(np.float32)
    for periodic in (False, True):
        env = truepeak.envelope(x, periodic)
        changed = np.zeros(x.shape[0], bool)
        changed[[10, SR, 2 * SR + 5, x.shape[0] - 3]] = True
        whole = truepeak.peak(x, periodic)
        assert truepeak.peak_where(x, changed, env, periodic) == pytest.approx(whole, rel=1e-6)
        runs = [(10, 11), (SR - 5, SR + 3), (2 * SR + 5, 2 * SR + 6), (x.shape[0] - 3, x.shape[0] - 2)]
        assert truepeak.peak_where(x, runs, env, periodic) == pytest.approx(whole, rel=1e-6)  # as runs


def _reference_trim_bounds(x: np.ndarray, threshold_db: float = -60.0) -> tuple[int, int]:
    level = np.max(np.abs(x), axis=1)
    loud = np.flatnonzero(level >= level.max() * 10 ** (threshold_db / 20))
    return int(loud[0]), int(loud[-1])


@pytest.mark.parametrize("channels", [1, 2, 3])
def test_trim_one_shot_finds_the_same_bounds(channels: int) -> None:
    x = np.zeros((SR, channels), np.float32)
    x[1234:30000, channels - 1] = RNG.standard_normal(30000 - 1234) * 0.5
    x[100, 0] = 0.0004  # just under -60 dB of the peak in one channel: still silence
    out = trim_one_shot(x, SR)
    first, last = _reference_trim_bounds(x)
    pre = int(round(0.001 * SR))
    assert out.shape[0] == min(SR, last + 1 + 480) - (first - pre)
    np.testing.assert_array_equal(out[pre:pre + 1000], x[first:first + 1000])


def _full_curve(env: np.ndarray, limit: float, width: int, periodic: bool) -> np.ndarray:
    """The limiter's gain over the whole clip, as it was computed before it was kept as pieces."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    with np.errstate(divide="ignore"):
        g_req = np.minimum(1.0, limit / env)
    mode = "wrap" if periodic else "nearest"
    return uniform_filter1d(minimum_filter1d(g_req, size=2 * width + 1, mode=mode), size=width + 1, mode=mode)


@pytest.mark.parametrize("periodic", [False, True])
@pytest.mark.parametrize("peaks", [[5, 20_000, 47_990], [300, 310, 30_000], [47_999], [0, 24_000]])
def test_limiter_pieces_are_the_whole_clip_curve(periodic: bool, peaks: list[int]) -> None:
    from server.post.limiter import gain_curve

    env = np.abs(RNG.standard_normal(48_000)) * 0.1
    env[peaks] = 1.5  # over the limit: the limiter acts around these, at the clip's ends too
    curve = gain_curve(env, 0.9, 192, periodic)
    full = np.ones(env.shape[0])
    for a, b, g in curve.pieces:
        full[a:b] = g
    np.testing.assert_allclose(full, _full_curve(env, 0.9, 192, periodic), rtol=0, atol=1e-12)
    assert curve.min() == pytest.approx(0.6)


@pytest.mark.parametrize("compiled", [True, False])
def test_powers_under_the_limiter_are_those_of_the_limited_clip(compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only the limited pieces (and their filter tails) are filtered again; the block powers must be
    # those of filtering the whole limited clip, on the compiled and the numpy path alike.
    from server.post import _kernels, kweight
    from server.post.limiter import gain_curve

    if not compiled:
        monkeypatch.setattr(_kernels, "_compiled", False)
    assert (_kernels.get() is not None) == compiled
    x = (RNG.standard_normal((3 * SR + 11, 3)) * 0.02).astype(np.float32)
    x[[1000, SR, SR + 9000, 2 * SR + 17]] = 1.0  # peaks for the limiter, two of them one group
    env = truepeak.envelope(x)
    curve = gain_curve(env * 2.0, 0.89, 192, periodic=False)
    assert len(curve.pieces) == 4
    y = x.astype(np.float64) * 2.0
    for a, b, g in curve.pieces:
        y[a:b] *= g[:, None]
    measured = kweight.measure(x, SR)
    fast = measured.powers_with(2.0, curve.pieces)
    np.testing.assert_allclose(fast, kweight.powers_of(kweight.weighted(y, SR), SR), rtol=1e-9, atol=1e-18)
    assert not np.allclose(fast, measured.powers * 4.0, rtol=1e-3)  # the limiter did change them
