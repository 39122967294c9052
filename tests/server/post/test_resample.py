"""Sample-rate conversion: frequency and level kept, exact lengths, no aliasing, float32 out."""
from __future__ import annotations

import numpy as np
import pytest

from server.post.resample import resample


def tone(freq: float, rate: int, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([amp * np.sin(2 * np.pi * freq * t)] * 2, axis=1).astype(np.float32)


def measure(x: np.ndarray, rate: int) -> tuple[float, float]:
    """(frequency by interpolated FFT peak, RMS level in dB) of the middle, away from the edges."""
    mid = x[len(x) // 4: 3 * len(x) // 4, 0].astype(np.float64)
    mag = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    k = int(np.argmax(mag))
    a, b, c = np.log(mag[k - 1:k + 2])
    freq = (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / len(mid)
    return freq, 20 * np.log10(np.sqrt(np.mean(mid ** 2)))


def test_a_1khz_sine_keeps_frequency_and_level_through_48k_44k1_96k() -> None:
    x = tone(1000.0, 48000, 2.0)
    f0, level0 = measure(x, 48000)
    y = resample(x, 48000, 44100)
    z = resample(y, 44100, 96000)
    assert y.dtype == np.float32 and z.dtype == np.float32
    for sig, rate in ((y, 44100), (z, 96000)):
        freq, level = measure(sig, rate)
        assert freq == pytest.approx(1000.0, abs=0.05)
        assert level == pytest.approx(level0, abs=0.1)
    assert f0 == pytest.approx(1000.0, abs=0.05)


@pytest.mark.parametrize("src,dst", [(48000, 44100), (44100, 48000), (32000, 48000), (48000, 22050),
                                     (96000, 44100), (44100, 96000), (16000, 48000), (48000, 48000),
                                     (44100, 88200), (22050, 192000)])
def test_exact_output_lengths(src: int, dst: int) -> None:
    for frames in (1, 2, 3, 7, 1000, 44101, 48001):
        x = np.full((frames, 2), 0.1, np.float32)
        out = resample(x, src, dst)
        assert out.shape == (round(frames * dst / src), 2) and out.dtype == np.float32


def test_no_aliasing_a_20khz_tone_from_48k_to_22k05() -> None:
    x = tone(20000.0, 48000, 1.0)
    y = resample(x, 48000, 22050)
    rms_in = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    rms_out = np.sqrt(np.mean(y[len(y) // 10: -len(y) // 10].astype(np.float64) ** 2))
    assert 20 * np.log10(rms_out / rms_in) < -60.0  # would alias to 2.05 kHz at full level otherwise


def test_timing_is_kept() -> None:
    # An impulse at 1000 frames lands at 1000 * ratio: the resampler's delay is compensated.
    x = np.zeros((4800, 1), np.float32)
    x[1000] = 1.0
    for dst in (96000, 44100, 32000):
        y = resample(x, 48000, dst)
        assert abs(int(np.argmax(np.abs(y[:, 0]))) - 1000 * dst / 48000) <= 1


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        resample(np.zeros((10, 2), np.float32), 0, 48000)
    with pytest.raises(ValueError):
        resample(np.zeros((10, 2), np.float32), 48000, 44100.5)
    with pytest.raises(ValueError):
        resample(np.full((10, 2), np.nan, np.float32), 48000, 44100)


@pytest.mark.parametrize("src,dst", [(44100, 48000), (32000, 48000), (48000, 44100), (24000, 96000)])
def test_float32_io_gives_the_samples_of_soxr_in_double(src: int, dst: int) -> None:
    # resample hands soxr float32: its VHQ filter runs in double precision whatever the I/O type,
    # so the result must be the float64 path's, rounded once to float32.
    import soxr

    rng = np.random.default_rng(3)
    for frames in (src // 3, src // 7):
        x = (rng.standard_normal((frames, 2)) * 0.3).astype(np.float32)
        ref = soxr.resample(x.astype(np.float64), src, dst, quality="VHQ").astype(np.float32)
        out = resample(x, src, dst)
        n = min(ref.shape[0], out.shape[0])
        assert n >= out.shape[0] - 1
        np.testing.assert_array_equal(out[:n], ref[:n])
