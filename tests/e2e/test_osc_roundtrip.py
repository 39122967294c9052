"""Round trips through a real `dawgen serve` process over UDP and TCP, driven by python-osc."""
import json
import os
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from pythonosc.osc_message import OscMessage

from bridge.client import Client, ClientError, encode, request_args


def wav_files(root: Path):
    return sorted(p for p in root.rglob("*") if p.suffix in (".wav", ".flac"))


def temp_files(root: Path):
    return sorted(p for p in root.rglob("*") if p.name.endswith(".tmp"))


@pytest.mark.parametrize("tcp", [False, True])
def test_ping(daemon, tcp):
    with Client("127.0.0.1", daemon.port, tcp=tcp) as c:
        reply = c.call("ping", req_id="p1")
    assert reply.address == "/dawgen/pong" and reply.args[0] == "p1" and reply.args[1]


def test_generate_writes_a_readable_file_with_a_complete_sidecar(daemon, client):
    paths = client.generate({"prompt": "punchy kick", "seconds": 0.5, "seed": 42})
    assert len(paths) == 1
    path = Path(paths[0])
    assert path.is_file() and path.parent.parent == daemon.project / "dawgen"
    assert path.name == "punchy-kick_42.wav"
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, 24000, "PCM_24")
    side = json.loads(path.with_suffix(".json").read_text())
    assert side["request"] == {"verb": "generate", "params": {"prompt": "punchy kick", "seconds": 0.5, "seed": 42}}
    assert side["seed"] == 42 and side["params"]["seed"] == 42
    assert {k: side["model"][k] for k in ("name", "backend", "version")} == {"name": "synth", "backend": "synth", "version": "1"}
    assert "weights" in side["model"]  # the synth has none, and says so
    assert side["backend"] == "synth" and side["dawgen"]
    assert side["timings"]["generate_seconds"] >= 0 and side["timings"]["started"] >= side["timings"]["created"]
    assert side["audio"]["sample_rate"] == 48000
    assert not temp_files(daemon.project)


def test_options_count_format_and_subdir(daemon, client):
    paths = client.generate({"prompt": "closed hat", "count": 4, "seed": 100, "format": "flac",
                             "bit_depth": 16, "sample_rate": 44100, "dir": "Samples/Hats"})
    names = [Path(p).name for p in paths]
    assert names == [f"closed-hat_{s}.flac" for s in range(100, 104)]
    assert names == sorted(names)
    for p in paths:
        info = sf.info(p)
        assert Path(p).parent == daemon.project / "Samples" / "Hats"
        assert (info.samplerate, info.subtype, info.format) == (44100, "PCM_16", "FLAC")


def test_same_request_id_never_makes_two_jobs(daemon, client):
    a = client.call("generate", {"prompt": "rim", "seed": 1}, req_id="dup-1")
    b = client.call("generate", {"prompt": "rim", "seed": 1}, req_id="dup-1")
    assert a.args[1] == b.args[1]
    with pytest.raises(ClientError) as info:
        client.call("generate", {"prompt": "tom", "seed": 1}, req_id="dup-1")
    assert info.value.code == "duplicate_id"


def test_reply_port_sends_replies_elsewhere(daemon):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(5)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.sendto(encode("/dawgen/ping", ["rp1", "reply_port", listener.getsockname()[1]]), ("127.0.0.1", daemon.port))
    msg = OscMessage(listener.recv(65536))
    assert msg.address == "/dawgen/pong" and msg.params[0] == "rp1"
    listener.close()
    sender.close()


def slow_job():
    # 40 bars at 60 bpm (160 s of audio), 64 times over: long enough to cancel mid-way anywhere
    return {"prompt": "drum loop", "bars": 40, "bpm": 60, "count": 64, "seed": 5}


def test_cancel_queued_and_running_jobs_writes_nothing(daemon, client):
    running = client.call("generate", slow_job())
    queued = client.call("generate", {"prompt": "snare", "seed": 9})
    run_id, queued_id = str(running.args[1]), str(queued.args[1])
    assert queued.args[2] == 1  # one job ahead of it
    # wait until the long job reports progress
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = client.recv(1)
        if r and r.address == "/dawgen/progress" and r.args[0] == run_id and r.args[2] == "generating":
            break
    reply = client.call("cancel", {"job": queued_id})
    assert reply.address == "/dawgen/cancelled" and list(reply.args[1:]) == [queued_id, "cancelled"]
    reply = client.call("cancel", {"job": run_id})
    assert list(reply.args[1:]) == [run_id, "running"]
    with pytest.raises(ClientError) as info:
        client.wait(run_id, timeout=30)
    assert info.value.code == "cancelled"
    status = client.call("status", {"job": run_id})
    assert status.args[2] == "cancelled" and status.args[7] == "cancelled"
    status = client.call("status", {"job": queued_id})
    assert status.args[2] == "cancelled"
    with pytest.raises(ClientError) as info:
        client.call("cancel", {"job": queued_id})
    assert info.value.code == "already_finished"
    assert wav_files(daemon.project) == [] and temp_files(daemon.project) == []


def test_status_queue_and_models(daemon, client):
    ack = client.call("generate", {"prompt": "clap", "seed": 3}, req_id="st-1")
    job_id = str(ack.args[1])
    paths = client.wait(job_id)
    status = client.call("status", {"job": "st-1"})  # by request id
    assert status.args[1] == job_id and status.args[2] == "done" and list(status.args[7:]) == paths
    assert status.args[6] == -1
    assert client.json_call("queue") == []
    models = client.json_call("models")
    synth = next(m for m in models if m["name"] == "synth")
    params = {p["name"]: p for p in synth["verbs"]["generate"]}
    assert params["count"]["min"] == 1 and params["count"]["max"] == 64
    assert params["format"]["choices"] == ["wav", "flac"]
    with pytest.raises(ClientError) as info:
        client.call("status", {"job": "nope"})
    assert info.value.code == "not_found"


def test_listener_gets_events_of_other_clients_jobs(daemon, client):
    with Client("127.0.0.1", daemon.port, tcp=True) as listener:
        assert listener.call("listen").args[1] == 1
        ack = client.call("generate", {"prompt": "perc", "seed": 8})
        job_id = str(ack.args[1])
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "/dawgen/done" not in seen:
            r = listener.recv(1)
            if r and (r.args[0] == job_id or (r.address == "/dawgen/ack" and r.args[1] == job_id)):
                seen.append(r.address)
        assert seen[0] == "/dawgen/ack" and "/dawgen/progress" in seen and seen[-1] == "/dawgen/done"


@pytest.mark.parametrize("params, code", [
    ({"dir": "../escape"}, "out_of_root"),
    ({"dir": "/tmp"}, "out_of_root"),
    ({"model": "nope"}, "unknown_model"),
    ({"seconds": -1}, "bad_request"),
    ({"count": 65}, "bad_request"),
    ({"note": "H9"}, "bad_request"),
    ({"format": "flac", "bit_depth": "32f"}, "bad_request"),
    ({"prompt": "drum loop", "bars": 64, "bpm": 60}, "bad_request"),
])
def test_bad_requests_get_error_replies(daemon, client, params, code):
    with pytest.raises(ClientError) as info:
        client.call("generate", params)
    assert info.value.code == code
    assert client.call("ping").address == "/dawgen/pong"


def test_symlink_escape_is_refused(daemon, client, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    daemon.project.mkdir(exist_ok=True)
    os.symlink(outside, daemon.project / "sneaky")
    with pytest.raises(ClientError) as info:
        client.call("generate", {"dir": "sneaky/kicks"})
    assert info.value.code == "out_of_root"
    assert list(outside.iterdir()) == []


def test_raw_key_value_over_tcp(daemon):
    with Client("127.0.0.1", daemon.port, tcp=True) as c:
        c.send_raw(encode("/dawgen/generate", request_args("t1", {"prompt": "dark 808", "seed": 11})))
        ack = c.recv(5)
        assert ack.address == "/dawgen/ack" and ack.args[0] == "t1"
        paths = c.wait(str(ack.args[1]))
    assert Path(paths[0]).name == "dark-808_11.wav"


def spectrum_fraction(x, rate, lo, hi):
    mono = x.mean(axis=1)
    power = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / rate)
    return power[(freqs >= lo) & (freqs < hi)].sum() / power.sum()


def test_sounds_measured_on_the_written_files(daemon, client):
    kick_a = client.generate({"prompt": "punchy kick", "seed": 21, "dir": "a"})[0]
    kick_b = client.generate({"prompt": "punchy kick", "seed": 21, "dir": "b"})[0]
    kick_c = client.generate({"prompt": "punchy kick", "seed": 22, "dir": "a"})[0]
    hat = client.generate({"prompt": "closed hat", "seed": 21})[0]
    a, rate = sf.read(kick_a, always_2d=True)
    b, _ = sf.read(kick_b, always_2d=True)
    c, _ = sf.read(kick_c, always_2d=True)
    assert np.array_equal(a, b)  # same seed and params: identical samples
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert spectrum_fraction(a, rate, 0, 150) > 0.5
    quarter = len(a) // 4
    assert np.sqrt(np.mean(a[-quarter:] ** 2)) < 0.1 * np.sqrt(np.mean(a[:quarter] ** 2))  # it decays
    h, rate = sf.read(hat, always_2d=True)
    assert spectrum_fraction(h, rate, 5000, rate / 2 + 1) > 0.5


def test_a_long_queue_answers_over_udp_and_pages_every_job_exactly_once(daemon, client):
    with Client("127.0.0.1", daemon.port, tcp=True) as tcp:
        running = str(tcp.call("generate", slow_job()).args[1])
        queued = [str(tcp.call("generate", {"prompt": "snare", "seed": i}, req_id=f"q{i:03d}").args[1])
                  for i in range(400)]
        full = tcp.call("queue")  # TCP: never abridged
    everything = [running, *queued]
    jobs = json.loads(full.args[1])
    assert full.args[2] == 401 and [j["job_id"] for j in jobs] == everything
    assert jobs[1]["params"]["prompt"] == "snare" and "abridged" not in jobs[1]

    reply = client.call("queue")  # over UDP the whole queue is larger than a datagram
    jobs = json.loads(reply.args[1])
    assert reply.address == "/dawgen/queue" and reply.args[2] == 401
    assert [j["job_id"] for j in jobs] == everything
    assert jobs[3] == {"job_id": queued[2], "req_id": "q002", "verb": "generate", "model": "synth",
                       "state": "queued", "queue_position": 3, "abridged": "essential"}

    seen, offset = [], 0
    while offset < 401:
        page = client.call("queue", {"offset": offset, "limit": 64})
        entries = json.loads(page.args[1])
        assert page.args[2] == 401 and 0 < len(entries) <= 64
        assert all("params" in j and "abridged" not in j for j in entries)  # a page fits whole
        seen += [j["job_id"] for j in entries]
        offset = entries[-1]["queue_position"] + 1
    assert seen == everything
    past_the_end = client.call("queue", {"offset": 401})
    assert json.loads(past_the_end.args[1]) == [] and past_the_end.args[2] == 401
    with pytest.raises(ClientError) as info:
        client.call("queue", {"limit": 0})
    assert info.value.code == "bad_request"


def test_a_done_too_large_for_udp_reaches_the_client(daemon_factory, tmp_path):
    # An output root deep enough that 64 output paths do not fit one datagram (the journal stays
    # in a short state dir: SQLite refuses very long paths).
    deep = tmp_path.joinpath(*(c * 200 for c in "abcdefg"))
    deep.mkdir(parents=True)
    daemon = daemon_factory()
    daemon.project = deep
    daemon.args[daemon.args.index("--project") + 1] = str(deep)
    daemon.start()
    with Client("127.0.0.1", daemon.port) as listener, Client("127.0.0.1", daemon.port) as client:
        assert listener.call("listen").args[1] == 1
        paths = client.generate({"prompt": "kick", "seconds": 0.2, "count": 64, "seed": 1}, timeout=120)
        assert len(paths) == 64 and all(Path(p).is_file() for p in paths)
        assert sum(len(p) for p in paths) > 60000
        # What a UDP client without the TCP fallback gets instead of /dawgen/done:
        reply = None
        while reply is None or reply.address != "/dawgen/error":
            reply = listener.recv(10)
            assert reply is not None and reply.address != "/dawgen/done"
        job_id, code, message = reply.args
        assert code == "reply_too_large" and f"/dawgen/status {job_id} over TCP" in message
        with pytest.raises(ClientError) as info:  # its status is as large over UDP
            client.call("status", {"job": job_id})
        assert info.value.code == "reply_too_large"
