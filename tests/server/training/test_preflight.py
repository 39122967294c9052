"""The memory preflight: counts from the weights file match the loaded model, the activation model
covers what autograd really keeps, and a run that cannot fit is refused naming what would."""
from __future__ import annotations

import contextlib
import json
import re

import numpy as np
import pytest

from server.errors import DawgenError
from server.training import preflight
from server.training.settings import Settings
from tests.server.training.tiny_runs import load, settings_for

# stable-audio-open-1.0's published model_config.json, as far as the estimate reads it
SAO_10 = {
    "model_type": "diffusion_cond", "sample_size": 2097152, "sample_rate": 44100, "audio_channels": 2,
    "model": {"pretransform": {"type": "autoencoder", "iterate_batch": True,
                               "config": {"encoder": {"type": "oobleck", "config": {"channels": 128, "c_mults": [1, 2, 4, 8, 16]}},
                                          "downsampling_ratio": 2048}},
              "conditioning": {"configs": [{"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 128}},
                                           {"id": "seconds_start", "type": "number"}, {"id": "seconds_total", "type": "number"}]},
              "diffusion": {"type": "dit", "config": {"io_channels": 64, "embed_dim": 1536, "depth": 24, "num_heads": 24}}},
}
SAO_10_SHAPE = preflight.Shape(SAO_10, total_params=1_210_000_000, net_params=1_057_000_000, lora_per_rank=1_600_000,
                               adapted_params=1_000_000_000, extra_bytes=110_000_000 * 2)


def saved_bytes(trainee, batch: np.ndarray) -> int:
    """Bytes autograd keeps for the backward pass of one loss (parameters excluded)."""
    import torch

    from server.training import objective

    x = objective.to_tensor(trainee, batch)
    seen: dict[tuple[int, int], int] = {}

    def pack(t):
        storage = t.untyped_storage()
        seen[(storage.data_ptr(), storage.nbytes())] = storage.nbytes()
        return t

    params = {(p.untyped_storage().data_ptr(), p.untyped_storage().nbytes()) for p in trainee.wrapper.parameters()}
    sobol = torch.quasirandom.SobolEngine(1, scramble=True, seed=0)
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        objective.loss(trainee, x, ["kick"] * x.shape[0], sobol, contextlib.nullcontext())
    return sum(v for k, v in seen.items() if k not in params)


@pytest.mark.parametrize("kind, batch, seconds", [("dance-diffusion", 2, 0.256), ("dance-diffusion", 1, 1.0),
                                                  ("stable-audio", 2, 0.75), ("stable-audio", 1, 2.9),
                                                  ("dance-diffusion-lora", 2, 0.256), ("stable-audio-lora", 1, 2.9)])
def test_the_activation_estimate_covers_what_autograd_keeps(tiny, kind, batch, seconds):
    from server.backends.stable_audio.files import check_folder
    from server.training import objective

    settings = settings_for(kind, batch_size=batch, seconds=seconds, precision="fp32")
    trainee = load(tiny, settings)
    x = np.random.default_rng(0).standard_normal((batch, 2, int(seconds * trainee.files.sample_rate))).astype(np.float32)
    measured = saved_bytes(trainee, x)
    files = check_folder(str(trainee.base.folder), str(tiny["t5"]))
    estimated = preflight.estimate(preflight.shape_of_files(files.config, files.weights),
                                   Settings(**{**settings.to_dict(), "seconds": objective.to_tensor(trainee, x).shape[2]
                                               / trainee.files.sample_rate}), "cpu").activations
    assert measured <= estimated
    if kind.startswith("dance-diffusion"):  # no checkpointing: what it keeps is all there is (calibrated ~1.15x)
        assert estimated <= 1.5 * measured


def test_counts_from_the_weights_header_match_the_loaded_model(tiny):
    from server.backends.stable_audio.files import check_folder

    for kind in ("stable-audio", "dance-diffusion"):
        trainee = load(tiny, settings_for(kind))
        files = check_folder(str(trainee.base.folder), str(tiny["t5"]))
        from_files = preflight.shape_of_files(files.config, files.weights)
        from_model = preflight.shape_of_model(trainee.wrapper, files.config)
        assert from_files.total_params == from_model.total_params
        assert from_files.net_params == from_model.net_params >= sum(p.numel() for p in trainee.net.parameters())
        lora = load(tiny, settings_for(f"{kind}-lora", lora_rank=4))
        assert from_model.lora_per_rank * 4 == sum(p.numel() for p in lora.parameters())
        assert from_files.lora_per_rank >= from_model.lora_per_rank  # the header cannot tell Linear weights apart
        assert from_files.adapted_params >= from_model.adapted_params > 0


def test_a_run_that_fits_passes_and_its_parts_add_up():
    settings = Settings(kind="stable-audio", batch_size=2, seconds=10.0)
    need = preflight.estimate(SAO_10_SHAPE, settings, "cuda")
    assert need.weights == 1_210_000_000 * 4 + 220_000_000
    assert need.gradients == need.ema == 1_057_000_000 * 4 and need.optimizer == 2 * need.gradients
    assert need.activations > 0 and need.total > need.weights + need.gradients + need.optimizer + need.ema
    assert preflight.check(need, 200 * preflight.GB, SAO_10_SHAPE, settings, "cuda") is need
    lora = preflight.estimate(SAO_10_SHAPE, Settings(kind="stable-audio-lora", batch_size=2, seconds=10.0), "cuda")
    assert lora.ema == 0 and lora.gradients == 1_600_000 * 16 * 4 and lora.total < need.total / 2
    longer = preflight.estimate(SAO_10_SHAPE, Settings(kind="stable-audio", batch_size=2, seconds=40.0), "cuda")
    assert longer.activations > 3 * need.activations


def test_a_huge_run_is_refused_with_out_of_memory_naming_what_would_fit():
    settings = Settings(kind="stable-audio", batch_size=16, seconds=47.0)
    need = preflight.estimate(SAO_10_SHAPE, settings, "cuda")
    budget = 24 * preflight.GB  # a 24 GB card
    with pytest.raises(DawgenError) as err:
        preflight.check(need, budget, SAO_10_SHAPE, settings, "cuda")
    message = err.value.message
    assert err.value.code == "out_of_memory"
    assert "batch_size 16 x 47 s" in message and "24.00 GB" in message
    assert "kind=stable-audio-lora" in message  # a full fine-tune of 1.2 B parameters does not fit 24 GB
    lora = Settings(kind="stable-audio-lora", batch_size=16, seconds=47.0)
    budget = 12 * preflight.GB
    with pytest.raises(DawgenError) as err:
        preflight.check(preflight.estimate(SAO_10_SHAPE, lora, "cuda"), budget, SAO_10_SHAPE, lora, "cuda")
    tips = err.value.message.split("would fit: ", 1)[1].split("; or ")
    batch, accumulate = map(int, re.fullmatch(r"batch_size=(\d+) with accumulate=(\d+) \(the same effective batch\)",
                                              tips[0]).groups())
    assert batch < 16 and batch * accumulate == 16
    assert tips[1].startswith("batch_size=1 with seconds=")
    for tip in tips:  # each suggestion really fits
        words = tip.split(" (")[0].replace(" with ", " ").split()
        values = {k: float(v) if k == "seconds" else int(v) for k, v in (w.split("=") for w in words)}
        values.pop("accumulate", None)
        changed = Settings(**{**lora.to_dict(), **values})
        assert preflight.estimate(SAO_10_SHAPE, changed, "cuda").total <= budget, tip
    with pytest.raises(DawgenError) as err:
        preflight.check(need, 2 * preflight.GB, SAO_10_SHAPE, settings, "cuda")
    assert "do not fit" in err.value.message


def test_safetensors_header_is_read_without_the_weights(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    save_file({"model.a.weight": torch.zeros(3, 4), "model.b.weight": torch.zeros(5, 2, 3), "model.c.bias": torch.zeros(5),
               "pretransform.x": torch.zeros(7)}, str(tmp_path / "w.safetensors"))
    config = {"model_type": "diffusion_uncond", "sample_size": 16, "sample_rate": 16}
    shape = preflight.shape_of_files(config, tmp_path / "w.safetensors")
    assert (shape.total_params, shape.net_params, shape.lora_per_rank, shape.adapted_params) == (
        12 + 30 + 5 + 7, 47, (3 + 4) + (5 + 6), 12 + 30)
    (tmp_path / "bad.safetensors").write_bytes(json.dumps({"x": 1}).encode())
    with pytest.raises(ValueError):
        preflight.shape_of_files(config, tmp_path / "bad.safetensors")
