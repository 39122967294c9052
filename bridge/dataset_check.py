"""The torch-free dry run of a training folder: what `dawgen dataset check` prints and the studio
page's Training view shows before a run starts (the same code the `train` job reads its data with).

Audio kinds read with server/training/dataset.py (numpy + soundfile), the midi kinds with
server/training/midi/dataset.py (mido); neither imports torch.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from server.training.settings import FAMILY_OF_KIND

DEFAULT_KIND = "dance-diffusion"


def prepare_dataset(folder: str | os.PathLike[str], params: Mapping[str, Any]) -> Any:
    """The dataset `folder` makes for `params` (kind, chop, bpm, trigger, seconds, sample_rate,
    channels, min_seconds; the midi kinds take only kind). DawgenError (bad_request) when the
    folder or a value is wrong or no file is usable."""
    values = dict(params)
    kind = str(values.pop("kind", DEFAULT_KIND))
    if FAMILY_OF_KIND.get(kind) == "midi":
        from server.training.midi.dataset import prepare as prepare_midi

        return prepare_midi(str(folder), kind)
    from server.training.dataset import default_window_frames, prepare

    rate = int(values.pop("sample_rate", 44100))
    seconds = values.pop("seconds", None)
    window = int(round(float(seconds) * rate)) if seconds is not None else default_window_frames(kind, rate)
    return prepare(folder, kind, sample_rate=rate, channels=int(values.pop("channels", 2)),
                   window_frames=window, **values)
