"""Malformed and hostile input: the daemon stays up, and every parseable request gets an error."""
import random
import socket
import struct

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.client import Client, encode


def osc(address, *args):
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def random_packets(rng: random.Random, n: int):
    """Garbage, truncations and bit flips of valid packets."""
    valid = [osc("/dawgen/generate", "r", "prompt", "kick", "seed", 1), osc("/dawgen/ping", "r"),
             b"#bundle\x00" + b"\x00" * 8 + struct.pack(">i", 16) + osc("/dawgen/ping", "b")[:16]]
    for i in range(n):
        kind = i % 4
        if kind == 0:
            yield bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
        elif kind == 1:
            p = rng.choice(valid)
            yield p[: rng.randint(0, len(p))]
        elif kind == 2:
            p = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 6)):
                p[rng.randrange(len(p))] = rng.getrandbits(8)
            yield bytes(p)
        else:
            yield b"/dawgen/" + bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))


WRONG = [
    ("/dawgen/generate", ["w1"] + ["seconds", "long"]),
    ("/dawgen/generate", ["w2", "count", 0]),
    ("/dawgen/generate", ["w3", "count", 1000]),
    ("/dawgen/generate", ["w4", "seed", -5]),
    ("/dawgen/generate", ["w5", "bpm", 9999.0]),
    ("/dawgen/generate", ["w6", "sample_rate", 1]),
    ("/dawgen/generate", ["w7", "bit_depth", 12]),
    ("/dawgen/generate", ["w8", "format", "mp3"]),
    ("/dawgen/generate", ["w9", "prompt"]),
    ("/dawgen/generate", ["w10", 3, 4]),
    ("/dawgen/generate", ["w11", "nonsense", 1]),
    ("/dawgen/generate", ["w12", "tone", 1.5]),
    ("/dawgen/generate", ["w13", "prompt", "x" * 5000]),
    ("/dawgen/generate", ["w14", "{broken json"]),
    ("/dawgen/generate", ["w15", "model", 42]),
    ("/dawgen/generate", ["w16", "priority", 1e9]),
    ("/dawgen/generate", ["w17", "decay", True]),
    ("/dawgen/cancel", ["w18"]),
    ("/dawgen/status", ["w19", "job", "missing"]),
    ("/dawgen/ping", ["w20", "reply_port", 0]),
    ("/dawgen/teleport", ["w21"]),
    ("/dawgen/generate/extra", ["w22"]),
    ("/dawgen/models", ["w23", "extra", 1]),
]


def test_garbage_never_kills_the_daemon(daemon):
    rng = random.Random(1234)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for packet in random_packets(rng, 1000):
        sock.sendto(packet, ("127.0.0.1", daemon.port))
    sock.sendto(b"x" * 65000, ("127.0.0.1", daemon.port))  # big but not over the limit
    oversized = osc("/dawgen/generate", "big", "prompt", "k" * 70000)
    tcp = socket.create_connection(("127.0.0.1", daemon.port))
    tcp.sendall(b"\xc0" + bytes(rng.getrandbits(8) for _ in range(5000)) + b"\xc0")
    tcp.close()
    with Client("127.0.0.1", daemon.port, tcp=True) as c:
        c.send_raw(oversized)
        reply = c.recv(5)
        assert reply.address == "/dawgen/error" and reply.args[0] == "big" and reply.args[1] == "bad_request"
    assert daemon.alive()
    with Client("127.0.0.1", daemon.port) as c:
        assert c.call("ping").address == "/dawgen/pong"
    log = daemon.log.read_text()
    assert "unparseable OSC packet" in log and "udp 127.0.0.1:" in log  # logged with the sender


def test_every_wrong_request_gets_an_error_reply(daemon):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    for address, args in WRONG:
        sock.sendto(encode(address, args), ("127.0.0.1", daemon.port))
        msg = OscMessage(sock.recv(65536))
        assert msg.address == "/dawgen/error", (address, args, msg.address, msg.params)
        assert msg.params[0] == args[0]
        assert msg.params[1] in ("bad_request", "unknown_verb", "not_found"), msg.params
        assert msg.params[2]  # a message a person can read
    assert daemon.alive()
