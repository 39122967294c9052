"""peft LoRA adapters on a tiny MusicGen (musicgen_tiny.py), configured as `[loras.NAME]` and as a
trained run's folder: strength 0 is the base bit for bit, strength 1 changes the music, and the
merged weights compute what peft's own PeftModel computes (the merge is right)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
pytest.importorskip("transformers", reason="transformers is not installed (the musicgen extra)")
pytest.importorskip("peft", reason="peft is not installed (the musicgen extra)")

PROBE = {"prompt": "lofi drums", "seconds": 0.4, "seed": 7, "count": 1}


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    from tests.server.backends.lora_tiny import peft_adapter
    from tests.server.backends.musicgen_tiny import tiny_models

    out = dict(tiny_models(tmp_path_factory.getbasetemp()))
    root = tmp_path_factory.mktemp("peft")
    out["x"] = peft_adapter(out["musicgen"], root / "x", seed=1)
    out["rs"] = peft_adapter(out["musicgen"], root / "rs", seed=2, rslora=True)
    # a musicgen LoRA run's folder as the trainer writes it: the adapter of step N, the base's path
    step = peft_adapter(out["musicgen"], root / "models" / "mg-run" / "step-3", seed=1)
    (step.parent / "dawgen-model.toml").write_text(
        f'[models.mg-run]\nbackend = "musicgen"\npath = "{out["musicgen"]}"\nbase = "mg"\n'
        f'adapter = "step-3/adapter_model.safetensors"\ntrigger = "lofi"\n')
    out["models_dir"] = root / "models"
    return out


@pytest.fixture(scope="module")
def registry(files, tmp_path_factory):
    from server.config import load
    from server.registry import Registry

    config = tmp_path_factory.mktemp("cfg") / "dawgen.toml"
    config.write_text(f"""
[training]
models_dir = "{files['models_dir']}"
[models.mg]
backend = "musicgen"
path = "{files['musicgen']}"
warmup = false
threads = 1
[loras.x]
path = "{files['x']}"
base = "mg"
[loras.rs]
path = "{files['rs'] / 'adapter_model.safetensors'}"
base = "mg"
""")
    return Registry(load(config))


def generate(registry, model: str = "mg", **params) -> np.ndarray:
    from server.backends.base import RunContext

    return registry.backend(model).run("generate", RunContext({**PROBE, **params}))[0].samples


def test_strength_zero_is_the_base_bit_for_bit_and_one_changes_the_music(registry):
    base = generate(registry)
    assert np.array_equal(generate(registry, lora="x:0"), base)
    with_x = generate(registry, lora="x")
    assert np.abs(with_x - base).max() > 1e-3
    assert np.array_equal(generate(registry, lora="x"), with_x)  # the same request twice
    assert np.array_equal(generate(registry), base)  # and back to the base exactly
    assert registry.resolve("mg").backend.loads == 1


@pytest.mark.parametrize("name", ["x", "rs"])
def test_the_merge_computes_what_peft_computes(registry, files, name):
    """The decoder's logits with the adapter merged by lora_patch equal PeftModel's (unmerged,
    computed on the fly) on the same base: scale alpha/r (rsLoRA: alpha/sqrt(r)) and module names right."""
    import torch
    from peft import PeftModel
    from transformers import MusicgenForConditionalGeneration

    backend = registry.backend("mg")
    model = backend.model.model
    folder = files[name]
    reference = PeftModel.from_pretrained(MusicgenForConditionalGeneration.from_pretrained(str(files["musicgen"])),
                                          str(folder)).eval()
    ids = torch.tensor([[5, 9, 3, 1]])
    codes = torch.randint(0, 64, (4, 6), generator=torch.Generator().manual_seed(0))

    def logits(m) -> torch.Tensor:
        with torch.no_grad():
            return m(input_ids=ids, decoder_input_ids=codes).logits

    backend._patcher.apply([])
    base = logits(model)
    backend._patcher.apply([(registry.adapters.all()[name], 1.0)])
    merged = logits(model)
    backend._patcher.apply([])
    want = logits(reference)
    assert (want - base).abs().max() > 1e-2
    torch.testing.assert_close(merged, want, rtol=1e-4, atol=1e-4)
    assert torch.equal(logits(model), base)


def test_a_musicgen_lora_run_is_a_model_and_an_adapter_of_its_base(registry, files):
    fits = {item["name"]: item for item in registry.describe() if item["name"] == "mg"}["mg"]["loras"]
    assert [item["name"] for item in fits] == ["mg-run", "rs", "x"]
    assert fits[0]["rank"] == 4 and fits[0]["trigger"] == "lofi"
    assert fits[0]["size"] == (files["models_dir"] / "mg-run" / "step-3" / "adapter_model.safetensors").stat().st_size
    # the run's adapter is x's file: by name, as lora=mg-run and as lora=x the music is the same
    by_name = generate(registry, model="mg-run")
    assert np.array_equal(by_name, generate(registry, lora="mg-run"))
    assert np.array_equal(by_name, generate(registry, lora="x"))  # "lofi drums" already has the trigger
    info = json.loads((files["x"] / "adapter_config.json").read_text())
    assert info["r"] == 4
