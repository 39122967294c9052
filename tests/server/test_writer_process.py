"""The lane's writer process (server/writer_process.py): what a model made crosses the pipe intact,
jobs are written in order, a cancel reaches a queued job, and a writer that dies loses nothing
silently (its jobs fail with a clear error, later ones are written in the model process)."""
import multiprocessing
import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest

from server.backends.base import Audio, Midi
from server.execute import Made
from server.handoff import pack, send, unpack
from server.jobs import Job, JobState
from server.output.writer import OutputWriter
from server.writer_process import ProcessStage, ThreadStage, serve_writes, writer_main

from .test_model_child import _OPEN_ENDS, config_for, generate, make_loop, messages_until


def made_of(*outputs):
    return Made(list(outputs), {"model": {"name": "synth"}, "params": {}, "timings": {}})


class _Framed:
    """A connection that is not a POSIX multiprocessing Connection (as Windows' pipe connections are
    not): the audio must travel in frames."""

    def __init__(self, conn):
        self.conn = conn
        self.send_bytes, self.recv_bytes, self.recv_bytes_into = conn.send_bytes, conn.recv_bytes, conn.recv_bytes_into

    def fileno(self):
        raise AssertionError("a framed connection is never read or written underneath")


@pytest.mark.parametrize("framed", [False, True], ids=["direct", "framed"])
def test_pack_and_unpack_carry_the_audio_exactly_and_writable(framed):
    left, right = multiprocessing.Pipe(duplex=True)
    if framed:
        left, right = _Framed(left), _Framed(right)
    rng = np.random.default_rng(0)
    stereo = rng.standard_normal((192000, 2)).astype(np.float32)
    strided = rng.standard_normal((1000, 4))[:, ::2]  # neither C- nor Fortran-contiguous
    # (channels, frames) transposed and cut to length, as stable-audio's output is
    cut = rng.standard_normal((2, 50000)).astype(np.float32).T[:44100]
    fortran = rng.standard_normal((2, 3000)).astype(np.float32).T
    made = made_of(Audio(stereo, 48000, seed=3, meta={"bpm": 120}), Audio(strided, 44100),
                   Audio(np.zeros((0, 2), np.float32), 48000), Midi(b"MThd...", seed=4), Audio(cut, 44100),
                   Audio(fortran, 32000))
    packed = pack(("write", generate(1), made))
    assert len(packed.head) < 20_000  # every array's bytes out of band, none copied into the pickle
    assert sum(r.nbytes for r in packed.raws) == sum(a.nbytes for a in (stereo, strided, cut, fortran))
    sender = threading.Thread(target=send, args=(left, packed), daemon=True)
    sender.start()  # more than a socket buffer holds: sent while it is read
    first = pickle.loads(right.recv_bytes())
    assert first[:2] == ("job", not framed)
    _, job, back = unpack(right, first)
    left.send_bytes(b"after")  # the raw bytes left the stream in step: the next frame reads whole
    assert right.recv_bytes() == b"after"
    assert job.id == "j1"
    assert np.array_equal(back.outputs[0].samples, stereo) and back.outputs[0].samples.dtype == np.float32
    assert back.outputs[0].meta == {"bpm": 120} and back.outputs[0].seed == 3
    assert np.array_equal(back.outputs[1].samples, strided)
    assert back.outputs[2].samples.shape == (0, 2)
    assert back.outputs[3].data == b"MThd..."
    for sent, got in ((cut, back.outputs[4].samples), (fortran, back.outputs[5].samples)):
        assert np.array_equal(got, sent) and got.dtype == np.float32
    back.outputs[0].samples *= 0.5  # the chain may work in place: the received arrays are writable
    assert back.outputs[0].samples[0, 0] == pytest.approx(stereo[0, 0] * 0.5)


class _Writes:
    """serve_writes (the writer process's loop) in a thread of this process, its writer held at will."""

    def __init__(self, tmp_path):
        self.model_end, writer_end = multiprocessing.Pipe(duplex=True)
        _OPEN_ENDS.append((self.model_end, writer_end))
        self.writer = OutputWriter([tmp_path / "p"])
        self.holds: dict[str, threading.Event] = {}
        real = self.writer.write_job

        self.writer_calls: list[str] = []

        def held(job, outputs, provenance):
            self.writer_calls.append(job.id)
            if job.id in self.holds:
                assert self.holds[job.id].wait(30)
            return real(job, outputs, provenance)

        self.writer.write_job = held
        self.thread = threading.Thread(target=serve_writes, args=(writer_end, self.writer), daemon=True)
        self.thread.start()


def loop_with(tmp_path, writer_conn):
    loop, parent = make_loop(tmp_path, writer_conn)
    threading.Thread(target=loop.serve, daemon=True).start()
    return loop, parent


def test_the_writer_writes_in_order_while_the_model_runs_on(tmp_path):
    writes = _Writes(tmp_path)
    writes.holds["j1"] = threading.Event()
    loop, parent = loop_with(tmp_path, writes.model_end)
    assert isinstance(loop.stage, ProcessStage)
    for seq in (1, 2, 3):
        parent.send(("run", generate(seq), {}))
    seen = messages_until(parent, "model_done", "j3")  # the models ran on while j1 was held in the writer
    assert not [m for m in seen if m[0] == "result"]
    writes.holds["j1"].set()
    seen = messages_until(parent, "result", "j3")
    results = [m[1] for m in seen if m[0] == "result"]
    assert [j.id for j in results] == ["j1", "j2", "j3"]
    assert all(j.state == JobState.DONE and j.outputs[0].endswith(".wav") for j in results)
    assert all(os.path.exists(j.outputs[0]) for j in results)
    parent.send(("stop",))
    writes.thread.join(30)
    assert not writes.thread.is_alive()  # the drain ended the writer's loop too


def test_a_cancel_reaches_a_job_queued_in_the_writer(tmp_path):
    writes = _Writes(tmp_path)
    writes.holds["j1"] = threading.Event()
    loop, parent = loop_with(tmp_path, writes.model_end)
    parent.send(("run", generate(1), {}))
    parent.send(("run", generate(2), {}))
    messages_until(parent, "model_done", "j2")
    parent.send(("cancel", "j2"))
    time.sleep(0.3)  # model process → writer: two hops for the cancel
    writes.holds["j1"].set()
    results = {m[1].id: m[1] for m in messages_until(parent, "result", "j2") if m[0] == "result"}
    assert results["j1"].state == JobState.DONE
    assert results["j2"].state == JobState.CANCELLED and not results["j2"].outputs
    assert len(list((tmp_path / "p").rglob("*.wav"))) == 1
    parent.send(("stop",))


def test_a_writer_that_dies_fails_its_jobs_and_the_next_are_written_here(tmp_path):
    cfg = config_for(tmp_path)
    ctx = multiprocessing.get_context("spawn")
    model_end, writer_end = ctx.Pipe(duplex=True)
    proc = ctx.Process(target=writer_main, args=(writer_end, cfg, os.getpid()), daemon=True)
    proc.start()
    writer_end.close()
    done: list[Job] = []
    arrived = threading.Event()

    def on_done(job):
        done.append(job)
        arrived.set()

    stage = ProcessStage(model_end, fallback=ThreadStage(OutputWriter([tmp_path / "p"])))
    audio = made_of(Audio(np.zeros((4800, 2), np.float32) + 0.1, 48000, seed=1))
    stage.submit(generate(1), audio, threading.Event(), on_done)  # written by the real writer process
    assert arrived.wait(60)
    assert done[0].state == JobState.DONE and os.path.exists(done[0].outputs[0])
    os.kill(proc.pid, signal.SIGSTOP)  # held mid-queue, then killed: as the OOM killer does
    arrived.clear()
    stage.submit(generate(2), audio, threading.Event(), on_done)
    os.kill(proc.pid, signal.SIGKILL)
    assert arrived.wait(30)
    assert done[1].id == "j2" and done[1].state == JobState.FAILED
    assert done[1].error_code == "write_failed" and "writer process stopped" in done[1].error_message
    arrived.clear()
    stage.submit(generate(3), audio, threading.Event(), on_done)  # the writer is gone: written here
    assert arrived.wait(30)
    assert done[2].id == "j3" and done[2].state == JobState.DONE and os.path.exists(done[2].outputs[0])
    stage.drain()
    proc.join(10)


def test_outputs_that_cannot_cross_a_pipe_are_written_here(tmp_path):
    writes = _Writes(tmp_path)
    done: list[Job] = []
    arrived = threading.Event()
    stage = ProcessStage(writes.model_end, fallback=ThreadStage(OutputWriter([tmp_path / "p"])))
    made = made_of(Audio(np.zeros((4800, 2), np.float32) + 0.1, 48000, seed=1))
    made.provenance["unpicklable"] = threading.Lock()
    stage.submit(generate(1), made, threading.Event(), lambda job: (done.append(job), arrived.set()))
    assert arrived.wait(30)
    assert done[0].state == JobState.DONE, done[0].error_message
    assert not writes.writer_calls  # the writer process's loop never saw it
    stage.drain()


def test_warming_loads_what_the_first_file_would_wait_for():
    # In a fresh interpreter, as the writer process starts: after warm() the chain's lazy imports
    # are in (scipy.signal through pyloudnorm alone took ~0.4 s of the first file).
    import subprocess
    import sys

    lazy = ["scipy.signal", "scipy.ndimage", "pyloudnorm", "soxr", "server.post.grid", "server.post.loudness"]
    code = ("import sys\nfrom server.post.pipeline import warm\n"
            f"before = [m in sys.modules for m in {lazy!r}]\nwarm()\n"
            f"print(before, [m in sys.modules for m in {lazy!r}])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after = out.stdout.strip().split("] [")
    assert "True" not in before  # nothing of the chain is loaded by importing it
    assert "False" not in after
