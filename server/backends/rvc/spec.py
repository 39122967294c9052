"""The `convert` verb's parameters (no torch, no rvc-next): the names RVC WebUI and its successors use."""
from __future__ import annotations

from ...params import ParamSpec

F0_METHODS = ("rmvpe", "pm")  # rmvpe: the `rmvpe` file; pm: Praat's autocorrelation (praat-parselmouth)
# The whole input is held in memory at 16 kHz, at the voice's rate and at the input's: an hour of
# stereo is about 2 GB, so longer files are refused at submit time.
MAX_INPUT_SECONDS = 3600.0

CONVERT_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("input", "str", None, max_length=4096,
              doc="absolute path of the audio to convert (WAV, AIFF, FLAC, MP3, OGG; other formats through "
                  "ffmpeg); required. The result is exactly as long as the input and at its rate"),
    ParamSpec("voice", "str", None, max_length=200,
              doc="an RVC voice of this model (`.pth`, with its `added_*.index` when there is one): "
                  "`dawgen models` lists them; required"),
    ParamSpec("pitch", "float", 0.0, min=-36.0, max=36.0,
              doc="transpose in semitones (+12: an octave up, e.g. a male voice into a female model)"),
    ParamSpec("index_rate", "float", 0.75, min=0.0, max=1.0,
              doc="how much of the voice's feature index replaces the input's features (timbre vs. "
                  "articulation); 0, or a voice without an index, reads no index"),
    ParamSpec("protect", "float", 0.33, min=0.0, max=0.5,
              doc="keeps unvoiced consonants and breaths from the input's features (0.5 = off)"),
    ParamSpec("f0_method", "str", "rmvpe", choices=F0_METHODS,
              doc="pitch tracker: `rmvpe` (the model's `rmvpe` file) or `pm` (Praat, no model file)"),
    ParamSpec("vocals_only", "bool", False,
              doc="separate the vocals first (with the model's `separator`, or the first model that "
                  "does `separate`), convert them and mix the accompaniment back, sample-aligned"),
)
