"""Tiny MusicGen and MusicGen-Melody models with random weights, saved as users' folders are.

A tiny T5 (its tokenizer built in code: no download), a tiny 32 kHz EnCodec with MusicGen's
640-sample hop (50 frames per second, 4 codebooks) and a two-layer decoder, saved with
save_pretrained. `window_frames` sets generation_config.max_length so that windowed generation
happens on requests of a second or two. Used by the tests and by bench/musicgen.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

WORDS = ("a the and with drum drums bass loop piano dark lofi house techno funky guitar synth pad "
         "ambient bpm in minor major beat kick snare hat chords melody warm bright").split()
CODES = 64  # codebook size (MusicGen's is 2048); the pad / start token is CODES
SCALE = 4.0  # decoder weights times this: random init is near uniform over the codes


def build_tokenizer():
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    pieces += [(f"\u2581{word}", -float(i + 1)) for i, word in enumerate(WORDS)]
    pieces += [(f"\u2581{n}", -50.0 - n) for n in range(0, 200, 10)]
    pieces += [(ch, -100.0) for ch in "abcdefghijklmnopqrstuvwxyz0123456789,"]
    return T5Tokenizer(vocab=pieces)


def _configs(max_positions: int):
    from transformers import EncodecConfig, T5Config

    # 32128 like t5-base: generate() without input_ids feeds the decoder's start token (2048 in the
    # real model) to T5, so a tiny vocabulary would fail where the real one works (field notes)
    t5 = T5Config(vocab_size=32128, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_heads=2,
                  relative_attention_num_buckets=8)
    codec = EncodecConfig(sampling_rate=32000, audio_channels=1, upsampling_ratios=[8, 5, 4, 4],
                          target_bandwidths=[1.2], hidden_size=16, num_filters=4, num_lstm_layers=1,
                          codebook_size=CODES, use_causal_conv=False, normalize=False, compress=2,
                          num_residual_layers=1)
    decoder = dict(vocab_size=CODES, max_position_embeddings=max_positions, num_hidden_layers=2, ffn_dim=32,
                   num_attention_heads=2, hidden_size=16, num_codebooks=4, pad_token_id=CODES, bos_token_id=CODES)
    return t5, codec, decoder


def _finish(model, folder: Path, window_frames: int) -> Path:
    import torch

    generation = model.generation_config
    generation.decoder_start_token_id = CODES
    generation.pad_token_id = CODES
    generation.max_length = window_frames + 4  # + num_codebooks: the delay pattern
    generation.do_sample, generation.guidance_scale, generation.top_k = True, 3.0, 250
    # random init leaves some output layers near zero: widen the weights so that prompts, seeds
    # and melodies make audibly different codes
    with torch.no_grad():
        for p in model.decoder.parameters():
            p.mul_(SCALE)
        prime_encodec(model.audio_encoder, 30.0)
        _calibrate_encoder(model.audio_encoder, target_std=30.0)
    model.save_pretrained(folder)
    build_tokenizer().save_pretrained(folder)
    return folder


def prime_encodec(codec, std: float) -> None:
    """A randomly initialised EnCodec made to sound its codes (MusicGen's and Bark's codec alike):
    its codebooks start at zero (trained ones are not), so every code would decode to the same
    sound and every sound encode to code 0; and its random biases add a DC offset ten times louder
    than the sound of the codes. Fills the codebooks from N(0, std) and zeroes those biases."""
    for layer in codec.quantizer.layers:
        layer.codebook.embed.normal_(0.0, std)
        layer.codebook.embed_avg.copy_(layer.codebook.embed)
    for name, p in codec.named_parameters():
        if name.endswith("bias") and not name.startswith("quantizer"):
            p.zero_()


def _calibrate_encoder(codec, target_std: float) -> None:
    """Scale the encoder's last convolution so its output spreads like the codebooks: a random
    encoder's output is ~1000x smaller, and every input would then encode to the same codes."""
    import math

    import torch

    t = torch.arange(32000) / 32000
    signals = [0.4 * torch.sin(2 * math.pi * f * t) for f in (110.0, 220.0, 880.0)] + [0.2 * torch.randn(32000)]
    spread = torch.cat([codec.encoder(x[None, None]) for x in signals], dim=-1).std()
    last = [m for m in codec.encoder.layers if hasattr(m, "conv")][-1].conv
    weight = last.parametrizations.weight.original0 if hasattr(last, "parametrizations") else last.weight
    weight.mul_(target_std / float(spread))


def build_musicgen(folder: Path, window_frames: int = 50, seed: int = 0) -> Path:
    import torch
    from transformers import MusicgenConfig, MusicgenDecoderConfig, MusicgenForConditionalGeneration

    torch.manual_seed(seed)
    t5, codec, decoder = _configs(max_positions=512)
    config = MusicgenConfig(text_encoder=t5, audio_encoder=codec, decoder=MusicgenDecoderConfig(**decoder))
    return _finish(MusicgenForConditionalGeneration(config), Path(folder), window_frames)


def build_melody(folder: Path, window_frames: int = 50, seed: int = 1) -> Path:
    import torch
    from transformers import MusicgenMelodyConfig, MusicgenMelodyDecoderConfig, MusicgenMelodyForConditionalGeneration

    torch.manual_seed(seed)
    t5, codec, decoder = _configs(max_positions=512)
    config = MusicgenMelodyConfig(text_encoder=t5, audio_encoder=codec,
                                  decoder=MusicgenMelodyDecoderConfig(**decoder), chroma_length=16)
    _finish(MusicgenMelodyForConditionalGeneration(config), Path(folder), window_frames)
    # what MusicgenMelodyFeatureExtractor.save_pretrained writes (it cannot be built without
    # torchaudio); smaller FFT than the real 16384/4096 so a second of melody has 16 chroma frames
    extractor = {"feature_extractor_type": "MusicgenMelodyFeatureExtractor", "feature_size": 12,
                 "sampling_rate": 32000, "hop_length": 2000, "chunk_length": 30, "n_fft": 4096,
                 "num_chroma": 12, "padding_value": 0.0, "padding_side": "right",
                 "return_attention_mask": False, "stem_indices": [3, 2]}
    (Path(folder) / "preprocessor_config.json").write_text(json.dumps(extractor, indent=2))
    return Path(folder)


def tiny_models(base: Path) -> dict[str, Path]:
    """Both tiny models under `base`, built once per test session (a marker file says they are)."""
    base = Path(base) / "musicgen-tiny"
    models = {"musicgen": base / "musicgen", "melody": base / "musicgen-melody"}
    if not (base / "built").exists():
        build_musicgen(models["musicgen"])
        build_melody(models["melody"])
        (base / "built").write_text("ok")
    return models


def fake_cache(tmp_path: Path, source: Path) -> Path:
    """The layout huggingface_hub writes: blobs by hash, snapshot files as relative links to them."""
    repo = tmp_path / "hub" / "models--facebook--musicgen-small"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for file in source.iterdir():
        blob = repo / "blobs" / hashlib.sha256(file.read_bytes()).hexdigest()
        shutil.copyfile(file, blob)
        os.symlink(os.path.relpath(blob, snapshot), snapshot / file.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    return repo
