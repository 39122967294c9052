"""Fair share within one priority level: round-robin across clients, weighted by `share`.

Stride scheduling: each client (owner; "" is this machine) has a pass value; the next job is the
oldest job of the client with the lowest pass (ties: the older job), whose pass then grows by
1 / share. A client that had nothing queued starts at the level's clock (the pass of the last job
taken), so it neither hoards credit while idle nor waits behind another client's backlog: one
client's 100 queued jobs hold back another's single job by at most one job per client.
"""
from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

Entry = tuple[int, str]  # (seq, job id): FIFO within one client


class Level:
    """The queued jobs of one priority level, a FIFO heap per owner."""

    def __init__(self, share: Callable[[str], int]) -> None:
        self._share = share
        self.heaps: dict[str, list[Entry]] = {}
        self.passes: dict[str, float] = {}
        self.clock = 0.0

    def __bool__(self) -> bool:
        return bool(self.heaps)

    def put(self, owner: str, seq: int, job_id: str) -> None:
        if not self.heaps:  # an empty level forgets its history: first come, first served again
            self.passes.clear()
            self.clock = 0.0
        heap = self.heaps.get(owner)
        if heap is None:  # this owner becomes active: it starts at the level's clock
            heap = self.heaps[owner] = []
            self.passes[owner] = self._start_pass(owner)
        heapq.heappush(heap, (seq, job_id))

    def remove(self, owner: str, job_id: str) -> None:
        heap = self.heaps.get(owner, [])
        kept = [e for e in heap if e[1] != job_id]
        if len(kept) != len(heap):
            heapq.heapify(kept)
            self._set(owner, kept)

    def candidates(self, eligible: Callable[[str], bool]) -> Iterator[tuple[float, int, str, Entry]]:
        """(pass, seq, owner, entry) of each owner's oldest job that `eligible` accepts."""
        for owner, heap in self.heaps.items():
            entry = heap[0] if eligible(heap[0][1]) else next((e for e in sorted(heap) if eligible(e[1])), None)
            if entry is not None:
                yield self.passes[owner], entry[0], owner, entry

    def take(self, owner: str, entry: Entry) -> None:
        """`entry` of `owner` leaves the queue to run: the owner's pass advances."""
        heap = self.heaps[owner]
        if heap[0] == entry:
            heapq.heappop(heap)
        else:
            heap.remove(entry)
            heapq.heapify(heap)
        self.clock = self.passes[owner]
        self.passes[owner] += 1.0 / self._share(owner)
        self._set(owner, heap)

    def order(self, extra: tuple[str, int, str] | None = None) -> list[str]:
        """Job ids in the order they would run (no lane pins), with `extra` (owner, seq, id) added."""
        queues = {owner: sorted(heap) for owner, heap in self.heaps.items()}
        passes = dict(self.passes)
        if extra is not None:
            owner, seq, job_id = extra
            if owner not in queues:
                queues[owner], passes[owner] = [], self._start_pass(owner)
            queues[owner].append((seq, job_id))
        heads = [(passes[owner], q[0][0], owner, 0) for owner, q in queues.items()]
        heapq.heapify(heads)
        out: list[str] = []
        while heads:
            pass_, _, owner, i = heapq.heappop(heads)
            queue = queues[owner]
            out.append(queue[i][1])
            if i + 1 < len(queue):
                heapq.heappush(heads, (pass_ + 1.0 / self._share(owner), queue[i + 1][0], owner, i + 1))
        return out

    def _start_pass(self, owner: str) -> float:
        return max(self.passes.get(owner, 0.0), self.clock)

    def _set(self, owner: str, heap: list[Entry]) -> None:
        if heap:
            self.heaps[owner] = heap
        else:
            del self.heaps[owner]  # its pass is kept: coming back soon, it does not jump ahead
