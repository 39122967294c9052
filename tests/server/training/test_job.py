"""The `train` verb through the engine (thread isolation: the daemon's own code paths, one process):
a run lands a model usable by name, reports steps and checkpoints, stops on cancel and resumes
where it stopped, lets a generate request run while it trains, and refuses what cannot work."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.config import ModelConfig
from server.errors import DawgenError, ErrorCode
from server.jobs import EventKind, JobState, Request
from tests.server.training.engine_run import TrainingEngine
from tests.server.training.tiny_runs import DD_SECONDS, kicks
from tests.waiting import wait_until


def kick_folder(folder: Path, n: int = 16, rate: int = 44100) -> Path:
    """n synthetic kicks, each with a little leading silence (the dataset trims it)."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, kick in enumerate(kicks(n, 0.4, rate)):
        audio = np.concatenate([np.zeros((int(0.05 * rate), 2), np.float32), kick.T])
        sf.write(str(folder / f"kick {i:02d}.wav"), audio, rate)
    return folder


class Run(TrainingEngine):
    """An engine with the tiny Dance Diffusion model configured as `dd`, and the events it sent."""

    NAME = "my-kicks"
    DEFAULTS = {"kind": "dance-diffusion", "base": "dd", "steps": 12, "save_every": 6, "batch_size": 2,
                "seconds": DD_SECONDS, "learning_rate": 5e-4, "demo_count": 1, "seed": 3}

    def __init__(self, tmp: Path, tiny: dict[str, Path], sao: bool = False, **server: object) -> None:
        models = {"dd": ModelConfig(name="dd", backend="stable-audio", options={"path": str(tiny["dance"])})}
        if sao:  # the tiny SAO 1.0-shaped model with its tiny T5
            models["sao"] = ModelConfig(name="sao", backend="stable-audio", options={
                "path": str(tiny["sao"]), "t5_path": str(tiny["t5"])})
        super().__init__(tmp, kick_folder(tmp / "kicks"), models, **server)


@pytest.fixture
def run(tmp_path, tiny):
    r = Run(tmp_path, tiny)
    yield r
    r.close()


def test_a_finished_run_is_a_model_usable_by_name_with_demos_reports_and_a_loss_plot(run):
    (run.data / "dataset.toml").write_text('owner = "Ada"\nlicence = "CC-BY-4.0"\nsource = "my own kicks"\n')
    job_id = run.train()
    job = run.final(job_id)
    assert job.state is JobState.DONE, job.error_message
    folder = run.config.models_dir / "my-kicks"
    assert job.outputs[0] == str(folder) and str(folder / "loss.png") in job.outputs
    demos = [p for p in job.outputs if p.endswith(".wav")]
    # the base model's render as step 0, then one per checkpoint (demo_every = save_every)
    assert sorted(Path(p).parent.name for p in demos) == ["step-0", "step-12", "step-6"]
    assert all(Path(p).is_relative_to(run.config.output_root / "dawgen" / "training" / "my-kicks") for p in demos)
    for name in ("step-6", "step-12", "dawgen-model.toml", "dataset-report.json", "loss.csv"):
        assert (folder / name).exists(), name
    with open(folder / "loss.csv", newline="") as fh:
        steps = [int(row[0]) for row in list(csv.reader(fh))[1:]]
    assert steps == list(range(1, 13))  # every step once
    assert [c["step"] for c in run.of(job_id, EventKind.CHECKPOINT)] == [6, 12]
    assert run.of(job_id, EventKind.CHECKPOINT)[-1]["model_path"] == str(folder / "step-12")
    (dataset,) = run.of(job_id, EventKind.DATASET)
    assert dataset["clips"] == 16 and dataset["rejected"] == 0 and "16 clips" in dataset["summary"]
    reports = run.of(job_id, EventKind.TRAINING)
    assert reports[-1]["step"] == 12 and reports[-1]["steps"] == 12 and np.isfinite(reports[-1]["loss"])

    # usable at once by name (no config edit, no restart), and an earlier checkpoint by name@step
    seconds = {"seconds": 0.5, "seed": 9, "bit_depth": "32f"}
    trained, _ = run.engine.submit(Request("generate", {"model": "my-kicks", **seconds}))
    earlier, _ = run.engine.submit(Request("generate", {"model": "my-kicks@6", **seconds, "dir": "at6"}))
    base, _ = run.engine.submit(Request("generate", {"model": "dd", **seconds, "dir": "base"}))
    files = [run.final(j.id) for j in (trained, earlier, base)]
    assert all(f.state is JobState.DONE for f in files), [f.error_message for f in files]
    audio = [sf.read(f.outputs[0])[0] for f in files]
    # what made the model travels into the provenance of every file it makes
    made = json.loads(Path(files[0].outputs[0]).with_suffix(".json").read_text())["model"]["training"]
    assert made["kind"] == "dance-diffusion" and made["base"]["name"] == "dd"
    assert made["dataset"]["metadata"] == {"owner": "Ada", "licence": "CC-BY-4.0", "source": "my own kicks"}
    assert all(a.shape == audio[0].shape for a in audio)
    assert np.abs(audio[0] - audio[2]).max() > 1e-3 and np.abs(audio[1] - audio[2]).max() > 1e-3


def test_cancel_keeps_the_last_checkpoint_and_resume_continues_from_its_step(run):
    first = run.train(steps=400, save_every=4, demo_every=0)
    wait_until(lambda: run.of(first, EventKind.CHECKPOINT), 240, "the first checkpoint")
    run.engine.cancel(first)
    stopped = run.final(first)
    assert stopped.state is JobState.CANCELLED and "resume=true" in stopped.error_message
    saved = run.of(first, EventKind.CHECKPOINT)[-1]["step"]  # a stop saves where it stopped
    assert saved >= 4 and (run.config.models_dir / "my-kicks" / f"step-{saved}").is_dir()

    with pytest.raises(DawgenError) as refused:  # the name is taken by a stopped run
        run.train(steps=400)
    assert refused.value.code is ErrorCode.BAD_REQUEST and "resume=true" in refused.value.message

    second = run.train(steps=saved + 3, save_every=4, demo_every=0, resume=True)
    assert run.final(second).state is JobState.DONE
    assert run.of(second, EventKind.TRAINING)[0]["step"] == saved + 1  # nothing trained twice or skipped
    with open(run.config.models_dir / "my-kicks" / "loss.csv", newline="") as fh:
        steps = [int(row[0]) for row in list(csv.reader(fh))[1:]]
    assert steps == list(range(1, saved + 4))


def test_a_generate_request_runs_while_training_pauses_at_a_step_boundary(run):
    training = run.train(steps=100000, save_every=100000, demo_every=0)
    wait_until(lambda: run.of(training, EventKind.TRAINING), 240, "training to start")
    live, _ = run.engine.submit(Request("generate", {"model": "synth", "prompt": "kick", "seed": 1}))
    done = run.final(live.id, timeout=120)
    assert done.state is JobState.DONE
    # the generate finished while the training job was still running: it did not wait for the end
    assert run.engine.status(training)[0].state is JobState.RUNNING
    before = max(r["step"] for r in run.of(training, EventKind.TRAINING))
    wait_until(lambda: max(r["step"] for r in run.of(training, EventKind.TRAINING)) > before, 120,
               "training to carry on")
    run.engine.cancel(training)
    assert run.final(training).state is JobState.CANCELLED


def test_a_folder_with_no_usable_audio_fails_naming_each_file(run, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    sf.write(str(bad / "silence.wav"), np.zeros((44100, 2), np.float32), 44100)
    (bad / "broken.wav").write_bytes(b"not audio at all")
    job = run.final(run.train(data=str(bad), name="nothing"))
    assert job.state is JobState.FAILED and job.error_code == ErrorCode.BAD_REQUEST
    assert "silence.wav: silent" in job.error_message and "broken.wav: unreadable" in job.error_message
    assert (run.config.models_dir / "nothing" / "dataset-report.json").is_file()


def test_a_run_too_large_for_the_memory_budget_is_refused_before_the_first_step(tmp_path, tiny):
    r = Run(tmp_path, tiny, memory_budget={"cpu": "0.0005GB"})
    try:
        job = r.final(r.train(batch_size=64, seconds=1.0))
        assert job.state is JobState.FAILED and job.error_code == ErrorCode.OUT_OF_MEMORY
        assert "batch_size" in job.error_message
        assert not list((r.config.models_dir / "my-kicks").glob("step-*"))
    finally:
        r.close()


@pytest.mark.parametrize(("params", "words"), [
    ({"name": ""}, "name"),
    ({"name": "synth"}, "already a configured or built-in model"),
    ({"data": "relative/folder"}, "data"),
    ({"kind": "stable-audio-lora", "base": None}, "base"),
    ({"base": None}, "config="),
    ({"base": "nope"}, "no model named 'nope'"),
    ({"resume": True}, "no stopped run"),
])
def test_requests_that_cannot_train_are_refused_at_submit(run, params, words):
    with pytest.raises(DawgenError) as refused:
        run.train(**params)
    assert words in refused.value.message
    assert not run.engine.queue()


def test_the_train_verb_is_listed_with_its_params(run):
    (entry,) = [m for m in run.engine.models() if m["name"] == "train"]
    names = {p["name"] for p in entry["verbs"]["train"]}
    assert {"kind", "data", "name", "base", "steps", "save_every", "lora_rank", "resume", "overwrite", "trigger",
            "chop", "demo_prompts", "format", "bit_depth"} <= names
    assert "bars" not in names and "count" not in names


def test_a_stable_audio_lora_is_a_small_adapter_that_follows_prompts_and_leaves_the_base_alone(tmp_path, tiny):
    r = Run(tmp_path, tiny, sao=True)
    try:
        probe = {"model": "sao", "prompt": "deep kick", "seconds": 0.75, "seed": 4, "bit_depth": "32f", "steps": 4}
        before = r.final(r.engine.submit(Request("generate", {**probe, "dir": "before"}))[0].id)
        job = r.final(r.train("my-jams", kind="stable-audio-lora", base="sao", seconds=0.75, lora_rank=4,
                              steps=6, save_every=6, learning_rate=5e-3, trigger="myjam", demo_every=0))
        assert job.state is JobState.DONE, job.error_message
        adapter = r.config.models_dir / "my-jams" / "step-6" / "lora.safetensors"
        assert adapter.stat().st_size < 0.2 * (tiny["sao"] / "model.safetensors").stat().st_size

        after = r.final(r.engine.submit(Request("generate", {**probe, "dir": "after"}))[0].id)
        tuned = {p: r.final(r.engine.submit(Request("generate", {**probe, "model": "my-jams", "prompt": p,
                                                                  "dir": p.replace(" ", "-")}))[0].id)
                 for p in ("myjam, deep kick", "myjam, bright hat")}
        read = {k: sf.read(j.outputs[0])[0] for k, j in {"before": before, "after": after, **tuned}.items()}
        assert np.array_equal(read["before"], read["after"])  # the base model's own outputs are unchanged
        assert np.abs(read["myjam, deep kick"] - read["before"]).max() > 1e-4  # the adapter changes the sound
        assert np.abs(read["myjam, deep kick"] - read["myjam, bright hat"]).max() > 1e-4  # prompts still matter
    finally:
        r.close()
