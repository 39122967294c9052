"""No model file may run code (issue #15): a planted pickle is refused by every loader.

Each test plants a file whose pickle calls os.system or builtins.exec to write a marker file, loads
it the way a user's config does (a Registry entry, loaded as the model process loads it), and
checks that the marker was not written and that the error is model_unavailable naming the file and
the global it asked for. The real tiny models still load (their own tests, and the Fraction and
allow_pickle cases here).
"""
from __future__ import annotations

import argparse
import builtins
import json
import logging
import os
import pickle
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends import safe_load
from server.config import parse
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import JobState, Request
from server.journal import Journal
from server.registry import Registry

from . import demucs_tiny

torch = pytest.importorskip("torch", reason="torch is not installed (make test installs it)")
SYSTEM = f"{os.system.__module__}.system"  # posix.system: what os.system pickles as


class RunsCode:
    """Pickles as a call of `func(arg)`: reading it runs the call (the attack of issue #15)."""

    def __init__(self, func, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


def touch(marker: Path) -> RunsCode:
    return RunsCode(os.system, f"touch '{marker}'")


def write_with_exec(marker: Path) -> RunsCode:
    return RunsCode(builtins.exec, f"open({str(marker)!r}, 'w').close()")


def registry(models: dict) -> Registry:
    return Registry(parse({"models": models}))


def refusal(reg: Registry, name: str) -> DawgenError:
    """The error loading model `name` gives (as the worker loads it on its first job)."""
    assert reg.problems() == {}, "the planted model must pass the cheap checks: only loading is refused"
    with pytest.raises(DawgenError) as info:
        reg.backend(name)
    return info.value


def assert_refused(error: DawgenError, file: Path, global_name: str) -> None:
    assert error.code is ErrorCode.MODEL_UNAVAILABLE
    assert str(file) in error.message and global_name in error.message and "allow_pickle" in error.message
    assert "\n" not in error.message


# -- demucs -----------------------------------------------------------------------------------------
def demucs_package(model, **extra) -> dict:
    from demucs.states import get_state

    args, kwargs = model._init_args_kwargs
    return {"klass": type(model), "args": args, "kwargs": kwargs, "state": get_state(model, None, half=True),
            "training_args": {}, **extra}


@pytest.fixture(scope="module")
def demucs():
    return pytest.importorskip("demucs", reason="the demucs extra is not installed")


def stems(folder: Path, name: str = "planted", **extra) -> dict:
    return {"stems": {"backend": "demucs", "path": str(folder), "name": name, "device": "cpu", **extra}}


def test_the_planted_th_runs_code_in_demucs_own_loader(tmp_path, demucs):
    """The attack is real: demucs.states.load_model on the file runs its code (what main did)."""
    from demucs.states import load_model

    marker = tmp_path / "ran"
    file = tmp_path / "planted.th"
    torch.save(demucs_package(demucs_tiny.build(demucs_tiny.SOURCES4), training_args=touch(marker)), file)
    load_model(str(file))
    assert marker.exists()


def test_a_demucs_th_that_runs_code_is_refused(tmp_path, demucs):
    marker = tmp_path / "ran"
    model = demucs_tiny.build(demucs_tiny.SOURCES4)
    torch.save(demucs_package(model, training_args=touch(marker)), tmp_path / "planted.th")
    demucs_tiny.write_bag(tmp_path, "bag", ["planted"])
    for name in ("planted", "bag"):  # a single model and a bag naming it
        error = refusal(registry(stems(tmp_path, name)), "stems")
        assert_refused(error, tmp_path / "planted.th", SYSTEM)
    assert not marker.exists()


@pytest.mark.parametrize("writer", ["pickle.dump", "torch legacy format"])
def test_a_non_zip_pickle_is_refused_naming_its_global(tmp_path, demucs, writer):
    """pickle.dump (protocol 4: torch's message names no global) and torch's pre-1.6 format (its
    message says `exec`): the name is read from the file without running it."""
    marker = tmp_path / "ran"
    planted = {"klass": write_with_exec(marker)}
    if writer == "pickle.dump":
        with open(tmp_path / "planted.th", "wb") as fh:
            pickle.dump(planted, fh, protocol=4)
    else:
        torch.save(planted, tmp_path / "planted.th", _use_new_zipfile_serialization=False)
    error = refusal(registry(stems(tmp_path)), "stems")
    assert_refused(error, tmp_path / "planted.th", "builtins.exec")
    assert not marker.exists()


@pytest.mark.parametrize("where", ["klass", "structure"])
def test_a_demucs_safetensors_naming_a_function_is_refused(tmp_path, demucs, where):
    """demucs.hf imports the module of every class a safetensors file's metadata names (`klass`, and
    `_class` entries of a packed state's `structure`) and calls the `klass`."""
    from safetensors.torch import save_file

    marker = tmp_path / "ran"
    file = tmp_path / "5c90dfd2.safetensors"
    metadata = {"klass": "os.system", "args": json.dumps([f"touch '{marker}'"]), "kwargs": "{}"}
    if where == "structure":
        metadata = {"klass": "demucs.htdemucs.HTDemucs", "args": "[]", "kwargs": "{}",
                    "structure": json.dumps({"_dict": [["__quantized", True], ["meta", {"_class": "os.system"}]]})}
    save_file({"w": torch.zeros(1)}, str(file), metadata=metadata)
    demucs_tiny.write_bag(tmp_path, "htdemucs", ["5c90dfd2"])
    error = refusal(registry(stems(tmp_path, "htdemucs")), "stems")
    assert error.code is ErrorCode.MODEL_UNAVAILABLE and str(file) in error.message and "os.system" in error.message
    assert not marker.exists()


def test_real_demucs_files_load_with_their_fraction_segment(tmp_path, demucs):
    """HTDemucs' published files hold `segment` as a Fraction: allowed, and the weights arrive intact."""
    model = demucs_tiny.build(demucs_tiny.SOURCES4, seed=5, segment=Fraction(39, 20))
    demucs_tiny.save(model, tmp_path, "f4a5b6c7")
    demucs_tiny.write_bag(tmp_path, "planted", ["f4a5b6c7"])
    loaded = registry(stems(tmp_path)).backend("stems")._model.models[0]
    assert loaded.segment == Fraction(39, 20)
    assert all(torch.equal(a.half(), b.half()) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_allow_pickle_loads_a_trusted_full_pickle_and_warns(tmp_path, demucs, caplog):
    """A model saved with argparse training args (as older training scripts did): harmless, but not
    a class real demucs files hold, so refused unless the model entry trusts it."""
    trusted = tmp_path / "planted.th"
    torch.save(demucs_package(demucs_tiny.build(demucs_tiny.SOURCES4), training_args=argparse.Namespace(epochs=1)),
               trusted)
    error = refusal(registry(stems(tmp_path)), "stems")
    assert_refused(error, trusted, "argparse.Namespace")
    with caplog.at_level(logging.WARNING, logger="dawgen.safe_load"):
        backend = registry(stems(tmp_path, allow_pickle=True)).backend("stems")
    assert backend.loaded and list(backend._model.sources) == demucs_tiny.SOURCES4
    assert any("allow_pickle" in r.message and r.levelno == logging.WARNING for r in caplog.records)


def test_a_refused_model_fails_its_job_and_the_daemon_goes_on(tmp_path, demucs):
    marker = tmp_path / "ran"
    folder = tmp_path / "models"
    folder.mkdir()
    torch.save(demucs_package(demucs_tiny.build(demucs_tiny.SOURCES4), training_args=touch(marker)),
               folder / "planted.th")
    song = tmp_path / "song.wav"
    sf.write(song, demucs_tiny.music(1.0), 44100)
    config = parse({"output": {"root": str(tmp_path / "out")}, "models": stems(folder),
                    "server": {"state_dir": str(tmp_path / "state"), "isolation": "immediate"}})
    engine = Engine(config, journal=Journal(":memory:"))
    engine.start()
    try:
        job, _ = engine.submit(Request("separate", {"model": "stems", "input": str(song)}))
        assert job.state is JobState.FAILED and job.error_code == "model_unavailable"
        assert "planted.th" in job.error_message and SYSTEM in job.error_message
        after, _ = engine.submit(Request("generate", {"prompt": "kick", "seed": 1}))
        assert after.state is JobState.DONE
    finally:
        engine.stop(5)
        engine.close()
    assert not marker.exists()


# -- stable-audio -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sao(tmp_path_factory):
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed")
    from tests.server.backends.stable_audio_tiny import build_model, build_t5, sao_config

    base = tmp_path_factory.mktemp("sa-safe")
    t5 = build_t5(base / "t5-base")
    return {"t5": t5, "ckpt": build_model(base / "ckpt", sao_config("v"), t5, ckpt=True)}


def sao_entry(path: Path, t5: Path) -> dict:
    return {"sao": {"backend": "stable-audio", "path": str(path), "t5_path": str(t5), "device": "cpu"}}


def test_a_stable_audio_ckpt_that_runs_code_is_refused(tmp_path, sao):
    marker = tmp_path / "ran"
    folder = tmp_path / "sao"
    shutil.copytree(sao["ckpt"], folder)
    state = torch.load(folder / "model.ckpt", weights_only=True)["state_dict"]
    torch.save({"state_dict": state, "hyper_parameters": write_with_exec(marker)}, folder / "model.ckpt")
    error = refusal(registry(sao_entry(folder, sao["t5"])), "sao")
    assert_refused(error, folder / "model.ckpt", "builtins.exec")
    assert not marker.exists()
    assert registry(sao_entry(sao["ckpt"], sao["t5"])).backend("sao").loaded  # the real .ckpt loads


def test_a_t5_pytorch_model_bin_that_runs_code_is_refused(tmp_path, sao):
    """The T5 is loaded by transformers inside stable-audio-tools: its torch.load is weights-only too."""
    from safetensors.torch import load_file

    marker = tmp_path / "ran"
    t5 = tmp_path / "t5-base"
    shutil.copytree(sao["t5"], t5)
    state = load_file(str(t5 / "model.safetensors"))
    (t5 / "model.safetensors").unlink()
    torch.save({**state, "planted": touch(marker)}, t5 / "pytorch_model.bin")
    error = refusal(registry(sao_entry(sao["ckpt"], t5)), "sao")
    assert_refused(error, t5 / "pytorch_model.bin", SYSTEM)
    assert not marker.exists()


def test_stable_audio_tools_clap_loader_is_weights_only_inside_the_guard(tmp_path):
    """clap_load_state_dict asks torch.load for weights_only=False; inside a load it is refused."""
    pytest.importorskip("stable_audio_tools", reason="stable-audio-tools is not installed")
    from server.backends.stable_audio.imports import import_library

    import_library()
    from stable_audio_tools.models.conditioners import clap_load_state_dict

    marker = tmp_path / "ran"
    file = tmp_path / "clap.ckpt"
    torch.save({"state_dict": {}, "planted": write_with_exec(marker)}, file)
    original = torch.load
    with pytest.raises(DawgenError) as info, safe_load.guard("clap-model"):
        clap_load_state_dict(str(file), None)
    assert_refused(info.value, file, "builtins.exec")
    assert "clap-model" in info.value.message and not marker.exists()
    assert torch.load is original  # the guard puts torch.load back


# -- musicgen -----------------------------------------------------------------------------------------
def test_a_musicgen_pytorch_model_bin_that_runs_code_is_refused(tmp_path, tmp_path_factory):
    pytest.importorskip("transformers", reason="the musicgen extra is not installed")
    from safetensors.torch import load_file

    from tests.server.backends.musicgen_tiny import tiny_models

    marker = tmp_path / "ran"
    folder = tmp_path / "musicgen"
    shutil.copytree(tiny_models(tmp_path_factory.getbasetemp())["musicgen"], folder)
    state = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    torch.save({**state, "planted": write_with_exec(marker)}, folder / "pytorch_model.bin")
    error = refusal(registry({"mg": {"backend": "musicgen", "path": str(folder), "device": "cpu"}}), "mg")
    assert_refused(error, folder / "pytorch_model.bin", "builtins.exec")
    assert not marker.exists()


# -- midi -----------------------------------------------------------------------------------------------
def test_a_midi_weights_file_that_runs_code_is_refused(tmp_path):
    from server.backends.midi.store import SHIPPED, read_index

    marker = tmp_path / "ran"
    entry = read_index(SHIPPED)["models"]["drums"]
    (tmp_path / "midi.json").write_text(json.dumps({"models": {"drums": entry}}))
    state = torch.load(SHIPPED / entry["file"], weights_only=True)
    torch.save({**state, "planted": touch(marker)}, tmp_path / entry["file"])
    error = refusal(registry({"mine": {"backend": "midi", "path": str(tmp_path)}}), "mine")
    assert_refused(error, tmp_path / entry["file"], SYSTEM)
    assert not marker.exists()


# -- the option ---------------------------------------------------------------------------------------
def test_allow_pickle_is_a_declared_bool_of_backends_that_read_pickles(tmp_path):
    reg = registry({"a": {"backend": "midi", "allow_pickle": "yes"}, "b": {"backend": "synth", "allow_pickle": True},
                    "c": {"backend": "midi", "allow_pickle": False}})
    problems = reg.problems()
    assert "models.a.allow_pickle: expected bool" in problems["a"]
    assert "models.b.allow_pickle: unknown key for backend synth" in problems["b"]  # the synth reads no file
    assert "c" not in problems


def test_a_trusted_load_reads_classes_a_weights_only_load_refuses(tmp_path):
    file = tmp_path / "trusted.pt"
    torch.save({"w": torch.ones(2), "args": argparse.Namespace(lr=0.5)}, file)
    with pytest.raises(DawgenError, match="argparse.Namespace"):
        safe_load.load_torch(file, model="m")
    assert safe_load.load_torch(file, trusted=True)["args"].lr == 0.5
    assert np.array_equal(safe_load.load_torch(file, allowed=[argparse.Namespace])["w"].numpy(), [1.0, 1.0])


def test_guards_nest_and_put_torch_load_back(tmp_path):
    marker = tmp_path / "ran"
    file = tmp_path / "planted.pt"
    torch.save({"planted": write_with_exec(marker)}, file)
    original = torch.load
    with safe_load.guard("outer"):
        with safe_load.guard("inner"):
            pass
        with pytest.raises(DawgenError, match="model outer: .*builtins.exec"):  # still guarded after the inner one
            torch.load(file, weights_only=False)
    assert torch.load is original and not marker.exists()
