"""The UDP door's group commit: packets already waiting are journaled in one transaction.

The server's socket is bound and the packets sent before its thread reads anything, so every test
knows exactly which packets form a batch (loopback delivers a datagram before sendto returns).
"""
from __future__ import annotations

import socket
import sqlite3

import pytest
from pythonosc.osc_message import OscMessage

from bridge.client import encode, request_args
from bridge.osc import OscServer
from server.config import load
from server.engine import Engine


class Rig:
    """An engine that journals and queues but runs nothing, an OSC server not yet reading, a client."""

    def __init__(self, tmp_path, **server) -> None:
        overrides = {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                     "server.isolation": "thread", **{f"server.{k}": v for k, v in server.items()}}
        self.engine = Engine(load(None, overrides))
        self.engine.start(workers=False)
        self.batches: list[int] = []
        commit = self.engine.commit
        self.engine.commit = lambda pending: (self.batches.append(len(pending)), commit(pending))[1]
        self.osc = OscServer(self.engine, "127.0.0.1", 0)
        self.osc.bind()  # packets sent from now on wait in the socket's buffer until serve()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)

    def send(self, verb: str, req_id: str, params: dict | None = None, *extra) -> None:
        args = request_args(req_id, params or {}) if not extra else [req_id, *extra]
        self.sock.sendto(encode(f"/dawgen/{verb}", args), ("127.0.0.1", self.osc.port))

    def serve(self) -> None:
        """Start reading: the first read finds every packet sent so far waiting."""
        self.osc.start()

    def replies(self, n: int) -> list[tuple[str, list]]:
        out = []
        for _ in range(n):
            msg = OscMessage(self.sock.recv(65536))
            out.append((msg.address, list(msg.params)))
        return out

    def on_disk(self) -> list[str]:
        db = sqlite3.connect(self.engine.journal.path)
        try:
            return [r[0] for r in db.execute("SELECT req_id FROM jobs ORDER BY seq")]
        finally:
            db.close()

    def close(self) -> None:
        self.osc.stop()
        self.sock.close()
        self.engine.close()


@pytest.fixture
def rig(tmp_path):
    made = []

    def make(**server) -> Rig:
        made.append(Rig(tmp_path, **server))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_a_burst_is_journaled_in_one_transaction_and_every_request_answered(rig):
    r = rig()
    for n in range(20):
        r.send("generate", f"g{n}", {"prompt": "hat", "seed": n})
        if n == 9:
            r.send("generate", "bad", {"seconds": "long"})  # refused at once; the batch goes on
    r.serve()
    replies = r.replies(21)
    assert r.batches == [20]
    acks = {args[0]: args[1] for address, args in replies if address == "/dawgen/ack"}
    assert sorted(acks) == sorted(f"g{n}" for n in range(20)) and len(set(acks.values())) == 20
    (error,) = [args for address, args in replies if address == "/dawgen/error"]
    assert error[:2] == ["bad", "bad_request"]
    assert r.on_disk() == [f"g{n}" for n in range(20)]  # in the order they came


def test_a_cancel_right_after_its_generate_finds_the_job(rig):
    r = rig()
    r.send("generate", "g1", {"prompt": "kick", "seed": 1})
    r.send("cancel", "c1", None, "g1")  # in the same read: the batch is committed before the cancel
    r.send("generate", "g2", {"prompt": "kick", "seed": 2})
    r.serve()
    (ack1, event, cancelled, ack2) = r.replies(4)
    assert ack1[0] == "/dawgen/ack" and ack1[1][0] == "g1"
    job_id = ack1[1][1]
    assert event[0] == "/dawgen/error" and event[1][:2] == [job_id, "cancelled"]  # the job's own end
    assert cancelled == ("/dawgen/cancelled", ["c1", job_id, "cancelled"])
    assert ack2[0] == "/dawgen/ack" and ack2[1][0] == "g2"
    assert r.batches == [1, 1]


def test_queue_full_is_an_error_reply_and_a_resend_still_gets_its_ack(rig):
    r = rig(max_queued=2)
    for n in range(3):
        r.send("generate", f"g{n}", {"prompt": "snare", "seed": n})
    r.send("generate", "g0", {"prompt": "snare", "seed": 0})  # a resend of an accepted request
    r.serve()
    replies = r.replies(4)
    assert [(a, args[0]) for a, args in replies] == [("/dawgen/ack", "g0"), ("/dawgen/ack", "g1"),
                                                     ("/dawgen/error", "g2"), ("/dawgen/ack", "g0")]
    assert replies[2][1][1:] == ["queue_full", "2 jobs queued, the limit is [server] max_queued = 2"]
    assert replies[3][1][1] == replies[0][1][1]  # the same job
    assert r.on_disk() == ["g0", "g1"]  # nothing of the refused one
