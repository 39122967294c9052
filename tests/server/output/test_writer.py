import json
import os

import numpy as np
import pytest
import soundfile as sf

from server.backends.base import Audio
from server.errors import DawgenError
from server.jobs import Job
from server.output.writer import OutputWriter

PARAMS = {"prompt": "Punchy Kick", "seed": 42, "sample_rate": 48000, "bit_depth": "24", "format": "wav", "dir": ""}


def job(**params):
    return Job(id=Job.new_id(), verb="generate", model="synth", params={**PARAMS, **params})


def tone(seconds=0.5, rate=48000, seed=42):
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    return Audio(np.stack([x, x], axis=1), rate, seed=seed)


def listing(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_writes_wav_and_sidecar_under_dated_folder(tmp_path):
    w = OutputWriter([tmp_path])
    j = job()
    paths = w.write_job(j, [tone()], {"model": {"name": "synth"}})
    assert len(paths) == 1
    path = paths[0]
    assert os.path.dirname(path).startswith(str(tmp_path / "dawgen" / "20"))
    assert path.endswith("punchy-kick_42.wav")
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, 24000, "PCM_24")
    side = json.loads(open(path[:-4] + ".json").read())
    assert side["job_id"] == j.id and side["seed"] == 42 and side["file"] == "punchy-kick_42.wav"
    assert not [p for p in listing(tmp_path) if p.endswith(".tmp")]


@pytest.mark.parametrize("fmt, depth, subtype", [("wav", "16", "PCM_16"), ("wav", "32f", "FLOAT"), ("flac", "24", "PCM_24")])
def test_formats_and_resampling(tmp_path, fmt, depth, subtype):
    w = OutputWriter([tmp_path])
    path = w.write_job(job(format=fmt, bit_depth=depth, sample_rate=44100), [tone()], {})[0]
    info = sf.info(path)
    assert path.endswith("." + fmt) and info.subtype == subtype
    assert info.samplerate == 44100 and info.frames == 22050


def test_names_never_clobber_other_jobs_but_a_rerun_reuses_its_own(tmp_path):
    w = OutputWriter([tmp_path])
    j1, j2 = job(), job()
    p1 = w.write_job(j1, [tone()], {})[0]
    p2 = w.write_job(j2, [tone()], {})[0]
    assert p1 != p2 and p2.endswith("punchy-kick_42-2.wav")
    again = w.write_job(j1, [tone(seconds=0.25)], {})[0]  # j1 re-run after a crash
    assert again == p1 and sf.info(p1).frames == 12000
    assert len([p for p in listing(tmp_path) if p.endswith(".wav")]) == 2


def test_foreign_file_without_sidecar_is_not_overwritten(tmp_path):
    w = OutputWriter([tmp_path])
    folder = w.target_dir(PARAMS, job().created)
    folder.mkdir(parents=True)
    (folder / "punchy-kick_42.wav").write_bytes(b"user file")
    path = w.write_job(job(), [tone()], {})[0]
    assert path.endswith("punchy-kick_42-2.wav")
    assert (folder / "punchy-kick_42.wav").read_bytes() == b"user file"


def test_subdir_and_escapes(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    w = OutputWriter([root])
    assert w.write_job(job(dir="Samples/Kicks"), [tone()], {})[0].startswith(str(root / "Samples" / "Kicks"))
    for bad in ("../out", "/etc", "a/../../b"):
        with pytest.raises(DawgenError) as info:
            w.target_dir({"dir": bad}, 0)
        assert info.value.code == "out_of_root"
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(DawgenError) as info:
        w.write_job(job(dir="link/x"), [tone()], {})
    assert info.value.code == "out_of_root"
    assert list(outside.iterdir()) == []


def test_sweep_removes_only_temp_files(tmp_path):
    w = OutputWriter([tmp_path])
    (tmp_path / "dawgen" / "d").mkdir(parents=True)
    tmp = tmp_path / "dawgen" / "d" / ".kick_1.wav.dawgen-abc.tmp"
    keep = tmp_path / "dawgen" / "d" / "kick_1.wav"
    tmp.write_bytes(b"partial")
    keep.write_bytes(b"whole")
    other = tmp_path / "dawgen" / "d" / ".snare_1.wav.dawgen-def.tmp"
    other.write_bytes(b"another job's")
    assert w.sweep_temp([tmp_path / "dawgen" / "d"], "abc") == 1
    assert not tmp.exists() and keep.exists() and other.exists()
    assert w.sweep_temp([tmp_path / "dawgen" / "d"]) == 1 and not other.exists()


def test_nan_audio_is_refused(tmp_path):
    w = OutputWriter([tmp_path])
    bad = tone()
    bad.samples[10, 0] = np.nan
    with pytest.raises(DawgenError) as info:
        w.write_job(job(), [bad], {})
    assert info.value.code == "backend_failed"
    assert not [p for p in listing(tmp_path) if p.endswith(".wav")]


def test_sixteen_bit_is_dithered_deterministically(tmp_path):
    w = OutputWriter([tmp_path])
    quiet = Audio(np.full((4800, 1), 1e-6, dtype=np.float32), 48000, seed=1)
    a = w.write_job(job(bit_depth="16", dir="a"), [quiet], {})[0]
    b = w.write_job(job(bit_depth="16", dir="b"), [quiet], {})[0]
    da, db = sf.read(a, dtype="int16")[0], sf.read(b, dtype="int16")[0]
    assert np.array_equal(da, db)
    assert len(np.unique(da)) > 1  # TPDF dither: not a constant 0
