"""Sets drawn without listing them: a 41-task pool (nine task families in English, eight of
them translated into four languages) with k up to 41, strata by languages and by task
types, seeded and reproducible; pools small enough to list draw exactly the sets earlier
versions drew (the old algorithm is kept below, frozen, and compared)."""

from __future__ import annotations

import itertools
import json
import math
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import yaml

from xstilts.errors import XstiltsError
from xstilts.study import spec as spec_module
from xstilts.study.draws import GroupDraws, group_by
from xstilts.study.spec import ENUMERATE_LIMIT, load_study

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FAMILIES = [f"fam{i}" for i in range(9)]
TRANSLATED = ["de", "es", "fr", "ru"]


def sets_before(study, k: int) -> list[tuple[str, ...]]:
    """Study.sets as it was before sets could be drawn without listing them (frozen)."""
    spec = study.spec
    draw = spec.draws.get(k, spec.draw)
    pool = spec.pool
    if draw != "all" and draw.fixed is not None:
        return [tuple(t for t in pool if t in s) for s in draw.fixed]
    candidates = list(itertools.combinations(pool, k))
    if draw == "all":
        return candidates
    rng = np.random.default_rng([spec.seed, k])
    strata = draw.languages or [None]
    out = []
    for n_langs in strata:
        group = [c for c in candidates if n_langs is None or study.n_languages(c) == n_langs]
        if draw.random is None or draw.random >= len(group):
            out += group
        else:
            out += [group[i] for i in sorted(rng.choice(len(group), draw.random,
                                                        replace=False))]
    return out


def big_pool() -> tuple[list[str], dict]:
    """41 declared tasks: fam0..fam8 in English, fam0..fam7 also in de, es, fr and ru."""
    pool, tasks = [], {}
    for i, family in enumerate(FAMILIES):
        for lang in ["en"] + (TRANSLATED if i < 8 else []):
            name = f"{family}-{lang}"
            pool.append(name)
            tasks[name] = {"format": "classification", "languages": [lang], "reader": "jsonl",
                           "paths": {"train": f"data/{name}.jsonl", "dev": f"data/{name}.jsonl"},
                           "train_language": lang, "labels": ["a", "b"],
                           "options": {"family": family}}
    return pool, tasks


def write_big_study(folder: Path, draws: dict, seed: int = 0,
                    sizes=(0, 1, 2, 4, 8, 41), data: bool = False) -> Path:
    pool, tasks = big_pool()
    assert len(pool) == 41
    training = {"max_steps": 2, "batch_size": 4, "max_length": 32}
    spec = {"name": "big", "pool": pool, "sizes": list(sizes), "draws": draws, "seed": seed,
            "seeds": {"intermediate": [0, 1], "target": [0]},
            "base": {"encoder": {"name": "tiny-random"}, "tasks": tasks,
                     "suites": {"demo": {"sizes": {"train": 8, "dev": 4, "test": 4}}},
                     "intermediate": {"training": training},
                     "targets": {"tasks": ["demo-nli"], "languages": {"demo-nli": ["de"]},
                                 "training": training}}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"big-{seed}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    if data:
        (folder / "data").mkdir(exist_ok=True)
        for name in pool:
            rows = [{"text_a": f"{name} sentence {i}", "label": "ab"[i % 2]} for i in range(6)]
            (folder / "data" / f"{name}.jsonl").write_text(
                "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


DRAWS = {1: {"random": 5},
         2: {"languages": [1, 2], "random": 3},
         4: {"types": [1, 2], "random": 3},
         8: {"languages": [1, 2], "random": 3, "types": [8]}}


def test_a_41_task_pool_draws_in_seconds_reproducibly(tmp_path):
    started = time.perf_counter()
    study = load_study(write_big_study(tmp_path, {**DRAWS, 8: {"languages": [1, 2],
                                                               "random": 3}}))
    arms = study.arms()
    assert time.perf_counter() - started < 60  # C(41, 8) = 95.5M sets were listed before
    assert not study.listed(8) and study.listed(4) and math.comb(41, 8) > ENUMERATE_LIMIT
    sets = {k: study.sets(k) for k in study.spec.sizes}
    assert {k: len(v) for k, v in sets.items()} == {0: 1, 1: 5, 2: 6, 4: 6, 8: 6, 41: 1}
    for k, drawn in sets.items():
        assert len(set(drawn)) == len(drawn)  # distinct
        assert all(len(s) == len(set(s)) == k and list(s) == [t for t in study.spec.pool
                                                              if t in s] for s in drawn)
    # Language strata, in order: three sets with one language, then three with two.
    assert [study.n_languages(s) for s in sets[8]] == [1, 1, 1, 2, 2, 2]
    assert [study.n_languages(s) for s in sets[2]] == [1, 1, 1, 2, 2, 2]
    assert [study.n_types(s) for s in sets[4]] == [1, 1, 1, 2, 2, 2]
    assert sets[41] == [tuple(study.spec.pool)]
    # Arms: a baseline arm, then every set x 2 intermediate seeds x 1 target seed.
    assert len(arms) == 1 + 2 * sum(len(v) for k, v in sets.items() if k)
    # Reproducible with the seed, other sets with another seed (both paths).
    again = load_study(write_big_study(tmp_path / "again", {**DRAWS, 8: {"languages": [1, 2],
                                                                         "random": 3}}))
    assert {k: again.sets(k) for k in again.spec.sizes} == sets
    other = load_study(write_big_study(tmp_path, {**DRAWS, 8: {"languages": [1, 2],
                                                               "random": 3}}, seed=1))
    assert other.sets(8) != sets[8] and other.sets(2) != sets[2]


def test_languages_and_types_together_and_the_dry_run(tmp_path, capsys):
    from xstilts.cli import main

    path = write_big_study(tmp_path, DRAWS, data=True)
    study = load_study(path)
    eight = study.sets(8)
    assert [(study.n_languages(s), study.n_types(s)) for s in eight] == [(1, 8)] * 3 + [
        (2, 8)] * 3
    started = time.perf_counter()
    assert main(["study", str(path), "--out", str(tmp_path / "out"), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert time.perf_counter() - started < 60
    # 5 + 6 + 6 + 6 + 1 = 24 sets beside the baseline, x 2 seeds; 49 arms, one target.
    assert re.search(r"intermediate\s+48\s+0\s+48", printed)
    assert re.search(r"target\s+49\s+0\s+49", printed)
    assert not (tmp_path / "out" / "store" / "checkpoints").exists()


def test_the_listed_path_draws_what_earlier_versions_drew(tmp_path):
    studies = [load_study(EXAMPLES / "study-tiny.yaml"), load_study(EXAMPLES / "study-demo.yaml")]
    big = write_big_study(tmp_path, {2: {"languages": [1, 2], "random": 4},
                                     4: {"languages": [1, 2, 3], "random": 2},
                                     1: {"random": 7}}, seed=3, sizes=(1, 2, 4, 41))
    studies.append(load_study(big))
    for seed in range(3):
        studies.append(load_study(write_big_study(
            tmp_path, {2: {"languages": [1, 2], "random": 2}, 3: {"random": 4}}, seed=seed,
            sizes=(2, 3))))
    for study in studies:
        for k in study.spec.sizes:
            assert study.listed(k)
            assert study.sets(k) == sets_before(study, k), (study.spec.name, k)
    demo = studies[1]
    assert demo.sets(2) == [("demo-topic-en", "demo-mc-en"), ("demo-topic-de", "demo-mc-es")]


def test_group_draws_count_exactly_and_are_uniform():
    rng = np.random.default_rng(0)
    for sizes in ([4, 4, 3, 1], [1, 1, 1, 1], [3, 1, 4, 2], [2, 6]):
        pool = [(g, i) for g, size in enumerate(sizes) for i in range(size)]
        groups = group_by(pool, lambda t: t[0])
        for k in range(1, len(pool) + 1):
            listed = {}
            for s in itertools.combinations(range(len(pool)), k):
                listed.setdefault(len({pool[i][0] for i in s}), set()).add(s)
            for c in range(0, len(sizes) + 2):
                draws = GroupDraws(groups, k, c)
                assert draws.count == len(listed.get(c, ())), (sizes, k, c)
                if c in listed:
                    assert all(draws.draw(rng) in listed[c] for _ in range(3))
    # Uniform: 18,000 draws among the 45 sets of 4 tasks from exactly 2 of 3 groups of 3.
    pool = [(g, i) for g in range(3) for i in range(3)]
    draws = GroupDraws(group_by(pool, lambda t: t[0]), 4, 2)
    assert draws.count == 3 * (math.comb(6, 4) - 0)
    counts = Counter(draws.draw(rng) for _ in range(18_000))
    assert len(counts) == 45
    expected = 18_000 / 45
    chi2 = sum((n - expected) ** 2 / expected for n in counts.values())
    assert chi2 < 80  # 44 degrees of freedom: p < 1e-3 above about 78


def test_large_pools_refuse_what_cannot_be_drawn(tmp_path):
    def refused(draws, match):
        path = write_big_study(tmp_path, draws, sizes=(8,))
        line = next(i for i, x in enumerate(path.read_text().splitlines(), 1)
                    if x.startswith("draws:")) + bool(draws)  # its `8:` line
        with pytest.raises(XstiltsError, match=rf"big-0.yaml:{line}: .*{match}"):
            load_study(path)

    refused({}, r"every set of size 8 asked for \(all\), but 41 pool tasks make 95,548,245 "
            r"sets of 8: too many to list(.|\n)*fix: draw some of them: `draws: \{8: \{random")
    refused({8: {"languages": [1]}}, r"every set of size 8 asked for \(no random\)")
    # Exact counts where the strata split the pool: 9 English sets + 4 x 1 translated.
    refused({8: {"languages": [1], "random": 14}},
            r"random: 14 sets of size 8 with 1 language\(s\), but only 13 exist")
    refused({8: {"languages": [6], "random": 1}},
            r"no set of 8 pool tasks has exactly 6 distinct language\(s\)")
    refused({8: {"types": [1], "random": 1}}, r"no set of 8 pool tasks has exactly 1 task "
            r"type\(s\)(.|\n)*fam0-de=fam0")
    # Together, strata are drawn by rejection: one language means eight families.
    refused({8: {"languages": [1], "types": [4], "random": 1}},
            r"random: 1 sets of size 8 with 1 language\(s\) of 4 task type\(s\): 10,100 "
            r"random draws found 0 distinct one\(s\)(.|\n)*fix: .*`fixed:`")
    # All 13 one-language sets of 8 can be asked for, and are drawn.
    study = load_study(write_big_study(tmp_path, {8: {"languages": [1], "random": 13}},
                                       sizes=(8,)))
    assert len(study.sets(8)) == 13 == len(set(study.sets(8)))
    assert all(study.n_languages(s) == 1 for s in study.sets(8))


def test_the_bound_on_attempts_is_what_the_message_says(tmp_path, monkeypatch):
    monkeypatch.setattr(spec_module, "DRAW_ATTEMPTS", 5)
    with pytest.raises(XstiltsError, match="105 random draws"):
        load_study(write_big_study(tmp_path, {8: {"languages": [1], "types": [4],
                                                  "random": 1}}, sizes=(8,)))


def test_translations_of_one_task_are_one_family_and_keys_ignore_it():
    import dataclasses

    from xstilts.tasks.registry import resolve_task

    assert resolve_task("xnli_tt_de").options["family"] == "mnli"
    assert resolve_task("pawsx_tt_fr").options["family"] == "pawsx"
    task = resolve_task("xnli_tt_de")
    without = dataclasses.replace(task, options={})
    assert task.describe() == without.describe()  # job keys unchanged by the family
