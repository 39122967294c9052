"""Tiny AudioLDM2, MusicLDM and Stable Audio Open pipelines in diffusers' format, random weights.

Built from config the way diffusers' own fast tests build their dummy components (small UNets, VAEs,
CLAP, T5, GPT-2 and HiFi-GAN), with the tokenizers made in code (no hub), saved with
save_pretrained, and then laid out as the published folders are:

- AudioLDM2 (cvssp/audioldm2, -music): the language model saved as a plain `GPT2Model` and
  model_index.json naming it so. diffusers 0.42 with transformers 5 cannot load that folder as saved
  (the pipeline needs a `GPT2LMHeadModel`); the backend has to, since that is what users download.
- The vocoder upsamples by 160 as the real one does (100 mel frames a second at 16 kHz), so a
  second of audio is a small latent and `seconds` means what it means on the real models.
- Stable Audio Open: a 16 kHz stereo Oobleck VAE with a hop of 32 and a 1024-frame window (2.048 s).

Random weights leave some output layers near zero; the DiT's and UNets' weights are widened so
that prompts, negative prompts and seeds make measurably different audio. Used by the tests and
by bench/diffusers_audio.py.
"""
from __future__ import annotations

import json
from pathlib import Path

from tests.server.backends.musicgen_tiny import build_tokenizer as t5_tokenizer

SCALE = 3.0
SAO_WINDOW = 1024  # latent frames: 1024 x hop 32 / 16 kHz = 2.048 s


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (byte-level BPE's alphabet)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    extra = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, (chr(c) for c in chars)))


def roberta_tokenizer(max_length: int = 77):
    """A byte-level BPE RobertaTokenizer with no merges: one token per byte, ids below 300."""
    from transformers import RobertaTokenizer

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for ch in bytes_to_unicode().values():
        vocab.setdefault(ch, len(vocab))
    vocab["<mask>"] = len(vocab)
    return RobertaTokenizer(vocab=vocab, merges=[], model_max_length=max_length)


def _widen(*modules) -> None:
    import torch

    with torch.no_grad():
        for module in modules:
            for name, p in module.named_parameters():
                if p.ndim > 1 and "norm" not in name:
                    p.mul_(SCALE)


def _loud_vocoder(vocoder, target_std: float = 0.2) -> None:
    """HiFi-GAN starts with weights of std 0.01: its output would be ~1e-5 of full scale. Give each
    convolution a fan-in scale, then set the last one so a random mel comes out at `target_std`."""
    import math

    import torch

    with torch.no_grad():
        for name, p in vocoder.named_parameters():
            if p.ndim == 3:
                fan = p.shape[0] * p.shape[2] / 4 if name.startswith("upsampler") else p.shape[1] * p.shape[2]
                p.normal_(0.0, 1.0 / math.sqrt(fan))
        mel = torch.randn(1, 100, vocoder.config.model_in_dim)
        spread = float(vocoder(mel).std())
        vocoder.conv_post.weight.mul_(target_std / max(spread, 1e-6))


def _clap(projection: int, text_hidden: int):
    from transformers import ClapAudioConfig, ClapConfig, ClapModel, ClapTextConfig

    text = ClapTextConfig(bos_token_id=0, eos_token_id=2, pad_token_id=1, hidden_size=text_hidden, intermediate_size=37,
                          layer_norm_eps=1e-5, num_attention_heads=2, num_hidden_layers=2, vocab_size=300,
                          projection_dim=projection)
    audio = ClapAudioConfig(spec_size=64, window_size=4, num_mel_bins=64, intermediate_size=37, layer_norm_eps=1e-5,
                            depths=[2, 2], num_attention_heads=[2, 2], num_hidden_layers=2, hidden_size=192,
                            projection_dim=projection, patch_size=2, patch_stride=2, patch_embed_input_channels=4)
    return ClapModel(ClapConfig(text_config=text.to_dict(), audio_config=audio.to_dict(), projection_dim=projection))


def _vae_and_vocoder():
    from diffusers import AutoencoderKL
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    vae = AutoencoderKL(block_out_channels=[8, 16], in_channels=1, out_channels=1, norm_num_groups=8,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4)
    vocoder = SpeechT5HifiGan(SpeechT5HifiGanConfig(
        model_in_dim=8, sampling_rate=16000, upsample_initial_channel=16, upsample_rates=[5, 4, 8],
        upsample_kernel_sizes=[10, 8, 16], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        normalize_before=False))
    return vae, vocoder


def _ddim():
    from diffusers import DDIMScheduler

    return DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                         set_alpha_to_one=False)


def _feature_extractor():
    from transformers import ClapFeatureExtractor

    return ClapFeatureExtractor(feature_size=64, sampling_rate=16000, hop_length=160)


def build_audioldm2(folder: Path, seed: int = 0) -> Path:
    """An AudioLDM2 folder in the published layout (language_model saved as GPT2Model)."""
    import torch
    from diffusers import AudioLDM2Pipeline, AudioLDM2ProjectionModel, AudioLDM2UNet2DConditionModel
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Model, T5Config, T5EncoderModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=([None, 16, 32], [None, 16, 32]))
    vae, vocoder = _vae_and_vocoder()
    text_encoder = _clap(projection=16, text_hidden=16)
    text_encoder_2 = T5EncoderModel(T5Config(vocab_size=32128, d_model=32, d_ff=37, d_kv=8, num_heads=2, num_layers=2))
    lm_config = GPT2Config(n_embd=16, n_head=2, n_layer=2, vocab_size=300, n_ctx=99, n_positions=99)
    language_model = GPT2LMHeadModel(lm_config)
    language_model.config.max_new_tokens = 8
    projection = AudioLDM2ProjectionModel(text_encoder_dim=16, text_encoder_1_dim=32, langauge_model_dim=16)
    _widen(unet, projection)
    _loud_vocoder(vocoder)
    tokenizer_2 = t5_tokenizer()
    tokenizer_2.model_max_length = 128  # flan-t5's; the pipeline pads T5 prompts to it
    pipe = AudioLDM2Pipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
                             projection_model=projection, language_model=language_model,
                             tokenizer=roberta_tokenizer(), tokenizer_2=tokenizer_2,
                             feature_extractor=_feature_extractor(), unet=unet, scheduler=_ddim(), vocoder=vocoder)
    pipe.save_pretrained(folder, safe_serialization=True)
    _publish_gpt2(folder, language_model, GPT2Model)
    return folder


def _publish_gpt2(folder: Path, language_model, gpt2_model) -> None:
    """The language model as the hub has it: a GPT2Model (no LM head) named so in model_index.json."""
    import shutil

    import torch

    shutil.rmtree(folder / "language_model")
    base = gpt2_model(language_model.config)
    with torch.no_grad():
        base.load_state_dict(language_model.transformer.state_dict())
    base.config.architectures = ["GPT2Model"]
    base.save_pretrained(folder / "language_model", safe_serialization=True)
    index = json.loads((folder / "model_index.json").read_text())
    index["language_model"] = ["transformers", "GPT2Model"]
    (folder / "model_index.json").write_text(json.dumps(index, indent=2))


def build_musicldm(folder: Path, seed: int = 1) -> Path:
    import torch
    from diffusers import MusicLDMPipeline, UNet2DConditionModel

    folder = Path(folder)
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8, sample_size=32, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=(16, 32),
        class_embed_type="simple_projection", projection_class_embeddings_input_dim=16, class_embeddings_concat=True)
    vae, vocoder = _vae_and_vocoder()
    text_encoder = _clap(projection=16, text_hidden=16)
    _widen(unet)
    _loud_vocoder(vocoder)
    pipe = MusicLDMPipeline(vae=vae, text_encoder=text_encoder, tokenizer=roberta_tokenizer(),
                            feature_extractor=_feature_extractor(), unet=unet, scheduler=_ddim(), vocoder=vocoder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def build_stable_audio(folder: Path, seed: int = 2) -> Path:
    import torch
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    folder = Path(folder)
    torch.manual_seed(seed)
    transformer = StableAudioDiTModel(sample_size=SAO_WINDOW, in_channels=4, num_layers=2, attention_head_dim=8,
                                      num_attention_heads=2, num_key_value_attention_heads=1, out_channels=4,
                                      cross_attention_dim=16, time_proj_dim=8, global_states_input_dim=32,
                                      cross_attention_input_dim=16)
    # the published scheduler: cosine DPM-Solver++ (SDE) from sigma 500 down to 0.3, v-prediction
    scheduler = CosineDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                                  sigma_schedule="exponential", sigma_min=0.3, sigma_max=500.0)
    vae = AutoencoderOobleck(encoder_hidden_size=8, downsampling_ratios=[2, 4, 4], decoder_channels=8,
                             decoder_input_channels=4, audio_channels=2, channel_multiples=[1, 2, 2],
                             sampling_rate=16000)
    text_encoder = T5EncoderModel(T5Config(vocab_size=32128, d_model=16, d_ff=32, d_kv=4, num_heads=2, num_layers=1))
    projection = StableAudioProjectionModel(text_encoder_dim=16, conditioning_dim=16, min_value=0, max_value=512)
    _widen(transformer, projection)
    tokenizer = t5_tokenizer()
    tokenizer.model_max_length = 32
    pipe = StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection, tokenizer=tokenizer,
                               transformer=transformer, scheduler=scheduler)
    _calibrate_sao(pipe)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


def _calibrate_sao(pipe, target_std: float = 0.2) -> None:
    """The widened DiT leaves latents far larger than a trained one's: scale the VAE decoder's last
    convolution (its bias zeroed) so a generated window comes out at `target_std`, not thousands."""
    import torch

    conv = pipe.vae.decoder.conv2
    with torch.no_grad():
        if conv.bias is not None:
            conv.bias.zero_()
        audio = pipe("calibrate", num_inference_steps=4, generator=torch.Generator().manual_seed(0)).audios
        gain = target_std / max(float(audio.std()), 1e-6)
        weight = conv.weight_g if hasattr(conv, "weight_g") else conv.weight
        weight.mul_(gain)


def tiny_models(base: Path) -> dict[str, Path]:
    """The three tiny pipelines under `base`, built once per test session (a marker file says so)."""
    base = Path(base) / "diffusers-tiny"
    models = {"audioldm2": base / "audioldm2", "musicldm": base / "musicldm", "stable-audio": base / "stable-audio"}
    if not (base / "built").exists():
        build_audioldm2(models["audioldm2"])
        build_musicldm(models["musicldm"])
        build_stable_audio(models["stable-audio"])
        (base / "built").write_text("ok")
    return models
