"""`dawgen devices`: the audio and MIDI devices this machine has, and which ones the config picks.

Each part works on its own: without the `audio` or `midi` extra that part says what to install and
the other is still listed. The exit code is 1 when something the config names cannot be found.
"""
from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from server.config import Config
from server.errors import DawgenError

from .audio_devices import AudioUnavailable, devices_of, load_sounddevice, pick_device
from .midi.mapping import port_matches


def audio_report(config: Config) -> dict[str, Any]:
    try:
        sd = load_sounddevice()
    except AudioUnavailable as exc:
        return {"available": False, "error": exc.message, "devices": [], "problems": []}
    devices, defaults = devices_of(sd)
    report: dict[str, Any] = {"available": True, "devices": [d.describe() for d in devices], "problems": []}
    cfg = config.audio
    for kind, pattern in (("input", cfg.input), ("output", cfg.output)):
        try:
            report[kind] = pick_device(devices, kind, pattern, cfg.hostapi, defaults).name
        except DawgenError as exc:
            report[kind] = None
            report["problems"].append(exc.message)
    return report


def midi_report(config: Config) -> dict[str, Any]:
    from .midi.ports import MidiUnavailable, list_ports, load_backend

    midi = config.midi
    try:
        inputs, outputs = list_ports(load_backend(midi.backend if midi else ""))
    except MidiUnavailable as exc:
        problems = [str(exc)] if midi is not None else []
        return {"available": False, "error": str(exc), "inputs": [], "outputs": [], "problems": problems}
    report: dict[str, Any] = {"available": True, "inputs": inputs, "outputs": outputs, "problems": []}
    if midi is not None:
        report["listening"] = [n for n in inputs if any(port_matches(p, n) for p in midi.inputs)]
        if midi.inputs and not report["listening"]:
            report["problems"].append(f"no MIDI input matches [midi] inputs {midi.inputs}")
        report["feedback"] = next((n for n in outputs if midi.output and port_matches(midi.output, n)), None)
        if midi.output and report["feedback"] is None:
            report["problems"].append(f"no MIDI output matches [midi] output {midi.output!r}")
    return report


def run_devices(config: Config, as_json: bool = False, out: TextIO = sys.stdout) -> int:
    audio, midi = audio_report(config), midi_report(config)
    if as_json:
        print(json.dumps({"audio": audio, "midi": midi}, indent=2), file=out)
    else:
        _print_audio(audio, out)
        _print_midi(midi, config, out)
        for problem in audio["problems"] + midi["problems"]:
            print(f"✗ {problem}", file=out)
    return 1 if audio["problems"] or midi["problems"] else 0


def _print_audio(audio: dict[str, Any], out: TextIO) -> None:
    print("audio devices (sounddevice / PortAudio):", file=out)
    if not audio["available"]:
        print(f"  unavailable: {audio['error']}", file=out)
        return
    for d in audio["devices"]:
        marks = [m for m, kind in (("capture", "input"), ("audition", "output")) if audio.get(kind) == d["name"]]
        mark = f"   <- {' and '.join(marks)}" if marks else ""
        print(f"  {d['index']:>3}  {d['name']}  [{d['hostapi']}]  in {d['inputs']} / out {d['outputs']}, "
              f"{d['default_sample_rate']:g} Hz{mark}", file=out)
    if not audio["devices"]:
        print("  none", file=out)


def _print_midi(midi: dict[str, Any], config: Config, out: TextIO) -> None:
    print("MIDI ports (mido / python-rtmidi):", file=out)
    if not midi["available"]:
        print(f"  unavailable: {midi['error']}", file=out)
        return
    listening, feedback = set(midi.get("listening", [])), midi.get("feedback")
    for name in midi["inputs"]:
        print(f"  in   {name}{'   <- listened to' if name in listening else ''}", file=out)
    for name in midi["outputs"]:
        print(f"  out  {name}{'   <- pad feedback' if name == feedback else ''}", file=out)
    if not midi["inputs"] and not midi["outputs"]:
        print("  none", file=out)
    if config.midi is not None and config.midi.virtual:
        print(f"  (dawgen serve also opens virtual ports named {config.midi.virtual_name!r})", file=out)
