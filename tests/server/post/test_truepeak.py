"""The true-peak oversampler in pieces (server/post/truepeak.py `_pieces`) against soxr's one call:
the same samples at every length, and the same readings of windows that cross the pieces."""
from __future__ import annotations

import numpy as np
import pytest

from server.post import truepeak

RNG = np.random.default_rng(5)
PIECE = truepeak._PIECE


@pytest.mark.parametrize("frames", [0, 1, 7, 2000, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE, 5 * PIECE + 777])
def test_pieces_are_the_samples_of_one_call(frames: int) -> None:
    row = (RNG.standard_normal(frames) * 0.3).astype(np.float32)
    whole = truepeak._upsampled(row)
    pieces = list(truepeak._pieces(row))
    at = 0
    for offset, piece in pieces:  # in order, back to back
        assert offset == at and piece.size > 0
        at += piece.size
    joined = np.concatenate([p for _, p in pieces]) if pieces else np.zeros(0, np.float32)
    assert joined.dtype == whole.dtype and np.array_equal(joined, whole)


def test_windows_across_pieces_read_as_the_whole_row() -> None:
    row = (RNG.standard_normal(4 * PIECE + 123) * 0.3).astype(np.float32)
    row[PIECE + 10] = 0.95  # a peak right after a piece boundary of the input
    whole = np.abs(truepeak._upsampled(row))
    edge = 4 * PIECE  # around the first pieces' boundaries of the 4x output
    windows = [(5, 9), (edge - 3000, edge + 3000), (edge + 4000, edge + 4400), (whole.size - 50, whole.size)]
    expected = max(float(whole[lo:hi].max()) for lo, hi in windows)
    assert truepeak._windows_peak(truepeak._pieces(row), windows) == expected
    assert truepeak._windows_peak(truepeak._pieces(row), []) == 0.0
