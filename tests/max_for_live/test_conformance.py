"""Conformance of the Max for Live device with a real daemon.

The device's own code (max_for_live/dawgen.js, run by node in the fake Max of
max_for_live/test/fake_max.js) builds every request; this test puts each one on the wire as Max's
[udpsend] encodes a Max message (selector = OSC address; symbols -> 's', ints -> 'i', floats ->
32-bit 'f'), from a socket that never listens, and hands the daemon's replies on the reply port
back to the device as [udpreceive] outputs them. So the requests checked here are the device's,
not a copy of them.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any, Callable

import pytest
import soundfile as sf
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from tests.conftest import DaemonProcess

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "max_for_live" / "test" / "harness.js"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed (make test installs nodejs)")


def udpsend_encode(atoms: list[Any]) -> bytes:
    """A Max message as [udpsend] sends it."""
    builder = OscMessageBuilder(address=atoms[0])
    for atom in atoms[1:]:
        if isinstance(atom, bool):
            raise TypeError("Max has no booleans")
        if isinstance(atom, int):
            assert -2**31 <= atom < 2**31, "Max ints go out as 32-bit OSC ints"
            builder.add_arg(atom, "i")
        elif isinstance(atom, float):
            builder.add_arg(atom, "f")
        else:
            builder.add_arg(str(atom), "s")
    return builder.build().dgram


def udpreceive_decode(data: bytes) -> list[Any]:
    """An OSC packet as [udpreceive] hands it to Max: the address as message name, then the atoms."""
    message = OscMessage(data)
    return [message.address, *message.params]


def type_tags(data: bytes) -> str:
    start = data.index(b",")
    return data[start:data.index(b"\0", start)].decode()


class Device:
    """dawgen.js under node, driven line by line through max_for_live/test/harness.js."""

    def __init__(self, live: dict[str, Any]) -> None:
        self.proc = subprocess.Popen([NODE, str(HARNESS), json.dumps(live)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=REPO / "max_for_live")
        self.outputs: list[dict[str, Any]] = []

    def command(self, cmd: dict[str, Any]) -> list[dict[str, Any]]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the device harness exited")
            item = json.loads(line)
            if item.get("done"):
                break
            if "error" in item:
                raise RuntimeError(f"dawgen.js raised: {item['error']}")
            out.append(item)
        self.outputs += out
        return out

    def msg(self, *atoms: Any) -> list[dict[str, Any]]:
        return self.command({"msg": list(atoms)})

    def shown(self, name: str) -> str:
        texts = [o["list"][2] for o in self.outputs if o["out"] == "ui" and o["list"][:2] == [name, "set"]]
        return texts[-1] if texts else ""

    def live_calls(self, fn: str) -> list[dict[str, Any]]:
        return [o for o in self.outputs if o["out"] == "live" and o["fn"] == fn]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(10)


class Wire:
    """The network between [udpsend]/[udpreceive] and the daemon."""

    def __init__(self, daemon_port: int) -> None:
        self.daemon = ("127.0.0.1", daemon_port)
        self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # udpsend: sends, never reads
        self.out.bind(("127.0.0.1", 0))
        self.inbox = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # udpreceive on the reply port
        self.inbox.bind(("127.0.0.1", 0))
        self.inbox.settimeout(0.5)
        self.reply_port = self.inbox.getsockname()[1]
        self.sent: list[tuple[list[Any], bytes]] = []
        self.replies: list[list[Any]] = []

    def forward(self, outputs: list[dict[str, Any]]) -> None:
        for o in outputs:
            if o["out"] == "udpsend" and str(o["list"][0]).startswith("/"):
                packet = udpsend_encode(o["list"])
                self.sent.append((o["list"], packet))
                self.out.sendto(packet, self.daemon)

    def converse(self, device: Device, outputs: list[dict[str, Any]], until: Callable[[], bool],
                 timeout: float = 60.0) -> None:
        """Send what the device sent, feed it every reply, until `until()` holds."""
        import time

        self.forward(outputs)
        deadline = time.monotonic() + timeout
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError(f"device never got there; status: {device.shown('status')!r}; "
                                     f"replies: {self.replies[-5:]}")
            try:
                data, _ = self.inbox.recvfrom(65536)
            except socket.timeout:
                continue
            atoms = udpreceive_decode(data)
            self.replies.append(atoms)
            self.forward(device.command({"osc": atoms}))

    def last_request(self, address: str) -> tuple[list[Any], bytes]:
        return [s for s in self.sent if s[0][0] == address][-1]

    def close(self) -> None:
        self.out.close()
        self.inbox.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """One real `dawgen serve` (tests/conftest.py's DaemonProcess) for the whole module: its first job
    starts the model process, which is the slow part, so the tests share it."""
    process = DaemonProcess(tmp_path_factory.mktemp("m4l")).start()
    yield process
    if process.alive():
        process.terminate()


@pytest.fixture
def session(daemon):
    """A device on a Live Set with an audio and a MIDI track, connected to the daemon (its model menu
    filled from /dawgen/models)."""
    live = {"tempo": 93, "tracks": [{"name": "Beats", "kind": "audio", "slots": [None] * 4},
                                    {"name": "Drums", "kind": "midi", "slots": [None] * 2}],
            "highlighted": {"track": 0, "slot": 1}}
    device, wire = Device(live), Wire(daemon.port)
    device.msg("port", daemon.port)
    device.msg("replyport", wire.reply_port)
    wire.converse(device, device.msg("init"), lambda: any(
        o["out"] == "ui" and o["list"][:2] == ["model", "set"] for o in device.outputs))
    yield device, wire
    device.close()
    wire.close()


def finished(device: Device) -> Callable[[], bool]:
    """True once the status line shows an outcome of the current request."""
    start = len(device.outputs)

    def check() -> bool:
        texts = [o["list"][2] for o in device.outputs[start:] if o["out"] == "ui" and o["list"][:2] == ["status", "set"]]
        return any(not t.startswith(("Sent ", "Queued", "Starting", "Cancelling", "Stopping"))
                   and not re.match(r"^[a-z][a-z ]* \d+%", t) for t in texts)  # progress: "<stage> 42%"
    return check


def test_connects_and_fills_the_model_menu(session):
    device, wire = session
    assert device.shown("status").startswith("Connected to dawgen ")
    menu = [o["list"][1:] for o in device.outputs if o["out"] == "ui" and o["list"][0] == "model"]
    assert ["append", "default (synth)"] in menu and ["append", "synth"] in menu
    ping, packet = wire.last_request("/dawgen/ping")
    assert ping[-2:] == ["reply_port", wire.reply_port]
    assert type_tags(packet) == ",ssi"


def test_generate_puts_real_files_into_the_selected_slot_and_below(session, daemon):
    device, wire = session
    device.msg("prompt", "punchy", "kick")
    device.msg("seed", 42)
    device.msg("count", 2)
    check = finished(device)
    wire.converse(device, device.msg("generate", 1), check)
    request, packet = wire.last_request("/dawgen/generate")
    assert request[2:] == ["prompt", "punchy kick", "bpm", 93, "seed", 42, "count", 2, "reply_port", wire.reply_port]
    assert type_tags(packet) == ",ssssisisisi"
    ack = next(r for r in wire.replies if r[0] == "/dawgen/ack")
    assert ack[1] == request[1]
    created = device.live_calls("create_audio_clip")
    assert [c["path"] for c in created] == ["live_set tracks 0 clip_slots 1", "live_set tracks 0 clip_slots 2"]
    paths = [Path(c["args"][0]) for c in created]
    assert [p.name for p in paths] == ["punchy-kick_42.wav", "punchy-kick_43.wav"]
    for p in paths:
        assert p.is_file() and Path(daemon.project) in p.parents
        assert sf.info(p).frames > 0
    assert device.shown("status") == "Done: 2 clips → Beats slot 2, Beats slot 3."
    assert device.shown("lastseed") == "last seed 42–43"


@pytest.mark.parametrize("num, den, bpm", [(4, 4, 93.5), (3, 4, 120), (7, 8, 101)])
def test_loop_length_follows_the_live_set(session, num, den, bpm):
    """Two bars in the Set's meter at its tempo come back exactly that long."""
    device, wire = session
    device.command({"live": {"tempo": bpm, "sigNum": num, "sigDen": den}})
    for atoms in (("mode", 1), ("prompt", "drum", "loop"), ("bars", 2), ("seed", 5)):
        device.msg(*atoms)
    check = finished(device)
    wire.converse(device, device.msg("generate", 1), check)
    path = Path(device.live_calls("create_audio_clip")[-1]["args"][0])
    expected = 2 * num * 4 / den * 60 / bpm * 48000
    assert abs(sf.info(path).frames - expected) <= 1, (wire.last_request("/dawgen/generate")[0], sf.info(path).frames, expected)


AUDIO_CLIP = {"audio": True, "file_path": "", "name": "take"}


@pytest.mark.parametrize("mode, address", [(2, "/dawgen/continue"), (3, "/dawgen/vary"), (4, "/dawgen/separate")])
def test_verbs_without_a_backend_are_sent_by_convention_and_refused_in_words(session, daemon, mode, address):
    device, wire = session
    take = Path(daemon.project) / "take.wav"
    take.parent.mkdir(parents=True, exist_ok=True)
    sf.write(take, [[0.0, 0.0]] * 4800, 48000)
    device.command({"live": {"put": {"track": 0, "slot": 0, "clip": {**AUDIO_CLIP, "file_path": str(take)}},
                             "detail": {"track": 0, "slot": 0},
                             "highlighted": {"track": 0, "slot": 0}}})
    device.msg("mode", mode)
    check = finished(device)
    wire.converse(device, device.msg("generate", 1), check)
    request, packet = wire.last_request(address)
    assert request[2:4] == ["input", str(take)]
    assert request[-2:] == ["reply_port", wire.reply_port] and type_tags(packet).endswith("si")
    error = wire.replies[-1]
    assert error[:3] == ["/dawgen/error", request[1], "unknown_verb"]
    verb = address[len("/dawgen/"):]
    assert device.shown("status").startswith(f"No model here can do {verb} with the default model yet (")


def test_midi_drums_come_back_as_a_midi_clip_holding_the_files_notes(session, daemon):
    """Mode 5 goes to the built-in `midi` model (no model named): the .mid it writes becomes a MIDI
    clip of exactly the requested bars, with the file's notes."""
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    mido = pytest.importorskip("mido")
    device, wire = session
    device.command({"live": {"tempo": 120, "sigNum": 4, "sigDen": 4, "highlighted": {"track": 1, "slot": 0}}})
    for atoms in (("mode", 5), ("bars", 2), ("seed", 3)):
        device.msg(*atoms)
    check = finished(device)
    wire.converse(device, device.msg("generate", 1), check)
    request, _ = wire.last_request("/dawgen/midi/generate")
    assert "kind" in request and request[request.index("kind") + 1] == "drums"
    done = next((r for r in wire.replies if r[0] == "/dawgen/done"), None)
    assert done is not None, (request, wire.replies[-3:], device.shown("status"))
    mid = Path(done[2])
    assert mid.suffix == ".mid" and Path(daemon.project) in mid.parents
    created = device.live_calls("create_clip")
    assert created and created[-1]["args"][0] == 8  # 2 bars of 4/4, in beats
    added = device.live_calls("add_new_notes")[-1]["args"][0]["notes"]
    in_file = sorted(m.note for tr in mido.MidiFile(mid).tracks for m in tr if m.type == "note_on" and m.velocity)
    assert sorted(n["pitch"] for n in added) == in_file and in_file
    assert device.shown("status").startswith("Done: 1 MIDI clip")


def test_cancel_stops_the_running_job(session):
    device, wire = session
    for atoms in (("prompt", "pad"), ("count", 64), ("seed", 1)):
        device.msg(*atoms)
    wire.converse(device, device.msg("generate", 1), lambda: any(r[0] == "/dawgen/progress" for r in wire.replies))
    check = finished(device)
    wire.converse(device, device.msg("cancel", 1), check)
    cancel, packet = wire.last_request("/dawgen/cancel")
    job = next(r for r in wire.replies if r[0] == "/dawgen/ack")[2]
    assert cancel[2:] == ["job", job, "reply_port", wire.reply_port] and type_tags(packet) == ",ssssi"
    assert ["/dawgen/cancelled", cancel[1], job, "running"] in wire.replies
    assert device.shown("status") == "Cancelled."
    assert device.live_calls("create_audio_clip") == []


def test_a_folder_outside_the_output_root_is_refused_in_words(session):
    device, wire = session
    device.msg("folder", "../elsewhere")
    check = finished(device)
    wire.converse(device, device.msg("generate", 1), check)
    assert wire.last_request("/dawgen/generate")[0][-4:-2] == ["dir", "../elsewhere"]
    assert wire.replies[-1][2] == "out_of_root"
    assert device.shown("status").startswith("The Folder setting must stay inside the daemon's output folder: ")


def test_a_midi_file_from_an_independent_writer_becomes_the_same_notes(tmp_path):
    """The device's .mid reader against mido's writer: type 1, tempo track, drums on channel 10."""
    mido = pytest.importorskip("mido", reason="mido (the [test] extra) writes the reference file")
    notes = [(36, 0, 240, 110), (42, 240, 120, 70), (38, 480, 240, 96), (42, 720, 120, 64), (36, 1200, 360, 100)]
    midi = mido.MidiFile(type=1, ticks_per_beat=480)
    midi.tracks.append(mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000),
                                       mido.MetaMessage("time_signature", numerator=4, denominator=4)]))
    events = []
    for pitch, start, length, velocity in notes:
        events += [(start, mido.Message("note_on", channel=9, note=pitch, velocity=velocity)),
                   (start + length, mido.Message("note_off", channel=9, note=pitch, velocity=0))]
    track, now = mido.MidiTrack(), 0
    for tick, message in sorted(events, key=lambda e: e[0]):
        track.append(message.copy(time=tick - now))
        now = tick
    midi.tracks.append(track)
    path = tmp_path / "drums_7.mid"
    midi.save(path)

    device = Device({"tracks": [{"name": "Drums", "kind": "midi", "slots": [None]}], "highlighted": {"track": 0, "slot": 0}})
    try:
        device.msg("init")
        device.msg("mode", 5)
        device.msg("bars", 1)
        request = next(o["list"] for o in device.msg("generate", 1) if o["out"] == "udpsend" and o["list"][0] == "/dawgen/midi/generate")
        device.command({"osc": ["/dawgen/ack", request[1], "jm", 0]})
        device.command({"osc": ["/dawgen/done", "jm", str(path)]})
        assert [c["args"] for c in device.live_calls("create_clip")] == [[4]]
        written = device.live_calls("add_new_notes")[0]["args"][0]["notes"]
        expected = [{"pitch": p, "start_time": s / 480, "duration": n / 480, "velocity": v, "mute": 0}
                    for p, s, n, v in sorted(notes, key=lambda x: (x[1], x[0]))]
        assert written == expected
        assert not any(math.isnan(n["start_time"]) for n in written)
    finally:
        device.close()


def test_the_catalog_menu_fills_from_the_daemons_catalog(session):
    """The device's own /dawgen/catalog request, answered by the real daemon: the models section lists
    the shipped catalog (name · size · licence · installed), dependencies (t5-base) left out."""
    device, wire = session
    wire.converse(device, [], lambda: any(o["out"] == "ui" and o["list"][:2] == ["catalog", "set"]
                                          for o in device.outputs), timeout=20)
    catalog, packet = wire.last_request("/dawgen/catalog")
    assert catalog[2:] == ["reply_port", wire.reply_port] and type_tags(packet) == ",ssi"
    items = [o["list"][2] for o in device.outputs if o["out"] == "ui" and o["list"][:2] == ["catalog", "append"]]
    assert items[0] == "get a model…"
    names = [item.split(" · ")[0] for item in items[1:]]
    assert "stable-audio-open-small" in names and "t5-base" not in names
    assert all(item.endswith((" · installed", " · gated", " · get")) for item in items[1:])
