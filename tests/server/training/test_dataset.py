"""server.training.dataset: reading a folder of sounds into clips, rejects, prompts and a report."""
from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import soundfile as sf

from server.errors import DawgenError, ErrorCode, JobCancelled
from server.output import wavchunks
from server.output.wav import encode
from server.training.dataset import (
    DANCE_DIFFUSION_WINDOW,
    default_window_frames,
    prepare,
    write_report,
)

from .sounds import (
    RATE,
    drum_loop,
    kick,
    kicks_in_a_row,
    recording,
    with_lead,
    write,
    write_bad_files,
)

DD = dict(sample_rate=RATE, channels=2, window_frames=DANCE_DIFFUSION_WINDOW)


def sa(seconds: float = 10.0) -> dict:
    return dict(sample_rate=RATE, channels=2, window_frames=int(round(seconds * RATE)))


def test_one_shots_are_clipped_at_their_onset_with_leading_silence_trimmed(tmp_path):
    for i in range(16):
        write(tmp_path / f"kick{i:02d}.wav", with_lead(kick(i), 0.2))
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    assert ds.chop == "onsets" and ds.rejected == [] and len(ds.clips) == 16
    assert sorted(c.source for c in ds.clips) == [f"kick{i:02d}.wav" for i in range(16)]
    for clip in ds.clips:
        assert clip.start_s == pytest.approx(0.2, abs=0.001)  # 0.2 s of silence trimmed
        assert clip.samples.dtype == np.float32 and clip.samples.shape[1] == 2
        assert np.abs(clip.samples[:10]).max() > 0  # the clip starts with sound
        assert clip.prompt == ""  # dance diffusion is unconditional
    assert ds.report()["files"] == {"found": 16, "used": 16, "rejected": 0, "skipped": 0}


def test_four_kicks_in_a_row_make_four_clips(tmp_path):
    starts = [0.1, 0.45, 0.8, 1.15]  # each kick still rings (about -30 dB) when the next one hits
    write(tmp_path / "four kicks.wav", kicks_in_a_row(starts))
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    assert [c.start_s for c in ds.clips] == pytest.approx(starts, abs=0.003)
    assert ds.files[0].clips == 4


def test_a_loop_named_120bpm_is_cut_in_bars(tmp_path):
    write(tmp_path / "beat_120bpm.wav", drum_loop(120, bars=2))  # 2 bars = 4.0 s
    two_seconds = prepare(tmp_path, "stable-audio", **sa(2.0))
    assert two_seconds.chop == "bars"  # auto: a file with a tempo and few bars is a loop
    assert [c.samples.shape[0] for c in two_seconds.clips] == [2 * RATE, 2 * RATE]  # one bar each
    assert [c.start_s for c in two_seconds.clips] == [0.0, 2.0]
    whole = prepare(tmp_path, "stable-audio", **sa(10.0))
    assert [c.samples.shape[0] for c in whole.clips] == [4 * RATE]  # both bars fit the window
    onsets = prepare(tmp_path, "stable-audio", chop="onsets", **sa(10.0))
    assert len(onsets.clips) == 8  # a kick per beat


def test_tempo_from_the_acid_chunk_and_from_bpm(tmp_path):
    facts = wavchunks.FileFacts(frames=0, sample_rate=RATE, bpm=90.0, beats=8, loop=True)
    loop = drum_loop(90, bars=2)
    (tmp_path / "groove.wav").write_bytes(encode(loop[:, None], RATE, "24", [wavchunks.acid(facts)]))
    write(tmp_path / "untagged.wav", drum_loop(100, bars=1))
    ds = prepare(tmp_path, "stable-audio", chop="bars", bpm=100, **sa(10.0))
    by_file = {f.file: f for f in ds.files}
    assert by_file["groove.wav"].bpm == 90.0 and by_file["groove.wav"].chop == "bars"
    assert by_file["untagged.wav"].bpm == 100.0  # bpm= is the tempo of a file that says none
    assert [c.samples.shape[0] for c in ds.clips if c.source == "groove.wav"] == [len(loop)]
    assert by_file["groove.wav"].prompt == "groove, 90 bpm"  # tempo tag, said in the report
    assert any("tempo added to 2 prompt(s)" in n for n in ds.notes)


def test_bars_without_a_tempo_falls_back_to_window_and_says_so(tmp_path):
    write(tmp_path / "mystery loop.wav", drum_loop(120, bars=2))
    ds = prepare(tmp_path, "dance-diffusion", chop="bars", **DD)
    assert ds.chop == "window" and any("mystery loop.wav" in n and "no tempo" in n for n in ds.notes)


def test_a_long_recording_gives_random_windows_of_exactly_the_window(tmp_path):
    write(tmp_path / "jam.flac", recording(30.0), subtype="PCM_16")
    ds = prepare(tmp_path, "stable-audio", **sa(10.0))
    assert ds.chop == "window" and len(ds.clips) == 1
    clip = ds.clips[0]
    batch = ds.draw(np.random.default_rng(7), 4)
    assert batch.audio.shape == (4, 2, 10 * RATE) and batch.audio.dtype == np.float32
    for row, start in enumerate(batch.seconds_start):
        offset = int(round(start * RATE))
        assert 0 <= offset <= clip.samples.shape[0] - 10 * RATE
        np.testing.assert_array_equal(batch.audio[row], clip.samples[offset:offset + 10 * RATE].T)
    assert len(set(batch.seconds_start)) > 1  # random windows, not the same crop four times
    assert batch.seconds_total == [pytest.approx(clip.samples.shape[0] / RATE)] * 4
    again, prompts = ds.sample_batch(np.random.default_rng(7), 4)
    np.testing.assert_array_equal(again, batch.audio)  # a fixed rng gives a fixed batch
    assert prompts == ["jam"] * 4
    other, _ = ds.sample_batch(np.random.default_rng(8), 4)
    assert not np.array_equal(other, again)


def test_short_clips_are_padded_with_silence_at_the_end(tmp_path):
    write(tmp_path / "kick.wav", kick(3))
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    audio, _ = ds.sample_batch(np.random.default_rng(0), 2)
    frames = ds.clips[0].samples.shape[0]
    assert audio.shape == (2, 2, DANCE_DIFFUSION_WINDOW) and frames < DANCE_DIFFUSION_WINDOW
    np.testing.assert_array_equal(audio[0, :, :frames], ds.clips[0].samples.T)
    assert not audio[:, :, frames:].any()


def test_bad_files_are_rejected_by_name_with_their_reason(tmp_path):
    for i in range(3):
        write(tmp_path / f"kick{i}.wav", kick(i))
    expected = write_bad_files(tmp_path)
    shutil.copyfile(tmp_path / "kick1.wav", tmp_path / "kick1 copy.wav")
    expected["kick1.wav"] = "duplicate"  # sorted by name, "kick1 copy.wav" is kept: the later one goes
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    assert {r.file: r.reason for r in ds.rejected} == expected
    details = {r.file: r.detail for r in ds.rejected}
    assert "kick1 copy.wav" in details["kick1.wav"] and "5 ms" in details["blip.wav"]
    assert {c.source for c in ds.clips} == {"kick0.wav", "kick1 copy.wav", "kick2.wav"}
    assert "rejected 5: 1 clipped, 1 duplicate, 1 silent, 1 too_short, 1 unreadable" in ds.summary()
    write_report(ds, tmp_path / "run" / "dataset-report.json")
    report = json.loads((tmp_path / "run" / "dataset-report.json").read_text())
    assert {r["file"]: r["reason"] for r in report["rejected"]} == expected
    assert report["files"] == {"found": 8, "used": 3, "rejected": 5, "skipped": 0}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["dataset-report.json"]  # no temp left


def test_the_same_audio_in_another_format_is_a_duplicate_but_a_loud_kick_is_not_clipped(tmp_path):
    # Peaks at full scale once: loud, not clipped. Integer samples: the two files hold the same numbers.
    hot = np.round(kick(2) / np.abs(kick(2)).max() * 32767).astype(np.int16)
    sf.write(str(tmp_path / "a.wav"), hot, RATE, subtype="PCM_16")
    sf.write(str(tmp_path / "b.flac"), hot, RATE, subtype="PCM_16")
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    assert [(r.file, r.reason) for r in ds.rejected] == [("b.flac", "duplicate")]
    assert "same audio as a.wav" in ds.rejected[0].detail


def test_a_folder_of_only_bad_files_is_a_bad_request_naming_each_reason(tmp_path):
    expected = write_bad_files(tmp_path)
    with pytest.raises(DawgenError) as err:
        prepare(tmp_path, "stable-audio", **sa())
    assert err.value.code == ErrorCode.BAD_REQUEST
    for name, reason in expected.items():
        assert f"{name}: {reason}" in err.value.message
    assert {r.file: r.reason for r in err.value.rejected} == expected  # for a report of the failed run


@pytest.mark.parametrize("setup, args, words", [
    (None, {}, "not found"),
    ("empty", {}, "no audio files"),
    ("kick", {"kind": "midi-drums"}, "kind 'midi-drums'"),
    ("kick", {"chop": "slices"}, "chop 'slices'"),
    ("kick", {"bpm": 5.0}, "bpm"),
    ("toml", {}, "not valid TOML"),
    ("kick", {"channels": 3}, "channels 1 or 2"),
    ("kick", {"window_frames": "long"}, "window must be positive"),
])
def test_bad_arguments_and_folders_are_bad_requests(tmp_path, setup, args, words):
    folder = tmp_path / "data"
    if setup:
        folder.mkdir()
        (folder / "readme.txt").write_text("not audio")
    if setup in ("kick", "toml"):
        write(folder / "kick.wav", kick())
    if setup == "toml":
        (folder / "dataset.toml").write_text("owner = 'me\n")
    kind = args.pop("kind", "dance-diffusion")
    with pytest.raises(DawgenError) as err:
        prepare(folder, kind, **{**DD, **args})
    assert err.value.code == ErrorCode.BAD_REQUEST and words in err.value.message


def test_dataset_toml_is_carried_into_metadata(tmp_path):
    write(tmp_path / "kick.wav", kick())
    (tmp_path / "dataset.toml").write_text('owner = "DJ Test"\nlicense = "CC-BY-4.0"\nsource = "recorded at home"\n')
    ds = prepare(tmp_path, "dance-diffusion", **DD)
    assert ds.metadata == {"owner": "DJ Test", "licence": "CC-BY-4.0", "source": "recorded at home"}
    assert ds.report()["metadata"]["licence"] == "CC-BY-4.0"
    (tmp_path / "dataset.toml").unlink()
    assert any("no dataset.toml" in n for n in prepare(tmp_path, "dance-diffusion", **DD).notes)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
def test_a_file_libsndfile_cannot_read_goes_through_ffmpeg(tmp_path):
    wav = write(tmp_path / "src" / "hit.wav", with_lead(kick(1), 0.1))
    (tmp_path / "data").mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(wav), "-c:a", "aac", "-b:a", "192k",
                    str(tmp_path / "data" / "hit.m4a")], check=True, capture_output=True, timeout=60)
    with pytest.raises(RuntimeError):
        sf.info(str(tmp_path / "data" / "hit.m4a"))  # so the clip below came through ffmpeg
    ds = prepare(tmp_path / "data", "dance-diffusion", **DD)
    original = prepare(tmp_path / "src", "dance-diffusion", **DD).clips[0]
    assert ds.rejected == [] and len(ds.clips) == 1
    assert ds.clips[0].start_s == pytest.approx(0.1, abs=0.005)  # the leading silence, trimmed
    assert ds.clips[0].samples.shape[0] == pytest.approx(original.samples.shape[0], rel=0.02)


def test_48k_mono_is_resampled_to_44k1_stereo(tmp_path):
    t = np.arange(48000) / 48000
    write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate=48000)
    ds = prepare(tmp_path, "dance-diffusion", chop="none", **DD)
    clip = ds.clips[0].samples
    assert clip.shape == (RATE, 2)
    np.testing.assert_array_equal(clip[:, 0], clip[:, 1])
    spectrum = np.abs(np.fft.rfft(clip[:, 0]))
    assert np.fft.rfftfreq(RATE, 1 / RATE)[np.argmax(spectrum)] == pytest.approx(440, abs=1)
    assert any("from 48000 Hz" in n for n in ds.notes)
    mono = prepare(tmp_path, "dance-diffusion", chop="none", sample_rate=RATE, channels=1, window_frames=4096)
    assert mono.clips[0].samples.shape == (RATE, 1)


def test_progress_is_reported_and_a_cancel_stops_preparing(tmp_path):
    for i in range(3):
        write(tmp_path / f"k{i}.wav", kick(i))
    seen = []
    prepare(tmp_path, "dance-diffusion", progress=lambda f, stage: seen.append((f, stage)), **DD)
    assert [f for f, _ in seen] == pytest.approx([0.0, 1 / 3, 2 / 3, 1.0])

    def cancel_at_second(fraction, stage):
        if fraction > 0:
            raise JobCancelled()

    with pytest.raises(JobCancelled):  # never taken for a bad file
        prepare(tmp_path, "dance-diffusion", progress=cancel_at_second, **DD)


def test_default_windows():
    assert default_window_frames("dance-diffusion-lora", 44100) == 65536
    assert default_window_frames("stable-audio", 44100) == 441000
