"""The WAV encoder checked against the spec with readers that are not ours: Python's `wave`
module (stdlib, PCM) and libsndfile (through soundfile)."""
import io
import struct
import wave

import numpy as np
import pytest
import soundfile as sf

from server.output import wav


def signal(frames=4800, channels=2, seed=0):
    return (np.random.default_rng(seed).uniform(-1, 1, (frames, channels)) * 0.9).astype(np.float32)


@pytest.mark.parametrize("bits, width", [("16", 2), ("24", 3)])
def test_pcm_read_by_stdlib_wave(bits, width):
    x = signal()
    data = wav.encode(x, 48000, bits)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (2, width, 48000, 4800)


@pytest.mark.parametrize("bits, subtype, tol", [("16", "PCM_16", 1 / 32768), ("24", "PCM_24", 1 / 8388608), ("32f", "FLOAT", 0)])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_libsndfile_reads_back_the_same_samples(bits, subtype, tol, channels):
    x = signal(channels=channels)
    back, rate = sf.read(io.BytesIO(wav.encode(x, 44100, bits)), dtype="float64", always_2d=True)
    info = sf.info(io.BytesIO(wav.encode(x, 44100, bits)))
    assert rate == 44100 and info.subtype == subtype and back.shape == x.shape
    assert np.max(np.abs(back - x)) <= tol + 1e-9


def test_header_fields_follow_the_spec():
    data = wav.encode(signal(frames=10), 48000, "24")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8
    assert data[12:16] == b"fmt " and struct.unpack("<I", data[16:20])[0] == 16
    tag, ch, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[20:36])
    assert (tag, ch, rate, byte_rate, align, bits) == (1, 2, 48000, 48000 * 6, 6, 24)
    assert data[36:40] == b"data" and struct.unpack("<I", data[40:44])[0] == 60


def test_full_scale_clips_and_extra_chunks_sit_before_data():
    x = np.array([[1.0], [-1.0], [2.0], [0.0]], dtype=np.float32)
    data = wav.encode(x, 48000, "16", extra_chunks=[wav.chunk(b"test", b"abc")])
    assert data.index(b"test") < data.index(b"data")
    assert data[data.index(b"test") + 8: data.index(b"test") + 12] == b"abc\x00"  # padded to even
    samples = np.frombuffer(data[data.index(b"data") + 8:], dtype="<i2")
    assert samples.tolist() == [32767, -32768, 32767, 0]
    with pytest.raises(wav.WavError):
        wav.chunk(b"toolong", b"")
