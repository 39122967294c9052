"""`train kind=midi-drums|midi-melody`: the midi backend's DrumLM and MelodyLM on a folder of MIDI
files, through the engine (thread isolation): checkpoints the midi backend loads as `model=NAME`,
loss that falls, cancel and resume (ending with the weights of a run never stopped), and folders
with nothing to learn from refused with the reasons."""
from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
mido = pytest.importorskip("mido")

from server.config import load  # noqa: E402
from server.errors import DawgenError, ErrorCode  # noqa: E402
from server.jobs import EventKind, JobState, Request  # noqa: E402
from tests.server.training.engine_run import TrainingEngine  # noqa: E402
from tests.server.training.midi_files import empty_file, losses_on_a_fixed_batch, song_folder  # noqa: E402
from tests.waiting import wait_until  # noqa: E402


class MidiRun(TrainingEngine):
    NAME = "my-beats"
    DEFAULTS = {"kind": "midi-drums", "steps": 6, "save_every": 3, "batch_size": 4, "demo_count": 1, "seed": 3}

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, song_folder(tmp / "my midi"))

    def generate(self, **params: object):
        job, _ = self.engine.submit(Request("midi/generate", {"bars": 2, "bpm": 120, "seed": 5, **params}))
        return self.final(job.id)


@pytest.fixture
def run(tmp_path):
    r = MidiRun(tmp_path)
    yield r
    r.close()


def notes_of(path: str) -> int:
    mf = mido.MidiFile(path)
    return sum(1 for track in mf.tracks for m in track if m.type == "note_on" and m.velocity > 0)


def csv_steps(folder: Path) -> list[int]:
    with open(folder / "loss.csv", newline="") as fh:
        return [int(row[0]) for row in list(csv.reader(fh))[1:]]


@pytest.mark.parametrize(("kind", "part", "rejected"), [("midi-drums", "drums", "no_drums"),
                                                          ("midi-melody", "melody", "no_melody")])
def test_a_run_writes_checkpoints_the_midi_backend_loads_by_name(run, kind, part, rejected):
    job = run.final(run.train(kind=kind, name=f"my-{part}"))
    assert job.state is JobState.DONE, job.error_message
    folder = run.config.models_dir / f"my-{part}"
    for name in ("step-3", "step-6", "dawgen-model.toml", "training.json", "dataset-report.json", "loss.png"):
        assert (folder / name).exists(), name
    assert csv_steps(folder) == [1, 2, 3, 4, 5, 6]
    index = json.loads((folder / "step-6" / "midi.json").read_text())
    assert set(index["models"]) == {part} and (folder / "step-6" / f"{part}.pt").is_file()
    toml = (folder / "dawgen-model.toml").read_text()
    assert 'backend = "midi"' in toml and 'path = "step-6"' in toml and 'training = "training.json"' in toml
    report = json.loads((folder / "dataset-report.json").read_text())
    assert report["files"] == {"found": 8, "used": 4, "rejected": 4}
    assert {r["reason"] for r in report["rejected"]} == {rejected}
    (dataset,) = run.of(job.id, EventKind.DATASET)
    assert dataset["rejected"] == 4 and "from 4 of 8 MIDI files" in dataset["summary"]
    assert [c["step"] for c in run.of(job.id, EventKind.CHECKPOINT)] == [3, 6]
    demos = [p for p in job.outputs if p.endswith(".mid")]
    assert sorted(Path(p).parent.name for p in demos) == ["step-0", "step-3", "step-6"]
    assert all(notes_of(p) > 0 for p in demos)

    made = run.generate(model=f"my-{part}", kind=part)
    earlier = run.generate(model=f"my-{part}@3", kind=part, dir="at3")
    other = run.generate(model=f"my-{part}", kind="melody" if part == "drums" else "drums", dir="other")
    assert all(j.state is JobState.DONE for j in (made, earlier, other)), [made.error_message, other.error_message]
    assert notes_of(made.outputs[0]) > 0 and notes_of(earlier.outputs[0]) > 0 and notes_of(other.outputs[0]) > 0
    provenance = json.loads(Path(made.outputs[0]).with_suffix(".json").read_text())["model"]
    assert provenance["training"]["kind"] == kind and provenance["training"]["base"]["name"] == "midi"
    assert provenance["training"]["base"]["sha256"]


def test_cancel_keeps_a_checkpoint_and_resume_ends_with_the_weights_of_an_unstopped_run(run):
    import torch

    first = run.train(steps=100000, save_every=3, demo_every=0)
    wait_until(lambda: run.of(first, EventKind.CHECKPOINT), 120, "the first checkpoint")
    run.engine.cancel(first)
    stopped = run.final(first)
    assert stopped.state is JobState.CANCELLED and "resume=true" in stopped.error_message
    saved = run.of(first, EventKind.CHECKPOINT)[-1]["step"]
    folder = run.config.models_dir / "my-beats"
    assert (folder / f"step-{saved}" / "trainer.pt").is_file()

    with pytest.raises(DawgenError) as refused:
        run.train(steps=saved + 4)
    assert refused.value.code is ErrorCode.BAD_REQUEST and "resume=true" in refused.value.message
    resumed = run.train(steps=saved + 4, save_every=100, demo_every=0, resume=True)
    assert run.final(resumed).state is JobState.DONE
    assert run.of(resumed, EventKind.TRAINING)[0]["step"] == saved + 1
    assert csv_steps(folder) == list(range(1, saved + 5))

    straight = run.train(name="straight", steps=saved + 4, save_every=100, demo_every=0)
    assert run.final(straight).state is JobState.DONE

    def weights(name: str) -> dict:
        path = run.config.models_dir / name / f"step-{saved + 4}" / "trainer.pt"
        return torch.load(path, weights_only=True)["trainable"]

    a, b = weights("my-beats"), weights("straight")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_folder_with_nothing_to_learn_from_fails_naming_each_file(run, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "notes.mid").write_bytes(b"not a midi file at all")
    empty_file(bad / "empty.mid")
    (bad / "readme.txt").write_text("no midi here")
    job = run.final(run.train(data=str(bad), name="nothing"))
    assert job.state is JobState.FAILED and job.error_code == ErrorCode.BAD_REQUEST
    assert "notes.mid: unreadable" in job.error_message and "empty.mid: no_notes" in job.error_message
    report = json.loads((run.config.models_dir / "nothing" / "dataset-report.json").read_text())
    assert sorted(r["file"] for r in report["rejected"]) == ["empty.mid", "notes.mid"]
    assert not list((run.config.models_dir / "nothing").glob("step-*"))


@pytest.mark.parametrize(("params", "words"), [
    ({"seconds": 2.0}, "seconds: not a parameter of midi-drums"),
    ({"lora_rank": 8, "trigger": "x"}, "trigger, lora_rank: not a parameter"),
    ({"base": "synth"}, "'synth' is not a midi model"),
    ({"base": "nope"}, "no model named 'nope'"),
])
def test_requests_that_cannot_train_midi_are_refused_at_submit(run, params, words):
    with pytest.raises(DawgenError) as refused:
        run.train(**params)
    assert refused.value.code in (ErrorCode.BAD_REQUEST, ErrorCode.UNKNOWN_MODEL)
    assert words in refused.value.message
    assert not run.engine.queue()


# -- the trainee on its own: the loss falls on a fixed batch ---------------------------------------------
@pytest.mark.parametrize(("kind", "base"), [("midi-drums", "midi"), ("midi-melody", "midi"),
                                            ("midi-drums", "none"), ("midi-melody", "none")])
def test_the_loss_falls_on_a_fixed_batch(tmp_path, kind, base):
    from server.backends.midi.store import SHIPPED
    from server.training.families import Source
    from server.training.midi import PARTS, dataset, trainee
    from server.training.settings import Settings

    data = dataset.prepare(str(song_folder(tmp_path / "data", 2)), kind)
    batch = data.sample_batch(np.random.default_rng(0), 8)
    settings = Settings(kind=kind, steps=15, batch_size=8, learning_rate=3e-3, seed=1, save_every=100)
    source = Source("" if base == "none" else str(SHIPPED), base, {"part": PARTS[kind]})
    model = trainee.load(settings, source)

    before, after = losses_on_a_fixed_batch(model, batch, tmp_path / "run")
    assert after < 0.8 * before


def test_the_family_module_is_torch_free():
    import subprocess
    import sys

    code = ("import sys; from server.training.families import family_for; f = family_for('midi-drums'); "
            "print(f.name, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["midi", "False"]


def test_a_job_run_again_after_a_crash_continues_from_its_last_checkpoint(tmp_path):
    """The same job id run again (what the journal does after a crash) resumes without resume=true."""
    from server.backends.base import RunContext
    from server.errors import JobCancelled
    from server.registry import Registry

    config = load(None, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state")})
    backend = Registry(config).backend("train")
    params = {"kind": "midi-melody", "data": str(song_folder(tmp_path / "data", 2)), "name": "tunes", "steps": 6,
              "save_every": 3, "batch_size": 2, "seed": 4, "demo_every": 0}
    crash = threading.Event()
    steps: list[int] = []

    def on_report(kind: str, data: dict) -> None:
        if kind == "training":
            steps.append(int(data["step"]))
        if kind == "checkpoint":
            crash.set()  # the "crash": the job ends at the next step boundary, as a kill would leave it

    with pytest.raises(JobCancelled):
        backend.run("train", RunContext(params, cancel=crash, job_id="job-1", on_report=on_report))
    steps.clear()
    backend.run("train", RunContext(params, job_id="job-1", on_report=on_report))
    assert steps[0] == 4 and steps[-1] == 6
    assert csv_steps(config.models_dir / "tunes") == [1, 2, 3, 4, 5, 6]
