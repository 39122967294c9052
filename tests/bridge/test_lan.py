"""The studio LAN rules over loopback, with [server] require_token = true so loopback is treated
like another machine: tokens, ownership, per-client limits, uploads and fetch, tokens kept out of logs."""
from __future__ import annotations

import logging
import socket
import wave

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage

from bridge.client import Client, ClientError, encode, request_args
from bridge.osc import OscServer
from server.config import ConfigError, load
from server.engine import Engine

ALICE, BOB = "alice-token-" + "a" * 20, "bob-token-" + "b" * 20
WRONG = "wrong-token-" + "w" * 20


def make(tmp_path, isolation="thread", require_token=True, **alice):
    overrides = {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                 "server.isolation": isolation, "server.require_token": require_token,
                 "clients.alice": {"token": ALICE, **alice}, "clients.bob": {"token": BOB}}
    engine = Engine(load(None, overrides))
    engine.start(workers=False)
    osc = OscServer(engine, "127.0.0.1", 0)
    osc.start()
    return engine, osc


@pytest.fixture
def rig(tmp_path):
    engine, osc = make(tmp_path)
    yield engine, osc
    osc.stop()
    engine.stop(0)
    engine.close()


class Raw:
    """A bare UDP socket: sees every datagram the daemon sends it, in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(10)

    def send(self, verb: str, req_id: str, params: dict | None = None, *extra) -> None:
        args = request_args(req_id, params or {}) if not extra else [req_id, *extra]
        self.sock.sendto(encode(f"/dawgen/{verb}", args), ("127.0.0.1", self.port))

    def reply(self) -> tuple[str, list]:
        msg = OscMessage(self.sock.recv(65536))
        return msg.address, list(msg.params)


def test_no_token_or_a_wrong_one_gets_unauthorized_and_nothing_else(rig):
    _, osc = rig
    raw = Raw(osc.port)
    raw.send("generate", "r1", {"prompt": "kick"})
    raw.send("status", "r2", {"job": "x", "token": WRONG})
    raw.send("generate", "r3", {}, "odd")  # would be bad_request from a known client
    raw.send("ping", "r4", {"token": ALICE})
    got = [raw.reply() for _ in range(4)]
    assert [(a, args[:2]) for a, args in got[:3]] == [("/dawgen/error", ["r1", "unauthorized"]),
                                                      ("/dawgen/error", ["r2", "unauthorized"]),
                                                      ("/dawgen/error", ["r3", "unauthorized"])]
    assert got[3][0] == "/dawgen/pong"  # the next datagram: nothing else came before it
    assert not any(WRONG in str(args) or ALICE in str(args) for _, args in got)
    assert rig[0].queue() == []


def test_a_client_sees_and_cancels_only_its_own_jobs(rig):
    engine, osc = rig
    with Client("127.0.0.1", osc.port, token=ALICE) as alice, Client("127.0.0.1", osc.port, token=BOB) as bob:
        mine = str(alice.call("generate", {"prompt": "secret kick"}).args[1])
        theirs = str(bob.call("generate", {"prompt": "bob pad"}).args[1])
        for verb in ("status", "cancel"):
            with pytest.raises(ClientError) as info:
                alice.call(verb, {"job": theirs})
            assert info.value.code == "forbidden"
        assert str(alice.call("status", {"job": mine}).args[2]) == "queued"
        queue = {j["job_id"]: j for j in __import__("json").loads(alice.call("queue").args[1])}
        assert queue[mine]["params"]["prompt"] == "secret kick"
        assert queue[theirs]["params"] == {} and queue[theirs]["state"] == "queued"
        assert str(bob.call("cancel", {"job": theirs}).args[2]) == "cancelled"
    assert engine.status(mine)[0].owner == "alice"


def test_loopback_without_require_token_is_the_admin_and_sees_all(tmp_path):
    engine, osc = make(tmp_path, require_token=False)
    try:
        with Client("127.0.0.1", osc.port, token=BOB) as bob, Client("127.0.0.1", osc.port) as admin:
            job = str(bob.call("generate", {"prompt": "bob pad"}).args[1])
            queue = __import__("json").loads(admin.call("queue").args[1])
            assert queue[0]["params"]["prompt"] == "bob pad" and queue[0]["owner"] == "bob"
            assert str(admin.call("cancel", {"job": job}).args[2]) == "cancelled"
    finally:
        osc.stop()
        engine.stop(0)
        engine.close()


def test_max_queued_and_max_priority_per_client(tmp_path):
    engine, osc = make(tmp_path, max_queued=2, max_priority=3)
    try:
        with Client("127.0.0.1", osc.port, token=ALICE) as alice, Client("127.0.0.1", osc.port, token=BOB) as bob:
            first = str(alice.call("generate", {"prompt": "a", "priority": 9}).args[1])
            alice.call("generate", {"prompt": "b"})
            with pytest.raises(ClientError) as info:
                alice.call("generate", {"prompt": "c"})
            assert info.value.code == "queue_full" and "max_queued = 2" in info.value.message
            bob.call("generate", {"prompt": "d"})  # another client's room is its own
        assert engine.status(first)[0].priority == 3
    finally:
        osc.stop()
        engine.stop(0)
        engine.close()


def test_a_client_cannot_name_files_or_play_on_the_daemons_machine(rig):
    _, osc = rig
    with Client("127.0.0.1", osc.port, token=ALICE) as alice:
        for verb, params in (("process", {"input": "/etc/passwd"}), ("audition", {"path": "/etc/x.wav"})):
            with pytest.raises(ClientError) as info:
                alice.call(verb, params)
            assert info.value.code == "forbidden"


def test_listeners_hear_only_their_own_clients_jobs(rig):
    engine, osc = rig
    with Client("127.0.0.1", osc.port, token=ALICE) as alice, Client("127.0.0.1", osc.port, token=BOB) as bob:
        alice.call("listen")
        bob.call("generate", {"prompt": "bob pad"})
        mine = str(alice.call("generate", {"prompt": "alice kick"}).args[1])
        reply = alice.recv(10)  # the first event after listen: its own job's ack, not bob's
        assert reply is not None and (reply.address, reply.args[1]) == ("/dawgen/ack", mine)


def test_tokens_never_reach_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    engine, osc = make(tmp_path)
    try:
        raw = Raw(osc.port)
        raw.send("generate", "r1", {"token": WRONG, "prompt": "x"})
        raw.send("generate", "r2", {"token": ALICE, "seconds": "nope"})
        raw.send("generate", "r3", None, "token", ALICE, "odd")
        assert [raw.reply()[1][1] for _ in range(3)] == ["unauthorized", "bad_request", "bad_request"]
    finally:
        osc.stop()
        engine.stop(0)
        engine.close()
    text = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert "r1" in text or "refused" in text  # the refusals were logged...
    assert ALICE not in text and WRONG not in text and BOB not in text  # ...without a token


def sine_wav(path, seconds=0.5, rate=22050):
    t = np.arange(int(seconds * rate)) / rate
    data = (np.sin(2 * np.pi * 220 * t) * 12000).astype("<i2")
    with wave.open(str(path), "wb") as fh:
        fh.setnchannels(1)
        fh.setsampwidth(2)
        fh.setframerate(rate)
        fh.writeframes(data.tobytes())


def test_upload_then_fetch_a_result_over_tcp(tmp_path):
    engine, osc = make(tmp_path, isolation="immediate")
    try:
        sine_wav(tmp_path / "loop.wav")
        blob = (tmp_path / "loop.wav").read_bytes()
        with Client("127.0.0.1", osc.port, tcp=True, token=ALICE) as alice:
            chain = '[{"effect": "Gain", "gain_db": -6}]'
            ack = alice.call("process", {"input_blob": blob, "input_name": "../my loop.wav", "chain": chain}, timeout=60)
            outputs = alice.wait(str(ack.args[1]), timeout=60)
            job = engine.status(str(ack.args[1]))[0]
            uploaded = job.params["input"]
            assert uploaded.startswith(str(tmp_path / "s" / "uploads" / "alice"))
            assert uploaded.endswith("/my loop.wav") and open(uploaded, "rb").read() == blob
            local = alice.fetch(outputs[0], tmp_path / "got")
            assert local.read_bytes() == open(outputs[0], "rb").read() and local.parent == tmp_path / "got"
            for path, code in ((outputs[0].replace(".wav", ".nope"), "not_found"), ("/etc/passwd", "not_found")):
                with pytest.raises(ClientError) as info:
                    alice.fetch(path, tmp_path / "got")
                assert info.value.code == code
        with Client("127.0.0.1", osc.port, tcp=True, token=BOB) as bob:
            with pytest.raises(ClientError) as info:
                bob.fetch(outputs[0], tmp_path / "bob")
            assert info.value.code == "forbidden"
    finally:
        osc.stop()
        engine.stop(0)
        engine.close()


def test_an_upload_over_the_limit_is_refused(tmp_path):
    overrides = {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                 "server.max_upload_bytes": 1000, "clients.alice": {"token": ALICE}}
    engine = Engine(load(None, overrides))
    engine.start(workers=False)
    osc = OscServer(engine, "127.0.0.1", 0)
    osc.start()
    try:
        with Client("127.0.0.1", osc.port, tcp=True, token=ALICE) as alice:
            with pytest.raises(ClientError) as info:
                alice.call("process", {"input_blob": b"x" * 1001, "input_name": "a.wav"})
            assert info.value.code == "bad_request" and "max_upload_bytes" in info.value.message
        assert not (tmp_path / "s" / "uploads").exists()
    finally:
        osc.stop()
        engine.stop(0)
        engine.close()


def test_binding_another_address_without_clients_is_refused_before_any_socket(tmp_path, monkeypatch):
    from bridge.serve import Daemon

    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was opened")

    monkeypatch.setattr(socket, "socket", no_socket)
    config = load(None, {"server.host": "0.0.0.0", "output.root": str(tmp_path / "p"),
                         "server.state_dir": str(tmp_path / "s"), "web.enabled": False, "hotfolder.enabled": False})
    with pytest.raises(ConfigError, match="dawgen token add NAME"):
        Daemon(config).startup()
    assert not (tmp_path / "s").exists()


def test_token_add_writes_the_client_and_prints_the_token_once(tmp_path, capsys):
    from bridge.cli import main

    cfg = tmp_path / "dawgen.toml"
    cfg.write_text('[server]\nhost = "0.0.0.0"\n')
    assert main(["token", "add", "alex-laptop", "--config", str(cfg)]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(token) >= 32 and token not in err
    config = load(cfg)
    assert config.clients["alex-laptop"].token == token and config.server.host == "0.0.0.0"
    assert main(["token", "add", "alex-laptop", "--config", str(cfg)]) == 2  # there already
    assert "is there already" in capsys.readouterr().err
    assert load(cfg).clients["alex-laptop"].token == token
    assert main(["token", "add", "bad name", "--config", str(cfg)]) == 2


def test_the_web_door_shares_the_client_tokens(tmp_path):
    from bridge.clients import Clients
    from bridge.web.auth import Guard

    config = load(None, {"clients.alice": {"token": ALICE}, "server.require_token": True})
    guard = Guard(None, Clients(config, admin_tokens=[WRONG]), "0.0.0.0")

    def refusal(token, scope=None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        scope = {} if scope is None else scope
        scope.update(method="GET", client=("127.0.0.1", 1))
        return guard.refusal(scope, headers)

    assert "needs a client token" in refusal("")
    assert "needs a client token" in refusal("nope-" + "x" * 20)
    assert refusal(WRONG) == ""  # a [web] token: the admin's, as before
    scope = {}
    assert refusal(ALICE, scope) == ""  # a [clients] token: that client, under the same rules as OSC
    assert scope["state"]["dawgen_client"].name == "alice" and not scope["state"]["dawgen_client"].admin
