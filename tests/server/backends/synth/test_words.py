"""Prompt parsing: kinds, synonyms, multi-word phrases, traits, styles and note names."""
from __future__ import annotations

import pytest

from server.backends.synth.render import KINDS, parse_note
from server.backends.synth.words import PHRASES, parse

KIND_TABLE = [
    ("kick", "kick"), ("bd", "kick"), ("kick drum", "kick"), ("bass drum", "kick"), ("KICKS!", "kick"),
    ("snare", "snare"), ("sd", "snare"), ("snare drum", "snare"),
    ("clap", "clap"), ("hand claps", "clap"),
    ("hh", "hat_closed"), ("hihat", "hat_closed"), ("hi-hat", "hat_closed"), ("hi hat", "hat_closed"),
    ("closed hat", "hat_closed"), ("trap hats", "hat_closed"),
    ("open hat", "hat_open"), ("oh", "hat_open"), ("Open Hi-Hat", "hat_open"), ("an open hihat please", "hat_open"),
    ("tom", "tom"), ("floor tom", "tom"), ("rim", "rim"), ("rimshot", "rim"),
    ("shaker", "perc"), ("perc", "perc"), ("conga", "perc"), ("bongos", "perc"), ("cowbell", "perc"),
    ("808", "kick"), ("dark 808", "kick"), ("808 kick", "kick"),
    ("808 bass", "bass"), ("sub", "bass"), ("sub bass", "bass"), ("bass", "bass"), ("synth bass", "bass"),
    ("sub kick", "kick"),
    ("drum loop", "loop"), ("beat", "loop"), ("groove", "loop"), ("loop", "loop"), ("kick drum loop", "loop"),
    ("lofi drum loop", "loop"), ("808 loop", "loop"), ("drums", "loop"), ("house", "loop"), ("trap", "loop"),
    ("four on the floor", "loop"), ("drum and bass", "loop"), ("boom bap", "loop"),
    ("sweep", "riser"), ("uplifter", "riser"), ("riser", "riser"),
    ("hit", "impact"), ("boom", "impact"), ("impact", "impact"), ("downlifter", "impact"), ("snare hit", "snare"),
    ("chord", "pad"), ("pad", "pad"), ("synth pad", "pad"),
    ("pluck", "pluck"), ("stab", "pluck"), ("lead", "pluck"), ("synth", "pluck"),
]


@pytest.mark.parametrize("prompt,kind", KIND_TABLE)
def test_kind_table(prompt: str, kind: str) -> None:
    parsed = parse(prompt)
    assert parsed.kind == kind
    assert parsed.matched is True


def test_every_kind_word_targets_a_real_kind() -> None:
    for phrase, entry in PHRASES.items():
        assert entry.kind is None or entry.kind in KINDS, phrase


@pytest.mark.parametrize("prompt,traits", [
    ("dark 808", {"dark", "boom"}),
    ("punchy kick", {"punchy"}),
    ("lofi drum loop", {"lofi"}),
    ("dusty vinyl snare", {"lofi"}),
    ("tight bright hat", {"short", "bright"}),
    ("kick with a long boom", {"boom"}),
    ("wide airy pad", {"wide", "airy"}),
    ("gritty metallic snare", {"distorted", "metallic"}),
    ("soft deep tom", {"soft", "deep"}),
    ("sad chords", {"minor"}),
    ("not distorted kick", set()),
    ("808 bass", {"boom"}),
])
def test_traits(prompt: str, traits: set[str]) -> None:
    assert set(parse(prompt).traits) == traits


def test_intensity_words() -> None:
    strength = [parse(p).traits["dark"] for p in ("very dark pad", "dark pad", "slightly dark pad")]
    assert strength[0] > strength[1] > strength[2]


@pytest.mark.parametrize("prompt,style", [
    ("lofi drum loop", "lofi"), ("lofi hip hop beat", "lofi"), ("house beat", "house"), ("four on the floor", "house"),
    ("trap beat", "trap"), ("breakbeat", "breakbeat"), ("drum and bass loop", "breakbeat"),
    ("hip hop beat", "basic"), ("drum loop", None),
])
def test_styles(prompt: str, style: str | None) -> None:
    parsed = parse(prompt)
    assert parsed.kind == "loop" and parsed.style == style


@pytest.mark.parametrize("prompt", ["", "   ", "xyzzy", "make it sound nice", "dark punchy"])
def test_unknown_prompts_default_to_an_unmatched_kick(prompt: str) -> None:
    parsed = parse(prompt)
    assert parsed.kind == "kick" and parsed.matched is False


def test_traits_survive_without_a_sound_word() -> None:
    assert set(parse("dark punchy").traits) == {"dark", "punchy"}


def test_note_names_in_the_prompt() -> None:
    assert parse("808 bass f#1").note == 30
    assert parse("pluck in Bb3").note == 58
    assert parse("bass").note is None


@pytest.mark.parametrize("text,note", [
    ("C2", 36), ("F#1", 30), ("Bb3", 58), ("bb3", 58), ("36", 36), ("C4", 60), ("A4", 69), ("c-1", 0),
    ("G9", 127), ("0", 0), ("127", 127), (" E2 ", 40), ("Cb4", 59), ("E#3", 53),
])
def test_parse_note(text: str, note: int) -> None:
    assert parse_note(text) == note


@pytest.mark.parametrize("text", ["", "H2", "128", "-1", "Ab9", "C-2", "1.5", "C#", "kick", "C 2"])
def test_parse_note_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="note"):
        parse_note(text)
