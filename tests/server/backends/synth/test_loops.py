"""Drum loops: exact length, kicks on the exact grid frames (measured on audio), swing, variation, wrap."""
from __future__ import annotations

import numpy as np
import pytest

from server.backends.synth import loops
from server.backends.synth.render import render
from server.backends.synth.words import parse


def grid_frame(step: float, bpm: float, sr: int, swing: float = 0.0) -> int:
    """Written out independently of loops.step_frame: off-beat 16ths move by swing/1.5 of a 16th."""
    delay = swing / 1.5 if float(step).is_integer() and int(step) % 2 == 1 else 0.0
    return round((step + delay) * 60 / bpm / 4 * sr)


def onsets(x: np.ndarray, sr: int) -> list[int]:
    """Frames where the waveform jumps: a kick starts with a step (cosine at its peak), nothing else
    in a kick-only render moves that fast. 30 ms refractory so the click's own wiggles don't count."""
    d = np.abs(np.diff(x, prepend=0.0))
    found, last = [], -(10**9)
    for i in np.flatnonzero(d > 0.25 * d.max()):
        if i - last > 0.03 * sr:
            found.append(int(i))
            last = i
    return found


def kick_only(prompt: str, seed: int, sr: int, bpm: float, bars: float, swing: float = 0.0) -> loops.LoopResult:
    parsed = parse(prompt)
    return loops.render_loop(sr, np.random.default_rng(seed), parsed.traits, parsed.style, bpm=bpm, bars=bars,
                             swing=swing, only=("kick",))


@pytest.mark.parametrize("bpm,bars,sr", [
    (120, 2, 48000), (97.3, 2, 48000), (97.3, 3, 44100), (174, 4, 96000), (89.9, 1, 44100), (60, 0.5, 48000),
    (140, 1.5, 48000), (123.45, 8, 44100),
])
def test_loop_length_is_exact(bpm: float, bars: float, sr: int) -> None:
    r = render("drum loop", seed=1, bpm=bpm, bars=bars, sample_rate=sr)
    assert r.samples.shape == (round(bars * 4 * 60 / bpm * sr), 2)
    assert r.meta["bpm"] == bpm and r.meta["bars"] == bars


def test_default_is_two_bars_and_seconds_round_to_whole_beats() -> None:
    sr = 48000
    assert len(render("beat", seed=1, bpm=120).samples) == 4 * sr
    r = render("beat", seed=1, bpm=120, seconds=3.1)  # 6.2 beats -> 6 beats = 1.5 bars
    assert r.meta["bars"] == 1.5 and len(r.samples) == 3 * sr
    assert len(render("beat", seed=1, bpm=120, seconds=3.1, bars=1).samples) == 2 * sr  # bars wins


@pytest.mark.parametrize("prompt", ["drum loop", "house beat", "breakbeat", "trap beat", "hip hop beat"])
@pytest.mark.parametrize("bpm,sr", [(120, 48000), (97.3, 44100), (174, 96000)])
def test_kicks_land_on_the_grid(prompt: str, bpm: float, sr: int) -> None:
    for seed in range(3):
        r = kick_only(prompt, seed, sr, bpm, 2)
        expected = sorted({grid_frame(h.step, bpm, sr) for h in r.hits if h.voice == "kick"})
        found = onsets(r.samples[:, 0], sr)
        assert len(found) == len(expected) >= 2
        assert np.max(np.abs(np.array(found) - np.array(expected))) <= 2


def test_the_measured_kicks_are_those_of_the_full_loop() -> None:
    """kick-only renders draw the same pattern as the real loop, so the grid test covers real output."""
    for prompt in ("drum loop", "trap beat"):
        full = render(prompt, seed=9, bpm=97.3)
        ko = kick_only(prompt, 9, 48000, 97.3, 2)
        full_kicks = [h[0] for h in full.meta["hits"] if h[1] == "kick"]
        assert full_kicks == [h.step for h in ko.hits if h.voice == "kick"]


def test_full_loop_has_a_kick_at_every_kick_step() -> None:
    """In the full mix, the low band jumps up right at each kick step."""
    from scipy.signal import butter, sosfilt

    sr, bpm = 48000, 120
    r = render("house beat", seed=2, bpm=bpm, bars=2)
    low = sosfilt(butter(4, 150, fs=sr, output="sos"), r.samples[:, 0].astype(np.float64))
    w = int(0.02 * sr)
    kicks = [h[0] for h in r.meta["hits"] if h[1] == "kick"]
    assert len(kicks) >= 2 * 4  # a house beat: four to the floor, two bars
    for step in kicks:
        p = grid_frame(step, bpm, sr)
        before = np.sqrt(np.mean(low[max(0, p - w):p] ** 2)) if p > 0 else 0.0
        after = np.sqrt(np.mean(low[p:p + w] ** 2))
        assert after > 2 * before


def test_swing_delays_only_off_beat_sixteenths() -> None:
    sr, bpm, swing = 48000, 100, 0.5
    odd_kicks = 0
    for prompt in ("trap beat", "drum loop"):
        for seed in range(4):
            r = kick_only(prompt, seed, sr, bpm, 2, swing=swing)
            steps = sorted({h.step for h in r.hits if h.voice == "kick"})
            odd_kicks += sum(int(s) % 2 == 1 for s in steps)
            expected = [grid_frame(s, bpm, sr, swing) for s in steps]
            found = onsets(r.samples[:, 0], sr)
            assert len(found) == len(expected)
            assert np.max(np.abs(np.array(found) - np.array(expected))) <= 2
    assert odd_kicks > 0  # the test did see swung kicks


def test_swing_is_reported_and_lofi_swings_by_default() -> None:
    assert render("drum loop", seed=1, swing=0.4).meta["swing"] == 0.4
    assert render("lofi drum loop", seed=1).meta["swing"] > 0
    assert render("house beat", seed=1).meta["swing"] == 0


def test_styles_have_their_patterns() -> None:
    house = render("house beat", seed=3, bars=2).meta["hits"]
    assert sorted(s for s, v in house if v == "kick") == list(range(0, 32, 4))  # four on the floor
    assert {s % 16 for s, v in house if v == "clap"} == {4, 12}
    assert {s % 16 for s, v in house if v == "hat_open"} == {2, 6, 10, 14}
    trap = render("trap beat", seed=3, bars=2).meta["hits"]
    assert {s % 16 for s, v in trap if v == "clap"} == {8}  # half-time backbeat
    rock = render("drum loop", seed=3, bars=2).meta["hits"]
    assert {4, 12} <= {s % 16 for s, v in rock if v == "snare"}


def test_seeds_vary_the_pattern() -> None:
    patterns = {tuple(map(tuple, render("drum loop", seed=s).meta["hits"])) for s in range(8)}
    assert len(patterns) >= 3


def test_ghost_notes_and_velocity_variation() -> None:
    ghosts = 0
    for seed in range(6):
        r = loops.render_loop(48000, np.random.default_rng(seed), {}, "breakbeat", bpm=120, bars=2)
        hat_vels = [h.vel for h in r.hits if h.voice == "hat_closed"]
        assert np.std(hat_vels) > 0.02
        ghosts += sum(1 for h in r.hits if h.voice == "snare" and h.vel < 0.35)
    assert ghosts > 0


def test_tails_wrap_to_the_start() -> None:
    """The last snare's long tail continues at the top of the loop (seamless), instead of being cut."""
    sr, bpm = 48000, 120
    r = loops.render_loop(sr, np.random.default_rng(1), {}, "basic", bpm=bpm, bars=1, decay=4.0, only=("snare",))
    first = min(grid_frame(h.step, bpm, sr) for h in r.hits if h.voice == "snare")
    head = r.samples[: first - 10, 0]
    assert first > 0.1 * sr
    assert np.sqrt(np.mean(head**2)) > 0.01 * np.max(np.abs(r.samples))


def test_fractional_bars_drop_hits_past_the_end() -> None:
    r = render("drum loop", seed=1, bars=1.5, bpm=120)
    assert max(s for s, _ in r.meta["hits"]) < 24
    assert len(r.samples) == round(1.5 * 4 * 60 / 120 * 48000)


def test_progress_is_reported_per_bar() -> None:
    seen: list[float] = []
    render("drum loop", seed=1, bars=4, progress=seen.append)
    assert len(seen) >= 4 + 2 and seen == sorted(seen) and seen[-1] == 1.0


def test_note_tunes_the_loop_kick_without_changing_the_pattern() -> None:
    sr = 48000
    plain, tuned = render("drum loop", seed=4), render("drum loop", seed=4, note=28)
    assert tuned.meta["note"] == 28 and plain.meta["note"] is None
    assert tuned.meta["hits"] == plain.meta["hits"]
    ko = loops.render_loop(sr, np.random.default_rng(4), {}, None, bpm=120, bars=2, kick_note=28, only=("kick",))
    first = grid_frame(min(h.step for h in ko.hits if h.voice == "kick"), 120, sr)
    seg = ko.samples[first + int(0.15 * sr): first + int(0.35 * sr), 0]
    spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n=sr))
    assert np.argmax(spec[20:200]) + 20 == pytest.approx(41.2, abs=2.5)  # E1
