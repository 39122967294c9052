"""Prompt words -> what to synthesise: a kind, descriptive traits, a loop style and maybe a note.

Matching is on lower-cased word tokens, longest phrase first, so "open hat" is never read as
"hat", "808 bass" is a bass and "boom bap" is a style rather than an impact. Which kind wins:
any loop word ("drum loop", "beat") > the first strong kind word > the first weak one ("808",
"sub", "boom", "drum" only say something when nothing better is named) > a style word alone
(-> loop) > the default, a kick, reported with matched=False.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

DEFAULT_KIND = "kick"


class _Entry(NamedTuple):
    kind: str | None = None
    traits: tuple[str, ...] = ()
    style: str | None = None
    weak: bool = False  # a kind that only applies when no other kind word is present


def _table() -> dict[tuple[str, ...], _Entry]:
    t: dict[tuple[str, ...], _Entry] = {}

    def add(phrases: str, kind: str | None = None, traits: tuple[str, ...] = (), style: str | None = None,
            weak: bool = False) -> None:
        for phrase in phrases.split(","):
            t[tuple(phrase.split())] = _Entry(kind, traits, style, weak)

    add("kick,kick drum,bd,bass drum,kickdrum", "kick")
    add("snare,sd,snare drum,snaredrum", "snare")
    add("clap,handclap,hand clap,snap,finger snap,fingersnap", "clap")
    add("hh,hat,hihat,hi hat,closed hat,closed hihat,closed hi hat,chh,hi hat closed", "hat_closed")
    add("oh,ohh,open hat,open hihat,open hi hat,hi hat open,hihat open,hat open,ride", "hat_open")
    add("crash,cymbal,crash cymbal", "hat_open", ("long",))
    add("tom,toms,tom tom", "tom")
    add("floor tom", "tom", ("low",))
    add("rim,rimshot,rim shot,sidestick,side stick", "rim")
    add("perc,percussion", "perc")
    for flavour in ("shaker", "conga", "bongo", "cowbell", "block"):
        add(flavour, "perc", (flavour,))
    add("woodblock,wood block", "perc", ("block",))
    add("tambourine,tamb", "perc", ("shaker", "metallic"))
    add("bass,bassline,bass line,reese", "bass")
    add("808 bass,808 sub", "bass", ("boom",))
    add("sub bass", "bass", ("deep",))
    add("pluck,lead", "pluck")
    add("synth,arp,keys", "pluck", weak=True)
    add("synth bass", "bass")
    add("stab,chord stab", "pluck", ("stab",))
    add("pad,chord,chords,strings,drone", "pad")
    add("riser,uplifter,sweep,build,buildup,build up,whoosh,rise", "riser")
    add("impact,hit,thud", "impact")
    add("downlifter,down sweep,downsweep", "impact", ("down",))
    add("loop,drum loop,beat,groove,drums,drum beat,pattern,rhythm,break loop", "loop")
    # weak kinds: words that describe as much as they name
    add("808", "kick", ("boom",), weak=True)
    add("sub", "bass", ("deep",), weak=True)
    add("boom", "impact", ("boom",), weak=True)
    add("drum", "kick", weak=True)
    # styles (only used by loops; alone they ask for a loop)
    add("house,techno,disco,edm,dance,four on the floor,4 on the floor,4x4", style="house")
    add("trap,drill", style="trap")
    add("breakbeat,breaks,break,jungle,dnb,drum and bass,drum n bass,d n b,amen,funk,funky", style="breakbeat")
    add("rock,hip hop,hiphop,boom bap,boombap,rap,pop", style="basic")
    add("chillhop,lofi hip hop,lo fi hip hop,jazzy", traits=("lofi",), style="lofi")
    # traits
    add("punchy,punch,snappy", traits=("punchy",))
    add("dark,warm,muffled,mellow,dull", traits=("dark",))
    add("bright,crisp,sharp,shiny,brilliant", traits=("bright",))
    add("boomy,booming,long boom,big boom", traits=("boom",))
    add("short,tight,staccato,quick,brief", traits=("short",))
    add("long,sustained,ringing,lingering,extended", traits=("long",))
    add("soft,gentle,quiet,light,subtle", traits=("soft",))
    add("hard,heavy,aggressive,loud,fat", traits=("hard",))
    add("lofi,lo fi,dusty,vinyl,tape,retro,old school,bitcrushed,crushed,8 bit,8bit", traits=("lofi",))
    add("distorted,distortion,dirty,gritty,saturated,overdriven,crunchy,fuzzy,clipped", traits=("distorted",))
    add("wide,stereo,spacious,spread", traits=("wide",))
    add("deep,subby,huge,big", traits=("deep",))
    add("airy,breathy,ethereal,air", traits=("airy",))
    add("metallic,metal,tinny,clangy,industrial", traits=("metallic",))
    add("minor,sad,melancholic,moody,emotional", traits=("minor",))
    add("major,happy,uplifting,cheerful", traits=("major",))
    add("low,low pitched", traits=("low",))
    add("high,high pitched", traits=("high",))
    return t


PHRASES = _table()
_LONGEST = max(len(p) for p in PHRASES)
_VOCAB = {w for p in PHRASES for w in p}
_INTENSIFIERS = {"very": 1.5, "super": 1.5, "extra": 1.5, "really": 1.5, "ultra": 1.5, "so": 1.5,
                 "slightly": 0.5, "bit": 0.5, "little": 0.5, "somewhat": 0.5, "mildly": 0.5}
_NEGATIONS = {"no", "not", "without", "non"}
_NOTE_RE = re.compile(r"^([a-g])([#b\u266f\u266d]?)(-?\d+)$")
_PITCH_CLASS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


@dataclass
class Parsed:
    kind: str                      # a voice kind or "loop"
    traits: dict[str, float] = field(default_factory=dict)  # trait -> strength (1.0; 1.5 "very"; 0.5 "slightly")
    style: str | None = None       # loop style, if a style word was given
    note: int | None = None        # a note name found in the prompt ("808 bass f#1")
    matched: bool = False          # False when no sound word was recognised and the default was used
    words: list[str] = field(default_factory=list)  # the phrases recognised, for meta and debugging


def tokens(prompt: str) -> list[str]:
    """Lower-cased word tokens; hyphens split ("hi-hat" -> hi hat), '#' survives for note names."""
    out = []
    for tok in re.findall(r"[a-z0-9#\u266f\u266d]+", prompt.lower()):
        if tok not in _VOCAB and tok.endswith("s") and tok[:-1] in _VOCAB:
            tok = tok[:-1]  # plurals: kicks, hats, 808s
        out.append(tok)
    return out


def parse_note(text: str) -> int:
    """MIDI note from a number ("36") or a name ("C2", "F#1", "Bb3"; C4 = 60). ValueError otherwise."""
    s = str(text).strip()
    if re.fullmatch(r"\d+", s):
        value = int(s)
    else:
        m = _NOTE_RE.match(s.lower())
        if not m:
            raise ValueError(f"{text!r} is not a note: use a MIDI number 0-127 or a name like C2, F#1, Bb3 (C4 = 60)")
        letter, accidental, octave = m.groups()
        shift = {"#": 1, "\u266f": 1, "b": -1, "\u266d": -1}.get(accidental, 0)
        value = 12 * (int(octave) + 1) + _PITCH_CLASS[letter] + shift
    if not 0 <= value <= 127:
        raise ValueError(f"note {text!r} is outside the MIDI range 0-127 (C-1 .. G9)")
    return value


def parse(prompt: str) -> Parsed:
    toks = tokens(prompt)
    traits: dict[str, float] = {}
    strong: list[str] = []
    weak: list[str] = []
    style: str | None = None
    note: int | None = None
    words: list[str] = []
    strength, negate = 1.0, False
    i = 0
    while i < len(toks):
        for size in range(min(_LONGEST, len(toks) - i), 0, -1):
            entry = PHRASES.get(tuple(toks[i:i + size]))
            if entry is not None:
                break
        else:
            tok = toks[i]
            if tok in _INTENSIFIERS:
                strength = _INTENSIFIERS[tok]
            elif tok in _NEGATIONS:
                negate = True
            elif note is None and _NOTE_RE.match(tok):
                try:
                    note = parse_note(tok)
                    words.append(tok)
                except ValueError:
                    pass  # "a12" is not a note anyone meant; just ignore the word
            i += 1
            continue
        phrase = " ".join(toks[i:i + size])
        i += size
        if negate and entry.kind is None and entry.style is None:
            negate, strength = False, 1.0  # "not distorted": drop the trait
            continue
        words.append(phrase)
        if entry.kind is not None:
            (weak if entry.weak else strong).append(entry.kind)
        if entry.style is not None and style is None:
            style = entry.style
        for trait in entry.traits:
            traits[trait] = max(traits.get(trait, 0.0), strength)
        strength, negate = 1.0, False

    if "loop" in strong:
        kind = "loop"
    elif strong:
        kind = strong[0]
    elif weak:
        kind = weak[0]
    elif style is not None:
        kind = "loop"
    else:
        return Parsed(DEFAULT_KIND, traits, style, note, matched=False, words=words)
    if kind == "loop" and style is None and "lofi" in traits:
        style = "lofi"
    return Parsed(kind, traits, style, note, matched=True, words=words)
