"""Chord symbols and chord inference (server/backends/midi/harmony/chords.py, plan.py): no torch."""
from __future__ import annotations

import pytest

from server.backends.midi.harmony import chords as C
from server.backends.midi.harmony import plan as P
from server.backends.midi.smf import Clip, Note


@pytest.mark.parametrize("text,root,pcs", [("Dm7", 2, {2, 5, 9, 0}), ("G7", 7, {7, 11, 2, 5}), ("Cmaj7", 0, {0, 4, 7, 11}),
                                           ("F#m7b5", 6, {6, 9, 0, 4}), ("Bb", 10, {10, 2, 5}), ("Ebdim7", 3, {3, 6, 9, 0}),
                                           ("C/E", 0, {0, 4, 7}), ("Asus4", 9, {9, 2, 4}), ("Caug", 0, {0, 4, 8})])
def test_symbols_parse_to_their_notes(text, root, pcs):
    chord = C.parse_symbol(text)
    assert chord.root == root and set(chord.pcs) == pcs


def test_symbols_round_trip_and_tokens_are_unique():
    seen = set()
    for tok in range(1, C.N_CHORDS):
        chord = C.from_token(tok)
        assert chord is not None and chord.token == tok
        assert C.parse_symbol(chord.symbol) == chord
        seen.add(chord.symbol)
    assert len(seen) == C.N_CHORDS - 1 and C.from_token(0) is None


@pytest.mark.parametrize("bad", ["H7", "Cxyz", "", "7"])
def test_bad_symbols_are_named(bad):
    with pytest.raises(ValueError) as exc:
        C.parse_progression(bad)
    assert (repr(bad) in str(exc.value)) or "no chord symbols" in str(exc.value)


@pytest.mark.parametrize("pitches,bass,symbol", [([48, 52, 55], None, "C"), ([50, 53, 57, 60], None, "Dm7"),
                                                ([43, 59, 62, 65], None, "G7"), ([52, 55, 60], None, "C"),
                                                ([45, 60, 64, 69], None, "Am"), ([47, 50, 53, 56], None, "Bdim7")])
def test_inference_reads_voiced_chords_and_inversions(pitches, bass, symbol):
    notes = [(0, 4, p) for p in pitches]
    assert C.infer(*C.slice_weights(notes, 0, 4)).symbol == symbol


def test_every_voicing_reads_back_as_its_symbol():
    for tok in range(1, C.N_CHORDS):
        chord = C.from_token(tok)
        if chord.quality in (3, 9):  # symmetric chords: aug and dim7 have several equal roots
            continue
        for voicing in ("triad", "seventh", "open"):
            pitches = C.voice(chord, voicing)
            got = C.infer(*C.slice_weights([(0, 4, p) for p in pitches], 0, 4))
            assert got == chord, (chord.symbol, voicing, pitches, got.symbol)


def test_clip_chords_per_slot_fill_gaps_and_refuse_drums():
    notes = [Note(0, 1920, p, 80) for p in (50, 53, 57, 60)] + [Note(3840, 1920, p, 80) for p in (43, 47, 50, 53)]
    clip = Clip(notes, 480, 120.0, 4, 4, 4 * 1920)
    got = P.clip_chords(clip, P.grid(4, 16, "bar"), "input")
    assert [c.symbol for c in got] == ["Dm7", "Dm7", "G7", "G7"]  # bar 2 is silent: Dm7 rings on
    drums = Clip([Note(0, 120, 36, 100, 9)], 480, 120.0, 4, 4, 1920)
    with pytest.raises(ValueError, match="drums on channel 10"):
        P.clip_chords(drums, P.grid(1, 16, "bar"), "input")


def test_grid_slots_and_symbol_events():
    g = P.grid(2, 12, "half")  # 3/4: half bars of 6 16ths
    assert g.starts() == [0, 6, 12, 18] and g.beats_per_bar == 3
    chords = [C.parse_symbol(s) for s in ("C", "C", "F", "G")]
    events, listed = P.symbol_events(chords, g, tonic=2, step_ticks=120, bar_ticks=1440)
    assert [t for t, _ in events] == [0, 1440, 2160] and [s for _, s in events] == ["D", "G", "A"]
    assert listed[2] == {"bar": 2, "beat": 2.5, "symbol": "A"}
