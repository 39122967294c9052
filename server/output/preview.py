"""A waveform + spectrogram PNG beside a file (`preview=true`), for people who would rather look.

Drawn with numpy into an RGB array and encoded as PNG with zlib: no plotting library to install.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

WIDTH, WAVE_H, SPEC_H = 800, 120, 180
_BG = np.array([24, 26, 32], dtype=np.uint8)
_WAVE = np.array([110, 200, 255], dtype=np.uint8)


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an (h, w, 3) uint8 array as a PNG (8-bit RGB, no filter)."""
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))

    def block(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + block(b"IHDR", header) + block(b"IDAT", zlib.compress(raw, 6)) + block(b"IEND", b"")


def _waveform(mono: np.ndarray) -> np.ndarray:
    img = np.tile(_BG, (WAVE_H, WIDTH, 1))
    cols = np.array_split(mono, WIDTH) if len(mono) >= WIDTH else [mono[i:i + 1] for i in range(len(mono))]
    mid = WAVE_H // 2
    for x, col in enumerate(cols[:WIDTH]):
        if col.size == 0:
            continue
        top = mid - int(round(float(col.max()) * (mid - 2)))
        bottom = mid - int(round(float(col.min()) * (mid - 2)))
        img[max(0, top):min(WAVE_H, bottom + 1), x] = _WAVE
    return img


def _colormap(v: np.ndarray) -> np.ndarray:
    """0..1 → a dark-blue / magenta / yellow ramp (perceptually ordered, like 'magma')."""
    stops = np.array([[0, 0, 4], [80, 18, 123], [182, 54, 121], [251, 136, 97], [252, 253, 191]], dtype=np.float32)
    pos = np.clip(v, 0, 1) * (len(stops) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(stops) - 2)
    frac = (pos - lo)[..., None]
    return (stops[lo] * (1 - frac) + stops[lo + 1] * frac).astype(np.uint8)


def _spectrogram(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    n_fft = 1024
    if len(mono) < n_fft:
        mono = np.pad(mono, (0, n_fft - len(mono)))
    hop = max(1, (len(mono) - n_fft) // (WIDTH - 1)) if len(mono) > n_fft else 1
    starts = np.minimum(np.arange(WIDTH) * hop, len(mono) - n_fft)
    frames = np.stack([mono[s:s + n_fft] for s in starts]) * np.hanning(n_fft)
    mag = np.abs(np.fft.rfft(frames, axis=1)).T  # (freq, time)
    db = 20 * np.log10(mag / (mag.max() + 1e-12) + 1e-9)
    # log-frequency rows from 30 Hz to Nyquist, low frequencies at the bottom
    freqs = np.geomspace(30, sample_rate / 2, SPEC_H)
    rows = np.clip((freqs / (sample_rate / 2) * (mag.shape[0] - 1)).astype(int), 0, mag.shape[0] - 1)
    return _colormap((db[rows[::-1]] + 90) / 90)


def render_png(samples: np.ndarray, sample_rate: int) -> bytes:
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    gap = np.tile(_BG, (4, WIDTH, 1))
    return png_bytes(np.concatenate([_waveform(mono), gap, _spectrogram(mono, sample_rate)], axis=0))
