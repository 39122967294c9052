"""Writer overhead: post-process and atomically write 10 s of 48 kHz stereo 24-bit with its
sidecar, beside a bare `soundfile.write` of the same samples measured in the same run. One core's
figure (server/post/_parallel.py off), and the wall time with the channels on threads.

Target (issue #25): <= 25 ms per file on one core, <= 2.5x the bare write. The writer fsyncs a
file before renaming it into place (a file the DAW has seen survives a power cut), which costs what
the disk costs: so each ratio compares like with like, the writer with fsync against a bare write
plus fsync, and the writer without fsync against the bare write alone.
Also `count=8`: eight such outputs of one job post-processed in the writer's thread pool, beside the
same eight one at a time (numpy, scipy and soxr release the GIL; the gain is bounded by the cores).
    .venv/bin/python bench/writer.py
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import percentile
from table import Row, at_most

from server.backends.base import Audio
from server.jobs import Job
from server.output import writer as writer_module
from server.output.writer import OutputWriter
from server.post import _parallel

PARAMS = {"prompt": "bench loop", "seed": 1, "sample_rate": 48000, "bit_depth": "24", "format": "wav", "dir": ""}


def main(runs: int = 30) -> dict[str, float]:
    rng = np.random.default_rng(0)
    samples = (rng.standard_normal((480_000, 2)) * 0.1).astype(np.float32)
    provenance = {"model": {"name": "synth", "backend": "synth", "version": "1"}, "params": PARAMS}
    threads = _parallel.THREADS
    with tempfile.TemporaryDirectory() as tmp:
        writer = OutputWriter([tmp])
        bare, bare_sync, ours, ours_nosync, ours_threads = [], [], [], [], []
        for i in range(runs):  # every variant once per round, each from a clean page cache (see _settle)
            _settle()
            started = time.perf_counter()
            sf.write(Path(tmp) / f"bare_{i}.wav", samples, 48000, subtype="PCM_24")
            bare.append(time.perf_counter() - started)
            _settle()
            started = time.perf_counter()
            with open(Path(tmp) / f"bare_sync_{i}.wav", "wb") as fh:
                sf.write(fh, samples, 48000, subtype="PCM_24", format="WAV")
                fh.flush()
                os.fsync(fh.fileno())
            bare_sync.append(time.perf_counter() - started)
            for seed, fsync, workers, times in ((i, True, 1, ours), (1000 + i, False, 1, ours_nosync),
                                                (2000 + i, True, threads, ours_threads if threads > 1 else [])):
                writer.fsync, _parallel.THREADS = fsync, workers  # the targets are one core's
                _settle()
                job = Job(id=Job.new_id(), verb="generate", model="synth", params=dict(PARAMS, seed=seed))
                started = time.perf_counter()
                writer.write_job(job, [Audio(samples, 48000, seed=i)], provenance)
                times.append(time.perf_counter() - started)
    _parallel.THREADS = threads
    res = {"bare_ms": percentile(bare, 50) * 1e3, "bare_fsync_ms": percentile(bare_sync, 50) * 1e3,
           "writer_ms": percentile(ours, 50) * 1e3,
           "writer_p90_ms": percentile(ours, 90) * 1e3, "writer_nofsync_ms": percentile(ours_nosync, 50) * 1e3,
           "threads": threads, "writer_threads_ms": percentile(ours_threads, 50) * 1e3 if ours_threads else None}
    print(f"writer: 10 s of 48 kHz stereo, 24-bit WAV + sidecar, median of {runs}:")
    print(f"  bare soundfile.write          : {res['bare_ms']:.1f} ms")
    print(f"  bare soundfile.write + fsync  : {res['bare_fsync_ms']:.1f} ms")
    print(f"  dawgen writer (fsync, atomic) : {res['writer_ms']:.1f} ms (p90 {res['writer_p90_ms']:.1f} ms; target <= 25 ms)")
    print(f"  dawgen writer without fsync   : {res['writer_nofsync_ms']:.1f} ms")
    if res["writer_threads_ms"]:
        print(f"  dawgen writer, channels on {threads} threads (fsync): {res['writer_threads_ms']:.1f} ms")
    print(f"  ratio with fsync / bare + fsync = {res['writer_ms'] / res['bare_fsync_ms']:.2f}x, "
          f"without fsync / bare = {res['writer_nofsync_ms'] / res['bare_ms']:.2f}x (targets <= 2.5x)")
    return res


def _settle() -> None:
    """Write back what earlier files left dirty, untimed: on ext4 (data=ordered) an fsync commits
    every file's pending data, so without this a timed write pays for the ones before it."""
    os.sync()


def drum_loop() -> tuple[Audio, dict[str, object]]:
    """The synth's drum loop (4 bars at 96 bpm, 10 s of 48 kHz stereo, transients the limiter
    catches) as the synth backend hands it to the writer, and its request's parameters."""
    from server.backends.synth import _META_KEYS
    from server.backends.synth.render import render

    rendered = render("drum loop", seed=1, bpm=96, bars=4, sample_rate=48000)
    meta = {k: rendered.meta[k] for k in _META_KEYS if k in rendered.meta}
    return Audio(rendered.samples, 48000, seed=1, meta=meta), dict(PARAMS, prompt="drum loop", bpm=96, bars=4)


def loop(runs: int = 20) -> dict[str, float]:
    """The loop path on one core: the drum loop to the grid, its seam, -14 LUFS under the true-peak
    ceiling, then the atomic write."""
    audio, params = drum_loop()
    threads, _parallel.THREADS = _parallel.THREADS, 1
    bare, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        writer = OutputWriter([tmp])
        for i in range(runs):
            _settle()
            started = time.perf_counter()
            sf.write(Path(tmp) / f"bare_{i}.wav", audio.samples, 48000, subtype="PCM_24")
            bare.append(time.perf_counter() - started)
            job = Job(id=Job.new_id(), verb="generate", model="synth", params=dict(params, seed=i))
            _settle()
            started = time.perf_counter()
            # the output's own seed names the file: one per run, as the daemon's would be (no name taken)
            writer.write_job(job, [replace(audio, seed=i)], {"model": {"name": "synth"}, "params": params})
            ours.append(time.perf_counter() - started)
    _parallel.THREADS = threads
    res = {"bare_ms": percentile(bare, 50) * 1e3, "loop_ms": percentile(ours, 50) * 1e3}
    print(f"writer: synth drum loop 10 s (grid, seam, -14 LUFS + limiter), one core, median of {runs}: "
          f"{res['loop_ms']:.1f} ms beside a bare write {res['bare_ms']:.1f} ms")
    return res


def batch(runs: int = 3, count: int = 8) -> dict[str, float]:
    """One job's `count` outputs written with the render pool and one at a time, interleaved."""
    rng = np.random.default_rng(1)
    outputs = [Audio((rng.standard_normal((480_000, 2)) * 0.1).astype(np.float32), 48000, seed=i)
               for i in range(count)]
    provenance = {"model": {"name": "synth", "backend": "synth", "version": "1"}, "params": PARAMS}
    pooled, serial = [], []
    default = writer_module.PARALLEL_RENDERS
    with tempfile.TemporaryDirectory() as tmp:
        writer = OutputWriter([tmp])
        for run in range(runs):
            for workers, times in ((default, pooled), (1, serial)):
                writer_module.PARALLEL_RENDERS = workers
                job = Job(id=Job.new_id(), verb="generate", model="synth", params=dict(PARAMS, seed=run, count=count))
                started = time.perf_counter()
                writer.write_job(job, outputs, provenance)
                times.append(time.perf_counter() - started)
    writer_module.PARALLEL_RENDERS = default
    res = {"count": count, "pooled_ms": percentile(pooled, 50) * 1e3, "serial_ms": percentile(serial, 50) * 1e3}
    print(f"writer: count={count} outputs of one job, median of {runs}: render pool {res['pooled_ms']:.0f} ms, "
          f"one at a time {res['serial_ms']:.0f} ms ({res['serial_ms'] / res['pooled_ms']:.2f}x)")
    return res


def rows(res: dict[str, float], batched: dict[str, float] | None = None,
         looped: dict[str, float] | None = None) -> list[Row]:
    bare, synced = f"bare sf.write {res['bare_ms']:.1f} ms", f"bare sf.write + fsync {res['bare_fsync_ms']:.1f} ms"
    out = [at_most("writer", "10 s 48k stereo 24-bit: chain + atomic write + fsync", res["writer_ms"], "ms", 25.0,
                   synced),
           at_most("writer", "  ratio to the bare write + fsync", res["writer_ms"] / res["bare_fsync_ms"], "x", 2.5,
                   synced),
           at_most("writer", "  without fsync: ratio to the bare write", res["writer_nofsync_ms"] / res["bare_ms"],
                   "x", 2.5, f"{bare}, ours {res['writer_nofsync_ms']:.1f} ms")]
    if res.get("writer_threads_ms"):
        out.append(Row("writer", f"  wall time, channels on {res['threads']} threads (fsync)", res["writer_threads_ms"],
                       "ms", beside=f"one core {res['writer_ms']:.1f} ms"))
    if looped:
        out.append(at_most("writer", "10 s drum loop: grid, seam, -14 LUFS + limiter, write + fsync", looped["loop_ms"],
                           "ms", 25.0, f"bare sf.write {looped['bare_ms']:.1f} ms"))
    if batched:
        out.append(Row("writer", f"count={batched['count']:.0f}: render pool speed-up", batched["serial_ms"] /
                       batched["pooled_ms"], "x", beside=f"one at a time {batched['serial_ms']:.0f} ms"))
    return out


if __name__ == "__main__":
    main()
    loop()
    batch()
