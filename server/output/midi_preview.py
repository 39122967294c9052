"""An audio preview beside a MIDI output (`preview_audio=true`): the .mid played by FluidSynth
through a General MIDI soundfont, written as a .wav with the same stem.

The MIDI verbs and `transcribe` declare `PREVIEW_AUDIO` in their params and call `check_available`
from their `_check_params`, so a request for a preview that this machine cannot render is refused
when it is submitted, before any work is done. The writer renders the preview before it places the
.mid: a failed render fails the job and leaves no half-finished pair behind.

The fluidsynth command line is used (Debian/Ubuntu: `apt install fluidsynth`, macOS: `brew install
fluid-synth`), so no Python binding is needed. The soundfont is, in order: `$DAWGEN_SOUNDFONT`,
TimGM6mb.sf2 as shipped inside the pretty_midi package (installed with the `transcribe` extra), the
system's default GM soundfont (Debian's fluidsynth recommends timgm6mb-soundfont), FluidR3_GM.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import DawgenError, ErrorCode
from ..params import ParamSpec

PREVIEW_AUDIO = ParamSpec(
    "preview_audio", "bool", False,
    doc="also write `<name>.wav` beside the .mid: the MIDI played through a General MIDI soundfont "
        "(needs fluidsynth: apt install fluidsynth)")

# `sample_rate` as MIDI verbs take it: the rate of the preview, nothing else (fluidsynth's maximum)
PREVIEW_RATE = ParamSpec("sample_rate", "int", 48000, min=8000, max=96000,
                         doc="sample rate of the `preview_audio` file (Hz)")

SOUNDFONT_ENV = "DAWGEN_SOUNDFONT"
SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
)
MAX_RATE = PREVIEW_RATE.max or 96000  # fluidsynth's highest sample rate
RENDER_TIMEOUT = 300.0
INSTALL_HINT = "install fluidsynth (Debian/Ubuntu: apt install fluidsynth; macOS: brew install fluid-synth)"


def find_fluidsynth() -> str | None:
    return shutil.which("fluidsynth")


def find_soundfont() -> str | None:
    """The soundfont a preview uses; None when there is none."""
    chosen = os.environ.get(SOUNDFONT_ENV, "").strip()
    if chosen:
        return chosen if os.path.isfile(os.path.expanduser(chosen)) else None
    spec = importlib.util.find_spec("pretty_midi")  # find_spec, not import: pretty_midi is slow to import
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = os.path.join(folder, "TimGM6mb.sf2")
        if os.path.isfile(candidate):
            return candidate
    for candidate in SYSTEM_SOUNDFONTS:
        if os.path.isfile(candidate):
            return os.path.realpath(candidate)
    return None


def check_available() -> tuple[str, str]:
    """(fluidsynth, soundfont) paths; DawgenError(model_unavailable) naming the fix otherwise."""
    binary = find_fluidsynth()
    if binary is None:
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                          f"preview_audio: the fluidsynth program is not installed; {INSTALL_HINT}, "
                          "or leave preview_audio off")
    soundfont = find_soundfont()
    if soundfont is None:
        chosen = os.environ.get(SOUNDFONT_ENV, "").strip()
        where = (f"${SOUNDFONT_ENV} names {chosen}, which is not a file" if chosen
                 else "no General MIDI soundfont found")
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE,
                          f"preview_audio: {where}; install one (apt install timgm6mb-soundfont, or "
                          f"pip install pretty_midi), set ${SOUNDFONT_ENV} to an .sf2 file, or leave "
                          "preview_audio off")
    return binary, soundfont


def check_params(params: Mapping[str, Any]) -> None:
    """Submit-time check for a verb that declares PREVIEW_AUDIO."""
    if params.get("preview_audio"):
        check_available()


def render_wav(midi: bytes, params: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The .wav bytes of `midi` played by fluidsynth, and what the sidecar records about it.

    Rendered at the job's `sample_rate` (at most 96 kHz), 24-bit, in a private temporary folder
    (outside the output roots: the writer places the result atomically)."""
    binary, soundfont = check_available()
    rate = min(MAX_RATE, int(params.get("sample_rate") or 48000))
    with tempfile.TemporaryDirectory(prefix="dawgen-midi-preview-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi)
        # -n no MIDI input, -i no shell, -F render to a file (type from its extension), -O sample format
        cmd = [binary, "-n", "-i", "-q", "-F", str(wav), "-T", "wav", "-O", "s24", "-r", str(rate), soundfont, str(mid)]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=RENDER_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DawgenError(ErrorCode.WRITE_FAILED, f"preview_audio: fluidsynth failed ({exc})") from None
        lines = (done.stderr or done.stdout or "").strip().splitlines()
        # fluidsynth renders silence and exits 0 when the soundfont or the MIDI file does not load
        failed = [line for line in lines if "failed to load" in line.lower()]
        if failed or done.returncode != 0 or not wav.is_file() or wav.stat().st_size <= 44:
            why = (failed or lines or [f"exit code {done.returncode}"])[-1]
            raise DawgenError(ErrorCode.WRITE_FAILED, f"preview_audio: fluidsynth could not render the MIDI: {why}")
        data = wav.read_bytes()
    return data, {"renderer": "fluidsynth", "soundfont": os.path.basename(soundfont), "sample_rate": rate}
