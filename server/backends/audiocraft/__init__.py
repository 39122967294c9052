"""`audiocraft`: Meta's audiocraft models in their own checkpoint format (AudioGen, MusicGen, MAGNeT).

`[models.NAME] backend = "audiocraft"`, `path = FOLDER`: a folder with `state_dict.bin` and
`compression_state_dict.bin` (what audiocraft's trainer exports and `MusicGen.get_pretrained`
reads, fine-tunes included) or a Hugging Face cache entry (`models--facebook--audiogen-medium`).
`family` (musicgen, audiogen, magnet, audio-magnet) is read from the checkpoint's xp.cfg unless
given. Verbs: AudioGen and MAGNeT `generate`; MusicGen `generate`, `continue`, and `melody` on melody
models, with the musicgen backend's parameters. `decoder = "mbd"` with `mbd_path` decodes the tokens
with MultiBand Diffusion instead of EnCodec (mbd.py). A melody model's chroma conditioner separates
the melody with demucs' htdemucs: `demucs_path` is a folder in demucs' layout holding htdemucs.yaml
and the file it names (as for backend = "demucs"), loaded weights-only, never downloaded. torch and audiocraft are imported in
`_load`/`_run` only (imports.py).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...errors import DawgenError, ErrorCode
from ...params import ParamSpec
from ..base import Backend, Output, RunContext
from ..musicgen import spec as musicgen_spec
from ..safe_load import CONFIG_KEYS, allow_pickle
from . import mbd, spec
from .files import COMPRESSION_FILE, LM_FILE, Checkpoint, check_folder
from .imports import NeedsAudiocraft

log = logging.getLogger("dawgen.audiocraft")
DECODERS = ("encodec", "mbd")


def verbs_for(checkpoint: Checkpoint | None) -> dict[str, Sequence[ParamSpec]]:
    if checkpoint is not None and checkpoint.magnet:
        return {"generate": spec.MAGNET_PARAMS}
    if checkpoint is not None and checkpoint.family == "audiogen":
        return {"generate": spec.GENERATE_PARAMS}
    verbs: dict[str, Sequence[ParamSpec]] = {"generate": spec.GENERATE_PARAMS, "continue": spec.CONTINUE_PARAMS}
    if checkpoint is None or checkpoint.melody:
        verbs["melody"] = spec.MELODY_PARAMS
    return verbs


class AudiocraftBackend(NeedsAudiocraft, Backend):
    name: ClassVar[str] = "audiocraft"
    version: ClassVar[str] = "1"
    verbs: Mapping[str, Sequence[ParamSpec]] = verbs_for(None)
    config_keys: ClassVar[Mapping[str, type]] = {"family": str, "decoder": str, "mbd_path": str, "demucs_path": str,
                                                    "threads": int,
                                                    **CONFIG_KEYS}

    def __init__(self, model_name: str, options: Mapping[str, Any] | None = None) -> None:
        super().__init__(model_name, options)
        self.device = str(self.options.get("device") or "auto")
        self._checkpoint: Checkpoint | None = None
        self._model: Any = None
        self._mbd: Any = None
        try:  # the verbs follow the family (read from xp.cfg without torch)
            self._checkpoint = check_folder(str(self.options.get("path", "")), str(self.options.get("family", "")))
        except DawgenError:
            pass  # _check_available reports it
        self.verbs = verbs_for(self._checkpoint) if self._checkpoint is not None else {"generate": spec.GENERATE_PARAMS}

    @property
    def model(self) -> Any:
        return self._model

    def _check_available(self) -> None:
        decoder = str(self.options.get("decoder", "encodec"))
        if decoder not in DECODERS:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}.decoder: {decoder!r} is not "
                                                           f"one of {', '.join(DECODERS)}")
        self._checkpoint = check_folder(str(self.options.get("path", "")), str(self.options.get("family", "")))
        if self._decoder == "mbd":
            mbd.find(self.model_name, str(self.options.get("mbd_path", "")))
        if self._checkpoint.melody:
            self._stem_repo()

    def _stem_repo(self) -> Any:
        """The htdemucs a melody model's chroma conditioner needs, from `demucs_path`."""
        from ..demucs.repo import find_model

        if not self._installed("demucs"):
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}: a melody model needs demucs "
                                                           "(pip install 'dawgen[demucs]') for its chroma conditioner")
        path = str(self.options.get("demucs_path", ""))
        if not path:
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"models.{self.model_name}: a melody model needs "
                                                           "`demucs_path`: a folder holding demucs' htdemucs.yaml "
                                                           "and the .th file it names (its chroma conditioner "
                                                           "separates the melody with htdemucs)")
        return find_model(path, "htdemucs")

    @property
    def _decoder(self) -> str:
        return str(self.options.get("decoder", "encodec"))

    def fingerprint(self) -> dict[str, Any]:
        from ...output.provenance import file_sha256
        from .imports import library_version

        out: dict[str, Any] = {"path": str(self.options.get("path", "")), "audiocraft": library_version(),
                               "decoder": self._decoder}
        if self._decoder == "mbd":
            out["mbd_sha256"] = file_sha256(str(mbd.find(self.model_name, str(self.options.get("mbd_path", "")))))
        if self._checkpoint is not None:
            out["family"] = self._checkpoint.family
            out["weights_sha256"] = file_sha256(str(self._checkpoint.folder / LM_FILE))
            out["compression_sha256"] = file_sha256(str(self._checkpoint.folder / COMPRESSION_FILE))
        return out

    def _check_params(self, verb: str, params: Mapping[str, Any]) -> None:
        if self._checkpoint is not None and self._checkpoint.magnet:
            if params.get("seconds") is not None or params.get("bars") is not None:
                spec.target_seconds(params)
            return
        musicgen_spec.check_request(verb, params)

    def estimate_seconds(self, verb: str, params: Mapping[str, Any]) -> float:
        return musicgen_spec.estimate_seconds(params)

    def _load(self) -> None:
        from ..torch_util import cpu_threads, offline, pick_device

        offline()
        from .imports import import_library

        import_library()
        import torch

        from . import model

        checkpoint = check_folder(str(self.options.get("path", "")), str(self.options.get("family", "")))
        device = pick_device(self.device)
        if device == "cpu":
            torch.set_num_threads(cpu_threads(self.options))
        stems = None
        if checkpoint.melody:
            from ..demucs import load_model

            stems = load_model(self._stem_repo(), self.model_name, allow_pickle(self.options)).to(device).eval()
        try:
            self._model = model.load(checkpoint, device, stems)
        except (RuntimeError, EOFError, KeyError, OSError) as exc:  # a file torch or audiocraft cannot read
            raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{checkpoint.folder} ({LM_FILE}, {COMPRESSION_FILE}): "
                                                           f"cannot be loaded: {exc}") from None
        if self._decoder == "mbd":
            file = mbd.find(self.model_name, str(self.options.get("mbd_path", "")))
            try:
                self._mbd = mbd.load(file, self._model.compression_model, device, allow_pickle(self.options),
                                     self.model_name)
            except (RuntimeError, EOFError, OSError) as exc:
                raise DawgenError(ErrorCode.MODEL_UNAVAILABLE, f"{file}: cannot be loaded: {exc}") from None
        self._checkpoint, self.device = checkpoint, device
        log.info("audiocraft %s (%s) loaded on %s", self.model_name, checkpoint.family, device)

    def _unload(self) -> None:
        self._model = self._mbd = None

    def _memory_estimate(self) -> int:
        from ..torch_util import files_bytes, module_bytes

        if self._model is not None:
            extra = mbd.module_bytes(self._mbd) if self._mbd is not None else 0
            return module_bytes(self._model.lm) + module_bytes(self._model.compression_model) + extra
        if self._checkpoint is None:
            return 0
        files = [self._checkpoint.folder / LM_FILE, self._checkpoint.folder / COMPRESSION_FILE]
        if self._decoder == "mbd":
            try:
                files.append(mbd.find(self.model_name, str(self.options.get("mbd_path", ""))))
            except DawgenError:
                pass
        return files_bytes(*files)

    def _run(self, verb: str, ctx: RunContext) -> list[Output]:
        from . import run

        assert self._checkpoint is not None
        return run.run(self._model, self._checkpoint, verb, ctx, self._mbd)
