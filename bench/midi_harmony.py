"""Musicality of the harmony models (issue #26) on held-out Bach chorales, beside the data's own
figures and a random baseline (the same rhythm, pitches drawn from the key's scale), all measured in
this run on the same held-out chorales (server/backends/midi/harmony/metrics.py):

    improv    notes in key; chord tones on strong beats            (the melody over Bach's chords)
    bass      notes in key; bass on the chord's root/fifth at each chord change
    piano     voices in their SATB ranges; voice crossings; parallel fifths/octaves per transition
              (alto/tenor/bass from the voicing model under Bach's soprano and chords; the random
              alto/tenor/bass drawn from the scale across the four voices' span)
    chords    free progressions: chord tones in key; root motion by a fourth or fifth
    harmonize harmonisation agreement with Bach's chord per beat (root; root + triad quality), the
              chord model reading the soprano, most likely chord each beat (target: root >= 60 %)

Target: each generated figure closer to the data's than the random baseline's is. The random
chords (kind=chords, harmonize) are the key's diatonic triads drawn uniformly.

    .venv/bin/python bench/midi_harmony.py
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch

from server.backends.midi import MidiBackend
from server.backends.midi.harmony import chords as C
from server.backends.midi.harmony import data as HD
from server.backends.midi.harmony import metrics as M
from server.backends.midi.harmony import sample as HS
from server.backends.midi.harmony import vocab as HV

Fig = dict[str, float]


def _line(piece: HD.Piece, voice: int) -> list[tuple[int, int, int]]:
    out = []
    pitches, onsets = piece.voices[voice], piece.onsets[voice]
    for t in range(piece.steps):
        if pitches[t] >= 0 and (onsets[t] or t == 0 or pitches[t - 1] != pitches[t]):
            out.append((t, 1, int(pitches[t])))
        elif pitches[t] >= 0 and out and out[-1][0] + out[-1][1] == t:
            s, d, p = out[-1]
            out[-1] = (s, d + 1, p)
    return out


def _mean(values: list[float]) -> float:
    ok = [v for v in values if not math.isnan(v)]
    return float(np.mean(ok)) if ok else float("nan")


def _per_step(piece: HD.Piece) -> np.ndarray:
    return np.repeat(piece.chords, HD.BEAT)[: piece.steps]


def line_figures(models: dict, held: list[HD.Piece], part: str, seed: int) -> dict[str, Fig]:
    voice = 3 if part == "bass" else 0
    low, high = HV.VOICE_RANGES["bass" if part == "bass" else "soprano"]
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    figs: dict[str, dict[str, list[float]]] = {w: {} for w in ("data", "model", "random")}
    for piece in held:
        chords = _per_step(piece)
        data = _line(piece, voice)
        made = HS.sample_line(models[part], [int(c) for c in chords], piece.bar, piece.minor, 1.0, gen,
                              0.5, sorted(M.MINOR if piece.minor else M.MAJOR))
        rand = M.random_line(data, piece.minor, low, high, rng)
        for who, line in (("data", data), ("model", made), ("random", rand)):
            f = figs[who]
            f.setdefault("notes in key", []).append(M.notes_in_key(line, piece.minor))
            if part == "bass":
                f.setdefault("bass on root/fifth at chord changes", []).append(M.bass_on_root_or_fifth(line, chords))
            else:
                f.setdefault("chord tones on strong beats", []).append(M.chord_tones_on_strong_beats(line, chords, piece.bar))
    return {who: {k: _mean(v) for k, v in f.items()} for who, f in figs.items()}


def _beats(piece: HD.Piece) -> np.ndarray:
    return piece.voices[:, ::HD.BEAT][:, : piece.steps // HD.BEAT].astype(int)


def voicing_figures(models: dict, held: list[HD.Piece], seed: int) -> dict[str, Fig]:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    figs: dict[str, dict[str, list[float]]] = {w: {} for w in ("data", "model", "random")}
    for piece in held:
        data = _beats(piece)
        atb = HS.sample_voices(models["voicing"], list(data[0]), [int(c) for c in piece.chords[: data.shape[1]]],
                               max(1, piece.bar // HD.BEAT), 1.0, gen)
        made = np.vstack([data[:1], np.array(atb).T]) if atb else data
        rand = data.copy()
        lo, hi = HV.VOICE_RANGES["bass"][0], HV.VOICE_RANGES["soprano"][1]  # the four voices' span
        pool = [p for p in range(lo, hi + 1) if p % 12 in (M.MINOR - {11} if piece.minor else M.MAJOR)]
        for v in (1, 2, 3):
            rand[v] = np.where(data[v] >= 0, rng.choice(pool, data.shape[1]), -1)
        for who, v in (("data", data), ("model", made), ("random", rand)):
            f = figs[who]
            f.setdefault("voices in SATB ranges", []).append(M.in_ranges(v))
            f.setdefault("voice crossings per beat", []).append(M.crossings(v))
            f.setdefault("parallel 5ths/8ves per transition", []).append(M.parallels(v))
    return {who: {k: _mean(v) for k, v in f.items()} for who, f in figs.items()}


def harmonisation(models: dict, held: list[HD.Piece], seed: int) -> dict[str, Fig]:
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    got: dict[str, list[tuple[float, float]]] = {"model": [], "random": []}
    for piece in held:
        beats = piece.steps // HD.BEAT
        feats = HV.melody_features(piece.voices[0], beats, HD.BEAT)
        mask = HS.chord_mask(range(12), piece.minor, 1.0)
        pred = HS.sample_chords(models["chords"], beats, max(1, piece.bar // HD.BEAT), [True] * beats, piece.minor,
                                0.0, gen, mask, feats)
        rand = [int(rng.choice(_diatonic(piece.minor))) for _ in range(beats)]
        got["model"].append(M.agreement(pred, piece.chords))
        got["random"].append(M.agreement(rand, piece.chords))
    return {who: {"root agreement with Bach": _mean([a for a, _ in v]), "root+quality agreement": _mean([b for _, b in v])}
            for who, v in got.items()}


def progression_figures(models: dict, held: list[HD.Piece], seed: int) -> dict[str, Fig]:
    """kind=chords: free progressions (no melody; every chord allowed, complexity 1) as long as each
    held-out chorale, a chord a beat; the share of their chord tones in the key, and of chord
    changes that move by a fourth or fifth (the chorales' commonest root motion). Random: the key's
    diatonic triads drawn uniformly."""
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    figs: dict[str, dict[str, list[float]]] = {w: {} for w in ("data", "model", "random")}
    for piece in held:
        beats = piece.steps // HD.BEAT
        mask = HS.chord_mask(range(12), piece.minor, 1.0)
        made = HS.sample_chords(models["chords"], beats, max(1, piece.bar // HD.BEAT), [True] * beats, piece.minor,
                                1.0, gen, mask)
        rand = [int(rng.choice(_diatonic(piece.minor))) for _ in range(beats)]
        for who, toks in (("data", [int(t) for t in piece.chords]), ("model", made), ("random", rand)):
            f = figs[who]
            f.setdefault("chord tones in key", []).append(_tones_in_key(toks, piece.minor))
            f.setdefault("root moves by 4th/5th", []).append(_fourths(toks))
    return {who: {k: _mean(v) for k, v in f.items()} for who, f in figs.items()}


def _diatonic(minor: bool) -> list[int]:
    """The random baseline's chords: the key's diatonic triads (what a scale-note baseline is for lines)."""
    mask = HS.chord_mask(sorted(M.MINOR if minor else M.MAJOR), minor, 0.0)
    return [t for t in range(1, C.N_CHORDS) if torch.isfinite(mask[t])]


def _tones_in_key(tokens: list[int], minor: bool) -> float:
    scale = M.MINOR if minor else M.MAJOR
    tones = [pc for t in tokens if t for pc in C.from_token(t).pcs]
    return sum(pc in scale for pc in tones) / len(tones) if tones else float("nan")


def _fourths(tokens: list[int]) -> float:
    roots = [C.from_token(t).root for t in tokens if t]
    moves = [(b - a) % 12 for a, b in zip(roots, roots[1:]) if a != b]
    return sum(m in (5, 7) for m in moves) / len(moves) if moves else float("nan")


def closer(figs: dict[str, Fig], name: str) -> bool:
    return abs(figs["model"][name] - figs["data"][name]) < abs(figs["random"][name] - figs["data"][name])


def main(log: Callable[[str], None] = print) -> dict[str, dict[str, Fig]]:
    torch.set_num_threads(1)
    started = time.perf_counter()
    backend = MidiBackend("midi", {})
    backend.load()
    models = backend._models
    _, held = HD.split(HD.load_chorales(2, log))
    results = {"improv": line_figures(models, held, "improv", 0), "bass": line_figures(models, held, "bass", 1),
               "piano": voicing_figures(models, held, 2), "chords": progression_figures(models, held, 4),
               "harmonize": harmonisation(models, held, 3)}
    log(f"== harmony on {len(held)} held-out Bach chorales ({time.perf_counter() - started:.0f} s) ==")
    for kind, figs in results.items():
        for name in figs["model"]:
            data = figs.get("data", {}).get(name, float("nan"))
            verdict = ("closer to data" if closer(figs, name) else "NOT closer to data") if "data" in figs else ""
            log(f"  {kind:7s} {name:38s} model {figs['model'][name]:6.3f}  data {data:6.3f}  "
                f"random {figs['random'][name]:6.3f}  {verdict}")
    return results


if __name__ == "__main__":
    main()


def rows(results: dict[str, dict[str, Fig]]) -> list:
    """bench/run_all.py's rows: each figure against the data's and the random baseline's."""
    from table import Row

    out = []
    for kind, figs in results.items():
        for name, value in figs["model"].items():
            rand = figs["random"][name]
            if "data" in figs:
                data = figs["data"][name]
                ok = closer(figs, name)
                out.append(Row("midi harmony", f"{kind}: {name}", value, "", "closer to data than random", ok,
                               f"data {data:.3f}, random {rand:.3f}"))
            elif name.startswith("root agreement"):
                out.append(Row("midi harmony", f"{kind}: harmonisation {name}", 100 * value, "%", ">= 60 %",
                               value >= 0.6, f"random {100 * rand:.1f} %"))
            else:
                out.append(Row("midi harmony", f"{kind}: harmonisation {name}", 100 * value, "%", "", None,
                               f"random {100 * rand:.1f} %"))
    return out
