"""Training on CPU: a few steps lower the loss, and `dawgen train-midi --data FOLDER` writes a
weights folder the backend loads through `[models.NAME] path = FOLDER` (the models it lacks would
come from the shipped weights)."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
pytest.importorskip("mido")

from server.backends.base import RunContext  # noqa: E402
from server.backends.midi import MidiBackend  # noqa: E402
from server.backends.midi import data as D  # noqa: E402
from server.backends.midi import train as T  # noqa: E402
from server.backends.midi.models import DrumLM, MelodyLM  # noqa: E402
from server.backends.midi.smf import Clip, Note, write_clip  # noqa: E402
from server.backends.midi.store import read_index  # noqa: E402

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # faster for these tiny models, and steady on a busy machine
    yield
    torch.set_num_threads(before)


def _tunes(n: int = 24) -> list[D.Tune]:
    rng = np.random.default_rng(0)
    scale = [60, 62, 64, 65, 67, 69, 71, 72]
    return [D.Tune([(int(scale[int(i)]), int(d)) for i, d in zip(rng.integers(0, 8, 32), rng.choice([2, 4], 32))],
                   16, 0, False, f"t{k}") for k in range(n)]


def test_a_few_melody_steps_lower_the_loss():
    torch.manual_seed(0)
    model = MelodyLM(hidden=64, emb=32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    import random

    losses = []
    for step in range(12):
        for toks, pos, bars, mask in T.melody_batches(_tunes(), random.Random(step), 24):
            logits, _ = model(toks[:, :-1], pos[:, :-1], bars)
            loss = torch.nn.functional.cross_entropy(logits[mask], toks[:, 1:][mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] * 0.7


def test_a_few_drum_steps_lower_the_loss():
    torch.manual_seed(0)
    hits = np.zeros((64, 10), np.float32)
    hits[::4, 0] = hits[4::8, 1] = hits[::2, 3] = 1
    vel = hits * 0.8
    model = DrumLM(hidden=32, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(15):
        bce, mse = T.drum_loss(model, [T.drum_tensors(hits, vel, False), T.drum_tensors(hits, vel, True)])
        opt.zero_grad()
        (bce + mse).backward()
        opt.step()
        losses.append(float(bce.detach()))
    assert losses[-1] < losses[0] * 0.7


def test_trigram_baseline_prefers_seen_sequences():
    train = [[0, 1, 2, 3] * 10]
    assert T.trigram_nll(train, [[0, 1, 2, 3] * 3]) < T.trigram_nll(train, [[3, 2, 1, 0] * 3])


def _write_user_midi(folder: Path) -> None:
    folder.mkdir()
    rng = np.random.default_rng(1)
    for k in range(4):
        mel = [Note(i * 240, 240, int(60 + rng.choice([0, 2, 4, 5, 7, 9])), 90, 0) for i in range(48)]
        drums = [Note(s * 120, 60, p, 100, 9) for s in range(96) for p, m in ((36, 4), (38, 8), (42, 2))
                 if s % m == (4 if p == 38 else 0)]
        (folder / f"song{k}.mid").write_bytes(write_clip(Clip(mel + drums, 480, 120.0, 4, 4, 6 * 1920), "Song"))


def test_train_midi_on_a_users_folder_writes_weights_the_backend_loads(tmp_path):
    data, out = tmp_path / "my midi", tmp_path / "weights"
    _write_user_midi(data)
    proc = subprocess.run([sys.executable, "-m", "bridge", "train-midi", "all", "--data", str(data), "--out", str(out),
                           "--epochs", "1", "--seed", "3"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    index = read_index(out)
    assert set(index["models"]) == {"melody", "drums", "vae_melody", "vae_drums"}
    assert index["data"]["melody"]["source"].startswith("MIDI files under")
    assert all(m["train_seconds"] >= 0 and (out / m["file"]).is_file() for m in index["models"].values())
    backend = MidiBackend("mine", {"path": str(out)})
    backend.check_available()
    (res,) = backend.run("midi/generate", RunContext({"kind": "melody", "bars": 2, "bpm": 120, "seed": 1}))
    import mido

    assert mido.MidiFile(file=io.BytesIO(res.data)).length == pytest.approx(4.0, abs=1e-3)
    assert str(out) in backend.fingerprint()["path"]


def test_a_folder_without_weights_is_model_unavailable(tmp_path):
    from server.errors import DawgenError, ErrorCode

    with pytest.raises(DawgenError) as err:
        MidiBackend("x", {"path": str(tmp_path)}).check_available()
    assert err.value.code is ErrorCode.MODEL_UNAVAILABLE and "train-midi" in err.value.message
