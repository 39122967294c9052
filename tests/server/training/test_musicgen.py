"""The musicgen kinds of `train` on tiny random-weight MusicGen / MusicGen-Melody models configured
as users configure them (`[models.NAME] backend = "musicgen"`, path = folder), trained through the
engine (thread isolation) or the loop: a LoRA that peft loads back, a full fine-tune the backend
loads by name, a melody model whose `melody` verb still works, resume == unstopped, and refusals."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.config import ModelConfig
from server.errors import DawgenError, ErrorCode
from server.jobs import EventKind, JobState
from server.training.families import Source
from server.training.settings import Settings
from tests.server.backends.musicgen_tiny import tiny_models
from tests.server.training.engine_run import TrainingEngine
from tests.waiting import wait_until

RATE = 32000
SECONDS = 0.5  # the training window (the tiny models' generation window is 1 s)
PROMPTS = {"warm bass": 55.0, "bright synth": 880.0, "dark pad": 110.0, "funky guitar": 330.0}


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    return tiny_models(tmp_path_factory.getbasetemp())


@pytest.fixture
def peft_installed() -> None:
    pytest.importorskip("peft", reason="peft is not installed (the musicgen extra installs it)")


def tone(freq: float, seconds: float = 1.5, rate: int = RATE) -> np.ndarray:
    """A pulsing tone with a fifth above: each prompt's file its own pitch."""
    t = np.arange(int(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * freq * t) + 0.2 * np.sin(2 * np.pi * 1.5 * freq * t)
    return (x * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))).astype(np.float32)


def sound_folder(folder: Path) -> Path:
    """One file per prompt, each with a sidecar prompt (`x.wav.txt`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (prompt, freq) in enumerate(PROMPTS.items()):
        sf.write(str(folder / f"take {i}.wav"), tone(freq), RATE)
        (folder / f"take {i}.wav.txt").write_text(prompt)
    return folder


def fixed_batch() -> tuple[np.ndarray, list[str]]:
    """The first SECONDS of two of the files: (batch, 1, frames) and their prompts."""
    chosen = ["warm bass", "bright synth"]
    audio = np.stack([tone(PROMPTS[p])[None, :int(SECONDS * RATE)] for p in chosen])
    return audio, chosen


def fixed_loss(trainee) -> float:
    """The loss on the fixed batch: eval mode, no guidance dropout, the random state left alone."""
    import torch

    from server.training.musicgen import objective

    audio, prompts = fixed_batch()
    with torch.random.fork_rng(), torch.no_grad():
        trainee.model.eval()
        value = float(objective.loss(trainee, audio, prompts, contextlib.nullcontext(), dropout=0.0))
    trainee.train_mode()
    return value


class Run(TrainingEngine):
    """An engine with the tiny MusicGen as `tiny` and the tiny MusicGen-Melody as `tiny-melody`."""

    NAME = "my-tunes"
    DEFAULTS = {"kind": "musicgen-lora", "base": "tiny", "steps": 6, "save_every": 3, "batch_size": 2,
                "seconds": SECONDS, "learning_rate": 5e-3, "lora_rank": 4, "demo_every": 0, "demo_count": 1, "seed": 3}

    def __init__(self, tmp: Path, models: dict[str, Path]) -> None:
        configured = {name: ModelConfig(name=name, backend="musicgen", options={"path": str(models[key])})
                      for name, key in (("tiny", "musicgen"), ("tiny-melody", "melody"))}
        super().__init__(tmp, sound_folder(tmp / "sounds"), configured)


@pytest.fixture
def run(tmp_path, models):
    r = Run(tmp_path, models)
    yield r
    r.close()


def test_a_lora_is_peft_s_adapter_that_lowers_the_loss_and_generates(run, models, peft_installed):
    import torch
    from peft import PeftModel
    from safetensors import safe_open

    from server.backends.musicgen.model import MusicgenModel
    from server.backends.musicgen.sampling import Sampling
    from server.training.musicgen import trainee

    job = run.final(run.train(demo_every=3))
    assert job.state is JobState.DONE, job.error_message
    folder = run.config.models_dir / "my-tunes"
    step = folder / "step-6"
    assert {"adapter_model.safetensors", "adapter_config.json", "adapter.json"} <= {p.name for p in step.iterdir()}
    with safe_open(str(step / "adapter_model.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert keys and all(k.startswith("base_model.model.decoder.model.decoder.layers.") for k in keys)
    assert any(".self_attn.q_proj.lora_A." in k for k in keys) and any(".fc2.lora_B." in k for k in keys)
    info = json.loads((step / "adapter.json").read_text())
    assert info["kind"] == "musicgen-lora" and info["step"] == 6 and info["base"] == "tiny" and info["rank"] == 4
    toml = (folder / "dawgen-model.toml").read_text()
    assert 'backend = "musicgen"' in toml and 'adapter = "step-6/adapter_model.safetensors"' in toml
    assert f'path = "{models["musicgen"]}"' in toml and 'training = "training.json"' in toml
    # demos of the base (step 0) and of each checkpoint, prompted with the dataset's prompts
    demos = sorted(p.relative_to(folder / "demos").as_posix() for p in (folder / "demos").rglob("*.wav"))
    assert demos == ["step-3/demo-0.wav", "step-6/demo-0.wav"]
    assert sf.info(str(folder / "demos" / "step-6" / "demo-0.wav")).samplerate == RATE

    settings = Settings(kind="musicgen")  # the base model as it is loaded for training, no adapter
    base = trainee.load(settings, Source(str(models["musicgen"]), "tiny"))
    tuned = trainee.load(settings, Source(str(models["musicgen"]), "tiny"))
    tuned.model = PeftModel.from_pretrained(tuned.model, str(step)).base_model.model  # peft's own loader
    assert fixed_loss(tuned) < fixed_loss(base) - 0.05

    def render(model) -> np.ndarray:
        runtime = MusicgenModel.around(model.model, model.tokenizer, model.files, "cpu")
        with torch.no_grad():
            model.model.eval()
            return runtime.decode(runtime.generate("warm bass", 1, 7, Sampling(), runtime.plan(0, 25)))[0]

    audio, before = render(tuned), render(base)
    assert audio.shape == before.shape == (25 * 640, 1) and np.isfinite(audio).all()
    assert np.abs(audio - before).max() > 1e-4

    # what a producer does next: the run by name, or the run as an adapter of its base (lora=): the same file
    files = {}
    for key, params in {"model": {"model": "my-tunes"}, "lora": {"model": "tiny", "lora": "my-tunes"},
                        "off": {"model": "tiny", "lora": "my-tunes:0"}, "base": {"model": "tiny"}}.items():
        out = run.submit("generate", prompt="warm bass", seconds=0.4, seed=2, bit_depth="32f", **params)
        assert out.state is JobState.DONE, (key, out.error_message)
        files[key] = sf.read(out.outputs[0])[0]
    np.testing.assert_array_equal(files["model"], files["lora"])
    np.testing.assert_array_equal(files["off"], files["base"])
    assert np.abs(files["lora"] - files["base"]).max() > 1e-4


def test_a_full_fine_tune_is_a_model_the_backend_generates_with_by_name(run):
    job = run.final(run.train("full-tunes", kind="musicgen", learning_rate=1e-3, steps=4, save_every=4))
    assert job.state is JobState.DONE, job.error_message
    step = run.config.models_dir / "full-tunes" / "step-4"
    assert {"config.json", "model.safetensors", "generation_config.json", "tokenizer.json"} <= \
        {p.name for p in step.iterdir()}
    out = run.submit("generate", model="full-tunes", prompt="warm bass", seconds=0.4, seed=2, bit_depth="32f")
    assert out.state is JobState.DONE, out.error_message
    audio, rate = sf.read(out.outputs[0])
    assert audio.shape[0] == int(0.4 * rate) and np.abs(audio).max() > 1e-3
    made = json.loads(Path(out.outputs[0]).with_suffix(".json").read_text())["model"]["training"]
    assert made["kind"] == "musicgen" and made["base"]["name"] == "tiny" and made["dataset"]["clips"] == 4


def test_a_melody_model_fine_tuned_in_full_still_follows_a_melody(run, tmp_path):
    job = run.final(run.train("melody-tunes", kind="musicgen", base="tiny-melody", learning_rate=1e-3, steps=3,
                              save_every=3))
    assert job.state is JobState.DONE, job.error_message
    sf.write(str(tmp_path / "a.wav"), tone(440.0, 1.0), RATE)
    sf.write(str(tmp_path / "c.wav"), tone(523.25, 1.0), RATE)
    outs = [run.submit("melody", model="melody-tunes", input=str(tmp_path / f"{n}.wav"), prompt="piano", seed=4,
                       bit_depth="32f", dir=n) for n in "ac"]
    assert all(o.state is JobState.DONE for o in outs), [o.error_message for o in outs]
    (a, rate), (c, _) = (sf.read(o.outputs[0]) for o in outs)
    assert a.shape[0] == c.shape[0] == rate  # as long as the melody
    assert np.abs(a - c).max() > 0.01  # the chroma conditioning still steers the output


def test_cancel_keeps_a_checkpoint_generation_runs_meanwhile_and_resume_continues(run):
    training = run.train("long", steps=100000, save_every=100000)
    wait_until(lambda: run.of(training, EventKind.TRAINING), 240, "training to start")
    live = run.submit("generate", model="tiny", prompt="bass", seconds=0.2, seed=1)
    assert live.state is JobState.DONE, live.error_message
    assert run.engine.status(training)[0].state is JobState.RUNNING  # served between two steps
    run.engine.cancel(training)
    assert run.final(training).state is JobState.CANCELLED
    saved = run.of(training, EventKind.CHECKPOINT)[-1]["step"]
    again = run.final(run.train("long", steps=saved + 2, resume=True))
    assert again.state is JobState.DONE, again.error_message
    assert run.of(again.id, EventKind.TRAINING)[0]["step"] == saved + 1


def test_stopped_and_resumed_ends_like_a_run_never_stopped(models, tmp_path, peft_installed):
    """6 straight steps (with demos, which must not disturb the random state) == 3, stop, a fresh
    load resumed for 3 more: the LoRA, the optimizer and the losses."""
    import torch

    from server.training import artifacts, loop
    from server.training.musicgen import trainee

    def fresh():
        settings = Settings(kind="musicgen-lora", steps=6, batch_size=2, lora_rank=4, save_every=3,
                            seconds=SECONDS, learning_rate=5e-3, seed=5, demo_count=1)
        return trainee.load(settings, Source(str(models["musicgen"]), "tiny"))

    def batches(index: int):
        audio, prompts = fixed_batch()
        return np.roll(audio, 640 * index, axis=2), prompts  # every index its own batch

    straight = fresh()
    straight.settings = Settings(**{**straight.settings.to_dict(), "demo_every": 2})
    loop.train(loop.open_run(straight, tmp_path / "straight", demo_prompts=["warm bass"]), batches)
    assert (tmp_path / "straight" / "demos" / "step-4" / "demo-0.wav").is_file()

    first, seen = fresh(), []
    stopped = loop.train(loop.open_run(first, tmp_path / "resumed"), batches,
                         on_step=lambda s, v: seen.append(s), should_stop=lambda: len(seen) >= 3)
    assert stopped.stopped and stopped.step == 3
    second = fresh()
    result = loop.train(loop.open_run(second, tmp_path / "resumed"), batches)
    assert result.step == 6
    a, b = straight.trainable_state(), second.trainable_state()
    assert a.keys() == b.keys() and any(".lora_B." in k for k in a)
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6, msg=key)
    losses = [[v for _, v in artifacts.read_losses(tmp_path / name)] for name in ("straight", "resumed")]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-4)


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"base": None}, ErrorCode.BAD_REQUEST, "kind musicgen-lora fine-tunes a configured musicgen model; name it with base="),
    ({"kind": "musicgen", "base": None}, ErrorCode.BAD_REQUEST, "base="),
    ({"base": "synth"}, ErrorCode.BAD_REQUEST, "'synth' is not a musicgen model"),
    ({"base": "nope"}, ErrorCode.UNKNOWN_MODEL, "no model named 'nope'"),
])
def test_requests_that_cannot_train_are_refused_at_submit(run, params, code, words):
    with pytest.raises(DawgenError) as refused:
        run.train(**params)
    assert refused.value.code is code and words in refused.value.message
    assert not run.engine.queue()


def test_without_peft_the_lora_kind_names_the_extra_and_the_full_kind_is_accepted(run, monkeypatch):
    from server.training.job import TrainBackend

    real = TrainBackend._installed
    monkeypatch.setattr(TrainBackend, "_installed", lambda self, module: module != "peft" and real(self, module))
    with pytest.raises(DawgenError) as refused:
        run.train()
    assert refused.value.code is ErrorCode.MODEL_UNAVAILABLE
    assert "peft" in refused.value.message and "dawgen[musicgen]" in refused.value.message
    job_id = run.train("full-ok", kind="musicgen", steps=1, save_every=1)
    assert run.final(job_id).state is JobState.DONE


def test_the_training_window_defaults_to_the_model_s_generation_window(models):
    from server.backends.musicgen.files import check_folder
    from server.training.musicgen import Codec

    codec = Codec.of(check_folder(str(models["musicgen"])))
    assert (codec.rate, codec.hop, codec.channels, codec.window_frames) == (RATE, 640, 1, 50)
    assert codec.window_samples(None) == 50 * 640  # min(30 s, the 1 s window)
    assert codec.window_samples(0.5) == 25 * 640 and codec.window_samples(9.0) == 50 * 640


def test_the_delay_pattern_is_the_one_generation_builds(models):
    """Labels == transformers' build_delay_pattern_mask of [start, codes], mono and stereo."""
    import torch

    from server.training.musicgen import objective, trainee

    t = trainee.load(Settings(kind="musicgen"), Source(str(models["musicgen"]), "tiny"))
    codes = torch.randint(0, 64, (2, 4, 9))
    labels = objective.delayed(codes, 64, 1)
    start = torch.full((2, 4, 1), 64)
    _, pattern = t.model.decoder.build_delay_pattern_mask(torch.cat([start, codes], -1).reshape(8, -1), 64,
                                                          max_length=9 + 1 + 3)
    assert torch.equal(labels, pattern.reshape(2, 4, -1)[..., 1:].transpose(1, 2))
    stereo = objective.delayed(torch.arange(8 * 3).reshape(1, 8, 3), -1, 2)[0].T  # (K, T + 3)
    assert stereo[0].tolist() == [0, 1, 2, -1, -1, -1] and stereo[1].tolist() == [3, 4, 5, -1, -1, -1]
    assert stereo[7].tolist() == [-1, -1, -1, 21, 22, 23]


def test_guidance_dropout_empties_a_row_as_generation_s_unconditional_half(models):
    """A dropped row: T5 mask zero (its states are zeroed by it) and a melody model's null chroma;
    a kept row: the prompt's tokens and the clip's own chroma, as the `melody` verb computes it."""
    import torch

    from server.backends.musicgen.audio import chroma
    from server.training.musicgen import objective, trainee

    t = trainee.load(Settings(kind="musicgen"), Source(str(models["melody"]), "tiny-melody"))
    audio, prompts = fixed_batch()
    kept = objective.conditioning(t, prompts, audio, dropout=0.0)
    dropped = objective.conditioning(t, prompts, audio, dropout=1.0)
    assert kept["attention_mask"].sum() > 0 and dropped["attention_mask"].sum() == 0
    assert torch.equal(kept["input_features"][1], chroma(audio[1].T, RATE, t.files.preprocessor))
    null = dropped["input_features"]
    assert null[..., 0].eq(1).all() and null[..., 1:].eq(0).all()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        rows = torch.cat([objective.conditioning(t, ["a"] * 50, np.repeat(audio[:1], 50, 0), 0.1)["attention_mask"]
                          for _ in range(2)])
    assert 0.03 < float((rows.sum(dim=1) == 0).float().mean()) < 0.2  # about 10 % of the rows
