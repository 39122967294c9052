"""Declared parameters of the audio control verbs (`audition`, `stop`, `capture`).

Pure declarations, so bridge/protocol.py can list them (and docs/PROTOCOL.md is checked against
them) without importing sounddevice or the audio code.
"""
from __future__ import annotations

from server.params import ParamSpec, bpm_param

THEN_VERBS = ("continue", "vary", "separate", "transcribe")

AUDITION = (
    ParamSpec("path", "str", None, doc="file to play: absolute, or relative to the output root; "
              "default: the newest output of `job`, else of the last finished job"),
    ParamSpec("job", "str", None, max_length=64, doc="play this job's first output (job id or request id)"),
)
STOP = (
    ParamSpec("what", "str", "all", choices=("all", "audition", "capture"),
              doc="what to stop: playback, a running capture (nothing is written), or both"),
)
CAPTURE = (
    ParamSpec("seconds", "float", None, min=0.05, max=600, doc="length to record; or give `bars`"),
    ParamSpec("bars", "float", None, min=0.25, max=64, doc="length in bars at `bpm` (instead of `seconds`)"),
    bpm_param(doc="tempo for `bars`; default: the incoming MIDI clock's tempo when one runs, else 120"),
    ParamSpec("beats_per_bar", "int", 4, min=1, max=32, doc="quarter notes per bar"),
    ParamSpec("start", "str", "now", choices=("now", "bar"),
              doc="`bar`: start on the next bar line of the incoming MIDI clock (after a MIDI Start)"),
    ParamSpec("wait_seconds", "float", 30, min=0.1, max=600, doc="how long `start=bar` waits for a bar line"),
    ParamSpec("dir", "str", "", max_length=255,
              doc="subfolder of the output root (no `..`, not absolute); default: `dawgen/YYYY-MM-DD`"),
    ParamSpec("name", "str", "capture", max_length=64, doc="first word of the file name"),
    ParamSpec("then", "str", None, choices=THEN_VERBS,
              doc="then send the recording to this verb as its `input` (request id `<req_id>.then`)"),
    ParamSpec("then_params", "str", None, max_length=4096,
              doc="JSON object of more parameters for the `then` request, e.g. {\"seconds\": 8}"),
)
