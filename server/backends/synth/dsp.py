"""Small DSP building blocks for the synth backend: envelopes, oscillators, noise, filters, shaping.

Arrays are float64 with time on axis 0; mono is 1-D, stereo is (frames, 2). Everything random
takes a `np.random.Generator` so a seed reproduces the sound bit for bit.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

ArrayLike = float | np.ndarray


# -- pitch and time ------------------------------------------------------------------------------
def midi_to_hz(note: float) -> float:
    return float(440.0 * 2.0 ** ((note - 69.0) / 12.0))


def hz_to_midi(freq: float) -> float:
    return float(69.0 + 12.0 * np.log2(freq / 440.0))


def frames(seconds: float, sr: int) -> int:
    return max(1, int(round(seconds * sr)))


def time_axis(n: int, sr: int) -> np.ndarray:
    return np.arange(n) / sr


# -- envelopes -----------------------------------------------------------------------------------
def exp_decay(n: int, sr: int, tau: float, hold: float = 0.0) -> np.ndarray:
    """1.0 for `hold` seconds, then exp(-t/tau): the natural shape of struck things."""
    t = time_axis(n, sr) - hold
    return np.exp(-np.maximum(t, 0.0) / max(tau, 1e-4))


def adsr(n: int, sr: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """Linear attack, exponential decay towards `sustain`, linear release ending at the last frame.

    One-shots have no note-off, so the release is placed at the end of the buffer.
    """
    t = time_axis(n, sr)
    rise = np.clip(t / attack, 0.0, 1.0) if attack > 0 else np.ones(n)
    fall = sustain + (1.0 - sustain) * np.exp(-np.maximum(t - attack, 0.0) / max(decay, 1e-4))
    env = np.where(t < attack, rise, fall)
    if release > 0:
        env *= np.clip((n / sr - t) / release, 0.0, 1.0)
    return env


def fade_in(x: np.ndarray, sr: int, ms: float) -> np.ndarray:
    k = min(len(x), int(sr * ms / 1000))
    if k > 1:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, k))
        x = x.copy()
        x[:k] *= ramp if x.ndim == 1 else ramp[:, None]
    return x


def fade_out(x: np.ndarray, sr: int, ms: float) -> np.ndarray:
    """Raised-cosine fade to exactly zero at the last frame, so cut tails never click."""
    k = min(len(x), int(sr * ms / 1000))
    if k > 1:
        ramp = 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, k))
        x = x.copy()
        x[-k:] *= ramp if x.ndim == 1 else ramp[:, None]
    return x


# -- oscillators ---------------------------------------------------------------------------------
def sweep(n: int, sr: int, f_start: float, f_end: float, tau: float) -> np.ndarray:
    """Frequency per frame gliding exponentially from f_start to f_end (kick/tom pitch drop)."""
    return f_end + (f_start - f_end) * np.exp(-time_axis(n, sr) / max(tau, 1e-4))


def exp_glide(n: int, f_start: float, f_end: float, curve: float = 1.0) -> np.ndarray:
    """Exponential (musically even) glide over the whole buffer; curve > 1 lingers low, then rushes."""
    u = np.linspace(0.0, 1.0, n) ** curve
    return f_start * (f_end / f_start) ** u


def _phase(freq: ArrayLike, sr: int, n: int, phase0: float = 0.0) -> np.ndarray:
    """Running phase in cycles; phase[0] == phase0 so an oscillator starts exactly where asked."""
    if np.ndim(freq) == 0:  # fixed pitch: no running sum needed
        return phase0 + np.arange(n) * (float(freq) / sr)
    f = np.broadcast_to(np.asarray(freq, dtype=float), (n,))
    return phase0 + np.concatenate(([0.0], np.cumsum(f[:-1]))) / sr


def sine(freq: ArrayLike, sr: int, n: int, phase0: float = 0.0) -> np.ndarray:
    return np.sin(2 * np.pi * _phase(freq, sr, n, phase0))


def cosine(freq: ArrayLike, sr: int, n: int) -> np.ndarray:
    """A sine started at its peak: the instant step is the 'click' of an analog kick."""
    return np.cos(2 * np.pi * _phase(freq, sr, n))


def _polyblep(t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Polynomial band-limited step residual: removes most aliasing at waveform jumps, cheaply."""
    out = np.zeros_like(t)
    a = t < dt
    x = t[a] / dt[a]
    out[a] = x + x - x * x - 1.0
    b = t > 1.0 - dt
    x = (t[b] - 1.0) / dt[b]
    out[b] = x * x + x + x + 1.0
    return out


def saw(freq: ArrayLike, sr: int, n: int, phase0: float = 0.0) -> np.ndarray:
    dt = np.broadcast_to(np.asarray(freq, dtype=float) / sr, (n,))
    t = _phase(freq, sr, n, phase0) % 1.0
    return 2.0 * t - 1.0 - _polyblep(t, dt)


def square(freq: ArrayLike, sr: int, n: int, phase0: float = 0.0) -> np.ndarray:
    dt = np.broadcast_to(np.asarray(freq, dtype=float) / sr, (n,))
    t = _phase(freq, sr, n, phase0) % 1.0
    return np.where(t < 0.5, 1.0, -1.0) + _polyblep(t, dt) - _polyblep((t + 0.5) % 1.0, dt)


def noise(n: int, rng: np.random.Generator, tilt: float = 0.0) -> np.ndarray:
    """Unit-RMS noise with spectral slope `tilt` (dB/octave / 3): 0 white, -1 pink, -2 brown, +1 blue."""
    x = rng.standard_normal(n)
    if tilt != 0.0 and n > 2:
        spec = np.fft.rfft(x)
        f = np.arange(len(spec), dtype=float)
        f[0] = 1.0
        x = np.fft.irfft(spec * f ** (tilt / 2.0), n)
    rms = float(np.sqrt(np.mean(x**2)))
    return x / rms if rms > 0 else x


# -- filters -------------------------------------------------------------------------------------
def _clamp(freq: float, sr: int) -> float:
    # Keep corners clear of DC and Nyquist so the same recipe works at 44.1, 48 and 96 kHz.
    return float(min(max(freq, 10.0), 0.45 * sr))


def lowpass(x: np.ndarray, sr: int, freq: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, _clamp(freq, sr), btype="lowpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def highpass(x: np.ndarray, sr: int, freq: float, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, _clamp(freq, sr), btype="highpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def bandpass(x: np.ndarray, sr: int, lo: float, hi: float, order: int = 2) -> np.ndarray:
    lo, hi = _clamp(lo, sr), _clamp(hi, sr)
    if hi <= lo * 1.05:  # a corner pushed against Nyquist: fall back to a high-pass
        return highpass(x, sr, lo, order)
    sos = signal.butter(order, [lo, hi], btype="bandpass", fs=sr, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def sweep_filter(x: np.ndarray, sr: int, freqs: np.ndarray, kind: str = "lowpass", q: float = 0.707,
                 block: int | None = None) -> np.ndarray:
    """Biquad (RBJ cookbook) whose corner follows `freqs` (one value per frame), for filter envelopes.

    Coefficients change once per `block` frames (default ~1.3 ms) and the filter state carries over,
    which is smooth enough for envelopes and sweeps and far cheaper than a per-sample Python loop.
    Mono input.
    """
    n = len(x)
    block = block or max(32, sr // 750)
    starts = np.arange(0, n, block)
    w = 2 * np.pi * np.clip(freqs[starts], 20.0, 0.45 * sr) / sr
    cosw, alpha = np.cos(w), np.sin(w) / (2 * q)
    if kind == "lowpass":
        b = np.stack([(1 - cosw) / 2, 1 - cosw, (1 - cosw) / 2], axis=1)
    elif kind == "bandpass":  # constant 0 dB peak gain
        b = np.stack([alpha, np.zeros_like(alpha), -alpha], axis=1)
    elif kind == "highpass":
        b = np.stack([(1 + cosw) / 2, -(1 + cosw), (1 + cosw) / 2], axis=1)
    else:
        raise ValueError(f"unknown filter kind {kind!r}")
    a = np.stack([1 + alpha, -2 * cosw, 1 - alpha], axis=1)
    y = np.empty(n)
    zi = np.zeros(2)
    for i, s in enumerate(starts):
        y[s:s + block], zi = signal.lfilter(b[i] / a[i, 0], a[i] / a[i, 0], x[s:s + block], zi=zi)
    return y


# -- shaping -------------------------------------------------------------------------------------
def saturate(x: np.ndarray, drive: float) -> np.ndarray:
    """tanh soft clip, rescaled so full scale stays full scale; drive <= 0 leaves x alone."""
    if drive <= 0:
        return x
    return np.tanh(drive * x) / np.tanh(drive)


def bitcrush(x: np.ndarray, sr: int, bits: float, target_sr: float) -> np.ndarray:
    """Sample-and-hold down to ~target_sr and quantise to `bits`: the grit of old samplers."""
    hold = max(1, int(round(sr / target_sr)))
    y = np.repeat(x[::hold], hold, axis=0)[: len(x)]
    steps = 2.0 ** (bits - 1)
    peak = float(np.max(np.abs(y))) or 1.0
    return np.round(y / peak * steps) / steps * peak


def lofi(x: np.ndarray, sr: int, rng: np.random.Generator, amount: float = 1.0,
         cutoff: float = 5000.0) -> np.ndarray:
    """Dusty sampler: bit-crush, low-pass, tape hiss and a few vinyl crackles.

    The crush rate follows `cutoff` (3x) so a lofi hat keeps its top while a lofi kick gets grainy.
    """
    y = bitcrush(x, sr, bits=12 - 3 * min(amount, 1.5), target_sr=3 * cutoff / max(amount, 0.5) ** 0.5)
    y = lowpass(y, sr, cutoff / max(amount, 0.5), order=2)
    peak = float(np.max(np.abs(y))) or 1.0
    # Hiss: differenced white noise (rises 6 dB/octave, like tape hiss) - cheap even for long loops.
    y += np.diff(rng.standard_normal((len(x) + 1,) + x.shape[1:]), axis=0) * 0.003 * amount * peak
    # Crackle: a few tiny decaying ticks at random places, ~6 per second.
    k = np.arange(max(2, sr // 2000))  # 0.5 ms
    tick = np.exp(-k * 8000 / sr) * np.cos(2 * np.pi * 3000 * k / sr)
    count = max(1, int(len(x) / sr * 6 * amount))
    for at, level in zip(rng.integers(0, len(x), size=count), rng.uniform(-1, 1, size=count) * 0.08 * peak):
        seg = y[at:at + len(tick)]
        seg += (level * tick[: len(seg)]).reshape((-1,) + (1,) * (x.ndim - 1))
    return y


def to_stereo(x: np.ndarray) -> np.ndarray:
    return np.column_stack([x, x]) if x.ndim == 1 else x


def pan(x: np.ndarray, position: float) -> np.ndarray:
    """Equal-power pan of a mono signal; position -1 (left) .. +1 (right)."""
    angle = (np.clip(position, -1.0, 1.0) + 1.0) * np.pi / 4
    return np.column_stack([x * np.cos(angle), x * np.sin(angle)]) * np.sqrt(2.0)


def widen(x: np.ndarray, sr: int, amount: float, delay_ms: float = 0.7) -> np.ndarray:
    """Mono -> stereo by adding a delayed, high-passed copy as the side signal.

    The low end stays mono (high-pass at 300 Hz) so the sound survives a mono club system.
    """
    mid = x if x.ndim == 1 else x.mean(axis=1)
    d = max(1, int(sr * delay_ms / 1000))
    side = np.concatenate([np.zeros(d), highpass(mid, sr, 300)[:-d]])[: len(mid)]
    base = to_stereo(x)
    return base + amount * np.column_stack([side, -side])


def normalize(x: np.ndarray, peak: float) -> np.ndarray:
    top = float(np.max(np.abs(x))) if x.size else 0.0
    return x * (peak / top) if top > 0 else x
