"""Loading a diffusers audio pipeline from a local folder, offline, and the fixes it needs here.

Imported only from the backend's `_load`/`_run` (it imports torch, diffusers and transformers).

- AudioLDM2: the published folders (cvssp/audioldm2, -music) name their language model `GPT2Model`
  in model_index.json; diffusers 0.42 loads it as that class and then fails at the first request
  (`'GPT2Model' object has no attribute '_update_model_kwargs_for_generation'`): the pipeline needs
  a `GPT2LMHeadModel`. It is loaded as one from the same subfolder (the base model's weights, the
  LM head tied to the embeddings) and handed to from_pretrained.
- MusicLDM (deprecated in diffusers, unchanged since 0.33) takes `ClapModel.get_text_features` as
  a tensor; transformers 5 returns an output object whose `pooler_output` is that tensor. The loaded
  text encoder's method is wrapped to return it (AudioLDM2's pipeline does the same in its code).
- With more than one waveform per prompt, the LDM pipelines re-rank the batch by CLAP score: row
  i would no longer be seed + i, so `dawgen regen` could not make a file again. Ranking is
  switched off on the loaded pipeline (score_waveforms returns the rows in order).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ...errors import DawgenError, ErrorCode
from .files import PipelineFiles

log = logging.getLogger("dawgen.diffusers")


@dataclass
class Loaded:
    pipe: Any
    files: PipelineFiles
    device: str
    dtype: Any

    @property
    def modules(self) -> list[Any]:
        import torch

        return [m for m in self.pipe.components.values() if isinstance(m, torch.nn.Module)]


def _language_model(files: PipelineFiles, dtype: Any) -> Any:
    from transformers import GPT2LMHeadModel

    return GPT2LMHeadModel.from_pretrained(str(files.folder / "language_model"), local_files_only=True,
                                           dtype=dtype)


def _keep_order(text: Any, audio: Any, *args: Any, **kwargs: Any) -> Any:
    return audio


def _tensor_text_features(encoder: Any) -> None:
    """ClapModel.get_text_features as transformers 4 returned it (a tensor), for MusicLDM."""
    original = encoder.get_text_features

    def features(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        return getattr(out, "pooler_output", out)

    object.__setattr__(encoder, "get_text_features", features)  # an instance attribute, not a submodule


def _refusal(exc: BaseException) -> DawgenError | None:
    """The DawgenError in `exc`'s chain of causes, if any."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, DawgenError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def load(files: PipelineFiles, device: str, dtype: Any, model_name: str) -> Loaded:
    import diffusers

    from ..hf_runtime import quiet

    quiet("diffusers", "transformers")
    extra: dict[str, Any] = {}
    if files.family.name == "audioldm2" and "language_model" in files.components:
        extra["language_model"] = _language_model(files, dtype)
    pipeline_class = getattr(diffusers, files.family.pipeline)
    try:
        pipe = pipeline_class.from_pretrained(str(files.folder), local_files_only=True, dtype=dtype, **extra)
    except DawgenError:
        raise
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RuntimeError) as exc:
        refused = _refusal(exc)
        if refused is not None:  # a pickle safe_load refused: diffusers wraps it in its own OSError
            raise refused from None
        raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"model {model_name!r}: diffusers could not load "
                                                       f"{files.folder} as a {files.family.pipeline} "
                                                       f"({type(exc).__name__}: {exc})") from None
    pipe.set_progress_bar_config(disable=True)
    if hasattr(pipe, "score_waveforms"):
        pipe.score_waveforms = _keep_order
    if files.family.name == "musicldm":
        _tensor_text_features(pipe.text_encoder)
    pipe.to(device)
    return Loaded(pipe, files, device, dtype)
