"""One-shot voices. `VOICES[kind](sr, rng, traits, opts)` returns mono (1-D) or stereo (n, 2) floats.

Each voice draws small random deviations (pitch, decay, noise colour) from `rng`, so seeds give
variations of one sound rather than different sounds. Traits are word -> strength (1.0 normal,
1.5 "very", 0.5 "slightly"); a voice reads the ones that mean something to it and ignores the rest.
Levels are not normalised here: render() sets the final peak.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import dsp

Traits = Mapping[str, float]


@dataclass(frozen=True)
class VoiceOpts:
    seconds: float | None = None  # exact length; None = the voice's natural length
    note: int | None = None       # MIDI note of pitched voices (render fills in a default)
    tone: float | None = None     # brightness 0..1; None = from traits
    decay: float = 1.0            # multiplies decay times (and the natural length with them)
    bpm: float = 120.0            # risers default to two bars at this tempo


def _t(traits: Traits, name: str) -> float:
    return float(traits.get(name, 0.0))


def _tone(traits: Traits, opts: VoiceOpts, base: float = 0.5) -> float:
    if opts.tone is not None:
        return float(opts.tone)
    shift = 0.25 * _t(traits, "bright") + 0.1 * _t(traits, "airy") - 0.25 * _t(traits, "dark")
    return float(np.clip(base + shift, 0.0, 1.0))


def _decay(traits: Traits, opts: VoiceOpts) -> float:
    return opts.decay * 0.6 ** _t(traits, "short") * 1.7 ** _t(traits, "long")


def _jit(rng: np.random.Generator, spread: float) -> float:
    """A random factor 1 +- spread: the seed-to-seed variation of a parameter."""
    return float(1.0 + rng.uniform(-spread, spread))


def _n(sr: int, opts: VoiceOpts, natural: float) -> int:
    return dsp.frames(opts.seconds if opts.seconds is not None else natural, sr)


def _finish(x: np.ndarray, sr: int, rng: np.random.Generator, traits: Traits, lofi_cutoff: float = 5000.0,
            wide: float = 0.0) -> np.ndarray:
    """Shared ending: drive for hard/distorted, lofi grit, optional width, and a click-free cut."""
    drive = 0.6 * _t(traits, "hard") + 2.5 * _t(traits, "distorted")
    if drive > 0:
        x = dsp.saturate(x / (np.max(np.abs(x)) or 1.0), 1.0 + drive)
    if _t(traits, "lofi") > 0:
        x = dsp.lofi(x, sr, rng, _t(traits, "lofi"), cutoff=lofi_cutoff)
    width = wide + 0.5 * _t(traits, "wide")
    if width > 0:
        x = dsp.widen(x, sr, width)
    return dsp.fade_out(x, sr, 3.0)


# -- drums ---------------------------------------------------------------------------------------
def kick(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    boom, punch, dec = _t(traits, "boom") > 0, _t(traits, "punchy"), _decay(traits, opts)
    tone = _tone(traits, opts, 0.45)
    f0 = dsp.midi_to_hz(opts.note if opts.note is not None else default_note("kick", traits))
    n = _n(sr, opts, (1.5 if boom else 0.5) * dec)
    # The pitch drop is what reads as "kick": ~4x the fundamental falling in a few tens of ms.
    ratio = (2.5 if boom else 4.0) * (1 + 0.25 * punch) * _jit(rng, 0.1)
    sweep_tau = (0.06 if boom else 0.028) / (1 + 0.5 * punch) * _jit(rng, 0.15)
    amp_tau = (0.4 if boom else 0.11) * dec * _jit(rng, 0.12)
    freq = dsp.sweep(n, sr, f0 * ratio, f0, sweep_tau)
    # cos starts at its peak: an instant step at the onset, like an analog kick (and exact timing).
    body = dsp.cosine(freq, sr, n) * dsp.exp_decay(n, sr, amp_tau, hold=0.01 * punch)
    click_amt = (0.12 + 0.2 * tone + 0.15 * punch + 0.1 * _t(traits, "hard")) * (0.3 if boom else 1.0)
    click_amt *= 0.4 ** _t(traits, "soft")
    click = dsp.highpass(dsp.noise(n, rng, tilt=rng.uniform(-0.5, 0.5)), sr, 1500 + 4000 * tone)
    x = body + click_amt * click * dsp.exp_decay(n, sr, 0.004 * _jit(rng, 0.3))
    if punch > 0 or boom:  # a little drive adds harmonics so the low end is heard on small speakers
        x = dsp.saturate(x, 1.0 + 0.8 * punch + (0.6 if boom else 0.0))
    if _t(traits, "soft") > 0:
        x = dsp.fade_in(x, sr, 1.5)
    return _finish(x, sr, rng, traits, lofi_cutoff=4000.0)


def snare(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.5)
    n = _n(sr, opts, 0.35 * dec)
    f0 = 200.0 * 2 ** (rng.uniform(-1.0, 1.0) / 12) * 0.85 ** _t(traits, "deep")
    body = (dsp.cosine(dsp.sweep(n, sr, f0 * 1.3, f0, 0.01), sr, n)
            + 0.5 * dsp.sine(f0 * 1.62, sr, n)) * dsp.exp_decay(n, sr, 0.045 * dec * _jit(rng, 0.15))
    wires = dsp.bandpass(dsp.noise(n, rng, tilt=rng.uniform(-0.3, 0.3)), sr, 1200 + 1500 * tone, 6000 + 8000 * tone)
    wires *= dsp.exp_decay(n, sr, 0.11 * dec * _jit(rng, 0.2))
    x = 0.55 * (1 + 0.3 * _t(traits, "deep")) * body + 0.6 * (1 + 0.3 * _t(traits, "bright")) * wires
    if _t(traits, "metallic") > 0:  # inharmonic ring, like a tight steel shell
        ring = sum(dsp.sine(f0 * r, sr, n) for r in (2.31, 3.47, 4.9)) * dsp.exp_decay(n, sr, 0.08 * dec)
        x += 0.12 * _t(traits, "metallic") * ring
    x = dsp.fade_in(x, sr, 0.5 + 2.0 * _t(traits, "soft"))
    return _finish(x, sr, rng, traits)


def clap(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.5)
    n = _n(sr, opts, 0.45 * dec)
    t = dsp.time_axis(n, sr)
    # Several hands a few ms apart, then the room: 3-4 short bursts ~10 ms apart and a tail.
    offsets = np.cumsum([0.0] + [0.010 * _jit(rng, 0.25) for _ in range(int(rng.integers(2, 4)))])

    def burst(at: float, tau: float) -> np.ndarray:  # silent before `at`, then an exponential decay
        return np.where(t >= at, np.exp(-np.maximum(t - at, 0.0) / tau), 0.0)

    env = np.zeros(n)
    for i, o in enumerate(offsets):
        env += (1.0 if i == len(offsets) - 1 else 0.8 * _jit(rng, 0.15)) * burst(o, 0.0035)
    env += 0.6 * burst(offsets[-1], 0.09 * dec * _jit(rng, 0.2))
    x = dsp.bandpass(dsp.noise(n, rng), sr, 800 + 600 * tone, 2500 + 4000 * tone) * env
    return _finish(x, sr, rng, traits)


# Square partials of the TR-808 cymbal circuit: the "metallic" part of a synthetic hat.
_HAT_PARTIALS = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def _hat(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts, natural: float, tau: float) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.6)
    n = _n(sr, opts, natural * dec)
    detune = _jit(rng, 0.04)
    metal = sum(dsp.square(f * detune * _jit(rng, 0.01), sr, n) for f in _HAT_PARTIALS) / len(_HAT_PARTIALS)
    metal_amt = 0.35 + 0.6 * _t(traits, "metallic")
    x = dsp.noise(n, rng, tilt=rng.uniform(0.0, 0.6)) + metal_amt * 2.0 * metal
    x = dsp.highpass(x, sr, 6500 + 3000 * tone, order=4)
    x = dsp.lowpass(x, sr, 15000 + 4000 * tone)  # the same hat at 44.1 and 96 kHz: nothing ultrasonic
    x *= dsp.exp_decay(n, sr, tau * dec * _jit(rng, 0.15))
    x = dsp.fade_in(x, sr, 0.3 + 2.0 * _t(traits, "soft"))
    return _finish(x, sr, rng, traits, lofi_cutoff=12000.0, wide=0.15 * _t(traits, "airy"))


def hat_closed(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    return _hat(sr, rng, traits, opts, natural=0.12, tau=0.022)


def hat_open(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    return _hat(sr, rng, traits, opts, natural=0.7, tau=0.2)


def tom(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.45)
    n = _n(sr, opts, 0.7 * dec)
    f0 = dsp.midi_to_hz(opts.note if opts.note is not None else default_note("tom", traits))
    body = dsp.sine(dsp.sweep(n, sr, f0 * 1.5 * _jit(rng, 0.08), f0, 0.04), sr, n)
    body *= dsp.exp_decay(n, sr, 0.2 * dec * _jit(rng, 0.15))
    skin = dsp.bandpass(dsp.noise(n, rng), sr, 600 + 800 * tone, 3000 + 4000 * tone) * dsp.exp_decay(n, sr, 0.015)
    x = dsp.fade_in(body + (0.15 + 0.2 * tone) * skin, sr, 0.5 + 2.0 * _t(traits, "soft"))
    return _finish(x, sr, rng, traits)


def rim(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.5)
    n = _n(sr, opts, 0.15 * dec)
    ping = dsp.sine(1700 * _jit(rng, 0.05), sr, n) * dsp.exp_decay(n, sr, 0.007 * dec)
    wood = dsp.sine(480 * _jit(rng, 0.05), sr, n) * dsp.exp_decay(n, sr, 0.02 * dec)
    tick = dsp.bandpass(dsp.noise(n, rng), sr, 2000 + 2000 * tone, 9000) * dsp.exp_decay(n, sr, 0.003)
    return _finish(ping + 0.6 * wood + 0.5 * tick, sr, rng, traits)


_PERC_FLAVOURS = ("conga", "bongo", "cowbell", "block", "shaker")


def perc(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    """Small hand percussion; the prompt may name the instrument, otherwise the seed picks one."""
    named = [f for f in _PERC_FLAVOURS if _t(traits, f) > 0]
    flavour = named[0] if named else str(rng.choice(_PERC_FLAVOURS))
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.5)
    pitch = _jit(rng, 0.06) * 1.25 ** (_t(traits, "high") - _t(traits, "low") - _t(traits, "deep"))
    if flavour == "shaker":
        n = _n(sr, opts, 0.2 * dec)
        x = dsp.bandpass(dsp.noise(n, rng), sr, 4000 + 2000 * tone, 12000)
        x *= dsp.adsr(n, sr, 0.012 * _jit(rng, 0.3), 0.04 * dec, 0.0, 0.0)
    elif flavour == "cowbell":
        n = _n(sr, opts, 0.4 * dec)
        x = dsp.square(540 * pitch, sr, n) + dsp.square(800 * pitch, sr, n)
        env = 0.6 * dsp.exp_decay(n, sr, 0.01) + 0.4 * dsp.exp_decay(n, sr, 0.12 * dec)
        x = dsp.bandpass(x, sr, 500, 2500 + 2000 * tone) * env
    elif flavour == "block":
        n = _n(sr, opts, 0.12 * dec)
        x = (dsp.sine(900 * pitch, sr, n) * dsp.exp_decay(n, sr, 0.025 * dec)
             + 0.3 * dsp.sine(2600 * pitch, sr, n) * dsp.exp_decay(n, sr, 0.006))
    else:  # conga / bongo: a tuned skin with a slight pitch bend
        f0 = (220.0 if flavour == "conga" else 400.0) * pitch
        n = _n(sr, opts, (0.45 if flavour == "conga" else 0.25) * dec)
        tau = (0.12 if flavour == "conga" else 0.07) * dec
        x = dsp.sine(dsp.sweep(n, sr, f0 * 1.15, f0, 0.02), sr, n) * dsp.exp_decay(n, sr, tau)
        x += 0.2 * dsp.bandpass(dsp.noise(n, rng), sr, 1500, 6000) * dsp.exp_decay(n, sr, 0.006)
    return _finish(dsp.fade_in(x, sr, 0.3), sr, rng, traits)


# -- tonal ---------------------------------------------------------------------------------------
def _chord(root: int, traits: Traits) -> list[int]:
    """Minor when the prompt is dark/minor/sad (and not 'major'), otherwise major; root, 3rd, 5th, octave."""
    minor = _t(traits, "minor") > 0 or (_t(traits, "dark") > 0 and _t(traits, "major") == 0)
    return [root, root + (3 if minor else 4), root + 7, root + 12]


def bass(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.35)
    f = dsp.midi_to_hz(opts.note if opts.note is not None else default_note("bass", traits))
    if _t(traits, "boom") > 0:  # 808 bass: a long sine with a small drop into the note, driven
        n = _n(sr, opts, 1.5 * dec)
        x = dsp.sine(dsp.sweep(n, sr, f * 1.5 * _jit(rng, 0.1), f, 0.03), sr, n)
        x = dsp.saturate(x * dsp.exp_decay(n, sr, 0.6 * dec * _jit(rng, 0.1), hold=0.05), 1.5 + 2 * tone)
        return _finish(dsp.fade_in(x, sr, 1.0), sr, rng, traits, lofi_cutoff=3000.0)
    n = _n(sr, opts, 1.0 * dec)
    t = dsp.time_axis(n, sr)
    cents = rng.uniform(4, 10) / 1200
    osc = dsp.saw(f * 2**cents, sr, n) + dsp.saw(f * 2**-cents, sr, n, phase0=rng.uniform())
    sub = dsp.sine(f, sr, n) * (1.0 + _t(traits, "deep"))
    # Filter envelope: opens on the attack and closes within ~100 ms, the classic synth-bass "pluck".
    cutoff = f * (1.5 + 3 * tone) + f * (3 + 14 * tone) * np.exp(-t / (0.12 * dec * _jit(rng, 0.2)))
    x = dsp.sweep_filter(0.5 * osc, sr, cutoff, "lowpass", q=0.9 + 0.5 * _t(traits, "punchy")) + 0.6 * sub
    x *= dsp.adsr(n, sr, 0.004, 0.25 * dec, 0.6, min(0.08, n / sr / 4))
    return _finish(x, sr, rng, traits, lofi_cutoff=3000.0)


def pluck(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.5)
    root = opts.note if opts.note is not None else default_note("pluck", traits)
    notes = _chord(root, traits)[:3] if _t(traits, "stab") > 0 else [root]
    n = _n(sr, opts, 0.9 * dec)
    t = dsp.time_axis(n, sr)
    x = np.zeros(n)
    for note in notes:
        f = dsp.midi_to_hz(note)
        cents = rng.uniform(3, 9) / 1200
        osc = dsp.saw(f * 2**cents, sr, n, rng.uniform()) + dsp.saw(f * 2**-cents, sr, n, rng.uniform())
        osc += 0.3 * dsp.square(f, sr, n, rng.uniform())
        cutoff = f * 1.2 + (f * 6 + 6000 * tone) * np.exp(-t / (0.07 * dec * _jit(rng, 0.2)))
        x += dsp.sweep_filter(osc, sr, cutoff, "lowpass", q=1.0)
    x *= dsp.exp_decay(n, sr, 0.3 * dec * _jit(rng, 0.1))
    return _finish(dsp.fade_in(x, sr, 2.0), sr, rng, traits, lofi_cutoff=4000.0)


def pad(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.4)
    root = opts.note if opts.note is not None else default_note("pad", traits)
    n = _n(sr, opts, 4.0 * dec)
    length = n / sr
    width = 0.6 + 0.3 * _t(traits, "wide")
    sides = np.zeros((3, n))  # left, centre, right
    for note in _chord(root, traits):
        f = dsp.midi_to_hz(note)
        # Three detuned saws per note spread left/centre/right: the slow beating is the "pad".
        for k in range(3):
            cents = (k - 1) * rng.uniform(6, 14) / 1200
            sides[k] += dsp.saw(f * 2**cents, sr, n, rng.uniform()) / 3
    out = sum(dsp.pan(side, position) for side, position in zip(sides, (-width, 0.0, width)))
    out = dsp.lowpass(out, sr, 500 + 4500 * tone, order=2)
    if _t(traits, "airy") > 0:  # breath: band-passed noise, decorrelated per side
        breath = dsp.bandpass(np.column_stack([dsp.noise(n, rng), dsp.noise(n, rng)]), sr, 3000, 10000)
        out += 0.15 * _t(traits, "airy") * breath
    out *= dsp.adsr(n, sr, min(0.8, 0.3 * length), 1.0, 0.85, min(1.2, 0.3 * length))[:, None]
    return _finish(out, sr, rng, traits, lofi_cutoff=4000.0)


# -- fx ------------------------------------------------------------------------------------------
def riser(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    tone = _tone(traits, opts, 0.6)
    n = _n(sr, opts, 8 * 60.0 / opts.bpm * 0.6 ** _t(traits, "short") * 1.5 ** _t(traits, "long"))
    u = np.linspace(0.0, 1.0, n)
    centre = dsp.exp_glide(n, 250 * _jit(rng, 0.2), 5000 + 7000 * tone, curve=1.3)
    hiss = dsp.sweep_filter(dsp.noise(n, rng, tilt=rng.uniform(-0.5, 0.0)), sr, centre, "bandpass", q=1.2)
    pitch = dsp.exp_glide(n, 80 * _jit(rng, 0.1), 1200 * _jit(rng, 0.1), curve=1.5)
    synth = dsp.sweep_filter(dsp.saw(pitch, sr, n) + dsp.saw(pitch * 1.005, sr, n), sr, centre, "lowpass", q=2.0)
    x = (1.0 + 0.5 * _t(traits, "airy")) * hiss + 0.3 * synth
    x *= u ** 2  # tension: loudness keeps growing until the drop
    return _finish(x, sr, rng, traits, wide=0.3)


def impact(sr: int, rng: np.random.Generator, traits: Traits, opts: VoiceOpts) -> np.ndarray:
    dec, tone = _decay(traits, opts), _tone(traits, opts, 0.45)
    n = _n(sr, opts, 3.0 * dec)
    boom = dsp.sine(dsp.sweep(n, sr, 140 * _jit(rng, 0.1), 38 * _jit(rng, 0.08), 0.12), sr, n)
    boom *= dsp.exp_decay(n, sr, 0.6 * dec * _jit(rng, 0.15) * 1.5 ** _t(traits, "boom"))
    burst = dsp.lowpass(dsp.noise(n, rng), sr, 3000 + 7000 * tone) * dsp.exp_decay(n, sr, 0.04)
    # The long tail is independent noise per side: a cheap stand-in for a big room.
    tail = dsp.lowpass(np.column_stack([dsp.noise(n, rng), dsp.noise(n, rng)]), sr, 800 + 2500 * tone)
    tail *= dsp.exp_decay(n, sr, 0.8 * dec * _jit(rng, 0.2))[:, None]
    x = dsp.to_stereo(boom + 0.5 * burst) + 0.25 * tail
    if _t(traits, "down") > 0:  # downlifter: falling filtered noise on top
        fall = dsp.exp_glide(n, 8000 * _jit(rng, 0.2), 200)
        x += 0.4 * dsp.to_stereo(dsp.sweep_filter(dsp.noise(n, rng), sr, fall, "bandpass", q=1.0)
                                 * np.linspace(1.0, 0.0, n) ** 2)
    return _finish(x, sr, rng, traits, lofi_cutoff=4000.0)


VoiceFn = Callable[[int, np.random.Generator, Traits, VoiceOpts], np.ndarray]

VOICES: dict[str, VoiceFn] = {
    "kick": kick, "snare": snare, "clap": clap, "hat_closed": hat_closed, "hat_open": hat_open,
    "tom": tom, "rim": rim, "perc": perc, "bass": bass, "pluck": pluck, "pad": pad,
    "riser": riser, "impact": impact,
}


def default_note(kind: str, traits: Traits) -> int:
    """Nominal MIDI note of a pitched kind: kick G1 (49 Hz), 808 F1 (44 Hz); tom A2; bass C2; pluck C4; pad C3."""
    if kind == "kick":
        return 29 if _t(traits, "boom") > 0 or _t(traits, "deep") > 0 else 31
    if kind == "tom":
        return 45 + 5 * (_t(traits, "high") > 0) - 4 * (_t(traits, "low") > 0 or _t(traits, "deep") > 0)
    if kind == "bass":
        return 33 if _t(traits, "deep") > 0 else 36
    if kind == "pluck":
        return 60
    if kind == "pad":
        return 48
    raise ValueError(f"{kind} is not a pitched kind")


def pick_note(kind: str, traits: Traits, rng: np.random.Generator) -> int:
    """Default note when none is asked for. Drums vary a little with the seed; musical kinds stay in key."""
    note = default_note(kind, traits)
    if kind == "kick":
        return note + int(rng.integers(-2, 3))
    if kind == "tom":
        return note + int(rng.integers(-1, 2))
    return note


PITCHED: tuple[str, ...] = ("kick", "tom", "bass", "pluck", "pad")
