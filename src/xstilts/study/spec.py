"""A study is data: a base run config, a pool of intermediate tasks, set sizes, how sets are
drawn, and seeds. `arms` expands it into the runs it stands for; nothing here trains.

    name: tiny-study
    base: {encoder: ..., intermediate: {training: ...}, targets: {tasks: [...], ...}}
    pool: [demo-mc-en, demo-topic-de, ...]
    sizes: [0, 1, 2, 4]              # 0 = the baseline (no intermediate phase)
    draw: all                        # for every k: all | {random: N} |
    draws: {2: {random: 3}}          #   {languages: [1, 2], random: N} | {fixed: [[a, b]]} |
                                     #   {types: [1, 2], random: N} (task families)
    seeds: {intermediate: [0, 1], target: [0, 1]}
    keep: {intermediate_weights: true, target_weights: false}
    budget: {total_steps: 2000}      # the intermediate phase's (or budgets: {name: ...}):
                                     #   total_steps | per_task_steps | per_task_examples
    select: {by: rank, budget: 8}    # adaptive: 8 of the drawn sets, predicted-best first

How sets are drawn. Up to ENUMERATE_LIMIT sets of size k (C(pool, k)), every set is listed
in pool order and a random draw picks N of each stratum's list (numpy's default_rng([seed, k]),
stratum by stratum): the studies of earlier versions draw exactly the sets they always did.
Above it (C(41, 8) = 95.5M sets), the sets are never listed: each stratum's N sets are drawn
directly, one at a time, uniformly among the sets of that stratum, distinct ones kept (at most
DRAW_ATTEMPTS + 100 N draws a stratum), then put in the listed path's order; `all` is
refused there. A stratum by languages counts the distinct training languages of a set; one
by types counts its task families (a task's option `family`, e.g. "mnli" for every XNLI
translate-train task; a task without one is its own family).
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
from xstilts.errors import XstiltsError, located
from xstilts.names import SafeName
from xstilts.study.budget import Budget, Regime, conflicts, regimes
from xstilts.study.draws import GroupDraws, group_by
from xstilts.study.plan import Arm

# At most this many sets of one size are listed (the draws of earlier versions, bit for
# bit); above it they are drawn directly and never listed. C(41, 4) = 101,270 is listed,
# C(41, 5) = 749,398 is not; listing 200,000 sets and checking their strata takes a second.
ENUMERATE_LIMIT = 200_000
# Direct draws give up on a stratum after DRAW_ATTEMPTS + 100 per set asked for.
DRAW_ATTEMPTS = 10_000


class Draw(Strict):
    """How the sets of one size are chosen."""

    random: int | None = Field(None, ge=1)  # N sets at random (seeded), else all of them
    languages: list[int] | None = None  # per number of distinct languages in the set
    types: list[int] | None = None  # per number of distinct task families in the set
    fixed: list[list[str]] | None = None  # exactly these sets

    @model_validator(mode="after")
    def _one_kind(self):
        if self.fixed is not None and (self.random or self.languages or self.types):
            raise ValueError("`fixed` sets take no `random`, `languages` or `types`")
        return self

    def strata(self) -> list[tuple[int | None, int | None]]:
        """(distinct languages, distinct families) of each stratum, None: any; languages
        outer, so a draw without `types` has the strata (and draws) it always had."""
        return [(n_langs, n_types) for n_langs in self.languages or [None]
                for n_types in self.types or [None]]


class DrawRefused(XstiltsError):
    """The sets of one size cannot be drawn as asked (`fix`: what to change)."""

    def __init__(self, problem: str, fix: str):
        super().__init__(f"{problem}\n  fix: {fix}")
        self.problem, self.fix = problem, fix


class Seeds(Strict):
    intermediate: list[int] = Field(default_factory=lambda: [0], min_length=1)
    target: list[int] = Field(default_factory=lambda: [0], min_length=1)


class Keep(Strict):
    """What stays in the store once nothing pending needs it (metrics and predictions always)."""

    intermediate_weights: bool = True
    target_weights: bool = False


class Select(Strict):
    """An adaptive study (xstilts/rank/adaptive.py): train `budget` of the candidate sets,
    predicted-best first, refitting the prediction after every `batch` of sets."""

    by: Literal["rank"] = "rank"
    budget: int = Field(ge=1)  # candidate sets trained, the baseline aside
    batch: int = Field(1, ge=1)
    examples: int = Field(128, ge=2)  # sampled per task for the estimates


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
    select: Select | None = None  # adaptive: which candidate sets to train (rank/adaptive.py)
    # The intermediate phase's budget, or named regimes side by side (study/budget.py).
    budget: Budget | None = None
    budgets: dict[SafeName, Budget] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_budget_key(self):
        if self.budget is not None and self.budgets:
            raise ValueError("give `budget` (one regime) or `budgets` (named regimes), not both")
        return self


class Study:
    """A validated study: its spec, its base config, and the languages and families of its
    pool's tasks (a task's family: its option `family`, else its own name)."""

    def __init__(self, spec: StudySpec, base: RunConfig, languages: dict[str, frozenset],
                 families: dict[str, str] | None = None):
        self.spec, self.base, self.languages = spec, base, languages
        self.families = {t: (families or {}).get(t, t) for t in spec.pool}

    def arms(self) -> list[Arm]:
        """Every (set, intermediate seed, target seed) the study runs; the baseline's arms
        have no intermediate seed (-1)."""
        arms = []
        for k in self.spec.sizes:
            if k == 0:
                arms += [Arm((), -1, st) for st in self.spec.seeds.target]
                continue
            for tasks in self.sets(k):
                arms += [Arm(tasks, si, st, regime) for regime in self.regimes()
                         for si in self.spec.seeds.intermediate
                         for st in self.spec.seeds.target]
        return arms

    def regimes(self) -> list[Regime | None]:
        """The intermediate phase's budgets ([None]: the training block's own)."""
        return regimes(self.spec.budget, self.spec.budgets)

    def sets(self, k: int) -> list[tuple[str, ...]]:
        """The task sets of size k (pool order within a set); DrawRefused when they cannot
        be drawn as asked."""
        draw = self.spec.draws.get(k, self.spec.draw)
        pool = self.spec.pool
        if draw != "all" and draw.fixed is not None:
            return [tuple(t for t in pool if t in s) for s in draw.fixed]
        if self.listed(k):
            return self._listed_sets(k, draw)
        return self._drawn_sets(k, draw)

    def listed(self, k: int) -> bool:
        """Whether the sets of size k are few enough to list (ENUMERATE_LIMIT)."""
        return math.comb(len(self.spec.pool), k) <= ENUMERATE_LIMIT

    def _listed_sets(self, k: int, draw) -> list[tuple[str, ...]]:
        """Every set listed, then N picked per stratum (the draws of earlier versions)."""
        candidates = list(itertools.combinations(self.spec.pool, k))
        if draw == "all":
            return candidates
        rng = np.random.default_rng([self.spec.seed, k])
        out = []
        for stratum in draw.strata():
            group = [c for c in candidates if self.in_stratum(c, stratum)]
            if draw.random is None or draw.random >= len(group):
                out += group  # all of them (or N covers them all)
            else:
                out += [group[i] for i in sorted(rng.choice(len(group), draw.random,
                                                            replace=False))]
        return out

    def _drawn_sets(self, k: int, draw) -> list[tuple[str, ...]]:
        """N sets per stratum drawn directly (too many to list), in the listed order."""
        pool = self.spec.pool
        total = math.comb(len(pool), k)
        if draw == "all" or draw.random is None:
            raise DrawRefused(
                f"every set of size {k} asked for ({'all' if draw == 'all' else 'no random'})"
                f", but {len(pool)} pool tasks make {total:,} sets of {k}: too many to list "
                f"(at most {ENUMERATE_LIMIT:,})", f"draw some of them: `draws: {{{k}: "
                "{random: N}}` (with `languages:` or `types:` for strata)")
        rng = np.random.default_rng([self.spec.seed, k])
        out = []
        for stratum in draw.strata():
            sampler, count = self._sampler(k, stratum)
            if count == 0:
                raise self._empty(k, stratum)
            if count is not None and draw.random > count:
                raise self._too_few(k, stratum, draw.random, count)
            wanted = draw.random if count is None else min(draw.random, count)
            found: set[tuple[int, ...]] = set()
            bound = DRAW_ATTEMPTS + 100 * wanted
            for _ in range(bound):
                chosen = sampler(rng)
                if chosen is not None and chosen not in found:
                    found.add(chosen)
                    if len(found) == wanted:
                        break
            else:
                raise DrawRefused(
                    f"random: {draw.random} sets of size {k}{self._named(stratum)}: "
                    f"{bound:,} random draws found {len(found)} distinct one(s) (such sets "
                    f"are rare among the {total:,} sets of {k}, or fewer exist)",
                    "ask for fewer sets or another stratum, stratify this size by "
                    "`languages` or by `types` alone (those strata are drawn exactly), or "
                    "list its sets with `fixed:`")
            out += [tuple(pool[i] for i in c) for c in sorted(found)]
        return out

    def _sampler(self, k: int, stratum) -> tuple:
        """(draw, count): `draw(rng)` gives a set of the stratum (sorted pool indices), each
        with the same probability, or None (a rejected proposal: try again); `count`, the
        number of sets in the stratum where it is known without listing them, else None.

        Proposals: uniform among the sets with that many languages when each pool task has
        one language (the languages split the pool into groups), else among the sets with
        that many families (families always split it), else among all sets; a proposal
        outside the stratum is rejected, so accepted sets stay uniform within it."""
        n_langs, n_types = stratum
        pool = self.spec.pool
        if n_langs is not None and all(len(self.languages[t]) == 1 for t in pool):
            groups = GroupDraws(group_by(pool, lambda t: min(self.languages[t])), k, n_langs)
            rest, measure = n_types, self.n_types  # what each proposal is checked for
        elif n_types is not None:
            groups = GroupDraws(group_by(pool, self.families.get), k, n_types)
            rest, measure = n_langs, self.n_languages
        else:
            groups, rest, measure = None, n_langs, self.n_languages
        if groups is None:
            count = math.comb(len(pool), k) if rest is None else None
        else:  # no proposal at all: the stratum is empty
            count = groups.count if rest is None or not groups.count else None

        def draw(rng):
            chosen = groups.draw(rng) if groups is not None else tuple(
                sorted(int(i) for i in rng.choice(len(pool), k, replace=False)))
            if rest is not None and measure([pool[i] for i in chosen]) != rest:
                return None
            return chosen

        return draw, count

    def stratum_count(self, k: int, stratum) -> int | None:
        """How many sets of size k the stratum holds: listed where they are few, counted
        where the pool's groups allow (see `_sampler`), else None (not known)."""
        if self.listed(k):
            return sum(self.in_stratum(c, stratum)
                       for c in itertools.combinations(self.spec.pool, k))
        return self._sampler(k, stratum)[1]

    def in_stratum(self, tasks, stratum) -> bool:
        n_langs, n_types = stratum
        return ((n_langs is None or self.n_languages(tasks) == n_langs)
                and (n_types is None or self.n_types(tasks) == n_types))

    def n_languages(self, tasks) -> int:
        """Distinct training languages of a set."""
        return len(frozenset().union(*(self.languages[t] for t in tasks))) if tasks else 0

    def n_types(self, tasks) -> int:
        """Distinct task families of a set (a task's option `family`, else the task)."""
        return len({self.families[t] for t in tasks})

    def _named(self, stratum) -> str:
        n_langs, n_types = stratum
        return "".join([f" with {n_langs} language(s)" if n_langs is not None else "",
                        f" of {n_types} task type(s)" if n_types is not None else ""])

    def _empty(self, k: int, stratum) -> DrawRefused:
        n_langs, n_types = stratum
        what = " and ".join(x for x in (
            f"exactly {n_langs} distinct language(s)" if n_langs is not None else "",
            f"exactly {n_types} task type(s) (families)" if n_types is not None else "") if x)
        pool = self.spec.pool
        if n_langs is not None:
            fix = ("change `languages` for this size (the pool's languages: " + ", ".join(
                f"{t}={'+'.join(sorted(self.languages[t]))}" for t in pool) + ")")
        else:
            fix = ("change `types` for this size (the pool's families: " + ", ".join(
                f"{t}={self.families[t]}" for t in pool) + ")")
        return DrawRefused(f"no set of {k} pool tasks has {what}", fix)

    def _too_few(self, k: int, stratum, asked: int, count: int) -> DrawRefused:
        return DrawRefused(f"random: {asked} sets of size {k}{self._named(stratum)}, but "
                           f"only {count} exist", f"ask for at most {count}")


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

    from xstilts.tasks.resolve import resolve_tasks

    tasks = resolve_tasks(base, spec.pool)
    languages = {t: frozenset(tasks[t].train_languages or [tasks[t].train_language])
                 for t in spec.pool}
    families = {t: str(tasks[t].options.get("family") or t) for t in spec.pool}
    study = Study(spec, base, languages, families)
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
    for regime in study.regimes():
        clash = regime and conflicts(regime, study.base.intermediate.training)
        if clash:
            raise located(path, where("base", "intermediate", "training", clash),
                          f"base.intermediate.training.{clash} is set, but the budget "
                          f"({regime.describe()}) decides it", f"remove {clash}")
    for k in spec.draws:
        if k not in spec.sizes:
            raise located(path, where("draws", k), f"draws for size {k}, which is not in "
                          "sizes", "add it to sizes or remove it")
    for k in spec.sizes:
        draw = spec.draws.get(k, spec.draw)
        line = where("draws", k) or where("draw")
        if k == 0 or (draw == "all" and study.listed(k)):
            continue
        if draw != "all" and draw.fixed is not None:
            for s in draw.fixed:
                unknown = sorted(set(s) - set(spec.pool))
                if unknown or len(set(s)) != k:
                    raise located(path, line, f"fixed set {s} for size {k}: "
                                  + (f"{unknown} not in the pool" if unknown
                                     else f"it has {len(set(s))} tasks"),
                                  f"give sets of {k} distinct pool tasks")
            continue
        if not study.listed(k):  # too many to list or count: drawn here, as arms() will
            try:
                study.sets(k)
            except DrawRefused as exc:
                raise located(path, line, exc.problem, exc.fix) from None
            continue
        total = math.comb(len(spec.pool), k)
        for stratum in draw.strata() if (draw.languages or draw.types) else []:
            count = study.stratum_count(k, stratum)
            if count == 0:
                exc = study._empty(k, stratum)
                raise located(path, line, exc.problem, exc.fix)
            if draw.random and draw.random > count:
                exc = study._too_few(k, stratum, draw.random, count)
                raise located(path, line, exc.problem, exc.fix)
        if draw.random and not (draw.languages or draw.types) and draw.random > total:
            raise located(path, line, f"random: {draw.random} sets of size {k}, but only "
                          f"{total} exist", f"ask for at most {total}, or use `all`")
