"""A small RIFF/WAVE encoder of dawgen's own.

Why not soundfile: libsndfile cannot write the chunks DAWs read for tempo, key and loops (acid,
smpl, bext, iXML), and its float → 24-bit path is the slowest step of writing a file. This writes
PCM 16/24-bit and IEEE float 32-bit, with any extra chunks placed before `data` (where readers that
stop at `data` still see them). Layout per the Microsoft RIFF/WAVE and WAVEFORMATEXTENSIBLE specs.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

import numpy as np

from ..post import _kernels

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT GUID tails (the first two bytes are the format tag)
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_BITS = {"16": 16, "24": 24, "32f": 32}


class WavError(ValueError):
    pass


def chunk(tag: bytes, payload: bytes) -> bytes:
    """One RIFF chunk: 4-byte id, little-endian u32 size, payload, pad byte to an even size."""
    if len(tag) != 4:
        raise WavError(f"chunk id must be 4 bytes, got {tag!r}")
    pad = b"\x00" if len(payload) % 2 else b""
    return tag + struct.pack("<I", len(payload)) + payload + pad


def fmt_chunk(channels: int, sample_rate: int, bit_depth: str) -> bytes:
    bits = _BITS[bit_depth]
    tag = WAVE_FORMAT_IEEE_FLOAT if bit_depth == "32f" else WAVE_FORMAT_PCM
    block_align = channels * bits // 8
    base = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block_align, block_align, bits)
    if channels <= 2:
        return chunk(b"fmt ", base if tag == WAVE_FORMAT_PCM else base + struct.pack("<H", 0))
    # More than two channels: WAVE_FORMAT_EXTENSIBLE with a channel mask, as the spec asks.
    mask = (1 << channels) - 1 if channels <= 18 else 0
    ext = struct.pack("<HHIIHH", WAVE_FORMAT_EXTENSIBLE, channels, sample_rate, sample_rate * block_align,
                      block_align, bits)
    ext += struct.pack("<HHI", 22, bits, mask) + struct.pack("<H", tag) + _GUID_TAIL
    return chunk(b"fmt ", ext)


def pcm_bytes(samples: np.ndarray, bit_depth: str) -> bytes:
    """Interleaved little-endian sample data. Float input in [-1, 1]; values beyond are clipped."""
    out = np.empty(_pcm_size(samples, bit_depth), np.uint8)
    _pack_pcm(samples, bit_depth, out)
    return out.tobytes()


def _pcm_size(samples: np.ndarray, bit_depth: str) -> int:
    bits = _BITS.get(bit_depth)
    if bits is None:
        raise WavError(f"unsupported bit depth {bit_depth!r}")
    return samples.size * bits // 8


def _pack_pcm(samples: np.ndarray, bit_depth: str, out: np.ndarray) -> None:
    """The sample data, written into `out` (uint8, _pcm_size long): the file's own buffer, so the
    samples are packed once and never copied again."""
    if bit_depth == "32f":
        out.view("<f4")[:] = np.asarray(samples, dtype=np.float32).reshape(-1)
        return
    bits = _BITS[bit_depth]
    kernels = _kernels.get() if bits == 24 else None
    if kernels is not None:  # one pass, same bytes (see post/_kernels.py)
        kernels.pack_pcm24(np.ascontiguousarray(samples, dtype=np.float32), out)
        return
    scale = float(2 ** (bits - 1))
    scaled = np.asarray(samples, dtype=np.float32) * scale
    np.clip(scaled, -scale, scale - 1, out=scaled)
    np.rint(scaled, out=scaled)
    if bits == 16:
        out.view("<i2")[:] = scaled.reshape(-1)
        return
    as_bytes = scaled.astype("<i4").reshape(-1).view(np.uint8).reshape(-1, 4)
    packed = out.reshape(-1, 3)
    for i in range(3):  # three byte-column copies are ~3x faster than one strided [:, :3] copy
        packed[:, i] = as_bytes[:, i]


def encode(samples: np.ndarray, sample_rate: int, bit_depth: str = "24",
           extra_chunks: Iterable[bytes] = ()) -> bytearray:
    """A complete WAV file. `samples` is (frames, channels) float; `extra_chunks` are made with chunk()."""
    if samples.ndim != 2:
        raise WavError("samples must be (frames, channels)")
    channels = samples.shape[1]
    size = _pcm_size(samples, bit_depth)
    if size > 0xFFFFFFFF - 1024:
        raise WavError("longer than a WAV file can hold (4 GB); use flac")
    head = fmt_chunk(channels, sample_rate, bit_depth)
    if bit_depth == "32f":  # non-PCM formats carry a fact chunk with the frame count
        head += chunk(b"fact", struct.pack("<I", samples.shape[0]))
    before = b"WAVE" + head + b"".join(extra_chunks) + b"data" + struct.pack("<I", size)
    # One buffer for the whole file, the samples packed straight into it (a 10 s stereo 24-bit
    # file is 2.9 MB: joining pieces would copy it three more times).
    body = len(before) + size + size % 2  # the pad byte keeps the data chunk even
    out = bytearray(8 + body)
    out[:8] = b"RIFF" + struct.pack("<I", body)
    out[8:8 + len(before)] = before
    _pack_pcm(samples, bit_depth, np.frombuffer(out, np.uint8, count=size, offset=8 + len(before)))
    return out
