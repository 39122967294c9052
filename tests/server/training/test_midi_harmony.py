"""`train kind=midi-chords|midi-bass|midi-piano|midi-improv`: the harmony models on a folder of a
producer's MIDI (chords inferred from the files), through the engine like midi-drums/midi-melody:
the loss falls on a fixed batch, and a run's checkpoint is a model `model=NAME` uses at once."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
mido = pytest.importorskip("mido")

from server.jobs import JobState  # noqa: E402
from tests.server.training.engine_run import TrainingEngine  # noqa: E402
from tests.server.training.midi_files import harmony_folder, losses_on_a_fixed_batch  # noqa: E402

KINDS = {"midi-chords": ("chords", "chords"), "midi-bass": ("bass", "bass"), "midi-piano": ("voicing", "piano"),
         "midi-improv": ("improv", "trio")}


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_loss_falls_on_a_fixed_batch_of_inferred_chords(tmp_path, kind):
    from server.training.families import Source
    from server.training.midi import PARTS, dataset, trainee
    from server.training.settings import Settings

    data = dataset.prepare(str(harmony_folder(tmp_path / "data")), kind)
    assert len(data.clips) == 3 and {r.reason for r in data.rejected} == {"no_harmony"} and len(data.rejected) == 2
    assert all(int(c) for p in data.songs for c in p.chords)  # a chord on every beat of the files
    batch = data.sample_batch(np.random.default_rng(0), 6)
    settings = Settings(kind=kind, steps=25, batch_size=6, learning_rate=1e-2, seed=1, save_every=100)
    model = trainee.load(settings, Source("", "none", {"part": PARTS[kind]}))

    before, after = losses_on_a_fixed_batch(model, batch, tmp_path / "run")
    assert after < 0.7 * before


class HarmonyRun(TrainingEngine):
    DEFAULTS = {"steps": 4, "save_every": 4, "batch_size": 4, "demo_count": 1, "seed": 3}


def test_a_chords_run_is_a_model_by_name_at_once(tmp_path):
    run = HarmonyRun(tmp_path, harmony_folder(tmp_path / "songs"))
    try:
        job = run.final(run.train(kind="midi-chords", name="my-chords"))
        assert job.state is JobState.DONE, job.error_message
        folder = run.config.models_dir / "my-chords"
        index = json.loads((folder / "step-4" / "midi.json").read_text())
        assert set(index["models"]) == {"chords"} and (folder / "step-4" / "chords.pt").is_file()
        report = json.loads((folder / "dataset-report.json").read_text())
        assert report["files"] == {"found": 5, "used": 3, "rejected": 2}
        made = run.submit("midi/generate", model="my-chords", kind="chords", bars=2, bpm=120, seed=1)
        bass = run.submit("midi/bassline", model="my-chords", chords="C G", seed=1)
        assert made.state is JobState.DONE and bass.state is JobState.DONE, (made.error_message, bass.error_message)
        mf = mido.MidiFile(made.outputs[0])
        assert [m.type for m in mf.tracks[0] if m.type == "marker"] and mf.length == pytest.approx(4.0, abs=1e-3)
        side = json.loads(open(made.outputs[0].replace(".mid", ".json")).read())
        assert side["model"]["training"]["kind"] == "midi-chords"
    finally:
        run.close()


def test_the_recipe_is_reproducible_and_writes_a_folder_the_backend_loads(tmp_path):
    """`dawgen train-midi harmony --data FOLDER`: the same seed gives the same weights, bit for bit,
    and the folder loads through `[models.NAME] path = FOLDER` (the other models from the shipped)."""
    from server.backends.base import RunContext
    from server.backends.midi import MidiBackend
    from server.backends.midi.harmony import train as HT

    data = harmony_folder(tmp_path / "songs")
    a = HT.run(tmp_path / "a", seed=4, data=str(data), steps_scale=0.004, log=lambda line: None)
    HT.run(tmp_path / "b", seed=4, data=str(data), steps_scale=0.004, log=lambda line: None)
    assert set(a["models"]) == {"chords", "bass", "improv", "voicing"}
    for kind in a["models"]:
        assert (tmp_path / "a" / f"{kind}.pt").read_bytes() == (tmp_path / "b" / f"{kind}.pt").read_bytes()
    assert a["data"]["harmony"]["source"].startswith("MIDI files under")
    backend = MidiBackend("mine", {"path": str(tmp_path / "a")})
    backend.check_available()
    (out,) = backend.run("midi/generate", RunContext({"kind": "piano", "bars": 2, "bpm": 120, "seed": 1}))
    assert mido.MidiFile(file=io.BytesIO(out.data)).length == pytest.approx(4.0, abs=1e-3)
    assert backend.fingerprint()["weights_sha256"]["voicing"] != MidiBackend("midi", {}).fingerprint()["weights_sha256"]["voicing"]
