"""The run folder: loss files, the model entry, half-written checkpoints, trainer.pt safety."""
from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import tomllib

from server.errors import DawgenError
from server.training import artifacts, sa_checkpoint
from server.training.settings import Settings


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def png_pixels(data: bytes) -> np.ndarray:
    width, height = png_size(data)
    raw = zlib.decompress(data[data.index(b"IDAT") + 4:data.index(b"IEND") - 8])
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, 1 + 3 * width)
    return rows[:, 1:].reshape(height, width, 3)


def test_loss_csv_round_trips_and_the_plot_shows_the_smoothed_curve_falling(tmp_path):
    rng = np.random.default_rng(0)
    losses = [(s, float(1.0 / s ** 0.5 + 0.05 * rng.standard_normal())) for s in range(1, 301)]
    artifacts.write_losses(tmp_path, losses)
    back = artifacts.read_losses(tmp_path)
    assert [s for s, _ in back] == list(range(1, 301))
    np.testing.assert_allclose([v for _, v in back], [v for _, v in losses], rtol=1e-5)
    png = (tmp_path / "loss.png").read_bytes()
    assert png_size(png) == (artifacts.WIDTH, artifacts.HEIGHT)
    pixels = png_pixels(png)
    bright = np.all(pixels == artifacts._SMOOTH, axis=2)
    left, right = bright[:, :artifacts.WIDTH // 4], bright[:, -artifacts.WIDTH // 4:]
    # y grows downwards: a falling loss is drawn high on the left and low on the right
    assert np.nonzero(left)[0].mean() < np.nonzero(right)[0].mean()
    assert all(bright[:, x].any() for x in range(artifacts.MARGIN, artifacts.WIDTH - artifacts.MARGIN))


def test_smoothing_is_bias_corrected_and_a_plot_survives_odd_values(tmp_path):
    np.testing.assert_allclose(artifacts.smooth([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    for values in ([], [0.5], [1.0, float("nan"), 1.0], [3.0] * 10):
        assert png_size(artifacts.loss_png(values)) == (artifacts.WIDTH, artifacts.HEIGHT)
    (tmp_path / "loss.csv").write_text("step,loss\n1,0.5\nbroken line\n2,0.4\n")
    assert artifacts.read_losses(tmp_path) == [(1, 0.5), (2, 0.4)]


def test_half_written_checkpoints_are_never_taken_for_checkpoints(tmp_path):
    (tmp_path / "step-5").mkdir()
    (tmp_path / "step-5" / "trainer.pt").write_bytes(b"x")
    (tmp_path / ".step-10.tmp-123").mkdir()  # a crash while writing step 10
    (tmp_path / ".step-10.tmp-123" / "trainer.pt").write_bytes(b"x")
    (tmp_path / "step-7").mkdir()  # an older checkpoint whose trainer state was dropped
    assert [s for s, _ in artifacts.checkpoints(tmp_path)] == [5, 7]
    assert artifacts.newest_checkpoint(tmp_path) == (5, tmp_path / "step-5")
    assert artifacts.newest_checkpoint(tmp_path / "missing") is None
    assert artifacts.step_of(tmp_path / "step-12") == 12


def fake_trainee(lora: bool, t5: Path | None = None) -> SimpleNamespace:
    files = SimpleNamespace(t5_folder=t5, model_type="diffusion_cond", config={})
    base = SimpleNamespace(name="sao small", folder=Path("/models/sao-small"), weights=None, sha256="ab" * 32)
    trainee = SimpleNamespace(settings=Settings(kind="stable-audio-lora" if lora else "stable-audio"), files=files,
                              base=base, lora={"rank": 4} if lora else None)
    trainee.model_options = lambda checkpoint: sa_checkpoint.model_options(trainee, checkpoint)
    return trainee


def test_the_model_entry_is_valid_toml_for_any_run_name(tmp_path):
    full = tomllib.loads(artifacts.model_toml("my kicks", tmp_path / "step-250", fake_trainee(False, Path("/t5"))))
    assert full == {"models": {"my kicks": {"backend": "stable-audio", "path": "step-250", "t5_path": "/t5"}}}
    lora = tomllib.loads(artifacts.model_toml("kicks_2", tmp_path / "step-9", fake_trainee(True)))
    assert lora == {"models": {"kicks_2": {"backend": "stable-audio", "path": "/models/sao-small", "base": "sao small",
                                           "adapter": "step-9/lora.safetensors"}}}
    trained_with_a_word = fake_trainee(True)
    trained_with_a_word.trigger = "mykit"  # lora=kicks_2 on the base puts it in front of prompts again
    entry = tomllib.loads(artifacts.model_toml("kicks_2", tmp_path / "step-9", trained_with_a_word))
    assert entry["models"]["kicks_2"]["trigger"] == "mykit"


def test_a_trainer_state_that_would_run_code_is_refused(tmp_path):
    torch = pytest.importorskip("torch")

    class Payload:
        def __reduce__(self):
            return (Path.write_text, (tmp_path / "pwned", "yes"))

    (tmp_path / "step-3").mkdir()
    torch.save({"format": 1, "step": 3, "x": Payload()}, tmp_path / "step-3" / "trainer.pt")
    with pytest.raises(DawgenError) as err:
        artifacts.read_trainer_state(tmp_path / "step-3")
    assert err.value.code == "bad_request" and not (tmp_path / "pwned").exists()
    torch.save({"format": 99}, tmp_path / "step-3" / "trainer.pt")
    with pytest.raises(DawgenError, match="not a dawgen trainer state"):
        artifacts.read_trainer_state(tmp_path / "step-3")


def test_write_file_replaces_whole_files(tmp_path):
    artifacts.write_file(tmp_path / "latest", b"step-1\n")
    artifacts.write_file(tmp_path / "latest", b"step-2\n")
    assert (tmp_path / "latest").read_bytes() == b"step-2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest"]
