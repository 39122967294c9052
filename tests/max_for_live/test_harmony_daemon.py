"""The Max for Live device's harmony modes (issue #26) against a real daemon and the built-in `midi`
model: the device's own code (dawgen.js under node, max_for_live/test/harness.js) builds every
request; the clip modes' uploads go through the real TCP helper (dawgen_net.js, "net": true in the
harness), the rest through [udpsend] as test_conformance.py sends them. Live is the fake of
max_for_live/test/fake_live.js."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DaemonProcess
from tests.max_for_live.test_conformance import NODE, Device, Wire, finished, udpreceive_decode
from tests.reaper_scripts.test_harmony import skip_without_harmony_engine

pytestmark = [pytest.mark.skipif(NODE is None, reason="node is not installed (make test installs nodejs)")]

MODE = {"chords": 7, "trio": 10, "bassline": 11, "harmonize": 12}
# Two bars of 4/4: a melody in C (quarter notes), or C F G C chords (half notes each).
MELODY = [{"pitch": p, "start_time": i, "duration": 1, "velocity": 90} for i, p in enumerate([72, 74, 76, 77, 79, 77, 76, 72])]
CHORDS = [{"pitch": p, "start_time": 2 * i, "duration": 2, "velocity": 90}
          for i, chord in enumerate([(60, 64, 67), (60, 65, 69), (59, 62, 67), (60, 64, 67)]) for p in chord]


def clip(name: str, notes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"audio": False, "name": name, "looping": True, "loop_start": 0, "loop_end": 8, "length": 8, "notes": notes}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    skip_without_harmony_engine()
    pytest.importorskip("mido")
    process = DaemonProcess(tmp_path_factory.mktemp("m4l-harmony")).start()
    yield process
    if process.alive():
        process.terminate()


@pytest.fixture
def session(daemon):
    """A Set with an audio track, a MIDI track holding a melody clip and a chord clip, connected."""
    live = {"tempo": 100, "net": True,
            "tracks": [{"name": "Beats", "kind": "audio", "slots": [None, None]},
                       {"name": "Keys", "kind": "midi", "slots": [clip("Lead", MELODY), clip("Pads", CHORDS), None]}],
            "highlighted": {"track": 1, "slot": 0}, "detail": {"track": 1, "slot": 0}}
    device, wire = Device(live), Wire(daemon.port)
    device.msg("port", daemon.port)
    device.msg("replyport", wire.reply_port)
    wire.converse(device, device.msg("init"), lambda: any(
        o["out"] == "ui" and o["list"][:2] == ["model", "set"] for o in device.outputs))
    device.msg("model", 0)  # default: the daemon picks the model that does the verb (the built-in midi)
    yield device, wire
    device.close()
    wire.close()


def run(device: Device, wire: Wire, outputs: list[dict[str, Any]], until: Callable[[], bool], timeout: float = 120) -> None:
    """Forward UDP both ways and let the TCP helper work, until `until()` holds."""
    wire.forward(outputs)
    deadline = time.monotonic() + timeout
    wire.inbox.settimeout(0.05)
    while not until():
        if time.monotonic() > deadline:
            raise AssertionError(f"device never got there; status: {device.shown('status')!r}")
        wire.forward(device.command({"wait": 100}))
        try:
            data, _ = wire.inbox.recvfrom(65536)
        except TimeoutError:
            continue
        wire.forward(device.command({"osc": udpreceive_decode(data)}))


def written(device: Device) -> list[Path]:
    return [Path(m.group(1)) for o in device.outputs if o["out"] == "post"
            for m in [re.match(r"dawgen: midi/\w+ wrote (.+\.mid)$", o["text"])] if m]


def markers(path: Path) -> list[str]:
    import mido

    return [m.text for t in mido.MidiFile(path).tracks for m in t if m.type == "marker"]


def test_harmonize_clip_uploads_the_clip_and_puts_chords_on_a_new_track(session, daemon):
    device, wire = session
    device.msg("mode", MODE["harmonize"])
    check = finished(device)
    run(device, wire, device.msg("generate", 1), check)
    status = device.shown("status")
    assert status.startswith("Done: 1 MIDI clip → Lead chords slot 1"), status
    sends = [o["list"] for o in device.outputs if o["out"] == "net" and o["list"][0] == "send"]
    assert sends, "the clip went through the TCP helper"
    [mid] = written(device)
    assert Path(daemon.project) in mid.parents  # a result in the output folder, not the upload
    created = device.live_calls("create_midi_track")
    assert created and created[-1]["args"] == [2]
    assert device.live_calls("create_clip")[-1]["args"] == [8], "the clip's 2 bars"
    notes = device.live_calls("add_new_notes")[-1]["args"][0]["notes"]
    assert notes and all(0 <= n["start_time"] < 8 for n in notes)
    names = [o["args"][0] for o in device.live_calls("set name")]
    symbols = markers(mid)
    assert symbols and names[-1] == f"{mid.stem} · {' '.join(symbols[:16])}" + (" …" if len(symbols) > 16 else "")


def test_bass_for_a_chord_clip(session):
    device, wire = session
    device.command({"live": {"detail": {"track": 1, "slot": 1}}})
    device.msg("mode", MODE["bassline"])
    check = finished(device)
    run(device, wire, device.msg("generate", 1), check)
    assert device.shown("status").startswith("Done: 1 MIDI clip → Pads bass"), device.shown("status")
    assert device.live_calls("add_new_notes")[-1]["args"][0]["notes"]


def test_trio_makes_three_tracks(session):
    device, wire = session
    device.command({"live": {"highlighted": {"track": 0, "slot": 0}}})
    for atoms in (("mode", MODE["trio"]), ("bars", 2), ("seed", 4)):
        device.msg(*atoms)
    check = finished(device)
    run(device, wire, device.msg("generate", 1), check)
    assert device.shown("status").lower().startswith("done: 3 midi clips → melody slot 1, bass slot 1, drums slot 1"), \
        device.shown("status")
    assert [o["args"][0] for o in device.live_calls("create_midi_track")] == [1, 2, 3]


def test_chords_from_the_prompts_symbols(session):
    device, wire = session
    device.command({"live": {"highlighted": {"track": 1, "slot": 2}}})
    for atoms in (("mode", MODE["chords"]), ("bars", 2), ("prompt", "Dm7", "G7"), ("seed", 2)):
        device.msg(*atoms)
    check = finished(device)
    run(device, wire, device.msg("generate", 1), check)
    request, _ = wire.last_request("/dawgen/midi/generate")
    sent = dict(zip(request[2::2], request[3::2]))
    assert (sent["kind"], sent["chords"], sent["bars"]) == ("chords", "Dm7 G7", 2)
    assert device.shown("status").startswith("Done: 1 MIDI clip → Keys slot 3"), device.shown("status")
    mid = written(device)[-1]
    assert markers(mid) == ["Dm7", "G7"]
