"""The adapter registry without torch: `[loras.NAME]` parsing, adapter files read from their headers
(safetensors' numpy writer makes them here), which adapters fit which model, and trigger words."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from server.adapters import Adapter, AdapterRegistry, Applied, prompt_with_triggers, read_adapter
from server.config import ConfigError, LoraConfig, parse
from server.errors import DawgenError, ErrorCode
from server.params import parse_loras


def sat_file(path, rank: int = 4, adapter_type: str = "lora"):
    from safetensors.numpy import save_file

    tensors = {"layers.0.proj.parametrizations.weight.0.lora_A": np.zeros((rank, 8), np.float16),
               "layers.0.proj.parametrizations.weight.0.lora_B": np.zeros((8, rank), np.float16)}
    save_file(tensors, str(path), metadata={"lora_config": json.dumps({"rank": rank, "alpha": 2.0,
                                                                        "adapter_type": adapter_type})})
    return path


def test_lora_param_syntax():
    assert parse_loras("a") == [("a", 1.0)]
    assert parse_loras(" a:0.5 , my-run@20:-2 ") == [("a", 0.5), ("my-run@20", -2.0)]
    assert parse_loras("") == []
    for bad, words in [("a:2.01", "outside"), ("a:nan", "outside"), ("a,a:0", "twice"), ("a,b,c,d,e", "at most 4"),
                       ("a b", "not an adapter name"), ("a,", "empty item"), ("a:", "not a number")]:
        with pytest.raises(ValueError, match=words):
            parse_loras(bad)


def test_loras_section_is_parsed_with_clear_errors():
    config = parse({"loras": {"x": {"path": "/a.safetensors", "base": "sao", "trigger": "zap"}}})
    assert config.loras == {"x": LoraConfig("x", "/a.safetensors", "sao", "zap")}
    with pytest.raises(ConfigError) as info:
        parse({"loras": {"x": {"path": "/a", "bsae": "sao"}, "y": {"base": 3}, "z": "no"}})
    text = str(info.value)
    assert "loras.x.bsae: unknown key (did you mean 'base'?)" in text and "loras.x.base: required" in text
    assert "loras.y.base: expected a string" in text and "loras.y.path: required" in text and "loras.z: must be" in text


def test_adapters_are_read_from_their_headers_and_fit_their_base(tmp_path):
    sat_file(tmp_path / "a.safetensors", rank=8)
    sat_file(tmp_path / "dora.safetensors", adapter_type="dora-rows")
    registry = AdapterRegistry({"a": LoraConfig("a", str(tmp_path / "a.safetensors"), "sao", "zap"),
                                "dora": LoraConfig("dora", str(tmp_path / "dora.safetensors"), "sao"),
                                "gone": LoraConfig("gone", str(tmp_path / "none.safetensors"), "sao")})
    assert registry.describe("sao") == [{"name": "a", "base": "sao", "trigger": "zap", "rank": 8,
                                         "size": (tmp_path / "a.safetensors").stat().st_size}]
    assert set(registry.problems()) == {"dora", "gone"} and "cannot be merged" in registry.problems()["dora"]
    assert registry.describe("other") == []
    (selected,) = registry.select("sao", "a:0.25")
    assert selected.adapter.name == "a" and selected.strength == 0.25
    with pytest.raises(DawgenError) as info:
        registry.select("other", "a")
    assert info.value.code == ErrorCode.BAD_REQUEST and "made for model 'sao'" in info.value.message
    with pytest.raises(DawgenError) as info:
        registry.select("sao", "gone")
    assert info.value.code == ErrorCode.MODEL_UNAVAILABLE


def test_a_peft_folder_is_read_from_adapter_config(tmp_path):
    from safetensors.numpy import save_file

    save_file({"base_model.model.q.lora_A.weight": np.zeros((16, 4), np.float32)}, str(tmp_path / "adapter_model.safetensors"))
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 16, "lora_alpha": 32}))
    adapter = read_adapter("p", tmp_path, "mg")
    assert (adapter.kind, adapter.rank, adapter.problem) == ("peft", 16, "")
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 16, "use_dora": True}))
    assert "use_dora" in read_adapter("p", tmp_path, "mg").problem


def test_trigger_words_go_in_front_once_and_only_for_adapters_that_are_on():
    def on(trigger: str, strength: float = 1.0) -> Applied:
        return Applied(Adapter(trigger, "m", Path("x"), trigger=trigger), strength)

    assert prompt_with_triggers("deep kick", [on("zap")]) == "zap, deep kick"
    assert prompt_with_triggers("a ZAP kick", [on("zap")]) == "a ZAP kick"  # already there (any case)
    assert prompt_with_triggers("zapper kick", [on("zap")]) == "zap, zapper kick"  # a whole word only
    assert prompt_with_triggers("kick", [on("zap", 0.0), on("pow")]) == "pow, kick"
    assert prompt_with_triggers("", [on("zap")]) == "zap"
