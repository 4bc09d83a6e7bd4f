"""Which jobs may start, and which can no longer run, as jobs finish: the executor's core,
with no torch, store or backend in it (tests drive it with thousands of fake jobs).

Each waiting job counts the dependencies it still waits for; a finished job decrements the
counts of its dependents (reverse edges), and one that reaches zero joins a ready-queue
ordered by plan position. A failed job blocks its dependents, theirs in turn, once each.
Every dependency edge is looked at a constant number of times in all: linear in the plan,
where rescanning every waiting job each round was quadratic.

The order is the one the executor always had: each round, in plan order, the jobs a
failure has blocked, and the ready jobs that fit into the free capacity.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

START, BLOCKED = "start", "blocked"


class Schedule:
    """The ready-queue over `order` (the keys to run, in plan order: dependencies first);
    `deps` maps each key to what it needs (keys not in `order` are done already)."""

    def __init__(self, order: Iterable[str], deps: Mapping[str, Iterable[str]]):
        self.order = list(order)
        self.position = {key: i for i, key in enumerate(self.order)}
        self.dependents: dict[str, list[str]] = {key: [] for key in self.order}
        self.waiting_for: dict[str, int] = {}
        self.checks = 0  # dependency edges looked at (tests bound it)
        self.ready: list[int] = []  # plan positions, a heap
        for key in self.order:
            count = 0
            for dep in deps[key]:
                self.checks += 1
                if dep in self.position:
                    if self.position[dep] >= self.position[key]:
                        raise ValueError(f"plan order: {key} comes before its dependency {dep}")
                    self.dependents[dep].append(key)
                    count += 1
            self.waiting_for[key] = count
            if count == 0:
                self.ready.append(self.position[key])
        heapq.heapify(self.ready)
        self.bad: set[str] = set()  # failed or blocked
        self.newly_blocked: list[int] = []  # positions, reported by the next round

    def next_round(self, free: int) -> list[tuple[str, str]]:
        """(START or BLOCKED, key) in plan order: every job blocked since the last round, and
        up to `free` ready jobs (taken off the queue: the caller starts them)."""
        starts = [heapq.heappop(self.ready) for _ in range(min(max(free, 0), len(self.ready)))]
        events = [(p, START) for p in starts] + [(p, BLOCKED) for p in self.newly_blocked]
        self.newly_blocked = []
        return [(event, self.order[p]) for p, event in sorted(events)]

    def done(self, key: str) -> None:
        """`key` finished: dependents waiting for nothing else become ready."""
        for dependent in self.dependents[key]:
            self.checks += 1
            self.waiting_for[dependent] -= 1
            if self.waiting_for[dependent] == 0:
                heapq.heappush(self.ready, self.position[dependent])

    def failed(self, key: str) -> None:
        """`key` failed: everything that needs it, directly or not, is blocked."""
        self.bad.add(key)
        stack = [key]
        while stack:
            for dependent in self.dependents[stack.pop()]:
                self.checks += 1
                if dependent not in self.bad:
                    self.bad.add(dependent)
                    self.newly_blocked.append(self.position[dependent])
                    stack.append(dependent)
