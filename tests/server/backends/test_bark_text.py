"""The bark backend's text arithmetic and joins, without a model: passes cut at sentence ends, sung
parts keeping their marks across a cut, crossfaded joins."""
from __future__ import annotations

import numpy as np
import pytest

from server.backends.bark import spec
from server.backends.bark.run import CROSSFADE_S, join

RATE = 24000


# -- the words, pass by pass -----------------------------------------------------------
def test_short_words_are_one_pass_long_ones_are_cut_at_sentence_ends():
    assert spec.split_passes("Hello world. How are you?") == ["Hello world. How are you?"]
    sentences = [f"Sentence number {i} is here." for i in range(40)]
    passes = spec.split_passes(" ".join(sentences))
    assert len(passes) > 1 and all(len(p) <= spec.PASS_CHARS for p in passes)
    assert all(p.endswith(".") for p in passes)  # every cut is at a sentence end
    assert " ".join(passes) == " ".join(sentences)  # nothing lost, nothing added


def test_a_sung_part_cut_in_two_keeps_its_marks_and_cues_pass_through():
    text = "♪ " + " ".join(["la la la, na na na."] * 20) + " ♪ [laughs] Then we talk."
    passes = spec.split_passes(text, limit=60)
    assert len(passes) > 2
    assert all(p.count("♪") % 2 == 0 for p in passes)
    assert all(p.startswith("♪ ") and "♪ ♪" not in p for p in passes)
    assert passes[-1].endswith("♪ [laughs] Then we talk.")
    words = " ".join(passes).replace("♪", " ").split()
    assert words == text.replace("♪", " ").split()
    long_sentence = ", ".join(["one more clause that goes on"] * 12) + "."
    assert all(len(p) <= 100 for p in spec.split_passes(long_sentence, limit=100))


def test_empty_words_are_refused():
    with pytest.raises(ValueError, match="give the words"):
        spec.words({"prompt": " ♪ ♪ "})


def test_joins_are_crossfades_without_a_step():
    fade = int(CROSSFADE_S * RATE)
    a, b = np.full(2000, 0.5, np.float32), np.full(3000, -0.5, np.float32)
    out = join([a, b], fade)
    assert out.shape == (5000 - fade,)
    assert np.abs(np.diff(out)).max() <= 1.0 / fade + 1e-6  # butted together: a step of 1.0
    assert np.array_equal(out[:2000 - fade], a[:2000 - fade]) and np.array_equal(out[2000:], b[fade:])
