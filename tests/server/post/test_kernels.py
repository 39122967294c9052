"""The compiled loops (post/_kernels.py) against their numpy twins, which stay the reference: the
same bytes for PCM, the same envelope, block sums and loudness to float64 rounding."""
from __future__ import annotations

import numpy as np
import pytest

from server.output import wav
from server.post import _kernels, kweight, truepeak
from server.post.loudness import integrated_lufs, normalize

SR = 48000
RNG = np.random.default_rng(11)


def _both(fn, monkeypatch: pytest.MonkeyPatch):
    """fn() on the compiled path, then on the numpy path."""
    assert _kernels.get() is not None, "numba is installed: the compiled path must be on"
    compiled = fn()
    with monkeypatch.context() as m:
        m.setattr(_kernels, "_compiled", False)
        assert _kernels.get() is None
        reference = fn()
    return compiled, reference


def _gappy(channels: int) -> np.ndarray:
    x = np.zeros((3 * SR, channels), np.float32)
    x[SR: SR + SR // 3] = RNG.standard_normal((SR // 3, channels)) * 0.3
    return x


SIGNALS = {
    "stereo noise": lambda: (RNG.standard_normal((4 * SR + 17, 2)) * 0.1).astype(np.float32),
    "mono tone": lambda: (0.4 * np.sin(np.arange(2 * SR) * 2 * np.pi * 997 / SR))[:, None].astype(np.float32),
    "three channels": lambda: (RNG.standard_normal((SR, 3)) * 0.2).astype(np.float32),
    "five channels, bursts and silence": lambda: _gappy(5),
    "a strided view": lambda: (RNG.standard_normal((SR, 4)) * 0.2).astype(np.float32)[:, ::2],
}


@pytest.mark.parametrize("name", sorted(SIGNALS))
def test_block_powers_and_k_weighted_signal_match_numpy(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    x = SIGNALS[name]()
    powers, ref_powers = _both(lambda: kweight.block_powers(x, SR), monkeypatch)
    np.testing.assert_allclose(powers, ref_powers, rtol=1e-10, atol=1e-30)
    rows, ref_rows = _both(lambda: kweight.weighted(x, SR), monkeypatch)
    assert rows.shape == ref_rows.shape == (x.shape[1], x.shape[0])
    np.testing.assert_allclose(rows, ref_rows, rtol=1e-9, atol=1e-12)  # FMA rounding near zero crossings
    lufs, ref_lufs = _both(lambda: integrated_lufs(x, SR), monkeypatch)
    assert lufs == pytest.approx(ref_lufs, abs=1e-9)


@pytest.mark.parametrize("periodic", [False, True])
def test_envelope_matches_numpy_exactly(periodic: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    x = (RNG.standard_normal((SR // 2 + 3, 2)) * 0.5).astype(np.float32)
    env, ref = _both(lambda: truepeak.envelope(x, periodic), monkeypatch)
    assert env.dtype == ref.dtype and np.array_equal(env, ref)


@pytest.mark.parametrize("start", [-9, -4, -1, 0, 1, 2, 3, 6, 37, 38, 39])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 16, 23])
def test_envelope_piece_at_any_offset(start: int, size: int) -> None:
    # The envelope is taken piece by piece of the 4x signal: a piece may start or end inside a
    # frame, or reach past either end of the frames (context); each value lands in its own frame.
    kernels = _kernels.get()
    env = RNG.random(10).astype(np.float32) * 0.5
    up = (RNG.standard_normal(size) * 0.6).astype(np.float32)
    expected = env.copy()
    for j, value in enumerate(up):
        if 0 <= start + j < 4 * env.size:
            expected[(start + j) // 4] = max(expected[(start + j) // 4], abs(value))
    kernels.envelope_max_at(env, up, start)
    assert np.array_equal(env, expected)


def test_pack_pcm24_writes_the_same_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    lsb = 2.0 ** -23
    ties = (np.arange(-40, 40) + 0.5) * lsb  # exactly half an LSB: both round half to even
    edges = [-2.0, -1.0, -1.0 + lsb / 2, 1.0 - lsb, 1.0 - lsb / 2, 1.0, 3.5, 0.0, -0.0, lsb / 3]
    noise = RNG.standard_normal(20_000) * 0.7
    x = np.concatenate([ties, edges, noise]).astype(np.float32)
    x = x[: x.size // 2 * 2].reshape(-1, 2)
    data, ref = _both(lambda: wav.encode(x, SR, "24"), monkeypatch)
    assert bytes(data) == bytes(ref)
    strided = np.asfortranarray(x)  # not C-contiguous: packed from a contiguous copy
    data, ref = _both(lambda: wav.encode(strided, SR, "24"), monkeypatch)
    assert bytes(data) == bytes(ref)


@pytest.mark.parametrize("target", [None, -14.0, -6.0])
@pytest.mark.parametrize("periodic", [False, True])
def test_normalize_gives_the_same_audio_and_report(target: float | None, periodic: bool,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # -6 LUFS on this noise makes the limiter act, so the K-weighted signal is made on demand.
    x = (RNG.standard_normal((3 * SR, 2)) * 0.2).astype(np.float32)
    (out, report), (ref_out, ref_report) = _both(lambda: normalize(x, SR, target, -1.0, periodic=periodic),
                                                 monkeypatch)
    if target == -6.0:
        assert report["limiter_max_reduction_db"] > 1.0
    np.testing.assert_allclose(out, ref_out, rtol=0, atol=1e-6)
    assert report.keys() == ref_report.keys()
    for key, value in report.items():
        assert value == (pytest.approx(ref_report[key], abs=1e-6) if isinstance(value, float) else ref_report[key])


def test_no_numba_or_no_jit_means_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(_kernels, "_compiled", None)
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    assert _kernels.get() is None
    x = (RNG.standard_normal((SR, 2)) * 0.1).astype(np.float32)
    assert np.isfinite(integrated_lufs(x, SR))  # and the numpy path still measures
    monkeypatch.setattr(_kernels, "_compiled", None)
    monkeypatch.delitem(sys.modules, "numba")
    monkeypatch.setenv("DAWGEN_NO_JIT", "1")
    assert _kernels.get() is None
    monkeypatch.setattr(_kernels, "_compiled", None)
    monkeypatch.delenv("DAWGEN_NO_JIT")
    assert _kernels.get() is not None


def test_a_kernel_that_fails_to_compile_turns_them_off(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    # E.g. numba finds no writable cache folder, or no code generator for this CPU: the first use
    # compiles every kernel, so the failure shows there, and numpy does the work from then on.
    def broken(_kernels_ns: object) -> None:
        raise RuntimeError("cannot cache function 'k_filter': no locator available")

    monkeypatch.setattr(_kernels, "_compiled", None)  # the compiled kernels come back at the end
    monkeypatch.setattr(_kernels, "_exercise", broken)
    _kernels.warm_up()
    assert _kernels.get() is None and "using numpy" in caplog.text and "no locator" in caplog.text
    x = (RNG.standard_normal((SR, 2)) * 0.1).astype(np.float32)
    assert normalize(x, SR, -14.0)[1]["lufs_after"] == pytest.approx(-14.0, abs=0.1)
