"""LoRA runs: a small adapter file, the base untouched, base + adapter sounds different; kinds
must fit the base model."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from server.errors import DawgenError
from tests.server.training.test_loop import generate
from tests.server.training.tiny_runs import fixed_batches, load, settings_for, source


def generate_with_adapter(base_entry: dict, adapter, strength: float = 1.0, params: dict | None = None) -> np.ndarray:
    """The base loaded through the Registry as the daemon loads it, the adapter named per request
    (`[loras.a]`, `lora=a:STRENGTH`): merged into the loaded weights as every job's are."""
    from server.backends.base import RunContext
    from server.config import parse
    from server.params import validate
    from server.registry import Registry

    registry = Registry(parse({"models": {"m": {**base_entry, "device": "cpu"}},
                               "loras": {"a": {"path": str(adapter), "base": "m"}}}))
    backend = registry.backend("m")
    params = {**(params or {"seconds": 0.5, "steps": 4, "seed": 3, "prompt": "deep kick"}), "lora": f"a:{strength:g}"}
    return backend.run("generate", RunContext(validate(backend.verbs["generate"], params, "generate")))[0].samples


@pytest.mark.parametrize("kind", ["stable-audio-lora", "dance-diffusion-lora"])
def test_lora_adapter_is_small_leaves_the_base_alone_and_changes_the_output(tiny, tmp_path, kind):
    from server.output.provenance import file_sha256
    from server.training import loop

    base_folder = tmp_path / "base"
    shutil.copytree(source(tiny, kind), base_folder)
    base_entry = {"backend": "stable-audio", "path": str(base_folder)}
    if kind.startswith("stable"):
        base_entry["t5_path"] = str(tiny["t5"])
        params = {"seconds": 0.5, "steps": 4, "seed": 3, "prompt": "deep kick"}
    else:
        params = {"seconds": 0.256, "steps": 4, "seed": 3}
    weights = base_folder / "model.safetensors"
    sha_before = file_sha256(str(weights))
    before = generate(base_entry, params)

    settings = settings_for(kind, steps=12, save_every=12, learning_rate=2e-2)
    from server.training import models

    trainee = models.load(settings, str(base_folder), t5_path=str(tiny["t5"]), base_name="kit")
    result = loop.train(loop.open_run(trainee, tmp_path / "kit-lora"), fixed_batches(trainee))
    adapter = result.checkpoint / "lora.safetensors"
    assert adapter.stat().st_size < 0.25 * weights.stat().st_size
    info = json.loads((result.checkpoint / "lora.json").read_text())
    assert info["rank"] == 4 and info["alpha"] == 4.0 and info["base"] == "kit" and info["base_sha256"] == sha_before
    assert info["target_modules"] and info["kind"] == kind and info["step"] == 12

    assert file_sha256(str(weights)) == sha_before
    np.testing.assert_array_equal(generate(base_entry, params), before)  # the base still makes what it made
    adapted = generate_with_adapter(base_entry, adapter, params=params)
    assert np.abs(adapted - before).max() > 1e-3
    # strength 0 is the base again (the library's LoRA leaves the weights as they were)
    np.testing.assert_allclose(generate_with_adapter(base_entry, adapter, strength=0.0, params=params), before,
                               atol=1e-5)


def test_an_adapter_refuses_other_base_weights(tiny, tmp_path):
    from server.training import loop

    settings = settings_for("stable-audio-lora", steps=1)
    trainee = load(tiny, settings)
    result = loop.train(loop.open_run(trainee, tmp_path / "a"), fixed_batches(trainee))
    adapter = str(result.checkpoint / "lora.safetensors")
    other = tmp_path / "other"
    shutil.copytree(tiny["sao"], other)
    (other / "model.safetensors").write_bytes((other / "model.safetensors").read_bytes()[:-4] + b"\0\0\0\0")
    params = {"seconds": 0.5, "steps": 2, "seed": 3, "prompt": "deep kick"}
    with pytest.raises(DawgenError) as err:  # the run as its own model, on weights it was not trained on
        generate({"backend": "stable-audio", "path": str(other), "t5_path": str(tiny["t5"]), "adapter": adapter}, params)
    assert err.value.code == "model_unavailable" and "other weights" in err.value.message
    alone = tmp_path / "alone"  # the file without its lora.json (as if made elsewhere): no base hash to refuse it by
    alone.mkdir()
    shutil.copy(adapter, alone / "lora.safetensors")
    with pytest.raises(DawgenError) as err:  # an adapter of one model on a model of another shape
        generate_with_adapter({"backend": "stable-audio", "path": str(tiny["dance"])}, alone / "lora.safetensors",
                              params={"seconds": 0.256, "steps": 2, "seed": 3})
    assert err.value.code == "model_unavailable" and "does not fit" in err.value.message


def test_kinds_must_fit_the_model(tiny, tmp_path):
    from server.training import models

    with pytest.raises(DawgenError) as err:
        models.load(settings_for("dance-diffusion"), str(tiny["sao"]), t5_path=str(tiny["t5"]))
    assert err.value.code == "bad_request" and "diffusion_uncond" in err.value.message
    with pytest.raises(DawgenError) as err:
        models.load(settings_for("stable-audio-lora"), str(tiny["inpaint"]), t5_path=str(tiny["t5"]))
    assert err.value.code == "bad_request" and "inpainting" in err.value.message
    with pytest.raises(DawgenError) as err:  # a LoRA needs trained weights, not a bare config
        models.load(settings_for("dance-diffusion-lora"), str(tiny["dance"] / "model_config.json"))
    assert err.value.code == "bad_request" and "base model folder" in err.value.message


def test_a_fresh_dance_diffusion_model_from_a_config_trains_and_saves_a_loadable_model(tiny, tmp_path):
    """Training from scratch: random weights from model_config.json alone, seeded."""
    import torch

    from server.training import loop, models

    config = tmp_path / "new" / "model_config.json"
    config.parent.mkdir()
    config.write_text((tiny["dance"] / "model_config.json").read_text())
    a = models.load(settings_for("dance-diffusion", steps=2, seed=11), str(config))
    b = models.load(settings_for("dance-diffusion", steps=2, seed=11), str(config))
    c = models.load(settings_for("dance-diffusion", steps=2, seed=12), str(config))
    first = next(iter(a.trainable_state()))
    assert torch.equal(a.trainable_state()[first], b.trainable_state()[first])
    assert not torch.equal(a.trainable_state()[first], c.trainable_state()[first])
    result = loop.train(loop.open_run(a, tmp_path / "scratch"), fixed_batches(a))
    assert a.base.folder is None and a.base.sha256 is None
    out = generate({"backend": "stable-audio", "path": str(result.checkpoint)}, {"seconds": 0.1, "steps": 2, "seed": 1})
    assert out.shape == (1600, 2) and np.isfinite(out).all()
