"""The audiocraft backend on tiny random-weight AudioGen, MusicGen and MAGNeT models built from
audiocraft's own debug configs and saved in its checkpoint layout, loaded through a `[models.NAME]`
config as users write it (config.parse -> Registry)."""
from __future__ import annotations

import importlib.util
import pickle
import shutil
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.audiocraft import AudiocraftBackend
from server.backends.audiocraft.files import check_folder, read_config
from server.backends.base import RunContext
from server.errors import DawgenError, ErrorCode, JobCancelled
from server.params import validate
from tests.server.backends.audiocraft_tiny import MBD_FILE, build, build_mbd, config_folder, stem_repo

FAMILIES = ("musicgen", "audiogen", "magnet")


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
    if importlib.util.find_spec("audiocraft") is None or not config_folder().is_dir():
        pytest.skip("audiocraft is not installed (make install-audiocraft)")
    from server.backends.audiocraft.imports import import_library

    import_library()
    root = tmp_path_factory.mktemp("audiocraft-tiny")
    models = {family: build(root / family, family) for family in FAMILIES}
    models["mbd"] = build_mbd(root / "mbd", models["musicgen"])
    models["melody"] = build(root / "melody", "musicgen", melody=True)
    models["stems"] = stem_repo(root / "demucs")
    return models


@pytest.fixture(scope="module")
def registry(tiny):
    from server.config import parse
    from server.registry import Registry

    models = {f"tiny-{family}": {"backend": "audiocraft", "path": str(tiny[family]), "device": "cpu", "threads": 1}
              for family in FAMILIES}
    models["tiny-mbd"] = {**models["tiny-musicgen"], "decoder": "mbd", "mbd_path": str(tiny["mbd"])}
    models["tiny-melody"] = {**models["tiny-musicgen"], "path": str(tiny["melody"]), "demucs_path": str(tiny["stems"])}
    return Registry(parse({"models": models}))


def run(registry, family: str, verb: str = "generate", progress=None, cancel=None, **raw):
    backend = registry.backend(f"tiny-{family}")
    params = validate(backend.verbs[verb], raw, verb)
    params.setdefault("seed", 0)
    return backend.run(verb, RunContext(params, progress, cancel))


def short(family: str) -> dict:
    return {"decoding_steps": "3,2"} if family == "magnet" else {"seconds": 0.4}


# -- folders and files (no torch) ---------------------------------------------------------------
def test_a_missing_file_is_named(tmp_path):
    (tmp_path / "state_dict.bin").write_bytes(b"x")
    with pytest.raises(DawgenError, match="compression_state_dict.bin: missing"):
        check_folder(str(tmp_path))
    with pytest.raises(DawgenError, match="needs `path`"):
        check_folder("")


def test_a_broken_checkpoint_is_named(tmp_path):
    for name in ("state_dict.bin", "compression_state_dict.bin"):
        (tmp_path / name).write_bytes(b"not a zip")
    with pytest.raises(DawgenError) as err:
        check_folder(str(tmp_path))
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE.value and "state_dict.bin" in err.value.message


def test_without_audiocraft_the_model_is_unavailable_naming_the_install(tmp_path, monkeypatch):
    monkeypatch.setattr("server.backends.base.module_installed", lambda name: name != "audiocraft")
    backend = AudiocraftBackend("ac", {"path": str(tmp_path)})
    with pytest.raises(DawgenError, match="needs audiocraft .*make install-audiocraft"):
        backend.check_available()


def test_mbd_without_its_file_names_the_file(tiny, tmp_path):
    backend = AudiocraftBackend("ac", {"path": str(tiny["musicgen"]), "decoder": "mbd", "mbd_path": str(tmp_path)})
    with pytest.raises(DawgenError, match=f"{tmp_path / MBD_FILE}: missing") as err:
        backend.check_available()
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE.value
    with pytest.raises(DawgenError, match="needs `mbd_path`"):
        AudiocraftBackend("ac", {"path": str(tiny["musicgen"]), "decoder": "mbd"}).check_available()
    with pytest.raises(DawgenError, match="not one of encodec, mbd"):
        AudiocraftBackend("ac", {"path": str(tiny["musicgen"]), "decoder": "vocos"}).check_available()


# -- families, verbs, hub cache ------------------------------------------------------------------
def test_family_and_verbs_are_read_from_xp_cfg(registry):
    verbs = {f: set(registry.backend(f"tiny-{f}").verbs) for f in FAMILIES}
    assert verbs == {"musicgen": {"generate", "continue"}, "audiogen": {"generate"}, "magnet": {"generate"}}
    magnet = {p.name for p in registry.backend("tiny-magnet").verbs["generate"]}
    assert {"decoding_steps", "span_arrangement", "temperature"} <= magnet


def test_loads_from_a_hugging_face_cache_entry(tiny, tmp_path):
    repo = tmp_path / "models--facebook--audiogen-medium"
    shutil.copytree(tiny["audiogen"], repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    assert check_folder(str(repo)).folder == repo / "snapshots" / "abc123"
    backend = AudiocraftBackend("hub", {"path": str(repo), "device": "cpu"})
    backend.check_available()
    assert backend.fingerprint()["family"] == "audiogen"


def test_a_code_running_pickle_in_state_dict_is_refused(tiny, tmp_path):
    folder = tmp_path / "evil"
    shutil.copytree(tiny["audiogen"], folder)
    config = read_config(folder / "state_dict.bin")

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    import torch

    torch.save({"xp.cfg": config, "best_state": {"x": Boom()}}, folder / "state_dict.bin",
               pickle_module=pickle)
    backend = AudiocraftBackend("evil", {"path": str(folder), "device": "cpu"})
    backend.check_available()
    with pytest.raises(DawgenError) as err:
        backend.load()
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE.value and "state_dict.bin" in err.value.message


def test_a_truncated_state_dict_is_named(tiny, tmp_path):
    folder = tmp_path / "cut"
    shutil.copytree(tiny["musicgen"], folder)
    data = (folder / "compression_state_dict.bin").read_bytes()
    (folder / "compression_state_dict.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(DawgenError, match="compression_state_dict.bin"):
        backend = AudiocraftBackend("cut", {"path": str(folder), "device": "cpu"})
        backend.check_available()
        backend.load()
    assert zipfile.is_zipfile(tiny["musicgen"] / "compression_state_dict.bin")


# -- generation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_prompts_change_the_output_and_seeds_reproduce(registry, family):
    a = run(registry, family, prompt="door slam", seed=3, **short(family))[0]
    b = run(registry, family, prompt="door slam", seed=3, **short(family))[0]
    c = run(registry, family, prompt="rain on a tin roof", seed=3, **short(family))[0]
    d = run(registry, family, prompt="door slam", seed=4, **short(family))[0]
    assert np.array_equal(a.samples, b.samples)
    assert np.abs(a.samples - c.samples).max() > 1e-3 and np.abs(a.samples - d.samples).max() > 1e-3
    assert a.meta["family"] == family and a.seed == 3


@pytest.mark.parametrize("family", ("audiogen", "magnet"))
def test_count_is_one_batch_whose_rows_are_their_own_seeds(registry, family):
    rows = run(registry, family, prompt="footsteps", seed=10, count=3, **short(family))
    alone = run(registry, family, prompt="footsteps", seed=12, **short(family))[0]
    assert [r.seed for r in rows] == [10, 11, 12]
    assert np.allclose(rows[2].samples, alone.samples, atol=1e-3)  # same tokens; batched float math
    assert np.abs(rows[0].samples - rows[1].samples).max() > 1e-3


def test_lengths_follow_the_request(registry):
    assert run(registry, "audiogen", seconds=0.5)[0].frames == 8000  # AudioGen: 16 kHz
    assert run(registry, "musicgen", seconds=0.3)[0].frames == 9600
    magnet = run(registry, "magnet", decoding_steps="2")[0]  # its whole 1 s window, less a partial frame
    assert magnet.frames == pytest.approx(32000, abs=640)
    with pytest.raises(DawgenError, match="window"):
        run(registry, "magnet", seconds=5.0)


def test_progress_per_step_and_cancel_stops_the_job(registry):
    seen: list[float] = []
    run(registry, "audiogen", seconds=0.5, progress=lambda f, s: seen.append(f))
    assert len(seen) >= 25 * 0.5 and seen == sorted(seen) and seen[-1] > 0.9  # one per token frame
    cancel = threading.Event()

    def stop_after_three(fraction: float, stage: str) -> None:
        seen.append(fraction)
        if len(seen) > 3:
            cancel.set()

    seen.clear()
    with pytest.raises(JobCancelled):
        run(registry, "musicgen", seconds=0.5, progress=stop_after_three, cancel=cancel)
    assert len(seen) <= 5


def test_continue_new_part_only_and_input_plus_continuation(registry, tmp_path):
    rate = 44100
    t = np.arange(int(0.6 * rate)) / rate
    clip = np.stack([np.sin(2 * np.pi * 220 * t)] * 2, axis=1).astype(np.float32) * 0.3
    sf.write(tmp_path / "clip.wav", clip, rate, subtype="FLOAT")
    new = run(registry, "musicgen", "continue", input=str(tmp_path / "clip.wav"), seconds=0.4)[0]
    assert new.frames == int(0.4 * 32000) and new.meta["post"] == "none"
    both = run(registry, "musicgen", "continue", input=str(tmp_path / "clip.wav"), seconds=0.4, include_input=True)[0]
    assert both.sample_rate == rate and both.channels == 2
    fade = int(0.01 * rate)  # the clip untouched but for a 10 ms crossfade into the model's version of its end
    assert np.array_equal(both.samples[: clip.shape[0] - fade], clip[:-fade])
    assert not np.array_equal(both.samples[clip.shape[0] - fade: clip.shape[0]], clip[-fade:])
    assert np.abs(both.samples[clip.shape[0] - fade] - clip[-fade]).max() < 0.02  # the fade starts on the clip
    assert both.frames == pytest.approx(clip.shape[0] + 0.4 * rate, abs=2)


def test_provenance_names_weights_family_and_audiocraft_version(registry, tiny):
    import hashlib

    fp = registry.backend("tiny-magnet").fingerprint()
    assert fp["family"] == "magnet" and fp["audiocraft"] == "1.3.0"
    assert fp["weights_sha256"] == hashlib.sha256((tiny["magnet"] / "state_dict.bin").read_bytes()).hexdigest()


# -- MultiBand Diffusion -----------------------------------------------------------------------------
def test_mbd_decodes_the_same_tokens_to_other_audio_of_the_right_length(registry, tiny):
    encodec = run(registry, "musicgen", prompt="organ", seed=5, seconds=0.4)[0]
    diffused = run(registry, "mbd", prompt="organ", seed=5, seconds=0.4)[0]
    again = run(registry, "mbd", prompt="organ", seed=5, seconds=0.4)[0]
    assert diffused.frames == encodec.frames == int(0.4 * 32000) and diffused.sample_rate == 32000
    assert np.isfinite(diffused.samples).all() and np.abs(diffused.samples).max() > 1e-4
    assert np.abs(diffused.samples - encodec.samples).max() > 1e-3  # not EnCodec's decode
    assert np.array_equal(diffused.samples, again.samples)  # the diffusion noise follows the seed
    assert diffused.meta["decoder"] == "mbd" and encodec.meta["decoder"] == "encodec"
    rows = run(registry, "mbd", prompt="organ", seed=4, seconds=0.4, count=2)
    assert np.allclose(rows[1].samples, diffused.samples, atol=1e-3)  # row 2 of a batch = seed 5 alone
    fp = registry.backend("tiny-mbd").fingerprint()
    import hashlib

    assert fp["decoder"] == "mbd" and fp["mbd_sha256"] == hashlib.sha256((tiny["mbd"] / MBD_FILE).read_bytes()).hexdigest()


def test_a_code_running_pickle_in_the_mbd_file_is_refused(tiny, tmp_path):
    import torch

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"sample_rate": 32000, "n_bands": 1, 0: {"cfg": Boom()}}, tmp_path / MBD_FILE)
    backend = AudiocraftBackend("evil", {"path": str(tiny["musicgen"]), "device": "cpu", "decoder": "mbd",
                                         "mbd_path": str(tmp_path)})
    backend.check_available()
    with pytest.raises(DawgenError, match=f"{MBD_FILE} was refused: it asks for builtins.print") as err:
        backend.load()
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE.value


# -- melody (MusicGen-melody: chroma of demucs' vocals + other stems) ---------------------------------
def _tune(path: Path, notes: list[float], seconds: float = 1.0, rate: int = 32000) -> str:
    t = np.arange(int(seconds * rate)) / rate
    freq = np.repeat(notes, len(t) // len(notes) + 1)[: len(t)]
    sf.write(path, (0.4 * np.sin(2 * np.pi * np.cumsum(freq) / rate)).astype(np.float32), rate, subtype="FLOAT")
    return str(path)


def test_melody_model_follows_its_melody_and_length(registry, tmp_path):
    assert set(registry.backend("tiny-melody").verbs) == {"generate", "continue", "melody"}
    low = _tune(tmp_path / "low.wav", [110.0, 130.8, 146.8, 164.8])
    high = _tune(tmp_path / "high.wav", [987.8, 880.0, 740.0, 659.3])
    a = run(registry, "melody", "melody", input=low, prompt="piano", seed=2, seconds=0.6)[0]
    b = run(registry, "melody", "melody", input=high, prompt="piano", seed=2, seconds=0.6)[0]
    again = run(registry, "melody", "melody", input=low, prompt="piano", seed=2, seconds=0.6)[0]
    assert a.frames == b.frames == int(0.6 * 32000)
    assert np.abs(a.samples - b.samples).max() > 1e-3 and np.array_equal(a.samples, again.samples)
    whole = run(registry, "melody", "melody", input=low, prompt="piano", seed=2)[0]
    assert whole.frames == 32000  # default: the melody's length


def test_a_melody_model_without_its_stem_model_names_it(tiny, tmp_path):
    options = {"path": str(tiny["melody"]), "device": "cpu"}
    with pytest.raises(DawgenError, match="needs `demucs_path`"):
        AudiocraftBackend("m", options).check_available()
    with pytest.raises(DawgenError, match="has no model 'htdemucs'") as err:
        AudiocraftBackend("m", {**options, "demucs_path": str(tmp_path)}).check_available()
    assert err.value.code == ErrorCode.MODEL_UNAVAILABLE.value
