"""Bark's declared parameters and the text arithmetic that needs no torch.

One Bark pass makes up to ~13 s of audio (768 semantic tokens at 49.9 Hz, of which the model
rarely uses all). Longer words are said (or sung) pass by pass: the text is cut at sentence ends
and line breaks into pieces of at most PASS_CHARS characters (about what a speaker says in 13 s),
a sentence longer than that at commas, then at spaces. A sung part (`♪ ... ♪`) cut in two keeps
its marks on both sides of the cut, so each pass knows it is singing.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...params import ParamSpec, count_param, seed_param

PASS_CHARS = 200  # ~13 s of speech at ~15 characters a second
MAX_PROMPT = 4000
SING = "♪"
_SENTENCE_END = re.compile(r"(?<=[.!?…。！？])\s+")
_COMMA = re.compile(r"(?<=[,;:，、])\s+")

GENERATE_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("prompt", "str", None, max_length=MAX_PROMPT,
              doc="the words: `♪ ... ♪` around words to sing them; cues such as `[laughs]`, `[sighs]`, "
                  "`[music]` pass through; past one pass (~13 s) it is made sentence by sentence and joined"),
    ParamSpec("voice", "str", None, max_length=200,
              doc="a speaker preset of the model folder (`speaker_embeddings_path.json`, e.g. `v2/en_speaker_6`); "
                  "default: the model's `voice` option, else a speaker picked by the seed (kept across passes)"),
    ParamSpec("text_temperature", "float", 0.7, min=0.0, max=2.0,
              doc="randomness of the semantic stage (what is said, and how); 0 = always the most likely token"),
    ParamSpec("waveform_temperature", "float", 0.7, min=0.0, max=2.0,
              doc="randomness of the coarse acoustic stage (the sound of the voice); 0 = most likely"),
    seed_param("same seed + params = identical audio; default: random"),
    count_param(8, "takes made one after another; file i has seed + i and is made again by count 1 with that seed"),
)


def words(params: Mapping[str, Any]) -> str:
    """The prompt, or ValueError when there is nothing to say."""
    text = str(params.get("prompt") or "").strip()
    if not text.replace(SING, "").strip():
        raise ValueError("prompt: give the words to say, or to sing between ♪ marks")
    return text


def split_passes(text: str, limit: int = PASS_CHARS) -> list[str]:
    """The text as passes of at most `limit` characters (plus the ♪ marks a cut adds), cut at
    sentence ends and line breaks, then commas, then spaces."""
    pieces: list[str] = []
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            pieces.extend(_fit(" ".join(sentence.split()), limit))
    return _mark_singing(_pack(_close_on_the_left(pieces), limit))


def _close_on_the_left(pieces: list[str]) -> list[str]:
    """A piece that starts by closing a sung part (`na na. ♪ Then...` cut after `na.`) gives that
    mark back to the piece before, where the singing is."""
    out: list[str] = []
    singing = False
    for piece in pieces:
        if singing and out and piece.startswith(SING):
            out[-1] += " " + SING
            piece = piece[len(SING):].strip()
            singing = False
        if piece:
            singing ^= piece.count(SING) % 2 == 1
            out.append(piece)
    return out


def _fit(sentence: str, limit: int) -> list[str]:
    """A sentence in parts of at most `limit` characters: at commas, then at spaces (a single word
    longer than `limit` stays whole; the tokenizer truncates what one pass cannot hold)."""
    if len(sentence) <= limit:
        return [sentence] if sentence else []
    parts: list[str] = []
    for clause in _COMMA.split(sentence):
        parts.extend(_pack(clause.split(" "), limit) if len(clause) > limit else [clause])
    return _pack(parts, limit)


def _pack(items: list[str], limit: int) -> list[str]:
    """Consecutive items joined by spaces into as few strings of at most `limit` characters as keep the order."""
    out: list[str] = []
    for item in items:
        if not item:
            continue
        if out and len(out[-1]) + 1 + len(item) <= limit:
            out[-1] += " " + item
        else:
            out.append(item)
    return out


def _mark_singing(passes: list[str]) -> list[str]:
    """Close an open `♪` at the end of a pass and reopen it at the start of the next."""
    out, singing = [], False
    for text in passes:
        starts = singing
        singing ^= text.count(SING) % 2 == 1
        if starts:
            text = f"{SING} {text}"
        if singing:
            text = f"{text} {SING}"
        out.append(text)
    return out


def estimate_seconds(params: Mapping[str, Any]) -> float:
    """A rough prior for queue ETAs: bark-small on a GPU makes about real time; each pass ~10 s of audio."""
    text = str(params.get("prompt") or "")
    passes = max(1, len(split_passes(text))) if text.strip() else 1
    return passes * 10.0 * int(params.get("count", 1)) + 2.0
