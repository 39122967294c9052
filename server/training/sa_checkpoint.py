"""The checkpoint files of the stable-audio kinds, in the formats the stable-audio backend loads:

    model_config.json + model.safetensors    full fine-tunes (the EMA weights)
    lora.safetensors + lora.json             LoRA kinds (the library's adapter file; lora.json: rank,
                                             alpha, target modules, the base's name and sha256)
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FORMAT = 1


def write_files(trainee: Any, folder: Path, step: int) -> None:
    if trainee.lora is not None:
        _write_adapter(folder, step, trainee)
    else:
        _write_model(folder, trainee)


def _write_model(folder: Path, trainee: Any) -> None:
    from safetensors.torch import save_file

    (folder / "model_config.json").write_text(json.dumps(trainee.files.config, indent=2), encoding="utf-8")
    save_file(trainee.export_state(), str(folder / "model.safetensors"),
              metadata={"dawgen_kind": trainee.settings.kind, "base": trainee.base.name})


def _write_adapter(folder: Path, step: int, trainee: Any) -> None:
    from stable_audio_tools.models.lora import save_lora_safetensors

    lora = trainee.lora
    # the library's own adapter file (its lora_config in the header), loadable by load_and_apply_loras
    library_config = {"rank": lora["rank"], "alpha": lora["alpha"], "adapter_type": lora["adapter_type"],
                      "include": None, "exclude": None}
    save_lora_safetensors(trainee.export_state(), library_config, str(folder / "lora.safetensors"))
    base = trainee.base
    info = {"format": FORMAT, "kind": trainee.settings.kind, "step": int(step),
            "model_type": trainee.files.model_type, "rank": lora["rank"], "alpha": lora["alpha"],
            "adapter_type": lora["adapter_type"], "target_modules": lora["target_modules"],
            "base": base.name, "base_path": str(base.folder) if base.folder else None,
            "base_weights": base.weights.name if base.weights else None, "base_sha256": base.sha256}
    (folder / "lora.json").write_text(json.dumps(info, indent=2), encoding="utf-8")


def model_options(trainee: Any, checkpoint: Path) -> tuple[str, dict[str, Any]]:
    """The stable-audio [models.NAME] entry of a checkpoint: its weights, or its adapter on the base."""
    options: dict[str, Any] = {}
    if trainee.lora is not None:
        base = trainee.base
        options.update(path=str(base.folder), base=base.name, adapter=f"{checkpoint.name}/lora.safetensors")
        if getattr(trainee, "trigger", ""):  # the word every training prompt began with: lora= adds it again
            options["trigger"] = trainee.trigger
    else:
        options["path"] = checkpoint.name
    if trainee.files.t5_folder is not None:
        options["t5_path"] = str(trainee.files.t5_folder)
    return "stable-audio", options
