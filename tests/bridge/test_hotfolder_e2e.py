"""100 drops into a real daemon's hot folder, with a kill -9 between claim and finish.

Slow writers (a file written in pieces over seconds, split mid-word so an early claim would show as a
truncated prompt), renames into the folder, a browser-style download, duplicate names, corrupt files
and ignored names. After the restart every drop is processed exactly once: each prompt has exactly one
result, the journal has one job per request id, nothing is lost or left in processing/, and the
outbox holds only complete files.
"""
from __future__ import annotations

import collections
import json
import os
import threading
import time
from pathlib import Path

import soundfile as sf

from bridge.hotfolder import ignored
from server.journal import Journal

CONFIG = """
[hotfolder]
settle_seconds = 1.0
rescan_seconds = 0.5

[hotfolder.recipes.generate]
params = { seconds = 0.2 }  # short one-shots: the test is about the folder, not the sound
"""
SETTLE = 1.0
WRITE_SECONDS = 2.5  # a slow writer's file takes this long to write, in pieces


def wait_until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.05)


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.is_dir() else []


class Drops:
    """Writes the drops and remembers what each should produce."""

    def __init__(self, inbox: Path, staging: Path) -> None:
        self.inbox, self.staging = inbox, staging
        staging.mkdir(parents=True, exist_ok=True)
        self.prompts: list[str] = []  # every prompt that must come out exactly once
        self.good = 0  # drops that must end in done/
        self.bad: list[str] = []  # drops that must end in failed/
        self.writers: list[threading.Thread] = []  # slow writers: they finish while the daemon is down
        self.dropper: threading.Thread | None = None  # duplicates: each waits for a claim, so for the daemon

    def json_request(self, name: str, prompt: str, seed: int, via_rename: bool, **extra) -> None:
        data = json.dumps({"prompt": prompt, "seed": seed, **extra})
        if via_rename:  # written elsewhere on the same drive, then moved in (one "moved" event)
            (self.staging / name).write_text(data)
            os.rename(self.staging / name, self.inbox / name)
        else:
            (self.inbox / name).write_text(data)
        self.prompts.append(prompt)
        self.good += 1

    def prompt_list(self, name: str, prompts: list[str]) -> None:
        (self.inbox / name).write_text("\n".join(prompts) + "\n")
        self.prompts += prompts
        self.good += 1

    def slow(self, name: str, prompts: list[str], final_name: str | None = None) -> None:
        """Written in small pieces over WRITE_SECONDS; with final_name, renamed when complete (a download)."""
        text = "\n".join(prompts) + "\n"
        size = max(1, len(text) // 20)  # about 20 pieces, cut mid-word
        pieces = [text[i:i + size] for i in range(0, len(text), size)]
        pause = WRITE_SECONDS / len(pieces)
        assert pause < SETTLE / 4  # pauses well under the settle time: the file must not count early

        def write() -> None:
            with open(self.inbox / name, "w") as fh:
                for piece in pieces:
                    fh.write(piece)
                    fh.flush()
                    time.sleep(pause)
            if final_name:
                os.rename(self.inbox / name, self.inbox / final_name)

        self.prompts += prompts
        self.good += 1
        self.writers.append(threading.Thread(target=write, daemon=True))

    def duplicates(self, name: str, count: int) -> None:
        """The same name again each time the previous one has been claimed."""
        def drop_all() -> None:
            for i in range(count):
                path = self.inbox / name
                wait_until(lambda path=path: not path.exists(), 90, "the previous duplicate to be claimed")
                path.write_text(json.dumps({"prompt": f"perc dup {i}", "seed": 7000 + i}))

        self.prompts += [f"perc dup {i}" for i in range(count)]
        self.good += count
        self.dropper = threading.Thread(target=drop_all, daemon=True)

    def corrupt(self, name: str, data: bytes) -> None:
        (self.inbox / name).write_bytes(data)
        self.bad.append(name)

    def start_threads(self) -> None:
        for t in [*self.writers, self.dropper]:
            t.start()

    def join(self, threads) -> None:
        for t in threads:
            t.join(120)
            assert not t.is_alive()


def make_drops(inbox: Path, staging: Path) -> Drops:
    d = Drops(inbox, staging)
    for i in range(5):  # slow writers, split mid-word
        d.slow(f"slow{i}.txt", [f"snare slow{i} a", f"clap slow{i} b", f"tom slow{i} c"])
    d.slow("download.txt.crdownload", ["rim download"], final_name="download.txt")
    d.duplicates("dup.json", 5)
    for i in range(34):
        d.json_request(f"moved{i}.json", f"kick moved{i}", 1000 + i, via_rename=True)
    for i in range(33):
        d.json_request(f"direct{i}.json", f"hat direct{i}", 2000 + i, via_rename=False)
    for i in range(20):
        d.prompt_list(f"list{i}.txt", [f"kick list{i} x", f"snare list{i} y"][:1 + i % 2])
    d.corrupt("corrupt.json", b'{"prompt": "kick", "seed": ')
    d.corrupt("noise.wav", os.urandom(2048))
    for name in (".hidden.json", "partial.json.part", "~$lock.txt", "notes.tmp"):
        (inbox / name).write_text('{"prompt": "kick"}')
    return d


def test_100_drops_with_a_kill_9_between_claim_and_finish(daemon_factory, tmp_path):
    d = daemon_factory(config_text=CONFIG).start()
    base = d.project / "dawgen"
    inbox, processing = base / "inbox" / "generate", base / "processing" / "generate"
    done, failed, outbox = base / "done" / "generate", base / "failed" / "generate", base / "outbox" / "generate"
    assert inbox.is_dir()  # made at start

    drops = make_drops(inbox, tmp_path / "staging")
    drops.start_threads()
    assert drops.good + len(drops.bad) == 100

    # kill -9 while claimed drops are in flight: some queued or running, some already done
    wait_until(lambda: len(listing(processing)) >= 3 and len(listing(done)) >= 1, 60, "claims in flight")
    d.kill9()
    in_flight = [n for n in listing(processing)]
    assert in_flight
    drops.join(drops.writers)  # the slow writers finish while the daemon is down

    d.start()
    expected_inputs = drops.good + len(drops.bad)

    def settled() -> bool:
        filed = listing(done) + [n for n in listing(failed) if not n.endswith(".error.json")]
        return (listing(processing) == [] and all(ignored(n) for n in listing(inbox))
                and len([n for n in filed if not n.startswith(".")]) == expected_inputs)

    drops.join([drops.dropper])
    wait_until(settled, 90, "every drop filed away after the restart")
    assert d.terminate() == 0

    # every input filed exactly once: the good ones in done/, the corrupt ones in failed/ with a report
    assert len(listing(done)) == drops.good
    failed_inputs = [n for n in listing(failed) if not n.endswith(".error.json") and not n.startswith(".")]
    assert sorted(failed_inputs) == sorted(drops.bad)
    for name in drops.bad:
        report = json.loads((failed / f"{name}.error.json").read_text())
        assert report["code"] == "bad_request" and report["message"]
    for name in in_flight:  # what the crash caught mid-way came through
        original = name.split("--", 1)[1]
        assert original in drops.bad or any(n.endswith(original) for n in listing(done)), name
    assert sorted(listing(inbox)) == sorted([".hidden.json", "partial.json.part", "~$lock.txt", "notes.tmp"])

    # each prompt exactly once: no lost drop, no second job, no early claim of a half-written file
    sidecars = [json.loads(p.read_text()) for p in outbox.glob("*.json")]
    made = collections.Counter(s["params"]["prompt"] for s in sidecars)
    assert made == collections.Counter(drops.prompts)
    audio = [p for p in outbox.iterdir() if p.suffix == ".wav"]
    assert sorted(p.name for p in audio) == sorted(s["file"] for s in sidecars)
    assert [p for p in outbox.iterdir() if p.name.startswith(".")] == []  # no temporary or partial file
    for p in audio:
        assert sf.info(str(p)).frames > 0

    journal = Journal(d.state / "journal.sqlite3")
    try:
        per_request = collections.Counter(j.req_id for j in journal.recent(10_000) if j.req_id.startswith("hotfolder:"))
    finally:
        journal.close()
    assert len(per_request) == len(drops.prompts) and set(per_request.values()) == {1}
    assert "resuming" in d.log.read_text()
