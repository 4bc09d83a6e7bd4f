"""A study is data: a base run config, a pool of intermediate tasks, set sizes, how sets are
drawn, and seeds. `arms` expands it into the runs it stands for; nothing here trains.

    name: tiny-study
    base: {encoder: ..., intermediate: {training: ...}, targets: {tasks: [...], ...}}
    pool: [demo-mc-en, demo-topic-de, ...]
    sizes: [0, 1, 2, 4]              # 0 = the baseline (no intermediate phase)
    draw: all                        # for every k: all | {random: N} |
    draws: {2: {random: 3}}          #   {languages: [1, 2], random: N} | {fixed: [[a, b]]}
    seeds: {intermediate: [0, 1], target: [0, 1]}
    keep: {intermediate_weights: true, target_weights: false}
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator

from xstilts.config import (
    RunConfig,
    Strict,
    _line_of,
    invalid_config,
    read_yaml_file,
    read_yaml_mapping,
)
from xstilts.errors import located
from xstilts.names import SafeName
from xstilts.study.plan import Arm


class Draw(Strict):
    """How the sets of one size are chosen."""

    random: int | None = Field(None, ge=1)  # N sets at random (seeded), else all of them
    languages: list[int] | None = None  # per number of distinct languages in the set
    fixed: list[list[str]] | None = None  # exactly these sets

    @model_validator(mode="after")
    def _one_kind(self):
        if self.fixed is not None and (self.random or self.languages):
            raise ValueError("`fixed` sets take no `random` or `languages`")
        return self


class Seeds(Strict):
    intermediate: list[int] = Field(default_factory=lambda: [0], min_length=1)
    target: list[int] = Field(default_factory=lambda: [0], min_length=1)


class Keep(Strict):
    """What stays in the store once nothing pending needs it (metrics and predictions always)."""

    intermediate_weights: bool = True
    target_weights: bool = False


class StudySpec(Strict):
    name: SafeName = Field("study", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    base: dict
    pool: list[SafeName] = Field(min_length=1)
    sizes: list[int] = Field(min_length=1)
    draw: Literal["all"] | Draw = "all"
    draws: dict[int, Literal["all"] | Draw] = Field(default_factory=dict)
    seed: int = 0  # for random draws
    seeds: Seeds = Field(default_factory=Seeds)
    keep: Keep = Field(default_factory=Keep)


class Study:
    """A validated study: its spec, its base config, and the languages of its pool's tasks."""

    def __init__(self, spec: StudySpec, base: RunConfig, languages: dict[str, frozenset]):
        self.spec, self.base, self.languages = spec, base, languages

    def arms(self) -> list[Arm]:
        """Every (set, intermediate seed, target seed) the study runs; the baseline's arms
        have no intermediate seed (-1)."""
        arms = []
        for k in self.spec.sizes:
            if k == 0:
                arms += [Arm((), -1, st) for st in self.spec.seeds.target]
                continue
            for tasks in self.sets(k):
                arms += [Arm(tasks, si, st) for si in self.spec.seeds.intermediate
                         for st in self.spec.seeds.target]
        return arms

    def sets(self, k: int) -> list[tuple[str, ...]]:
        """The task sets of size k (pool order within a set)."""
        draw = self.spec.draws.get(k, self.spec.draw)
        pool = self.spec.pool
        if draw != "all" and draw.fixed is not None:
            return [tuple(t for t in pool if t in s) for s in draw.fixed]
        candidates = list(itertools.combinations(pool, k))
        if draw == "all":
            return candidates
        rng = np.random.default_rng([self.spec.seed, k])
        strata = draw.languages or [None]
        out = []
        for n_langs in strata:
            group = [c for c in candidates if n_langs is None or self.n_languages(c) == n_langs]
            if draw.random is None or draw.random >= len(group):
                out += group  # all of them (or N covers them all)
            else:
                out += [group[i] for i in sorted(rng.choice(len(group), draw.random,
                                                            replace=False))]
        return out

    def n_languages(self, tasks) -> int:
        """Distinct training languages of a set."""
        return len(frozenset().union(*(self.languages[t] for t in tasks))) if tasks else 0


def load_study(path: str | Path) -> Study:
    """Read and validate a study file; every impossible request is refused with file:line."""
    path = Path(path)
    data, root = read_yaml_mapping(read_yaml_file(path, "study"), path,
                                   "examples/study-tiny.yaml")
    data.setdefault("name", path.stem)
    try:
        spec = StudySpec.model_validate(data)
    except ValidationError as exc:
        raise invalid_config(exc, root, path, what="study") from exc
    intermediate = data["base"].get("intermediate") or {}
    if not isinstance(intermediate, dict):
        raise located(path, _line_of(root, ("base", "intermediate")),
                      "base.intermediate must be a mapping", "give intermediate: {training: ...}")
    if intermediate.get("tasks"):
        raise located(path, _line_of(root, ("base", "intermediate", "tasks")),
                      "base.intermediate.tasks is set, but the study draws the sets",
                      "remove it; put the tasks in `pool`")
    # Validated with the pool as its intermediate tasks, so settings may name pool tasks.
    base_data = {**data["base"], "intermediate": {**intermediate, "tasks": spec.pool}}
    try:
        base = RunConfig.model_validate(base_data)
    except ValidationError as exc:
        raise invalid_config(exc, root, path, ("base",)) from exc
    base.intermediate.tasks = []
    base.with_origin(path, root, ("base",))
    _relative_paths(base, path)

    def where(*loc) -> int | None:
        return _line_of(root, loc)

    from xstilts.pipeline import resolve_tasks

    tasks = resolve_tasks(base, spec.pool)
    languages = {t: frozenset(tasks[t].train_languages or [tasks[t].train_language])
                 for t in spec.pool}
    study = Study(spec, base, languages)
    _check(study, path, where)
    return study


def _relative_paths(base: RunConfig, path: Path) -> None:
    """Task files in the base config are relative to the study file, as in a run config."""
    for decl in base.tasks.values():
        if decl.base_dir is None:
            decl.base_dir = str(path.parent)
        elif not Path(decl.base_dir).is_absolute():
            decl.base_dir = str(path.parent / decl.base_dir)


def _check(study: Study, path: Path, where) -> None:
    """Refuse impossible plans before any work."""
    spec = study.spec
    if len(set(spec.pool)) != len(spec.pool):
        raise located(path, where("pool"), "the pool lists a task twice", "list each once")
    for i, k in enumerate(spec.sizes):
        if k < 0 or k > len(spec.pool):
            raise located(path, where("sizes", i), f"size {k} is impossible with a pool of "
                          f"{len(spec.pool)} tasks", f"use sizes from 0 to {len(spec.pool)}")
    for k in spec.draws:
        if k not in spec.sizes:
            raise located(path, where("draws", k), f"draws for size {k}, which is not in "
                          "sizes", "add it to sizes or remove it")
    for k in spec.sizes:
        draw = spec.draws.get(k, spec.draw)
        line = where("draws", k) or where("draw")
        if k == 0 or draw == "all":
            continue
        if draw.fixed is not None:
            for s in draw.fixed:
                unknown = sorted(set(s) - set(spec.pool))
                if unknown or len(set(s)) != k:
                    raise located(path, line, f"fixed set {s} for size {k}: "
                                  + (f"{unknown} not in the pool" if unknown
                                     else f"it has {len(set(s))} tasks"),
                                  f"give sets of {k} distinct pool tasks")
            continue
        total = math.comb(len(spec.pool), k)
        for n_langs in draw.languages or []:
            count = sum(study.n_languages(c) == n_langs
                        for c in itertools.combinations(spec.pool, k))
            if count == 0:
                raise located(path, line, f"no set of {k} pool tasks has exactly {n_langs} "
                              "distinct language(s)", "change `languages` for this size "
                              "(the pool's languages: " + ", ".join(
                                  f"{t}={'+'.join(sorted(study.languages[t]))}"
                                  for t in spec.pool) + ")")
            if draw.random and draw.random > count:
                raise located(path, line, f"random: {draw.random} sets of size {k} with "
                              f"{n_langs} language(s), but only {count} exist",
                              f"ask for at most {count}")
        if draw.random and not draw.languages and draw.random > total:
            raise located(path, line, f"random: {draw.random} sets of size {k}, but only "
                          f"{total} exist", f"ask for at most {total}, or use `all`")
