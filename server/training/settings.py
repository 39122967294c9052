"""What a training run is asked to do: the kinds and the `train` params, declared once (torch-free).

Names are the issue's contract: kinds `dance-diffusion`, `dance-diffusion-lora`, `stable-audio`
(full fine-tune), `stable-audio-lora`; params `steps`, `batch_size`, `learning_rate`, `seconds`,
`save_every`, `demo_every`, `demo_count`, `lora_rank`, `lora_alpha`, `accumulate`, `precision`,
`seed`, `resume`. `Settings.from_params` turns validated params into the one object the trainer reads.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..params import ParamSpec, seed_param

KINDS = ("dance-diffusion", "dance-diffusion-lora", "stable-audio", "stable-audio-lora", "musicgen", "musicgen-lora",
         "midi-drums", "midi-melody", "midi-chords", "midi-bass", "midi-piano", "midi-improv")
# the trainer family of each kind (families.py): where its model, data and checkpoints are handled
FAMILY_OF_KIND = {"dance-diffusion": "stable-audio", "dance-diffusion-lora": "stable-audio",
                  "stable-audio": "stable-audio", "stable-audio-lora": "stable-audio",
                  "musicgen": "musicgen", "musicgen-lora": "musicgen",
                  "midi-drums": "midi", "midi-melody": "midi", "midi-chords": "midi", "midi-bass": "midi",
                  "midi-piano": "midi", "midi-improv": "midi"}
# auto: bf16 mixed precision on CUDA (fp16 + loss scaling where the card has no bf16), fp32 on CPU
# and MPS (the choice; bf16 can still be asked for there)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# the learning rates of stable-audio-tools' published fine-tune configs (full) and LoRA's usual one
FULL_LR, LORA_LR = 5e-5, 1e-4
# the midi kinds fine-tune small GRUs (the offline trainer starts them from scratch at 3e-3)
MIDI_LR = 1e-3
# MusicGen: musicgen-dreamboothing's LoRA rate; a full decoder fine-tune on a small folder moves
# the pretrained weights gently (audiocraft pretrains at 1e-4 on large batches)
MUSICGEN_FULL_LR, MUSICGEN_LORA_LR = 1e-5, 2e-4
# per family where it differs: (family, lora) -> learning rate
LEARNING_RATES = {("stable-audio", False): FULL_LR, ("stable-audio", True): LORA_LR, ("midi", False): MIDI_LR,
                  ("musicgen", False): MUSICGEN_FULL_LR, ("musicgen", True): MUSICGEN_LORA_LR}

TRAIN_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("kind", "str", "stable-audio-lora", choices=KINDS,
              doc="what to train: a Dance Diffusion, Stable Audio or MusicGen model, in full or as a LoRA "
                  "adapter, or one of the midi backend's models (drums, melody, and the harmony models: "
                  "chords, bass, piano voicing, improv)"),
    ParamSpec("steps", "int", 1000, min=1, max=1_000_000, doc="optimizer steps in all (a resumed run counts the steps done)"),
    ParamSpec("batch_size", "int", 4, min=1, max=256, doc="clips per micro-batch"),
    ParamSpec("learning_rate", "float", None, min=0.0, max=1.0,
              doc=f"AdamW learning rate; default per kind (stable-audio: {FULL_LR:g} full, {LORA_LR:g} LoRA; "
                  f"musicgen: {MUSICGEN_FULL_LR:g} full, {MUSICGEN_LORA_LR:g} LoRA; midi: {MIDI_LR:g})"),
    ParamSpec("seconds", "float", None, min=0.05, max=600.0,
              doc="clip length trained on; default: the model's window (musicgen: up to 30 s)"),
    ParamSpec("save_every", "int", 250, min=1, max=1_000_000, doc="steps between checkpoints (a stop saves one too)"),
    ParamSpec("demo_every", "int", 0, min=0, max=1_000_000, doc="steps between demo renders; 0 = none"),
    ParamSpec("demo_count", "int", 4, min=1, max=16, doc="demo files per render, fixed seeds"),
    ParamSpec("lora_rank", "int", 16, min=1, max=1024, doc="LoRA rank (the *-lora kinds)"),
    ParamSpec("lora_alpha", "float", None, min=0.0, max=4096.0, doc="LoRA alpha; default: the rank (scale 1)"),
    ParamSpec("accumulate", "int", 1, min=1, max=1024, doc="micro-batches per optimizer step (memory for batch size)"),
    ParamSpec("precision", "str", "auto", choices=PRECISIONS,
              doc="auto: bf16 mixed precision on CUDA, fp32 on CPU and MPS"),
    seed_param(doc="seeds the noise, timesteps and batches drawn; default: random; a resumed run keeps its own"),
    ParamSpec("resume", "bool", True,
              doc="continue from the run's newest checkpoint; false refuses a run name that has checkpoints"),
)


@dataclass(frozen=True)
class Settings:
    kind: str
    steps: int = 1000
    batch_size: int = 4
    learning_rate: float | None = None
    seconds: float | None = None
    save_every: int = 250
    demo_every: int = 0
    demo_count: int = 4
    lora_rank: int = 16
    lora_alpha: float | None = None
    accumulate: int = 1
    precision: str = "auto"
    seed: int = 0
    resume: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind: {self.kind!r} is not one of {', '.join(KINDS)}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: {self.precision!r} is not one of {', '.join(PRECISIONS)}")
        for name in ("steps", "batch_size", "save_every", "demo_count", "lora_rank", "accumulate"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name}: must be at least 1")

    @property
    def lora(self) -> bool:
        return self.kind.endswith("-lora")

    @property
    def family(self) -> str:
        """"dance-diffusion" or "stable-audio": the model type the kind trains."""
        return self.kind.removesuffix("-lora")

    @property
    def trainer(self) -> str:
        """The family that trains this kind: "stable-audio", "musicgen" or "midi"."""
        return FAMILY_OF_KIND[self.kind]

    @property
    def lr(self) -> float:
        if self.learning_rate is not None:
            return float(self.learning_rate)
        return LEARNING_RATES.get((self.trainer, self.lora), LORA_LR if self.lora else FULL_LR)

    @property
    def alpha(self) -> float:
        return float(self.lora_alpha) if self.lora_alpha is not None else float(self.lora_rank)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Settings:
        """From validated `train` params (missing ones take their defaults)."""
        known = {s.name for s in TRAIN_PARAMS}
        values = {s.name: s.default for s in TRAIN_PARAMS}
        values.update({k: v for k, v in params.items() if k in known and v is not None})
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# The `train` verb's own params beside the trainer's (server/training/job.py reads them).
NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
CHOPS = ("auto", "onsets", "bars", "window", "none")
JOB_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("name", "str", None, max_length=64,
              doc="the new model's name (letters, digits, . _ -); refused if a run of that name exists, unless "
                  "overwrite or resume"),
    ParamSpec("data", "str", None, max_length=4096, doc="a folder of your sounds, searched recursively (absolute path)"),
    ParamSpec("base", "str", None, max_length=64,
              doc="a configured model to start from: a stable-audio one for the stable-audio kinds, a musicgen one "
                  "for the musicgen kinds (required; for dance-diffusion, without base a fresh model is built from "
                  "`config`); a midi model for the midi kinds, default the built-in `midi`, `none` for fresh weights"),
    ParamSpec("config", "str", None, max_length=4096,
              doc="dance-diffusion without `base`: a model_config.json to build a fresh model from"),
    ParamSpec("overwrite", "bool", False, doc="start over: delete the run of the same name first"),
    ParamSpec("resume", "bool", False,
              doc="continue the stopped run `name` from its last checkpoint (optimizer state and step count too)"),
    ParamSpec("trigger", "str", "", max_length=64, doc="a word put in front of every prompt (stable-audio and musicgen kinds)"),
    ParamSpec("chop", "str", "auto", choices=CHOPS,
              doc="how files become examples: onsets (one-shots), bars (loops at the file's tempo), window "
                  "(random windows of long recordings), none; auto: onsets for dance-diffusion, else bars or window"),
    ParamSpec("demo_every", "int", None, min=0, max=1_000_000, doc="steps between demo renders; default save_every"),
    ParamSpec("demo_count", "int", 2, min=1, max=16, doc="demo files per render, fixed seeds"),
    ParamSpec("demo_prompts", "str", "", max_length=1024,
              doc="prompts for the demos, separated by | (stable-audio and musicgen kinds); default: the dataset's "
                  "first prompts"),
)
