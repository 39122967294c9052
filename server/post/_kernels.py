"""Compiled inner loops of the DAW-ready chain (numba, the `fast` extra), each with a numpy twin.

Four loops cost most of a file's CPU time when written in numpy, because numpy makes a pass over
the audio (and often a temporary) per operation: the K-weighting filter and its block sums (a
recurrence, latency-bound in scipy's sosfilt), what a limiter's gain adds to those sums (the same
filter over the spans it touched), the true-peak envelope (a max over 4 oversampled phases) and
packing 24-bit PCM. Here each is one pass. (A plain max |x| is not here: numpy's vectorised max
and min beat a compiled loop, which does not vectorise.)

The numpy code in kweight.py, truepeak.py and wav.py stays the reference and the fallback. It runs
instead without numba, with DAWGEN_NO_JIT=1, or when a kernel fails to compile or load. The tests
hold both paths to the same results: bit-identical PCM, block sums to ~1e-14 relative.

numba is imported on first use, never at the daemon's start (front doors stay light). Compiled
machine code is cached on disk (`cache=True`), so only the first file on a machine pays the
compile. The first use compiles every kernel; the writer's start (post/pipeline.py `warm`, which
calls `warm_up()`) makes that first use off the request path.
"""
from __future__ import annotations

import logging
import os
import threading
from types import SimpleNamespace
from typing import Any

__all__ = ["get", "warm_up"]

log = logging.getLogger(__name__)
_lock = threading.Lock()
_compiled: Any = None  # None: not tried yet; False: unavailable


def get() -> Any | None:
    """The compiled kernels (a namespace of functions), or None when numba is not installed, the
    DAWGEN_NO_JIT environment variable is set, or they failed to compile (or to load from numba's
    cache, say no writable cache folder): then numpy does the work, and a warning says why. The
    first call compiles or loads every kernel for every layout the chain passes them (~0.5 s from
    the cache): off the request path when the writer's warm_up() makes it."""
    global _compiled
    if _compiled is None:
        with _lock:
            if _compiled is None:
                _compiled = _build() if not os.environ.get("DAWGEN_NO_JIT") else False
    return _compiled or None


def warm_up() -> None:
    """Compile (or load from the cache) every kernel, off the request path."""
    get()


def _exercise(k: Any) -> None:
    import numpy as np

    sos = np.array([[1.0, 0, 0, 1.0, 0, 0]] * 2)
    cuts = np.zeros(1, np.int64)
    for x in (np.zeros((8, 2), np.float32), np.zeros((8, 4), np.float32)[:, ::2]):  # contiguous, a view
        k.k_filter(x, 0, 1, sos, cuts, 1e-20, np.zeros((2, 1)), np.zeros((0, 0)))
        k.k_filter(x, 0, 1, sos, cuts, 1e-20, np.zeros((2, 1)), np.zeros((2, 8)))
        k.k_cross(x, 0, 1, 0, np.zeros(8), np.zeros((2, 8)), 1.0, sos, cuts, 0, 1e-20, np.zeros((2, 1)))
    x = np.zeros((8, 2), np.float32)
    k.envelope_max_at(np.zeros(8, np.float32), np.zeros(32, np.float32), -4)
    k.pack_pcm24(x, np.zeros(48, np.uint8))


def _build() -> SimpleNamespace | bool:
    try:
        import numba
    except ImportError:
        return False
    import numpy as np

    # contract: a*b+c as one fused multiply-add, which shortens the filter's recurrence (the
    # result moves by ~1e-16 relative, far below the loudness reading's 1e-3 LU tolerance).
    jit = numba.njit(cache=True, nogil=True, fastmath={"contract"})

    @numba.njit(inline="always", fastmath={"contract"})
    def k_step(v, z, k):  # pragma: no cover - compiled
        """One frame `v` through the K filter's two biquads (transposed direct form II): the output
        and the new state z = (s0, s1, t0, t1); k holds (b0, b1, b2, a1, a2) of each section."""
        y = k[0] * v + z[0]
        s0 = (k[1] * v + z[1]) - k[3] * y  # k1*v + s1 does not wait for y: a shorter chain
        s1 = k[2] * v - k[4] * y
        w = k[5] * y + z[2]
        t0 = (k[6] * y + z[3]) - k[8] * w
        t1 = k[7] * y - k[9] * w
        return w, (s0, s1, t0, t1)

    @numba.njit(inline="always")
    def coefficients(sos):  # pragma: no cover - compiled
        """(b0, b1, b2, a1, a2) of each section, as a tuple: the values stay in registers."""
        return (sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5],
                sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5])

    @jit
    def k_filter(x, c, d, sos, cuts, floor, sums, rows):  # pragma: no cover - compiled
        """Two biquads (transposed direct form II, float64) over channels c and d of x (d == c for
        a lone channel), plus a +-floor tone at Nyquist (see kweight.weighted). sums[ch, k]: the
        sum of squares of channel ch's output over [cuts[k], cuts[k+1]) (the last to the end;
        cuts[0] is 0, or nothing is filtered); the output itself goes into rows[ch] when rows has
        columns. Two channels per loop: each channel's recurrence is a chain of dependent
        multiply-adds, and two chains overlap."""
        frames = x.shape[0]
        coeffs = coefficients(sos)
        keep = rows.shape[1] > 0
        zc = zd = (0.0, 0.0, 0.0, 0.0)
        for k in range(cuts.size):
            stop = cuts[k + 1] if k + 1 < cuts.size else frames
            acc_c = acc_d = 0.0
            for n in range(cuts[k], stop):
                f = floor if n % 2 == 0 else -floor
                w, zc = k_step(np.float64(x[n, c]) + f, zc, coeffs)
                ww, zd = k_step(np.float64(x[n, d]) + f, zd, coeffs)
                acc_c += w * w
                acc_d += ww * ww
                if keep:
                    rows[c, n] = w
                    rows[d, n] = ww
            sums[c, k] = acc_c
            sums[d, k] = acc_d

    @jit
    def k_cross(x, c, d, start, step, kx, gain, sos, cuts, first, floor, sums):  # pragma: no cover - compiled
        """For channels c and d (d == c for a lone channel): kd = K(x * step) over frames
        [start, start + len(step)) (zero state, +-floor at Nyquist), and sums[ch, k] +=
        kd * (2 * gain * kx[ch] + kd) over each piece k between cuts, from piece `first` on:
        what a limiter's gain adds to a block's sum of squares (see KWeighted.powers_with)."""
        coeffs = coefficients(sos)
        zc = zd = (0.0, 0.0, 0.0, 0.0)
        k = first
        nxt = cuts[k + 1] if k + 1 < cuts.size else x.shape[0] + 1
        acc_c = acc_d = 0.0
        twice = 2.0 * gain
        for i in range(step.shape[0]):
            n = start + i
            if n == nxt:
                sums[c, k] += acc_c
                if d != c:
                    sums[d, k] += acc_d
                acc_c = acc_d = 0.0
                k += 1
                nxt = cuts[k + 1] if k + 1 < cuts.size else x.shape[0] + 1
            f = floor if i % 2 == 0 else -floor
            w, zc = k_step(np.float64(x[n, c]) * step[i] + f, zc, coeffs)
            ww, zd = k_step(np.float64(x[n, d]) * step[i] + f, zd, coeffs)
            acc_c += w * (twice * kx[c, n] + w)
            acc_d += ww * (twice * kx[d, n] + ww)
        sums[c, k] += acc_c
        if d != c:
            sums[d, k] += acc_d

    @jit
    def envelope_max_at(env, up, start):  # pragma: no cover - compiled
        """env[n] = max(env[n], |up[4n]|, ..., |up[4n+3]|) for every frame n of env, where `up` is a
        piece of the 4x signal whose first value is at 4x index `start` (negative: context before
        the frames); values outside env's frames are skipped."""
        j, stop = max(0, -start), min(up.shape[0], 4 * env.shape[0] - start)
        while j < stop and (start + j) & 3:  # a frame the piece starts inside (soxr's pieces do not)
            n = (start + j) >> 2
            env[n] = max(env[n], abs(up[j]))
            j += 1
        first = (start + j) >> 2
        last = max(first, (start + stop) >> 2)  # (none when the piece lies wholly outside the frames)
        frames, phases = env[first:last], up[4 * first - start: 4 * last - start]
        for n in range(frames.shape[0]):  # whole frames, four phases each (views from 0: this vectorises)
            m = frames[n]
            for k in range(4):
                a = abs(phases[4 * n + k])
                if a > m:
                    m = a
            frames[n] = m
        for i in range(max(j, stop - ((start + stop) & 3)), stop):  # a frame the piece ends inside
            n = (start + i) >> 2
            env[n] = max(env[n], abs(up[i]))

    @jit
    def pack_pcm24(samples, out):  # pragma: no cover - compiled
        """As wav._pack_pcm for 24-bit (same bytes): scale, clip, round half to even, 3 LE bytes.
        `samples` is C-contiguous. float64 holds every scaled float32 exactly, and adding and
        subtracting 1.5 * 2**52 rounds it to an integer half to even, as np.rint does, without a
        call per value, so the loop vectorises."""
        flat = samples.reshape(-1)
        for j in range(flat.shape[0]):
            v = min(max(np.float64(flat[j]) * 8388608.0, -8388608.0), 8388607.0)
            q = np.int32((v + 6755399441055744.0) - 6755399441055744.0)
            out[3 * j] = q & 0xFF
            out[3 * j + 1] = (q >> 8) & 0xFF
            out[3 * j + 2] = (q >> 16) & 0xFF

    kernels = SimpleNamespace(k_filter=k_filter, k_cross=k_cross, envelope_max_at=envelope_max_at, pack_pcm24=pack_pcm24)
    try:
        _exercise(kernels)
    except Exception as exc:  # noqa: BLE001 - any compile or cache failure means: use the numpy path
        log.warning("compiled post-processing loops unavailable (%s: %s); using numpy", type(exc).__name__, exc)
        return False
    return kernels
