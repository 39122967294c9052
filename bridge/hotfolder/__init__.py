"""Hot folders: drop a file into a folder, get results back, with no window to switch to.

Layout, under the output root (`<root>/dawgen/`), one subfolder per recipe everywhere so a producer
always sees which recipe a file went through:

    inbox/<recipe>/       drop files here (a sidecar <name>.json beside a file overrides its params)
    processing/<recipe>/  claimed drops, renamed to `<12-hex token>--<name>` so equal names never collide
    outbox/<recipe>/      results, written by the engine's writer (temp name + rename: never partial)
    done/<recipe>/        inputs whose jobs all finished (original name; the token name if taken)
    failed/<recipe>/      inputs that did not parse or whose job failed, beside `<name>.error.json`
                          ({"code", "message", "failures": [...], "jobs": [...], ...})

A drop counts once it is complete: hidden, temporary and partial names are ignored (dotfiles, `~$`
Office locks, .part, .tmp, .crdownload, .asd, ...; see layout.IGNORED_SUFFIXES) and its size, mtime
and inode must stay unchanged for `[hotfolder] settle_seconds`. It is then claimed by one rename into
processing/ and parsed (a .txt of prompts, a .json object of params, or a file libsndfile reads, by
recipe); what does not parse goes to failed/ with its error file. In audio and midi recipes a .json
with no file of its stem beside it is left waiting: it is a sidecar whose file has not arrived yet.

Exactly once, across crashes: each request's id is derived from the claimed name
(`hotfolder:<recipe>:<token>:<n>`). At start every drop in processing/ is taken up again; a request
id the journal already knows is not submitted again (the journal keeps finished jobs for
`[server] keep_finished_days`, well beyond the engine's own dedupe window), so a crash between claim,
submit and filing away never makes a second job. Engine events file a drop away when its last job
finishes; the periodic rescan re-checks drops in flight in case an event was missed.

A full queue (`[server] max_queued`) is not a failure of the drop: a claimed drop whose request is
refused with `queue_full` waits in processing/ and is submitted again when a job finishes (or at
the next rescan), and new drops stay in inbox/ until the waiting ones are in. Nothing goes to failed/
for it: the producer's file was fine, and dropping a folder of files and walking away should work.
"""
from .door import HotFolder
from .inputs import Drop, build_requests
from .layout import Layout, ignored

__all__ = ["HotFolder", "Drop", "Layout", "build_requests", "ignored"]
