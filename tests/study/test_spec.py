"""Study files: sets drawn per size (all, random, language strata, fixed), seeds, refusals."""

from __future__ import annotations

import itertools
import math

import pytest

from xstilts.errors import XstiltsError
from xstilts.study.spec import load_study

BASE = """
name: s
base:
  encoder: {name: tiny-random}
  suites: {demo: {sizes: {train: 8, dev: 4, test: 4}}}
  targets: {tasks: [demo-nli]}
pool: [demo-topic-en, demo-mc-en, demo-topic-de, demo-nli-de, demo-mc-es]
"""


def study(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(BASE + text)
    return load_study(path)


def test_all_sets_and_baseline_arms(tmp_path):
    s = study(tmp_path, "sizes: [0, 2]\nseeds: {intermediate: [0, 1], target: [5, 6, 7]}\n")
    assert s.sets(2) == list(itertools.combinations(s.spec.pool, 2))
    arms = s.arms()
    # Baseline: one arm per target seed, no intermediate seed; 10 pairs x 2 x 3 seeds.
    assert len(arms) == 3 + math.comb(5, 2) * 2 * 3
    assert [(a.tasks, a.intermediate_seed, a.target_seed) for a in arms[:3]] == [
        ((), -1, 5), ((), -1, 6), ((), -1, 7)]
    assert len({a.run_id for a in arms}) == len(arms)


def test_random_draws_are_seeded_distinct_and_reproducible(tmp_path):
    s = study(tmp_path, "sizes: [3]\ndraw: {random: 4}\nseed: 1\n")
    sets = s.sets(3)
    assert len(sets) == 4 == len(set(sets))
    assert all(len(x) == 3 and set(x) <= set(s.spec.pool) for x in sets)
    assert study(tmp_path, "sizes: [3]\ndraw: {random: 4}\nseed: 1\n").sets(3) == sets
    assert study(tmp_path, "sizes: [3]\ndraw: {random: 4}\nseed: 2\n").sets(3) != sets


def test_language_strata_hold_k_fixed_and_vary_the_languages(tmp_path):
    # Languages: topic-en en, mc-en en, topic-de de, nli-de de, mc-es es.
    s = study(tmp_path, "sizes: [2]\ndraws: {2: {languages: [1, 2]}}\n")
    sets = s.sets(2)
    by_langs = {n: [x for x in sets if s.n_languages(x) == n] for n in (1, 2)}
    assert sorted(by_langs[1]) == sorted([("demo-topic-en", "demo-mc-en"),
                                          ("demo-topic-de", "demo-nli-de")])
    assert len(by_langs[2]) == math.comb(5, 2) - 2  # every other pair mixes two languages
    s = study(tmp_path, "sizes: [2]\ndraws: {2: {languages: [1, 2], random: 1}}\n")
    assert [s.n_languages(x) for x in s.sets(2)] == [1, 2]


def test_fixed_sets(tmp_path):
    s = study(tmp_path, "sizes: [2]\ndraws: {2: {fixed: [[demo-mc-es, demo-topic-en]]}}\n")
    assert s.sets(2) == [("demo-topic-en", "demo-mc-es")]  # pool order within a set


@pytest.mark.parametrize(("text", "key", "message"), [
    ("sizes: [0, 6]\n", "sizes", r"size 6 is impossible with a pool of 5 tasks"),
    ("sizes: [2]\ndraws: {2: {languages: [3]}}\n", "draws",
     r"no set of 2 pool tasks has exactly 3 distinct language"),
    ("sizes: [2]\ndraws: {2: {random: 11}}\n", "draws", r"random: 11 sets of size 2, but only 10"),
    ("sizes: [4]\ndraws: {4: {languages: [1], random: 1}}\n", "draws", r"no set of 4 pool tasks"),
    ("sizes: [2]\ndraws: {3: {random: 1}}\n", "draws", r"draws for size 3, which is not in sizes"),
    ("sizes: [2]\ndraws: {2: {fixed: [[demo-mc-en, nope]]}}\n", "draws", r"\['nope'\] not in the pool"),
    ("sizes: [1]\nseeds: {intermediate: []}\n", "seeds", r"seeds.intermediate"),
])
def test_impossible_studies_are_refused_with_file_and_line(tmp_path, text, key, message):
    line = (BASE + text).splitlines().index(next(x for x in (BASE + text).splitlines()
                                                  if x.startswith(key))) + 1
    with pytest.raises(XstiltsError, match=rf"study.yaml:{line}: .*{message}"):
        study(tmp_path, text)


def test_unknown_pool_task_is_refused(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(BASE.replace("demo-mc-es]", "demo-mc-xx]") + "sizes: [1]\n")
    with pytest.raises(XstiltsError, match="unknown task 'demo-mc-xx'"):
        load_study(path)


def test_the_example_studies_validate():
    from pathlib import Path

    examples = Path(__file__).resolve().parents[2] / "examples"
    demo = load_study(examples / "study-demo.yaml")
    arms = demo.arms()
    # baseline + 4 single tasks + 2 pairs (1 and 2 languages) + the set of all four
    assert len(arms) == 8
    assert [demo.n_languages(a.tasks) for a in arms if len(a.tasks) == 2] == [1, 2]
    assert demo.n_languages(arms[-1].tasks) == 3
    assert len(load_study(examples / "study-tiny.yaml").arms()) == 34
