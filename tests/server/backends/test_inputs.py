"""The request arithmetic every spec module shares (server/backends/inputs.py): the length a
request asks for and the length of its input file."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from server.backends.inputs import bars_seconds, input_seconds, requested_seconds


def test_bars_at_bpm_win_over_seconds():
    assert requested_seconds({"bars": 2, "bpm": 120, "seconds": 3.0}) == pytest.approx(4.0)
    assert requested_seconds({"bars": 3, "bpm": 120, "time_signature": "6/8"}) == pytest.approx(4.5)
    assert requested_seconds({"seconds": 3}) == 3.0
    assert requested_seconds({"seconds": None}) is None and bars_seconds({"seconds": 3}) is None
    with pytest.raises(ValueError, match="bars needs bpm"):
        requested_seconds({"bars": 2})


def test_input_seconds_reads_the_header(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(22050, np.float32), 44100)
    assert input_seconds({"input": str(wav)}) == pytest.approx(0.5)
    text = tmp_path / "b.wav"
    text.write_text("not audio")
    with pytest.raises(ValueError, match="input: .* is not audio that libsndfile reads"):
        input_seconds({"input": str(text)})
    empty = tmp_path / "c.wav"
    sf.write(empty, np.zeros(0, np.float32), 44100)
    with pytest.raises(ValueError, match="holds no audio"):
        input_seconds({"input": str(empty)})
