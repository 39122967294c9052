"""A tiny Bark with random weights, saved as suno/bark-small is laid out on the hub.

Four sub-models from config (semantic, coarse, fine: one-layer GPTs 16 wide; a 24 kHz EnCodec with
Bark's 320-sample hop and 8 codebooks), the real token layout (text offset 10048, 10000 semantic
tokens, 1024 codes per codebook), a BERT tokenizer built from a vocab file (no download), and
speaker presets as the hub has them: `speaker_embeddings_path.json` naming `.npy` files under
`speaker_embeddings/v2/`. generation_config.json bounds the semantic stage (`max_new_tokens`) so a
pass is a fraction of a second: a random model hardly ever samples the end token. Used by the
tests and by bench/bark.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

WORDS = ("hello world the a and la da na oh yeah night light love you me we go sing song dance baby "
         "is my your in on with come away tonight heart fire").split()
SEMANTIC_TOKENS = 24  # semantic tokens of one pass: 24 / 49.9 Hz ~ 0.48 s of audio
VOICES = ("v2/en_speaker_0", "v2/en_speaker_1", "announcer")
SCALE = 4.0  # sub-model weights times this: random init is near uniform over the tokens


def write_vocab(folder: Path) -> Path:
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "♪", "[", "]", ".", ",", "!", "?", "laughs", "sighs",
              *WORDS, *"abcdefghijklmnopqrstuvwxyz"]
    tokens += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"]
    path = folder / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def _configs():
    from transformers import BarkCoarseConfig, BarkConfig, BarkFineConfig, BarkSemanticConfig, EncodecConfig

    small = dict(hidden_size=16, num_layers=1, num_heads=2, block_size=1024)
    semantic = BarkSemanticConfig(input_vocab_size=129_600, output_vocab_size=10_048, **small)
    coarse = BarkCoarseConfig(input_vocab_size=12_096, output_vocab_size=12_096, **small)
    fine = BarkFineConfig(input_vocab_size=1056, output_vocab_size=1056, n_codes_total=8, n_codes_given=1, **small)
    codec = EncodecConfig(sampling_rate=24000, audio_channels=1, upsampling_ratios=[8, 5, 4, 2],
                          target_bandwidths=[1.5, 3.0, 6.0], hidden_size=16, num_filters=4, num_lstm_layers=1,
                          codebook_size=1024, num_residual_layers=1, normalize=False)
    return BarkConfig(semantic_config=semantic.to_dict(), coarse_acoustics_config=coarse.to_dict(),
                      fine_acoustics_config=fine.to_dict(), codec_config=codec.to_dict())


def write_generation_config(folder: Path, semantic_tokens: int) -> None:
    """generation_config.json as the hub's (one dict per stage: sampling on, fine temperature 0.5),
    with a short semantic stage."""
    from transformers.models.bark.generation_configuration_bark import (
        BarkCoarseGenerationConfig,
        BarkFineGenerationConfig,
        BarkSemanticGenerationConfig,
    )

    semantic = BarkSemanticGenerationConfig(max_new_tokens=semantic_tokens, do_sample=True, temperature=0.7)
    coarse = BarkCoarseGenerationConfig(do_sample=True, temperature=0.7)
    fine = BarkFineGenerationConfig(temperature=0.5)
    def lean(config) -> dict:  # the hub's file names only the settings that are set
        return {k: v for k, v in config.to_dict().items() if v is not None and k != "transformers_version"}

    data = {"semantic_config": lean(semantic), "coarse_acoustics_config": lean(coarse),
            "fine_acoustics_config": lean(fine), "sample_rate": 24_000, "codebook_size": 1024}
    (folder / "generation_config.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def _widen(model) -> None:
    """Random init leaves every token about as likely as any other: widen the weights; and make the
    codec sound its codes (prime_encodec)."""
    import torch

    from tests.server.backends.musicgen_tiny import prime_encodec

    with torch.no_grad():
        for sub in (model.semantic, model.coarse_acoustics, model.fine_acoustics):
            for p in sub.parameters():
                p.mul_(SCALE)
        prime_encodec(model.codec_model, 1.0)


def write_voices(folder: Path, voices: tuple[str, ...] = VOICES, seed: int = 0) -> None:
    """Speaker presets in the hub's layout: `speaker_embeddings_path.json` + three `.npy` per voice."""
    rng = np.random.default_rng(seed)
    table: dict[str, object] = {"repo_or_path": "suno/bark-small"}
    for voice in voices:
        frames = 30
        arrays = {"semantic_prompt": rng.integers(0, 10_000, size=20, dtype=np.int64),
                  "coarse_prompt": rng.integers(0, 1024, size=(2, frames), dtype=np.int64),
                  "fine_prompt": rng.integers(0, 1024, size=(8, frames), dtype=np.int64)}
        entry = {}
        for key, array in arrays.items():
            relative = f"speaker_embeddings/{voice}_{key}.npy"
            (folder / relative).parent.mkdir(parents=True, exist_ok=True)
            np.save(folder / relative, array, allow_pickle=False)
            entry[key] = relative
        table[voice] = entry
    (folder / "speaker_embeddings_path.json").write_text(json.dumps(table, indent=1), encoding="utf-8")


def build_bark(folder: Path, seed: int = 0, semantic_tokens: int = SEMANTIC_TOKENS) -> Path:
    import torch
    from transformers import BarkModel, BertTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = BarkModel(_configs())
    _widen(model)
    model.save_pretrained(folder)
    write_generation_config(folder, semantic_tokens)
    vocab = write_vocab(folder)
    BertTokenizer(vocab=str(vocab), do_lower_case=False).save_pretrained(folder)
    write_voices(folder)
    return folder


def tiny_bark(base: Path) -> Path:
    """The tiny model under `base`, built once per test session (a marker file says it is)."""
    folder = Path(base) / "bark-tiny"
    if not (folder / "built").exists():
        build_bark(folder)
        (folder / "built").write_text("ok")
    return folder
