"""The stable-audio backend's torch-free parts: file checks, family defaults, verbs per model type.
(Generation over OSC is tests/e2e/test_stable_audio_osc.py.)"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from server.backends.stable_audio import StableAudioBackend, spec
from server.backends.stable_audio.files import check_folder, family_of
from server.errors import DawgenError
from tests.server.backends.stable_audio_tiny import dance_config, sao_config


def folder(tmp_path: Path, config: dict, weights: str | None = "model.safetensors") -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "model_config.json").write_text(json.dumps(config))
    if weights:
        (tmp_path / weights).write_bytes(b"x")
    return tmp_path


def t5(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    return tmp_path


def test_missing_files_are_named_with_what_to_download(tmp_path):
    with pytest.raises(DawgenError) as info:
        check_folder(str(folder(tmp_path / "m", sao_config(), weights=None)), str(t5(tmp_path / "t5")))
    assert "model.safetensors" in info.value.message
    with pytest.raises(DawgenError) as info:
        check_folder(str(folder(tmp_path / "m2", sao_config())), "")
    assert "google-t5/t5-base" in info.value.message and "t5_path" in info.value.message
    files = check_folder(str(folder(tmp_path / "m3", sao_config(), "model.ckpt")), str(t5(tmp_path / "t5")))
    assert files.weights.name == "model.ckpt" and files.family.name == "sao-1.0"


def test_families_and_their_defaults(tmp_path):
    assert family_of("diffusion_cond", "v", 2097152).name == "sao-1.0"
    assert family_of("diffusion_cond", "rf_denoiser", 524288).name == "sao-small"
    assert family_of("diffusion_uncond", "v", 65536).name == "dance-diffusion"
    files = check_folder(str(folder(tmp_path / "s", sao_config("rf_denoiser"))), str(t5(tmp_path / "t5")))
    assert spec.resolve(files, {}) == spec.Sampling(8, "pingpong", 1.0)
    assert spec.resolve(files, {"steps": 3, "sampler": "euler", "cfg_scale": 2}) == spec.Sampling(3, "euler", 2.0)
    with pytest.raises(ValueError, match="dpmpp"):
        spec.resolve(files, {"sampler": "dpmpp-3m-sde"})  # a v sampler on a rectified-flow model
    with pytest.raises(ValueError, match="window"):
        spec.seconds(files, {"seconds": 30.0})


def test_verbs_follow_the_model_type(tmp_path):
    plain = StableAudioBackend("a", {"path": str(folder(tmp_path / "a", sao_config()))})
    inpaint = StableAudioBackend("b", {"path": str(folder(tmp_path / "b", sao_config("rectified_flow", inpaint=True)))})
    dance = StableAudioBackend("c", {"path": str(folder(tmp_path / "c", dance_config()))})
    assert set(plain.verbs) == {"generate", "vary"} and "inpaint" in inpaint.verbs
    assert "prompt" not in {p.name for p in dance.verbs["generate"]}


def test_the_least_recently_used_stable_audio_model_makes_room(tmp_path_factory):
    """The registry's budget with real tiny models: loaded through the registry as the daemon's model
    process loads them, each model's real footprint (weights + T5) counted."""
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed (make install-stable-audio)")
    from server.config import parse
    from server.registry import Registry
    from tests.server.backends.stable_audio_tiny import tiny_models

    tiny = tiny_models(tmp_path_factory.mktemp("sa-budget"))
    models = {name: {"backend": "stable-audio", "path": str(tiny[kind]), "t5_path": str(tiny["t5"]), "device": "cpu"}
              for name, kind in (("a", "sao"), ("b", "ckpt"), ("c", "inpaint"))}

    def registry(budget: str) -> Registry:
        return Registry(parse({"server": {"memory_budget": {"cpu": budget}}, "models": models}))

    probe = registry("64GB")
    probe.backend("a")
    loaded = probe.resolve("a").backend.memory_bytes()  # the loaded footprint, measured
    assert loaded > 0
    r = registry(f"{int(loaded * 2.6)}B")  # two of these models fit, three do not
    r.backend("a")
    r.backend("b")
    r.backend("a")  # a is used again: b is now the least recently used
    r.backend("c")
    assert set(r.warm()) >= {"a", "c"} and "b" not in r.warm()
    assert r.resolve("b").evictions == 1
    with pytest.raises(DawgenError) as err:
        registry(f"{loaded // 4}B").backend("a")  # larger than the whole budget: refused, not crashed
    assert err.value.code == "out_of_memory" and "memory budget" in err.value.message


@pytest.mark.parametrize("heading, name", [("#### `/dawgen/generate` with a `stable-audio` model", "GENERATE_PARAMS"),
                                           ("#### `/dawgen/vary` (stable-audio)", "VARY_PARAMS"),
                                           ("#### `/dawgen/inpaint` (stable-audio, inpainting models only)",
                                            "INPAINT_PARAMS")])
def test_protocol_doc_describes_each_verb_with_its_exact_parameters(heading, name):
    from bridge.protocol_doc import param_row

    # the doc test compares tables of the default config (no stable-audio model); these are checked here
    doc = (Path(__file__).resolve().parents[3] / "docs" / "PROTOCOL.md").read_text()
    section = doc.split(heading, 1)[1].split("\n#", 1)[0]
    rows = [line.strip() for line in section.splitlines() if line.startswith("| `")]
    assert rows == [param_row(s) for s in getattr(spec, name)]
