"""Every reply fits one UDP datagram, or is replaced by `reply_too_large`: builders' worst cases and
the one send path (OscServer.send) that enforces the limit for every UDP reply."""
import json
import socket
import uuid

import pytest
from pythonosc.osc_message import OscMessage

from bridge import protocol as proto
from bridge.osc import OscServer
from server.config import load
from server.engine import Engine
from server.errors import ErrorCode
from server.jobs import Job, JobState
from server.journal import Journal

LIMIT = proto.UDP_REPLY_MAX
PATH_MAX = 4096  # the longest path Linux hands a program


def parse(data: bytes) -> tuple[str, list]:
    message = OscMessage(data)
    return message.address, list(message.params)


def done_job(paths: list[str], state: JobState = JobState.DONE, message: str = "") -> Job:
    job = Job(id="j1", verb="separate", model="demucs", params={}, outputs=paths, state=state)
    if state is not JobState.DONE:
        job.error_code, job.error_message = ErrorCode.BACKEND_FAILED, message
    return job


def long_paths(count: int, length: int) -> list[str]:
    return [f"/{'d' * (length - 12)}/s{i:03d}.wav" for i in range(count)]


# -- fixed-size replies: bounded whatever their strings are ------------------------------------
@pytest.mark.parametrize("address", [a for a, args in proto.REPLIES.items()
                                     if "..." not in args and "json" not in args])
def test_every_fixed_reply_fits_with_path_long_strings(address):
    """Ids, paths, stages and device names are at most a path long: such replies always fit."""
    args = [1.5 if name in ("fraction", "eta_seconds", "seconds") else
            7 if name in ("queue_position", "on", "frames", "sample_rate", "playback", "capture") else
            "é" * (PATH_MAX // 2)  # two bytes a character: PATH_MAX bytes of UTF-8
            for name in proto.REPLIES[address]]
    data = proto.build(address, *args)
    assert len(data) <= LIMIT
    assert proto.fit_datagram(data, LIMIT) is data


# -- /dawgen/error -------------------------------------------------------------------------------
def test_error_cuts_a_long_id_and_message_on_character_boundaries():
    message = "λ" * 30000 + "the end"  # 60,000+ bytes of two-byte characters
    data = proto.error("r" * 5000, "backend_failed", message)
    assert len(data) < 3000
    address, (ident, code, text) = parse(data)
    assert (address, code) == ("/dawgen/error", "backend_failed")
    assert ident == "r" * proto.ID_MAX
    assert text.endswith("…") and message.startswith(text[:-1])
    assert len(text.encode()) <= proto.MESSAGE_MAX and set(text[:-1]) == {"λ"}


def test_error_keeps_a_short_message_whole_and_drops_nuls():
    assert parse(proto.error("r1", "bad_request", "no\0pe"))[1] == ["r1", "bad_request", "nope"]
    assert parse(proto.error("r1", "bad_request", "fine"))[1] == ["r1", "bad_request", "fine"]


def test_a_failed_jobs_long_error_fits_in_its_error_and_its_status():
    job = done_job([], JobState.FAILED, "Traceback\n" + "x" * 200000)
    for data in (proto.job_error(job), proto.status("r1", job, -1)):
        assert len(data) <= LIMIT
        args = parse(data)[1]
        assert args[-2] == "backend_failed" and args[-1].startswith("Traceback") and args[-1].endswith("…")


# -- /dawgen/done and /dawgen/status with many paths -----------------------------------------------
def test_done_with_64_ordinary_stem_paths_is_sent_as_it_is():
    job = done_job(long_paths(64, 300))
    data = proto.done(job)
    assert proto.fit_datagram(data, LIMIT) is data
    assert parse(data)[1][1:] == job.outputs


def test_done_too_large_for_a_datagram_becomes_an_error_for_the_job_pointing_to_status_over_tcp():
    job = done_job(long_paths(64, 1200))
    data = proto.done(job)
    assert len(data) > LIMIT
    address, (ident, code, message) = parse(proto.fit_datagram(data, LIMIT))
    assert (address, ident, code) == ("/dawgen/error", "j1", "reply_too_large")
    assert "j1 is done" in message and "64 files" in message and "/dawgen/status j1 over TCP" in message


def test_status_too_large_becomes_an_error_for_the_request():
    data = proto.status("st-1", done_job(long_paths(64, 1200)), -1)
    assert len(data) > LIMIT
    address, (ident, code, message) = parse(proto.fit_datagram(data, LIMIT))
    assert (address, ident, code) == ("/dawgen/error", "st-1", "reply_too_large")
    assert "job j1" in message and "64 files" in message and "TCP" in message


def test_an_unparseable_oversized_datagram_still_becomes_an_error():
    address, args = parse(proto.fit_datagram(b"\x00" * (LIMIT + 1), LIMIT))
    assert (address, args[:2]) == ("/dawgen/error", ["", "reply_too_large"])


# -- /dawgen/models --------------------------------------------------------------------------------
def test_a_catalogue_too_large_even_as_names_is_refused_with_a_hint():
    models = [{"name": f"model-{i:04d}-" + "n" * 60, "backend": "stable-audio",
               "verbs": {"generate": [{"name": f"p{j}", "type": "float", "doc": "d"} for j in range(30)]}}
              for i in range(300)]
    data = proto.models_reply("m1", models, LIMIT)
    address, (ident, code, message) = parse(data)
    assert (address, ident, code) == ("/dawgen/error", "m1", "reply_too_large")
    assert "model=NAME" in message and "TCP" in message
    assert parse(proto.models_reply("m1", models, None))[0] == "/dawgen/models"  # TCP: all of it


# -- /dawgen/queue ---------------------------------------------------------------------------------
def queue_page(count: int, prompt_length: int = 40, offset: int = 0) -> list[dict]:
    jobs = []
    for i in range(count):
        job = Job(id=uuid.uuid4().hex[:12], verb="generate", model="synth",
                  params={"prompt": "p" * prompt_length, "seconds": 1.0}, req_id=f"q-{i:04d}",
                  state=JobState.RUNNING if i == 0 and offset == 0 else JobState.QUEUED)
        jobs.append(dict(job.summary(), queue_position=offset + i))
    return jobs


def queue_of(data: bytes) -> tuple[list[dict], int]:
    address, args = parse(data)
    assert address == "/dawgen/queue"
    return json.loads(args[1]), args[2]


def test_a_small_queue_is_sent_whole_with_its_total():
    jobs = queue_page(3)
    got, total = queue_of(proto.queue_reply("r1", jobs, 10, LIMIT))
    assert got == jobs and total == 10


def test_a_queue_with_long_prompts_drops_params_first():
    jobs = queue_page(80, prompt_length=1000)
    got, total = queue_of(proto.queue_reply("r1", jobs, 80, LIMIT))
    assert total == 80 and [j["job_id"] for j in got] == [j["job_id"] for j in jobs]
    assert all(j["abridged"] == "params" and "params" not in j for j in got)
    assert got[5] == dict({k: v for k, v in jobs[5].items() if k != "params"}, abridged="params")


def test_a_long_queue_keeps_the_essential_fields_of_every_job():
    jobs = queue_page(400)
    assert len(proto.queue_reply("r1", jobs, 400, None)) > LIMIT
    data = proto.queue_reply("r1", jobs, 400, LIMIT)
    assert len(data) <= LIMIT
    got, total = queue_of(data)
    assert total == 400 and len(got) == 400
    assert got[7] == {**{k: jobs[7][k] for k in proto.QUEUE_ESSENTIAL}, "abridged": "essential"}
    assert [j["queue_position"] for j in got] == list(range(400))


def test_a_queue_too_long_even_abridged_names_a_page_size_that_fits():
    jobs = queue_page(2000)
    address, (ident, code, message) = parse(proto.queue_reply("r1", jobs, 2000, LIMIT))
    assert (address, ident, code) == ("/dawgen/error", "r1", "reply_too_large")
    assert "offset and limit" in message
    fits = int(message.split("(about ")[1].split(" ")[0])
    assert 100 < fits < 2000
    page = proto.queue_reply("r1", jobs[:fits], 2000, LIMIT)
    assert queue_of(page)[1] == 2000  # the page size it names really fits


def test_over_tcp_a_queue_is_never_abridged():
    jobs = queue_page(2000)
    got, total = queue_of(proto.queue_reply("r1", jobs, 2000, None))
    assert got == jobs and total == 2000


# -- the send path: one place enforces the limit for every UDP reply ------------------------------
@pytest.fixture
def server_and_peer(tmp_path):
    engine = Engine(load(None, {"output.root": str(tmp_path)}), journal=Journal(":memory:"))
    server = OscServer(engine, port=0)
    server.start()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.settimeout(5)
    yield server, peer
    peer.close()
    server.stop()


def test_osc_server_send_replaces_a_datagram_over_the_limit_by_reply_too_large(server_and_peer):
    server, peer = server_and_peer
    dest = ("udp", peer.getsockname())
    server.send(dest, proto.done(done_job(long_paths(64, 1200))))
    address, args = parse(peer.recv(65536))
    assert (address, args[:2]) == ("/dawgen/error", ["j1", "reply_too_large"])
    fits = proto.done(done_job(long_paths(64, 300)))
    server.send(dest, fits)
    assert peer.recv(65536) == fits


def test_osc_server_send_answers_even_when_the_system_refuses_the_datagram(server_and_peer):
    server, peer = server_and_peer
    server.udp_reply_max = 70000  # above what IPv4 can carry (65,507): sendto fails with EMSGSIZE
    server.send(("udp", peer.getsockname()), proto.done(done_job(long_paths(60, 1100))))
    address, args = parse(peer.recv(65536))
    assert (address, args[:2]) == ("/dawgen/error", ["j1", "reply_too_large"])
