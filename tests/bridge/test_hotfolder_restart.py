"""The hot folder after a crash: what a restart finds in processing/ is finished exactly once (no
drop lost, no second job), against a real in-process engine (tests/bridge/hotfolder_rig.py)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bridge.hotfolder import HotFolder
from bridge.hotfolder.inputs import Drop, build_requests
from bridge.hotfolder.layout import claimed_name, move_no_clobber, request_id
from server.engine import Engine

from .hotfolder_rig import Rig, rigs, wait_until


@pytest.fixture
def rig(tmp_path):
    yield from rigs(tmp_path)


def claim_by_hand(r: Rig, name: str, text: str, token: str = "0123456789ab") -> Path:
    """What a crash right after the claim leaves behind."""
    folder = r.layout.processing("generate")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / claimed_name(token, name)
    path.write_text(text)
    return path


def jobs_of(r: Rig, token: str) -> list:
    return [j for j in r.engine.recent_jobs(1000) if token in j.req_id]


def test_restart_after_claim_before_submit_submits_once(rig):
    r = rig().prepare()
    claim_by_hand(r, "a.txt", "kick\nsnare\n")
    assert r.hf.recover() == 1
    wait_until(r.idle)
    assert r.files("done") == ["a.txt"] and r.files("processing") == []
    assert len(jobs_of(r, "0123456789ab")) == 2 and len(r.outputs()) == 2


def test_restart_after_submit_never_makes_a_second_job(rig):
    r = rig(workers=False).prepare()
    path = claim_by_hand(r, "a.txt", "kick\nsnare\n")
    # the crash: the first request was journaled, the second never sent
    first = build_requests("generate", r.config.hotfolder.recipes["generate"], Drop("generate", "0123456789ab", path))[0]
    r.engine.submit(first)
    r.hf.stop()
    restarted = Engine(r.config, journal=r.engine.journal)  # a new engine on the same journal
    r.engine = restarted
    restarted.journal.dedupe_seconds = 0  # long after the engine's own dedupe window
    restarted.start()
    r.hf = HotFolder(r.config, restarted, clock=r.clock)
    r.hf.prepare()
    assert r.hf.recover() == 1
    wait_until(r.idle)
    jobs = jobs_of(r, "0123456789ab")
    assert sorted(j.req_id for j in jobs) == [request_id("generate", "0123456789ab", i) for i in (0, 1)]
    assert len(r.outputs()) == 2 and r.files("done") == ["a.txt"]


def test_restart_after_the_jobs_finished_only_files_the_drop(rig):
    r = rig().prepare()
    path = claim_by_hand(r, "a.txt", "kick\n")
    (req,) = build_requests("generate", r.config.hotfolder.recipes["generate"], Drop("generate", "0123456789ab", path))
    job, _ = r.engine.submit(req)
    wait_until(lambda: r.engine.status(job.id)[0].state.finished)
    r.engine.journal.dedupe_seconds = 0
    assert r.hf.recover() == 1
    wait_until(r.idle)
    assert len(jobs_of(r, "0123456789ab")) == 1 and len(r.outputs()) == 1
    assert r.files("done") == ["a.txt"] and r.files("processing") == []


def test_restart_between_claiming_a_file_and_its_sidecar_finishes_the_claim(rig):
    r = rig().prepare()
    claim_by_hand(r, "kick.txt", "kick\n")
    (r.layout.inbox("generate") / "kick.json").write_text(json.dumps({"seed": 77}))
    assert r.hf.recover() == 1
    assert r.files("inbox") == []  # the sidecar joined its file instead of becoming a request
    wait_until(r.idle)
    assert [o["seed"] for o in r.outputs()] == [77]
    assert r.files("done") == ["kick.json", "kick.txt"]


def test_restart_halfway_through_filing_away(rig):
    r = rig().prepare()
    token = "0123456789ab"
    path = claim_by_hand(r, "kick.txt", "kick\n", token)
    side = claim_by_hand(r, "kick.json", json.dumps({"seed": 5}), token)
    reqs = build_requests("generate", r.config.hotfolder.recipes["generate"], Drop("generate", token, path, side))
    job, _ = r.engine.submit(reqs[0])
    wait_until(lambda: r.engine.status(job.id)[0].state.finished)
    done = r.layout.done("generate")
    done.mkdir(parents=True, exist_ok=True)
    os.rename(side, done / "kick.json")  # the sidecar left first ...
    os.link(path, done / "kick.txt")  # ... and the file was linked but not yet unlinked
    assert r.hf.recover() == 1
    wait_until(r.idle)
    assert r.files("done") == ["kick.json", "kick.txt"] and r.files("processing") == []
    assert len(jobs_of(r, token)) == 1


def test_files_in_processing_without_a_token_are_left_alone(rig):
    r = rig().prepare()
    r.layout.processing("generate").mkdir(parents=True)
    stranger = r.layout.processing("generate") / "mine.txt"
    stranger.write_text("kick\n")
    assert r.hf.recover() == 0
    assert stranger.exists()


def test_move_no_clobber_keeps_an_existing_file(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("new")
    b.write_text("old")
    assert not move_no_clobber(a, b)
    assert b.read_text() == "old" and a.exists()
