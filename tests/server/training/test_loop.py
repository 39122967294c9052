"""The step loop on tiny models: the loss falls, checkpoints load through the stable-audio backend,
a stop saves and a resume continues exactly, yields happen at step boundaries."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tomllib

from server.errors import DawgenError
from tests.server.training.tiny_runs import fixed_batches, fixed_loss, kicks, load, settings_for

GEN = {"seconds": 0.256, "steps": 4, "seed": 7}


def generate(model_entry: dict, params: dict = GEN) -> np.ndarray:
    """Audio from a [models.NAME] entry loaded the way the daemon loads it (config -> Registry)."""
    from server.backends.base import RunContext
    from server.config import parse
    from server.params import validate
    from server.registry import Registry

    registry = Registry(parse({"models": {"m": {**model_entry, "device": "cpu"}}}))
    backend = registry.backend("m")
    return backend.run("generate", RunContext(validate(backend.verbs["generate"], dict(params), "generate")))[0].samples


def entry_from_toml(run_folder: Path) -> dict:
    """The dawgen-model.toml entry with its relative paths made absolute (they are relative to the run)."""
    data = tomllib.loads((run_folder / "dawgen-model.toml").read_text())
    (name, entry), = data["models"].items()
    assert name == run_folder.name
    return {k: str(run_folder / v) if k == "path" and not Path(v).is_absolute() else v for k, v in entry.items()}


def test_dance_diffusion_fine_tune_lowers_the_loss_and_loads_through_the_backend(tiny, tmp_path):
    from server.training import loop

    trainee = load(tiny, settings_for("dance-diffusion", steps=20, save_every=10))
    batch, prompts = kicks(2, 0.256, 16000), ["kick", "kick"]
    before = fixed_loss(trainee, batch, prompts)
    run = loop.open_run(trainee, tmp_path / "kicks")
    steps_seen: list[int] = []
    result = loop.train(run, lambda i: (batch, prompts), on_step=lambda s, v: steps_seen.append(s))
    after = fixed_loss(trainee, batch, prompts)
    assert steps_seen == list(range(1, 21)) and result.step == 20 and not result.stopped
    assert after < before * 0.9, (before, after)

    folder = tmp_path / "kicks"
    assert result.checkpoint == folder / "step-20"
    assert sorted(p.name for p in result.checkpoint.iterdir()) == ["model.safetensors", "model_config.json", "trainer.pt"]
    assert not (folder / "step-10" / "trainer.pt").exists() and (folder / "step-10" / "model.safetensors").is_file()
    assert (folder / "latest").read_text().strip() == "step-20"
    entry = entry_from_toml(folder)
    assert entry["backend"] == "stable-audio" and entry["path"] == str(folder / "step-20")
    tuned = generate(entry)
    base = generate({"backend": "stable-audio", "path": str(tiny["dance"])})
    assert tuned.shape == base.shape == (4096, 2)
    assert np.abs(tuned - base).max() > 1e-3


@pytest.mark.parametrize("kind", ["dance-diffusion", "stable-audio-lora"])
def test_stop_at_step_7_then_resume_ends_with_the_weights_of_a_run_never_stopped(tiny, tmp_path, kind):
    """Same seed and batches: 10 straight steps == 7 steps, stop, resume (a new process's view: a
    freshly loaded model), 3 steps. The straight run also renders demos, which must not disturb the
    training random state."""
    import torch

    from server.training import artifacts, loop

    straight = load(tiny, settings_for(kind, demo_every=4, demo_count=2))
    loop.train(loop.open_run(straight, tmp_path / "straight"), fixed_batches(straight))
    demos = sorted((tmp_path / "straight" / "demos" / "step-8").glob("*.wav"))
    assert [p.name for p in demos] == ["demo-0.wav", "demo-1.wav"]

    first = load(tiny, settings_for(kind))
    seen: list[int] = []
    stopped = loop.train(loop.open_run(first, tmp_path / "resumed"), fixed_batches(first),
                         on_step=lambda s, v: seen.append(s), should_stop=lambda: len(seen) >= 7)
    assert stopped.stopped and stopped.step == 7 and stopped.checkpoint == tmp_path / "resumed" / "step-7"
    saved_optimizer = artifacts.read_trainer_state(stopped.checkpoint)["optimizer"]

    second = load(tiny, settings_for(kind))
    run = loop.open_run(second, tmp_path / "resumed")
    assert run.step == 7
    restored = run.optimizer.state_dict()
    assert restored["state"].keys() == saved_optimizer["state"].keys()
    for index, state in saved_optimizer["state"].items():
        for key, value in state.items():
            assert torch.equal(restored["state"][index][key].cpu(), value), (index, key)
    more: list[int] = []
    result = loop.train(run, fixed_batches(second), on_step=lambda s, v: more.append(s))
    assert more == [8, 9, 10] and result.step == 10

    for a, b in ((straight.trainable_state(), second.trainable_state()),
                 (straight.export_state(), second.export_state())):
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-6, msg=key)
    assert [s for s, _ in artifacts.read_losses(tmp_path / "resumed")] == list(range(1, 11))
    straight_losses = [v for _, v in artifacts.read_losses(tmp_path / "straight")]
    resumed_losses = [v for _, v in artifacts.read_losses(tmp_path / "resumed")]
    np.testing.assert_allclose(resumed_losses, straight_losses, rtol=1e-4)


def test_a_stop_before_the_first_step_writes_nothing(tiny, tmp_path):
    from server.training import loop

    trainee = load(tiny, settings_for("stable-audio-lora", steps=3))
    result = loop.train(loop.open_run(trainee, tmp_path / "s"), fixed_batches(trainee), should_stop=lambda: True)
    assert (result.step, result.stopped, result.checkpoint) == (0, True, None)
    assert not (tmp_path / "s").exists()


def test_yield_happens_between_steps_and_training_goes_on(tiny, tmp_path):
    from server.training import loop

    trainee = load(tiny, settings_for("stable-audio-lora", steps=5))
    events: list[str] = []
    asked = iter([False, False, True, False, False, False, False])
    result = loop.train(loop.open_run(trainee, tmp_path / "y"), fixed_batches(trainee),
                        on_step=lambda s, v: events.append(f"step {s}"),
                        should_yield=lambda: next(asked, False), on_yield=lambda: events.append("yield"))
    assert events == ["step 1", "step 2", "yield", "step 3", "step 4", "step 5"] and result.step == 5


def test_a_run_with_checkpoints_is_not_restarted_by_accident(tiny, tmp_path):
    from server.training import loop

    trainee = load(tiny, settings_for("stable-audio-lora", steps=2, save_every=1))
    loop.train(loop.open_run(trainee, tmp_path / "r"), fixed_batches(trainee))
    again = load(tiny, settings_for("stable-audio-lora", steps=2, resume=False))
    with pytest.raises(DawgenError) as err:
        loop.open_run(again, tmp_path / "r")
    assert err.value.code == "bad_request" and "resume=true" in err.value.message
    other = load(tiny, settings_for("dance-diffusion-lora", steps=2))
    with pytest.raises(DawgenError) as err:  # another kind's trainer state
        loop.open_run(other, tmp_path / "r")
    assert err.value.code == "bad_request" and "stable-audio-lora" in err.value.message


def test_accumulate_takes_consecutive_micro_batches(tiny, tmp_path):
    from server.training import loop

    trainee = load(tiny, settings_for("stable-audio-lora", steps=3, accumulate=2))
    asked: list[int] = []
    batches = fixed_batches(trainee)

    def recording(index: int):
        asked.append(index)
        return batches(index)

    loop.train(loop.open_run(trainee, tmp_path / "a"), recording)
    assert asked == [0, 1, 2, 3, 4, 5]


def test_seeded_batches_gives_each_index_its_own_draw():
    from server.training.loop import seeded_batches

    def sample_batch(rng, batch_size):
        return rng.standard_normal((batch_size, 2, 8)).astype(np.float32), ["x"] * batch_size

    batches = seeded_batches(sample_batch, seed=3, batch_size=2)
    np.testing.assert_array_equal(batches(5)[0], batches(5)[0])
    assert not np.array_equal(batches(5)[0], batches(6)[0])
    assert not np.array_equal(batches(5)[0], seeded_batches(sample_batch, 4, 2)(5)[0])
