import struct
import zlib

import numpy as np

from server.output.preview import SPEC_H, WAVE_H, WIDTH, render_png


def decode_png(data: bytes) -> np.ndarray:
    """A minimal PNG reader for the encoder's output (8-bit RGB, filter 0), independent of it."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        size = struct.unpack(">I", data[pos:pos + 4])[0]
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + size]
        assert struct.unpack(">I", data[pos + 8 + size:pos + 12 + size])[0] == zlib.crc32(tag + body) & 0xFFFFFFFF
        if tag == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert (depth, color) == (8, 2)
        elif tag == b"IDAT":
            idat += body
        pos += 12 + size
    assert width and height, "no IHDR chunk"
    raw = zlib.decompress(idat)
    rows = [raw[y * (width * 3 + 1) + 1:(y + 1) * (width * 3 + 1)] for y in range(height)]
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(height, width, 3)


def test_preview_shows_the_waveform_and_where_the_energy_is():
    rate = 48000
    t = np.arange(rate) / rate
    low = 0.8 * np.sin(2 * np.pi * 100 * t) * np.exp(-3 * t)  # a decaying 100 Hz tone
    img = decode_png(render_png(np.stack([low, low], axis=1).astype(np.float32), rate))
    assert img.shape == (WAVE_H + 4 + SPEC_H, WIDTH, 3)
    wave = img[:WAVE_H].sum(axis=2) > 200
    assert wave[:, :40].sum() > wave[:, -40:].sum() * 2  # louder at the start than at the end
    spec = img[WAVE_H + 4:].astype(float).sum(axis=2)
    assert spec[-SPEC_H // 4:].mean() > spec[:SPEC_H // 4].mean()  # energy at the bottom (low frequencies)
