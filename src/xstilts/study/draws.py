"""Uniform random sets of k pool tasks with exactly c of the groups that split the pool
(languages, or task families), counted and drawn without listing them (study/spec.py
`Study.sets`: pools too large to enumerate)."""

from __future__ import annotations

import math


def group_by(pool, key) -> list[list[int]]:
    """Pool indices grouped by `key` (first-seen order)."""
    groups: dict = {}
    for i, task in enumerate(pool):
        groups.setdefault(key(task), []).append(i)
    return list(groups.values())


class GroupDraws:
    """Sets of k tasks that take tasks from exactly c of the groups that split the pool:
    their exact number, and uniform draws among them without listing them.

    ways[g][j][d]: the ways to take j tasks from groups g, g+1, ... with d of those groups
    non-empty. A draw goes group by group, taking t tasks from this one with probability
    C(size, t) ways[g + 1][j - t][d - (t > 0)] / ways[g][j][d], and t of its tasks at random:
    the product over the groups is 1 / ways[0][k][c], the same for every set."""

    def __init__(self, groups: list[list[int]], k: int, c: int):
        self.groups, self.k, self.c = groups, k, c
        ways = [[[0] * (c + 1) for _ in range(k + 1)] for _ in range(len(groups) + 1)]
        ways[len(groups)][0][0] = 1
        for g in reversed(range(len(groups))):
            size, after = len(groups[g]), ways[g + 1]
            for j in range(k + 1):
                for d in range(c + 1):
                    total = after[j][d]
                    if d:
                        total += sum(math.comb(size, t) * after[j - t][d - 1]
                                     for t in range(1, min(size, j) + 1))
                    ways[g][j][d] = total
        self.ways = ways
        self.count = ways[0][k][c] if c <= len(groups) else 0

    def draw(self, rng) -> tuple[int, ...]:
        chosen, j, d = [], self.k, self.c
        for g, members in enumerate(self.groups):
            if j == 0:
                break
            after = self.ways[g + 1]
            weights = [(t, math.comb(len(members), t) * after[j - t][d - (t > 0)])
                       for t in range(min(len(members), j) + 1) if d - (t > 0) >= 0]
            weights = [(t, w) for t, w in weights if w]
            point = rng.random() * float(sum(w for _, w in weights))
            take = weights[-1][0]
            for t, w in weights:
                point -= float(w)
                if point < 0:
                    take = t
                    break
            if take:
                chosen += [int(i) for i in rng.choice(members, take, replace=False)]
                j, d = j - take, d - 1
        return tuple(sorted(chosen))
