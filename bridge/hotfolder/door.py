"""The hot-folder front door: scan the inboxes, claim settled drops, submit, file the inputs away.

One scanner thread does all inbox work (claims are never raced inside this process), woken by file
events (watchdog) and at least every `rescan_seconds` (network drives send no events). Engine events
arrive on worker threads and only move finished drops out of processing/.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from server.config import Config, RecipeConfig
from server.engine import Engine
from server.errors import DawgenError, ErrorCode
from server.jobs import Event, EventKind, Job, Request

from .filing import file_away, original_name
from .inputs import Drop, build_requests
from .layout import (
    Layout,
    claimed_name,
    ignored,
    new_token,
    parse_claimed,
    parse_request_id,
    request_id,
    sidecar_for,
)
from .settle import Settler, file_signature, tree_signature

log = logging.getLogger("dawgen.hotfolder")

MIN_SCAN_GAP = 0.05  # a slow writer sends bursts of events: look at most this often
_FINAL = (EventKind.DONE, EventKind.FAILED, EventKind.CANCELLED)


@dataclass
class _Active:
    """A drop whose requests are submitted (or being submitted) and not all finished."""

    drop: Drop
    verb: str
    req_ids: list[str]
    rejected: dict[str, tuple[str, str]] = field(default_factory=dict)  # req id -> (code, message)
    # not submitted yet: the queue was full (`[server] max_queued`); submitted again when there is room
    waiting: list[Request] = field(default_factory=list)


class _Wake(FileSystemEventHandler):
    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in ("opened", "closed_no_write"):  # reads change nothing
            self.wake.set()


class HotFolder:
    """Front door with start()/stop(); `scan_once`, `recover` and `check_active` are public for tests.

    `file_events=False` starts no file watcher: only the rescan every `rescan_seconds` finds drops
    (what happens where the watcher cannot start, e.g. at the inotify limit or on a network drive)."""

    def __init__(self, config: Config, engine: Engine, clock: Callable[[], float] = time.monotonic,
                 file_events: bool = True) -> None:
        settings = config.hotfolder
        self.engine = engine
        self.layout = Layout(config.output_root)
        self.recipes: dict[str, RecipeConfig] = {n: r for n, r in settings.recipes.items() if r.enabled}
        self.rescan_seconds = settings.rescan_seconds
        self.settler = Settler(settings.settle_seconds, clock)
        self.unavailable: dict[str, tuple[str, str]] = {}  # recipe -> (code, why its drops are rejected)
        self._active: dict[str, _Active] = {}  # token -> drop in flight
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._file_events = file_events
        self._unsubscribe: Callable[[], None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        self.prepare()
        if self._file_events:
            self._start_observer()
        self._thread = threading.Thread(target=self._run, name="dawgen-hotfolder", daemon=True)
        self._thread.start()

    def prepare(self) -> None:
        """Folders, the recipe report and the event subscription (start() without the threads)."""
        self.layout.make(self.recipes)
        self.unavailable = self._check_recipes()
        for name, (_, why) in self.unavailable.items():
            log.warning("hot folder: %s; drops into inbox/%s/ go to failed/%s/ with an error file", why, name, name)
        ready = [n for n in self.recipes if n not in self.unavailable]
        log.info("hot folder: drop files into %s/<recipe>/ (ready: %s)", self.layout.base / "inbox",
                 ", ".join(ready) or "none")
        self._unsubscribe = self.engine.subscribe(self._on_event)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        if self._thread is not None:
            self._thread.join(30)
        if self._unsubscribe is not None:
            self._unsubscribe()

    @property
    def watching(self) -> bool:
        """True when file events wake the scanner; False: rescans only (not started, turned off,
        or the watcher could not start)."""
        return self._observer is not None

    @property
    def in_flight(self) -> list[str]:
        """Tokens of the claimed drops whose jobs have not all finished (their files sit in
        processing/)."""
        with self._lock:
            return list(self._active)

    def _check_recipes(self) -> dict[str, tuple[str, str]]:
        problems = {}
        for name, recipe in self.recipes.items():
            model = recipe.params.get("model")
            try:
                # no model named: the one a request without `model=` goes to (an unavailable
                # built-in, e.g. `transcribe` without its extra, is reported with the extra to install)
                target = str(model) if model is not None else self.engine.model_for(recipe.verb)
                self.engine.params_for(target, recipe.verb)
            except DawgenError as exc:
                problems[name] = (exc.code, f"recipe {name!r} needs verb {recipe.verb!r}: {exc.message}")
        return problems

    def _start_observer(self) -> None:
        observer = Observer()
        observer.daemon = True
        try:
            observer.schedule(_Wake(self._wake), str(self.layout.base / "inbox"), recursive=True)
            observer.start()
        except OSError as exc:  # e.g. the inotify watch limit: the rescan still finds every drop
            log.warning("hot folder: no file events (%s); rescanning every %gs", exc, self.rescan_seconds)
            return
        self._observer = observer

    def _run(self) -> None:
        try:
            self.recover()
        except Exception:
            log.exception("hot folder: recovering processing/ failed")
        last_sweep = time.monotonic()
        while not self._stopping.is_set():
            try:
                self.submit_waiting()
                self.scan_once()
                if time.monotonic() - last_sweep >= self.rescan_seconds:
                    last_sweep = time.monotonic()
                    self.check_active()  # in case an engine event was missed
            except Exception:
                log.exception("hot folder scan failed")
            due = self.settler.next_due()
            self._wake.wait(self.rescan_seconds if due is None else min(self.rescan_seconds, due + 0.01))
            self._wake.clear()
            self._stopping.wait(MIN_SCAN_GAP)

    # -- inbox → processing ---------------------------------------------------------------------
    def scan_once(self) -> int:
        """Look at every inbox once and claim each settled drop; returns how many were claimed.
        While the engine's queue is full, or a claimed drop still waits for room, nothing new is
        claimed: new drops stay in inbox/ (first come, first served)."""
        if self._holding() or self.engine.queue_full():
            return 0
        seen: set[str] = set()
        claimed = 0
        for name in self.recipes:
            for main, sidecar in self._settled_drops(name, seen):
                claimed += self._claim(name, main, sidecar)
        self.settler.keep_only(seen)
        return claimed

    def _settled_drops(self, recipe: str, seen: set[str]) -> list[tuple[Path, Path | None]]:
        inbox = self.layout.inbox(recipe)
        folders = self.recipes[recipe].takes == "folder"
        try:
            names = sorted(e.name for e in os.scandir(inbox) if not ignored(e.name) and e.is_dir() == folders)
        except FileNotFoundError:  # removed by the user: make it again for the next drop
            inbox.mkdir(parents=True, exist_ok=True)
            return []
        if folders:  # a folder is one drop once nothing in it has changed for the settle time
            return [(inbox / n, None) for n in names if self._observe(inbox / n, seen)]
        sidecars = {s for s in (sidecar_for(n, names) for n in names) if s}
        takes_json = self.recipes[recipe].takes == "prompts"
        drops = []
        for name in names:
            if name in sidecars or (name.lower().endswith(".json") and not takes_json):
                continue  # a sidecar, or one still waiting for its media file
            sidecar = sidecar_for(name, names)
            parts = [inbox / name] + ([inbox / sidecar] if sidecar else [])
            settled = [self._observe(p, seen) for p in parts]  # observe every part, no short-circuit
            if all(settled):
                drops.append((parts[0], parts[1] if sidecar else None))
        return drops

    def _observe(self, path: Path, seen: set[str]) -> bool:
        key = str(path)
        seen.add(key)
        try:
            signature = tree_signature(path) if path.is_dir() else file_signature(path)
        except FileNotFoundError:
            return False
        return self.settler.observe(key, signature)

    def _claim(self, recipe: str, main: Path, sidecar: Path | None) -> int:
        """Rename the drop into processing/ (only one claimer can win a rename), then start it."""
        token = new_token()
        folder = self.layout.processing(recipe)
        folder.mkdir(parents=True, exist_ok=True)
        claimed = folder / claimed_name(token, main.name)
        try:
            os.rename(main, claimed)
        except FileNotFoundError:
            return 0  # taken away meanwhile (the user, or another daemon claimed it first)
        except OSError as exc:
            log.error("hot folder: cannot claim %s (%s); is the inbox on another drive?", main, exc)
            return 0
        self.settler.forget(str(main))
        claimed_sidecar = None
        if sidecar is not None:
            claimed_sidecar = folder / claimed_name(token, sidecar.name)
            try:
                os.rename(sidecar, claimed_sidecar)
            except OSError:
                claimed_sidecar = None  # gone meanwhile: the drop goes on without it
            self.settler.forget(str(sidecar))
        log.info("hot folder %s: claimed %s", recipe, main.name)
        self._begin(Drop(recipe, token, claimed, claimed_sidecar))
        return 1

    # -- processing → engine ----------------------------------------------------------------------
    def _begin(self, drop: Drop) -> None:
        recipe = self.recipes[drop.recipe]
        try:
            if drop.recipe in self.unavailable:
                raise DawgenError(*self.unavailable[drop.recipe])
            requests = build_requests(drop.recipe, recipe, drop)
        except DawgenError as exc:
            log.warning("hot folder %s: %s rejected: %s", drop.recipe, drop.original, exc.message)
            self._file_away(drop, recipe.verb, [], {"": (exc.code, exc.message)})
            return
        active = _Active(drop, recipe.verb, [r.req_id for r in requests], waiting=list(requests))
        with self._lock:
            self._active[drop.token] = active
        if self._submit_all(active):
            self.check(drop.token)
        elif active.waiting and self._holding():  # not shutting down: the queue is full
            log.info("hot folder %s: %s waits in processing/ for room in the queue", drop.recipe, drop.original)

    def _submit_all(self, active: _Active) -> bool:
        """Submit the drop's waiting requests in order; False when one has to wait: the queue is
        full, or the engine is shutting down (the drop stays in processing/ for the next start)."""
        while active.waiting:
            request = active.waiting[0]
            if self._job(request.req_id) is None:  # journaled before a crash or stop: never a second job
                try:
                    self.engine.submit(request)
                except DawgenError as exc:
                    if exc.code == ErrorCode.SHUTTING_DOWN:
                        with self._lock:
                            self._active.pop(active.drop.token, None)
                        return False
                    if exc.code == ErrorCode.QUEUE_FULL:
                        # Not the drop's fault: it waits and goes in when jobs finish, as a producer
                        # who drops a folder of files and walks away expects (no .error.json).
                        return False
                    active.rejected[request.req_id] = (exc.code, exc.message)
            active.waiting.pop(0)
        return True

    def submit_waiting(self) -> None:
        """Submit what a full queue held back, oldest drop first."""
        with self._lock:
            held = [a for a in self._active.values() if a.waiting]
        for active in held:
            if not self._submit_all(active):
                return  # still full: the rest wait their turn
            self.check(active.drop.token)

    def _holding(self) -> bool:
        with self._lock:
            return any(a.waiting for a in self._active.values())

    def _job(self, req_id: str) -> Job | None:
        try:
            return self.engine.status(req_id)[0]
        except DawgenError as exc:
            if exc.code != ErrorCode.NOT_FOUND:
                raise
            return None

    def _on_event(self, event: Event) -> None:
        if event.kind in _FINAL:
            if self._holding():
                self._wake.set()  # a job finished: room in the queue for a drop that waits
            parsed = parse_request_id(event.job.req_id)
            if parsed is not None and parsed[0] in self.recipes:
                self.check(parsed[1])

    def check(self, token: str) -> None:
        """File the drop away once every one of its requests has finished."""
        with self._lock:
            active = self._active.get(token)
            if active is None:
                return
            jobs = []
            for req_id in active.req_ids:
                if req_id in active.rejected:
                    continue
                job = self._job(req_id)
                if job is None or not job.state.finished:
                    return
                jobs.append(job)
            # Under the lock: exactly one caller files it away, and a drop leaves _active only once
            # its files have moved.
            self._file_away(active.drop, active.verb, jobs, active.rejected)
            del self._active[token]

    def check_active(self) -> None:
        with self._lock:
            tokens = list(self._active)
        for token in tokens:
            self.check(token)

    # -- processing → done / failed -------------------------------------------------------------
    def _file_away(self, drop: Drop, verb: str, jobs: list[Job], rejected: dict[str, tuple[str, str]]) -> None:
        file_away(self.layout, drop, verb, jobs, rejected)

    # -- start: finish what a crash or stop left in processing/ ---------------------------------
    def recover(self) -> int:
        """Resubmit (same request ids) or file away every drop in processing/; returns how many."""
        drops = [d for recipe in self.recipes for d in self._claimed_drops(recipe)]
        if drops:
            log.info("hot folder: resuming %d drop(s) found in processing/", len(drops))
        for drop in drops:
            try:
                self._begin(drop)
            except Exception:
                log.exception("hot folder: resuming %s failed; it stays in processing/ for the next start", drop.main)
        return len(drops)

    def _claimed_drops(self, recipe: str) -> list[Drop]:
        folder = self.layout.processing(recipe)
        groups: dict[str, list[Path]] = {}
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            parsed = parse_claimed(path.name)
            if parsed is None or not (path.is_file() or (path.is_dir() and self.recipes[recipe].takes == "folder")):
                if not ignored(path.name):
                    log.warning("hot folder: leaving %s alone (not a name the hot folder gives)", path)
                continue
            groups.setdefault(parsed[0], []).append(path)
        drops = []
        for token, paths in groups.items():
            media = [p for p in paths if not p.name.lower().endswith(".json")]
            jsons = [p for p in paths if p.name.lower().endswith(".json")]
            if not media:  # claims move the media file first: a lone .json is a .json request
                drops.append(Drop(recipe, token, jsons[0]))
                continue
            sidecar = jsons[0] if jsons else None
            if sidecar is None and self._job(request_id(recipe, token, 0)) is None:
                sidecar = self._finish_claim(recipe, token, media[0])
            drops.append(Drop(recipe, token, media[0], sidecar))
        return drops

    def _finish_claim(self, recipe: str, token: str, main: Path) -> Path | None:
        """A crash between claiming a media file and its sidecar left the sidecar in the inbox."""
        inbox = self.layout.inbox(recipe)
        original = original_name(main)
        name = sidecar_for(original, os.listdir(inbox)) if inbox.is_dir() else None
        if name is None:
            return None
        claimed = main.with_name(claimed_name(token, name))
        try:
            os.rename(inbox / name, claimed)
        except OSError:
            return None
        return claimed
