"""The built-in `process` model: effect chains (`process` and `chain=` on generate), `fit`, `clean`.

Every job runs through the engine in immediate mode, as a request would; audio comes from the
synth (generate) or from files written here, and each step is checked by what it must do to the
sound: a low-pass removes the highs, a gain step changes the level by its dB, a fit is exactly its
bars long with the tempo in its acid chunk, a denoise lowers the noise floor and keeps the length.
"""
from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from server.backends.process import shift_between
from server.backends.process.chain import EFFECTS, parse_chain
from server.backends.process.host import run_isolated
from server.config import load
from server.engine import Engine
from server.errors import DawgenError
from server.jobs import JobState, Request
from tests.server.backends import process_helpers

needs_pedalboard = pytest.mark.skipif(importlib.util.find_spec("pedalboard") is None,
                                      reason="the process extra is not installed (pip install 'dawgen[process]')")
RATE = 44100


@pytest.fixture()
def engine(tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    cfg = load(None, {"output.root": str(tmp_path / "out"), "server.state_dir": str(tmp_path / "state"),
                      "server.isolation": "immediate", "plugins.paths": [str(plugins)]})
    eng = Engine(cfg)
    eng.start()
    yield eng
    eng.stop(5)
    eng.close()


def run(engine, verb: str, **params):
    job, _ = engine.submit(Request(verb, params))
    assert job.state is JobState.DONE, job.error_message
    return [Path(p) for p in job.outputs if p.endswith((".wav", ".flac"))]


def refused(engine, verb: str, **params) -> DawgenError:
    with pytest.raises(DawgenError) as info:
        engine.submit(Request(verb, params))
    return info.value


def high_share_db(x: np.ndarray, rate: int, above_hz: float) -> float:
    """Energy above `above_hz` relative to the whole, in dB."""
    spectrum = np.abs(np.fft.rfft(x.mean(axis=1))) ** 2
    freqs = np.fft.rfftfreq(x.shape[0], 1 / rate)
    return float(10 * np.log10(spectrum[freqs > above_hz].sum() / spectrum.sum()))


def rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))


def noise_file(tmp_path, seconds: float = 2.0, channels: int = 2, rate: int = RATE) -> Path:
    rng = np.random.default_rng(7)
    x = (0.2 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, x, rate, subtype="FLOAT")
    return path


# -- the chain's syntax (no pedalboard needed) --------------------------------------------------------
def test_unknown_effect_or_parameter_is_refused_naming_the_valid_ones(engine, tmp_path):
    song = noise_file(tmp_path)
    error = refused(engine, "process", input=str(song), chain='[{"effect": "Flanger"}]')
    assert error.code == "bad_request" and "unknown effect 'Flanger'" in error.message and "LowpassFilter" in error.message
    error = refused(engine, "process", input=str(song), chain='[{"effect": "Gain", "gain": -6}]')
    assert error.code == "bad_request" and "its parameters: gain_db" in error.message
    error = refused(engine, "generate", prompt="kick", chain='[{"effect": "Gain", "gain_db": "loud"}]')
    assert error.code == "bad_request" and "must be a number" in error.message
    assert refused(engine, "process", input=str(song), chain="not json").code == "bad_request"
    assert "chain: required" in refused(engine, "process", input=str(song)).message
    assert parse_chain('{"effect": "Invert"}')[0].effect == "Invert"  # one step needs no list


def test_a_plugin_outside_the_allowed_folders_is_out_of_root(engine, tmp_path):
    song = noise_file(tmp_path)
    elsewhere = tmp_path / "downloads" / "Evil.vst3"
    elsewhere.mkdir(parents=True)
    error = refused(engine, "process", input=str(song), chain=json.dumps([{"plugin": str(elsewhere)}]))
    assert error.code == "out_of_root" and "[plugins] paths" in error.message
    # a symlink inside the allowed folder pointing out of it is still outside
    (tmp_path / "plugins" / "Link.vst3").symlink_to(elsewhere)
    error = refused(engine, "generate", prompt="kick", chain=json.dumps([{"plugin": str(tmp_path / "plugins" / "Link.vst3")}]))
    assert error.code == "out_of_root"
    # a name is looked up in the allowed folders only
    (tmp_path / "plugins" / "Room.vst3").mkdir()
    error = refused(engine, "process", input=str(song), chain='[{"plugin": "Evil"}]')
    assert error.code == "bad_request" and "found: Link, Room" in error.message


@needs_pedalboard
def test_the_effect_table_matches_pedalboards_own_parameters():
    import pedalboard

    for name, params in EFFECTS.items():
        cls = getattr(pedalboard, name)
        numeric = {a for a in dir(cls) if isinstance(getattr(cls, a), property) and not a.startswith(("_", "is_"))}
        assert set(params) == numeric, name


# -- process ---------------------------------------------------------------------------------------------
@needs_pedalboard
def test_a_lowpass_removes_the_highs_and_a_gain_step_changes_the_level_by_its_db(engine, tmp_path):
    [kick] = run(engine, "generate", prompt="bright snare", seed=5, format="wav", bit_depth="32f")
    dry, rate = sf.read(kick, dtype="float32", always_2d=True)
    [low] = run(engine, "process", input=str(kick), bit_depth="32f",
                chain='[{"effect": "LowpassFilter", "cutoff_frequency_hz": 500}]')
    wet, wet_rate = sf.read(low, dtype="float32", always_2d=True)
    assert wet_rate == rate and wet.shape == dry.shape  # the input's rate and length
    assert high_share_db(wet, rate, 8000) < high_share_db(dry, rate, 8000) - 20  # 6 dB/octave: 4 octaves
    [quiet] = run(engine, "process", input=str(kick), bit_depth="32f", chain='[{"effect": "Gain", "gain_db": -6}]')
    gained, _ = sf.read(quiet, dtype="float32", always_2d=True)
    assert rms_db(gained) - rms_db(dry) == pytest.approx(-6.0, abs=0.01)  # no loudness normalisation after it
    sidecar = json.loads(quiet.with_suffix(".json").read_text())
    assert sidecar["meta"]["chain"] and sidecar["post"]["skipped"]


@needs_pedalboard
def test_chain_on_generate_runs_before_the_post(engine):
    [dry] = run(engine, "generate", prompt="bright snare", seed=5, bit_depth="32f")
    [wet] = run(engine, "generate", prompt="bright snare", seed=5, bit_depth="32f",
                chain='[{"effect": "LowpassFilter", "cutoff_frequency_hz": 500}]')
    x, rate = sf.read(dry, dtype="float32", always_2d=True)
    y, _ = sf.read(wet, dtype="float32", always_2d=True)
    assert high_share_db(y, rate, 8000) < high_share_db(x, rate, 8000) - 20
    # the one-shot is still peak-normalised to the true-peak ceiling: the post ran after the chain
    assert np.max(np.abs(y)) == pytest.approx(np.max(np.abs(x)), abs=0.05)


@needs_pedalboard
def test_tail_keeps_the_reverb_and_its_absence_keeps_the_length(engine, tmp_path):
    clicks = np.zeros((RATE, 2), np.float32)
    clicks[RATE - 2000:RATE - 1000] = 0.5
    song = tmp_path / "clicks.wav"
    sf.write(song, clicks, RATE, subtype="FLOAT")
    chain = '[{"effect": "Reverb", "room_size": 0.9, "wet_level": 0.8}]'
    [cut] = run(engine, "process", input=str(song), chain=chain, bit_depth="32f")
    [kept] = run(engine, "process", input=str(song), chain=chain, bit_depth="32f", tail=True)
    assert sf.info(cut).frames == RATE
    assert RATE + RATE // 4 < sf.info(kept).frames <= RATE + 8 * RATE


@needs_pedalboard
def test_loudness_is_applied_only_when_asked(engine, tmp_path):
    song = noise_file(tmp_path)
    [out] = run(engine, "process", input=str(song), chain='[{"effect": "Gain", "gain_db": -20}]', loudness=-18.0)
    import pyloudnorm

    x, rate = sf.read(out, dtype="float32", always_2d=True)
    assert pyloudnorm.Meter(rate).integrated_loudness(x) == pytest.approx(-18.0, abs=0.5)


# -- a plugin that crashes or hangs fails its job only -----------------------------------------------------
def test_an_isolated_step_returns_its_value_or_fails_clearly_on_crash_and_hang():
    assert run_isolated(process_helpers.double, (np.ones(3),), what="plugin Twice", timeout=30).tolist() == [2, 2, 2]
    with pytest.raises(DawgenError) as info:
        run_isolated(process_helpers.crash, (), what="plugin Boom", timeout=30)
    assert info.value.code == "backend_failed" and "plugin Boom crashed (killed by signal" in info.value.message
    with pytest.raises(DawgenError) as info:
        run_isolated(process_helpers.hang, (), what="plugin Sleepy", timeout=1.0)
    assert "plugin Sleepy did not finish in 1 s" in info.value.message
    with pytest.raises(DawgenError) as info:
        run_isolated(process_helpers.refuse, (), what="plugin Picky", timeout=30)
    assert info.value.code == "bad_request" and info.value.message == "plugin Picky: no parameter 'x'"


# -- fit ----------------------------------------------------------------------------------------------
@needs_pedalboard
def test_fit_makes_exactly_the_bars_with_the_tempo_chunk(engine, tmp_path):
    beat = np.zeros((int(2.3 * RATE), 2), np.float32)
    for k in range(int(2.3 * 2)):  # a click every half second: 120 bpm
        beat[int(k * 0.5 * RATE):int(k * 0.5 * RATE) + 400] = 0.8
    song = tmp_path / "beat.wav"
    sf.write(song, beat, RATE)
    [out] = run(engine, "fit", input=str(song), bars=2, bpm=100, sample_rate=48000, source_bpm=120)
    assert sf.info(out).frames == 2 * 4 * 60 * 48000 // 100  # exactly 2 bars of 4/4 at 100 bpm
    data = out.read_bytes()
    acid = data[data.index(b"acid") + 8:data.index(b"acid") + 32]
    beats, tempo = struct.unpack("<I", acid[12:16])[0], struct.unpack("<f", acid[20:24])[0]
    assert (beats, tempo) == (8, 100.0)
    assert "fit needs `bars` and `bpm`" in refused(engine, "fit", input=str(song), bpm=100).message


def test_key_shift_takes_the_nearest_way():
    assert shift_between("Am", "Cm") == 3 and shift_between("C", "A") == -3 and shift_between("F#", "F#") == 0


# -- clean ------------------------------------------------------------------------------------------
@needs_pedalboard
def test_denoise_lowers_the_noise_floor_and_keeps_length_and_alignment(engine, tmp_path):
    t = np.arange(3 * RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t) * (t > 1.0)).astype(np.float32)
    noisy = tone + 0.02 * np.random.default_rng(3).standard_normal(t.size).astype(np.float32)
    song = tmp_path / "take.wav"
    sf.write(song, noisy, RATE, subtype="FLOAT")
    [out] = run(engine, "clean", input=str(song), mode="denoise", bit_depth="32f")
    y, _ = sf.read(out, dtype="float32")
    assert y.shape == noisy.shape
    assert rms_db(y[:RATE // 2]) < rms_db(noisy[:RATE // 2]) - 12  # the noise-only head
    assert rms_db(y[2 * RATE:] - tone[2 * RATE:]) < rms_db(noisy[2 * RATE:] - tone[2 * RATE:]) - 10  # aligned
    error = refused(engine, "clean", input=str(song), mode="dereverb")
    assert error.code == "model_unavailable" and "dereverb" in error.message


# -- dawgen plugins ---------------------------------------------------------------------------------
@needs_pedalboard
def test_dawgen_plugins_lists_the_allowed_folders_and_a_plugin_that_cannot_load(tmp_path, capsys):
    from bridge.cli import main

    folder = tmp_path / "vst"
    (folder / "Broken.vst3").mkdir(parents=True)
    (folder / "readme.txt").write_text("not a plugin")
    config = tmp_path / "dawgen.toml"
    config.write_text(f'[plugins]\npaths = ["{folder}"]\ntimeout = 30\n')
    assert main(["plugins", "--config", str(config), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["folders"] == [str(folder.resolve())]
    [broken] = listing["plugins"]
    assert broken["name"] == "Broken" and broken["error"].startswith("plugin Broken.vst3:")


def test_cancel_stops_a_running_plugin_and_plugins_config_is_checked():
    from server.config import ConfigError, parse
    from server.errors import JobCancelled

    calls = []

    def cancel_on_third() -> None:
        calls.append(1)
        if len(calls) >= 3:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        run_isolated(process_helpers.hang, (), what="plugin Sleepy", timeout=600, check=cancel_on_third)
    assert parse({"plugins": {"paths": ["/a"], "system": True}}).plugins.system is True
    with pytest.raises(ConfigError, match="plugins.timeout"):
        parse({"plugins": {"timeout": 0}})
    with pytest.raises(ConfigError, match="plugins.paths: expected a list of strings"):
        parse({"plugins": {"paths": "/a"}})
