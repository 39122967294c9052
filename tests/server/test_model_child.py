"""The model process's loop (server/model_child.py), run in this process over a real pipe: the
device takes its next job while the last one's files are still being written (pipelining)."""
import multiprocessing
import threading
import time

from server.config import load
from server.jobs import Job, JobState
from server.model_child import ChildLoop

# The loop's reader thread ends its process when the daemon's end of the pipe closes (by design:
# a model process never outlives its daemon); here that process is pytest, so the ends stay open.
_OPEN_ENDS: list = []


def config_for(tmp_path, **overrides):
    return load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"), **overrides})


def make_loop(tmp_path, writer_conn=None, **overrides):
    """A model process's loop over a real pipe; `writer_conn`: the pipe to its writer (None: a thread)."""
    parent, child = multiprocessing.Pipe(duplex=True)
    _OPEN_ENDS.append((parent, child))
    loop = ChildLoop(child, config_for(tmp_path, **overrides), "cpu", writer_conn)
    return loop, parent


def hold_the_write_of(loop, job_id):
    """The loop's real writer, held for `job_id` until the returned event is set."""
    release = threading.Event()
    real_write = loop.writer.write_job

    def held_write(job, outputs, provenance):
        if job.id == job_id:
            assert release.wait(30)
        return real_write(job, outputs, provenance)

    loop.writer.write_job = held_write
    return release


def generate(seq):
    job = Job(id=f"j{seq}", verb="generate", model="synth",
              params={"prompt": "drum loop", "bpm": 120, "bars": 1, "seed": seq, "sample_rate": 48000,
                      "bit_depth": "24", "format": "wav"})
    job.started = time.time()
    return job


def messages_until(parent, kind, job_id, timeout=30):
    """Everything the loop sent, up to and including (kind, job_id ...)."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if parent.poll(0.05):
            message = parent.recv()
            seen.append(message)
            about = message[1].id if message[0] == "result" else message[1]
            if message[0] == kind and about == job_id:
                return seen
    raise AssertionError(f"no {kind} for {job_id}; saw {[m[0] for m in seen]}")


def test_the_next_model_runs_while_the_last_job_is_written(tmp_path):
    loop, parent = make_loop(tmp_path)
    release = hold_the_write_of(loop, "j1")
    threading.Thread(target=loop.serve, daemon=True).start()
    parent.send(("run", generate(1), {}))
    parent.send(("run", generate(2), {}))
    # j2's model finishes while j1 is still being written: the device did not wait for the writer
    seen = messages_until(parent, "model_done", "j2")
    kinds = [(m[0], m[1].id if m[0] == "result" else m[1]) for m in seen if m[0] in ("model_done", "result")]
    assert kinds == [("model_done", "j1"), ("model_done", "j2")]
    release.set()
    seen = messages_until(parent, "result", "j2")
    results = [m[1] for m in seen if m[0] == "result"]
    assert [j.id for j in results] == ["j1", "j2"]  # placed in the order the models finished
    assert all(j.state == JobState.DONE and j.outputs for j in results)
    assert all(p.endswith(".wav") for j in results for p in j.outputs)
    parent.send(("stop",))


def test_a_cancel_while_waiting_for_the_writer_places_nothing(tmp_path):
    loop, parent = make_loop(tmp_path)
    release = hold_the_write_of(loop, "j1")
    threading.Thread(target=loop.serve, daemon=True).start()
    parent.send(("run", generate(1), {}))
    parent.send(("run", generate(2), {}))
    messages_until(parent, "model_done", "j2")
    parent.send(("cancel", "j2"))  # j2 is made, queued behind j1's write
    time.sleep(0.2)  # the reader thread sets the flag at once; give it a moment to arrive
    release.set()
    results = {m[1].id: m[1] for m in messages_until(parent, "result", "j2") if m[0] == "result"}
    assert results["j1"].state == JobState.DONE
    assert results["j2"].state == JobState.CANCELLED and not results["j2"].outputs
    written = sorted(p.name for p in (tmp_path / "p").rglob("*.wav"))
    assert len(written) == 1
    parent.send(("stop",))


def test_stop_writes_what_the_models_made_first(tmp_path):
    loop, parent = make_loop(tmp_path)
    server = threading.Thread(target=loop.serve, daemon=True)
    server.start()
    parent.send(("run", generate(1), {}))
    parent.send(("stop",))
    server.join(30)
    assert not server.is_alive()
    seen = []
    while parent.poll(0.1):
        seen.append(parent.recv())
    results = [m[1] for m in seen if m[0] == "result"]
    assert [j.state for j in results] == [JobState.DONE]
    assert len(list((tmp_path / "p").rglob("*.wav"))) == 1


def test_progress_crosses_the_pipe_throttled_but_never_loses_a_stage_or_the_end(tmp_path):
    loop, parent = make_loop(tmp_path, **{"server.progress_interval": 60.0})
    send = loop._progress_sender("j1")
    for fraction, stage in [(0.1, "generating"), (0.2, "generating"), (0.3, "generating"),
                            (0.5, "decoding"), (0.6, "decoding"), (1.0, "writing")]:
        send(fraction, stage)
    seen = []
    while parent.poll(0.2):
        seen.append(parent.recv())
    assert [(m[2], m[3]) for m in seen] == [(0.1, "generating"), (0.5, "decoding"), (1.0, "writing")]


def test_progress_interval_zero_sends_every_step(tmp_path):
    loop, parent = make_loop(tmp_path, **{"server.progress_interval": 0.0})
    send = loop._progress_sender("j1")
    for step in range(5):
        send(step / 10, "generating")
    seen = []
    while parent.poll(0.2):
        seen.append(parent.recv())
    assert [m[2] for m in seen] == [0.0, 0.1, 0.2, 0.3, 0.4]
