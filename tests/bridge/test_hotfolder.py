"""The hot folder against a real in-process engine (synth model, thread isolation).

The settle clock is a fake one driven by the test, so no assertion depends on timing; jobs run on the
engine's real worker and write real files through its writer (tests/bridge/hotfolder_rig.py). What a
restart finds after a crash: test_hotfolder_restart.py.
"""
from __future__ import annotations

import json
import logging
import os
import time

import pytest
import soundfile as sf

from bridge.hotfolder import HotFolder, ignored
from bridge.hotfolder.inputs import Drop, build_requests
from bridge.hotfolder.layout import claimed_name, parse_claimed, request_id
from bridge.hotfolder.settle import Settler
from server.config import load
from server.engine import Engine
from server.jobs import Request

from .hotfolder_rig import Clock, rigs, wait_until, write_wav


@pytest.fixture
def rig(tmp_path):
    yield from rigs(tmp_path)


# -- names and the settle rule ------------------------------------------------------------------
@pytest.mark.parametrize("name", [".DS_Store", ".kick.wav.swp", "~$notes.txt", "kick.wav.part", "song.wav.crdownload",
                                  "x.tmp", "kick.wav.asd", "kick.wav.reapeaks", "backup~", "Thumbs.db",
                                  "kick.wav.error.json", ".kick.wav.dawgen-abc.tmp"])
def test_hidden_temporary_and_partial_names_are_ignored(name):
    assert ignored(name)


@pytest.mark.parametrize("name", ["kick.wav", "prompts.txt", "req.json", "Song (final).flac", "a~b.txt"])
def test_ordinary_names_are_drops(name):
    assert not ignored(name)


def test_settler_needs_the_same_size_and_mtime_for_the_whole_settle_time():
    clock = Clock()
    s = Settler(2.0, clock)
    assert not s.observe("f", (10, 1, 7))
    clock.advance(1.5)
    assert not s.observe("f", (20, 2, 7))  # grew: starts again
    assert s.next_due() == pytest.approx(2.0)
    clock.advance(1.9)
    assert not s.observe("f", (20, 2, 7))
    clock.advance(0.1)
    assert s.observe("f", (20, 2, 7))
    assert s.next_due() is None  # settled files do not keep the scanner spinning
    s.keep_only(set())
    assert not s.observe("f", (20, 2, 7))  # forgotten: a file at that path again starts from zero


def test_settle_zero_counts_a_file_at_first_sight():
    assert Settler(0.0, Clock()).observe("f", (1, 1, 1))


def test_claimed_names_and_request_ids_round_trip():
    assert parse_claimed(claimed_name("0123456789ab", "kick--x.wav")) == ("0123456789ab", "kick--x.wav")
    assert parse_claimed("kick.wav") is None
    assert request_id("generate", "0123456789ab", 3) == "hotfolder:generate:0123456789ab:3"


# -- drops end to end (in process) ----------------------------------------------------------------
def test_a_txt_of_prompts_makes_one_job_per_line_and_lands_in_done(rig):
    r = rig().prepare()
    (r.layout.inbox("generate") / "ideas.txt").write_text("punchy kick\n# a note\n\n dark snare \nclap\n")
    assert r.settle_and_scan() == 1
    assert r.files("inbox") == []
    wait_until(r.idle)
    assert r.files("done") == ["ideas.txt"] and r.files("processing") == [] and r.files("failed") == []
    outs = r.outputs()
    assert sorted(o["params"]["prompt"] for o in outs) == ["clap", "dark snare", "punchy kick"]
    assert len({o["req_id"] for o in outs}) == 3
    assert all(o["req_id"].startswith("hotfolder:generate:") for o in outs)
    for o in outs:  # every result is complete and readable
        assert sf.info(str(r.layout.outbox("generate") / o["file"])).frames > 0


def test_a_growing_file_is_claimed_only_after_it_stops_changing(rig):
    r = rig().prepare()
    path = r.layout.inbox("generate") / "slow.txt"
    with open(path, "w") as fh:
        fh.write("kick\n")
        fh.flush()
        for line in ("snare\n", "hat\n", "tom\n"):
            assert r.hf.scan_once() == 0
            r.clock.advance(0.9)  # less than the settle time between writes
            fh.write(line)
            fh.flush()
            os.utime(path, ns=(time.time_ns(), time.time_ns()))  # coarse-mtime filesystems: size changes anyway
    assert r.hf.scan_once() == 0  # the last write reset the settle time
    r.clock.advance(0.99)
    assert r.hf.scan_once() == 0
    r.clock.advance(0.01)
    assert r.hf.scan_once() == 1
    wait_until(r.idle)
    assert len(r.outputs()) == 4  # the whole file, not the part seen first


def test_ignored_files_are_left_in_the_inbox(rig):
    r = rig().prepare()
    inbox = r.layout.inbox("generate")
    names = ["kick.txt.part", ".DS_Store", "~$list.txt", "x.tmp", "a.txt.crdownload"]
    for name in names:
        (inbox / name).write_text("kick\n")
    (inbox / "folder").mkdir()
    assert r.settle_and_scan() == 0
    r.clock.advance(100)
    assert r.hf.scan_once() == 0
    assert r.files("inbox") == sorted(names + ["folder"])
    assert r.files("processing") == []


def test_a_renamed_download_is_a_drop_once_its_final_name_appears(rig):
    r = rig().prepare()
    inbox = r.layout.inbox("generate")
    (inbox / "dl.txt.crdownload").write_text("kick\n")
    assert r.settle_and_scan() == 0
    os.rename(inbox / "dl.txt.crdownload", inbox / "dl.txt")
    assert r.settle_and_scan() == 1
    wait_until(r.idle)
    assert r.files("done") == ["dl.txt"]


def test_a_sidecar_json_overrides_the_params_and_travels_with_its_file(rig):
    r = rig().prepare()
    inbox = r.layout.inbox("generate")
    (inbox / "kick.txt").write_text("kick\n")
    (inbox / "kick.json").write_text(json.dumps({"seed": 1234, "count": 2, "prompt": "ignored: the line wins"}))
    assert r.settle_and_scan() == 1  # one drop, not two: the .json is a sidecar here
    wait_until(r.idle)
    assert sorted(o["seed"] for o in r.outputs()) == [1234, 1235]
    assert {o["params"]["prompt"] for o in r.outputs()} == {"kick"}
    assert r.files("done") == ["kick.json", "kick.txt"]


def test_a_json_request_and_recipe_params(rig):
    r = rig(recipes={"generate": {"params": {"count": 2}}}).prepare()
    (r.layout.inbox("generate") / "hat.json").write_text(json.dumps({"prompt": "closed hat", "seed": 9}))
    assert r.settle_and_scan() == 1
    wait_until(r.idle)
    assert sorted(o["seed"] for o in r.outputs()) == [9, 10]  # count from the recipe, seed from the drop
    assert r.files("done") == ["hat.json"]


def test_duplicate_names_are_each_processed_once(rig):
    r = rig().prepare()
    inbox = r.layout.inbox("generate")
    for seed in (1, 2, 3):
        (inbox / "dup.json").write_text(json.dumps({"prompt": "kick", "seed": seed}))
        assert r.settle_and_scan() == 1
    wait_until(r.idle)
    assert sorted(o["seed"] for o in r.outputs()) == [1, 2, 3]
    done = r.files("done")
    assert len(done) == 3 and "dup.json" in done
    assert all(parse_claimed(n) for n in done if n != "dup.json")  # the others keep their unique names


def test_unparseable_drops_fail_with_an_error_file(rig):
    r = rig().prepare()
    inbox = r.layout.inbox("generate")
    (inbox / "broken.json").write_text('{"prompt": "kick", ')
    (inbox / "list.json").write_text('["kick"]')
    (inbox / "empty.txt").write_text("# only a comment\n\n")
    (inbox / "song.wav").write_bytes(b"RIFF....WAVE")
    (inbox / "latin1.txt").write_bytes("caf\xe9 kick\n".encode("latin-1"))
    (inbox / "outdir.json").write_text(json.dumps({"prompt": "kick", "dir": "../escape"}))
    (inbox / "snare.txt").write_text("snare\n")
    (inbox / "snare.json").write_text("not json")  # a bad sidecar fails its drop
    assert r.settle_and_scan() == 7
    wait_until(r.idle)
    failed = r.files("failed")
    inputs = ["broken.json", "empty.txt", "latin1.txt", "list.json", "outdir.json", "snare.txt", "song.wav"]
    assert [n for n in failed if not n.endswith(".error.json")] == sorted(inputs + ["snare.json"])
    expect = {"broken.json": "not valid JSON", "list.json": "expected a JSON object", "empty.txt": "no prompts",
              "song.wav": "takes a .txt of prompts", "latin1.txt": "not UTF-8", "outdir.json": "dir",
              "snare.txt": "sidecar snare.json: not valid JSON"}
    for name, words in expect.items():
        report = json.loads((r.layout.failed("generate") / f"{name}.error.json").read_text())
        assert report["code"] == "bad_request" and words in report["message"], (name, report)
        assert report["input"] == name
    assert r.outputs() == [] and r.files("done") == []


def test_audio_recipes_parse_the_file_and_pass_its_path_as_input(rig):
    # the synth does only `generate`, which takes no `input`: a valid audio drop gets as far as the
    # engine and is refused there for real; a corrupt one is refused by the hot folder first
    r = rig(recipes={"oneshot": {"verb": "generate", "takes": "audio"}}).prepare()
    inbox = r.layout.inbox("oneshot")
    write_wav(inbox / "good.wav")
    (inbox / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunkjunkjunk")
    assert r.settle_and_scan() == 2
    wait_until(r.idle)
    corrupt = json.loads((r.layout.failed("oneshot") / "corrupt.wav.error.json").read_text())
    assert corrupt["code"] == "bad_request" and "libsndfile" in corrupt["message"]
    good = json.loads((r.layout.failed("oneshot") / "good.wav.error.json").read_text())
    assert good["code"] == "bad_request" and "input" in good["message"]
    assert good["failures"][0]["req_id"].startswith("hotfolder:oneshot:")


def test_build_requests_for_audio_and_midi_drops(tmp_path):
    from server.config import RecipeConfig

    wav = tmp_path / f"{'a' * 12}--take.wav"
    write_wav(wav)
    side = tmp_path / f"{'a' * 12}--take.json"
    side.write_text(json.dumps({"stems": "vocals", "model": "demucs"}))
    recipe = RecipeConfig("separate", "audio", {"mode": "stems", "stems": "all"})
    (req,) = build_requests("stems", recipe, Drop("stems", "a" * 12, wav, side))
    assert req.verb == "separate" and req.req_id == f"hotfolder:stems:{'a' * 12}:0"
    assert req.params == {"mode": "stems", "stems": "vocals", "model": "demucs", "input": str(wav),
                          "dir": "dawgen/outbox/stems"}
    mid = tmp_path / f"{'b' * 12}--clip.mid"
    mid.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0")
    (req,) = build_requests("groove", RecipeConfig("midi/groove", "midi"), Drop("groove", "b" * 12, mid))
    assert req.params["input"] == str(mid)
    mid.write_bytes(b"not midi at all")
    with pytest.raises(Exception, match="MThd"):
        build_requests("groove", RecipeConfig("midi/groove", "midi"), Drop("groove", "b" * 12, mid))


def test_recipes_without_a_model_are_reported_and_reject_drops(rig, caplog):
    r = rig()
    with caplog.at_level(logging.WARNING, logger="dawgen.hotfolder"):
        r.prepare()
    # transcribe is a built-in model: available where its extra is installed (make test installs it)
    no_transcribe = "transcribe" in r.engine.registry.problems()
    expected = {"stems", "vary", "continue"} | ({"transcribe"} if no_transcribe else set())
    assert set(r.hf.unavailable) == expected
    for recipe in sorted(expected):
        assert f"inbox/{recipe}/" in caplog.text
        assert r.layout.inbox(recipe).is_dir()
    write_wav(r.layout.inbox("stems") / "song.wav")
    write_wav(r.layout.inbox("vary") / "song.wav")
    assert r.settle_and_scan() == 2
    for recipe, verb in (("stems", "separate"), ("vary", "vary")):
        assert r.files("failed", recipe) == ["song.wav", "song.wav.error.json"]
        report = json.loads((r.layout.failed(recipe) / "song.wav.error.json").read_text())
        assert report["code"] == "unknown_verb" and verb in report["message"]
    assert r.engine.recent_jobs() == []  # nothing reached the queue


def test_a_cancelled_job_files_its_drop_under_failed(rig):
    r = rig(workers=False).prepare()  # the job stays queued until cancelled
    (r.layout.inbox("generate") / "k.txt").write_text("kick\n")
    assert r.settle_and_scan() == 1
    (token,) = r.hf.in_flight
    r.engine.cancel(request_id("generate", token, 0))
    wait_until(r.idle)
    report = json.loads((r.layout.failed("generate") / "k.txt.error.json").read_text())
    assert report["code"] == "cancelled" and report["jobs"][0]["state"] == "cancelled"


def test_a_full_queue_holds_drops_back_instead_of_failing_them(rig):
    r = rig(workers=False, server={"max_queued": 2}).prepare()
    other, _ = r.engine.submit(Request("generate", {"prompt": "other"}, "other"))
    (r.layout.inbox("generate") / "three.txt").write_text("kick\nsnare\nclap\n")
    assert r.settle_and_scan() == 1
    # "kick" went in; "snare" was refused with queue_full: the drop waits in processing/, not failed/
    assert [j.params["prompt"] for j in r.engine.queue()] == ["other", "kick"]
    assert [parse_claimed(n)[1] for n in r.files("processing")] == ["three.txt"] and r.files("failed") == []
    (r.layout.inbox("generate") / "later.txt").write_text("hat\n")
    assert r.settle_and_scan() == 0 and r.files("inbox") == ["later.txt"]  # first come, first served
    r.engine.cancel(other.id)  # a job ends: room for one
    r.hf.submit_waiting()
    assert [j.params["prompt"] for j in r.engine.queue()] == ["kick", "snare"]  # "clap" still waits
    r.engine.scheduler.take(timeout=0)  # a worker takes "kick"
    r.hf.submit_waiting()
    assert [j.params["prompt"] for j in r.engine.queue()] == ["kick", "snare", "clap"]
    r.engine.scheduler.take(timeout=0)
    assert r.settle_and_scan() == 1 and r.files("inbox") == []
    prompts = sorted(j.params["prompt"] for j in r.engine.recent_jobs() if j.req_id.startswith("hotfolder:"))
    assert prompts == ["clap", "hat", "kick", "snare"]  # each exactly once
    assert r.files("failed") == []



# -- the threads: file events and the periodic rescan ---------------------------------------------
def test_file_events_wake_the_scanner(tmp_path, monkeypatch):
    # rescan once an hour: only a watchdog event can make the drop be seen within the test
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "thread", "hotfolder.settle_seconds": 0.2,
                      "hotfolder.rescan_seconds": 3600.0})
    engine = Engine(cfg)
    engine.start()
    hf = HotFolder(cfg, engine)
    scans: list[int] = []
    real_scan = hf.scan_once

    def counted() -> int:
        found = real_scan()
        scans.append(found)
        return found

    monkeypatch.setattr(hf, "scan_once", counted)
    hf.start()
    try:
        assert hf.watching
        wait_until(lambda: scans)  # the scan at start is over and found nothing ...
        (hf.layout.inbox("generate") / "k.txt").write_text("kick\n")  # ... so only an event can find this
        wait_until(lambda: (hf.layout.done("generate") / "k.txt").exists(), timeout=60)
    finally:
        hf.stop()
        engine.stop(5)
        engine.close()


def test_the_periodic_rescan_finds_drops_without_file_events(tmp_path):
    cfg = load(None, {"output.root": str(tmp_path / "p"), "server.state_dir": str(tmp_path / "s"),
                      "server.isolation": "thread", "hotfolder.settle_seconds": 0.1,
                      "hotfolder.rescan_seconds": 0.2})
    engine = Engine(cfg)
    engine.start()
    hf = HotFolder(cfg, engine, file_events=False)  # as on a network drive
    hf.start()
    try:
        assert not hf.watching
        (hf.layout.inbox("generate") / "k.txt").write_text("kick\n")
        wait_until(lambda: (hf.layout.done("generate") / "k.txt").exists())
    finally:
        hf.stop()
        engine.stop(5)
        engine.close()
