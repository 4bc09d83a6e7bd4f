"""Task samplers: probabilities by hand, realised counts, seeding and resumable state."""

import numpy as np
import pytest

from xstilts.errors import XstiltsError
from xstilts.train.samplers import TaskSampler, task_probabilities

SIZES = {"a": 100, "b": 300, "c": 600}


@pytest.mark.parametrize("kind, kwargs, expected", [
    ("uniform", {}, [1 / 3, 1 / 3, 1 / 3]),
    ("proportional", {}, [0.1, 0.3, 0.6]),                        # 100/1000, 300/1000, 600/1000
    ("capped", {"cap": 300}, [100 / 700, 300 / 700, 300 / 700]),  # min(n, 300) = 100, 300, 300
    # T = 2: sqrt(100)=10, sqrt(300)=17.3205, sqrt(600)=24.4949; sum 51.8154
    ("temperature", {"temperature": 2.0}, [10 / 51.8154, 17.3205 / 51.8154, 24.4949 / 51.8154]),
    ("weights", {"weights": {"a": 1, "b": 1, "c": 2}}, [0.25, 0.25, 0.5]),
])
def test_probabilities_by_hand(kind, kwargs, expected):
    p = task_probabilities(kind, SIZES, **kwargs)
    assert list(p) == ["a", "b", "c"]
    assert np.allclose(list(p.values()), expected, atol=1e-5)


@pytest.mark.parametrize("kind, kwargs", [
    ("uniform", {}), ("proportional", {}), ("capped", {"cap": 300}),
    ("temperature", {"temperature": 3.0, "cap": 500}), ("weights", {"weights": {"a": 5, "b": 1, "c": 1}}),
])
def test_realised_counts_match_probabilities(kind, kwargs):
    p = task_probabilities(kind, SIZES, **kwargs)
    sampler = TaskSampler(p, seed=7)
    n = 20000
    for _ in range(n):
        sampler.next()
    expected = np.array([p[t] * n for t in SIZES])
    observed = np.array([sampler.counts[t] for t in SIZES])
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    assert chi2 < 13.8  # chi-square, 2 degrees of freedom, p = 0.001


def test_same_seed_same_sequence_and_resume():
    p = task_probabilities("proportional", SIZES)
    first = TaskSampler(p, seed=1)
    seq = [first.next() for _ in range(50)]
    again = TaskSampler(p, seed=1)
    assert [again.next() for _ in range(50)] == seq
    # Stop after 20 draws, save, restore into a fresh sampler: it continues the same sequence.
    part = TaskSampler(p, seed=1)
    head = [part.next() for _ in range(20)]
    saved = part.state()
    resumed = TaskSampler(p, seed=999)
    resumed.load_state(saved)
    assert head + [resumed.next() for _ in range(30)] == seq
    assert sum(resumed.counts.values()) == 50


def test_sampler_errors():
    with pytest.raises(XstiltsError, match="needs `sampler_cap`"):
        task_probabilities("capped", SIZES)
    with pytest.raises(XstiltsError, match=r"no weight for \['c'\]"):
        task_probabilities("weights", SIZES, weights={"a": 1, "b": 1})
    with pytest.raises(XstiltsError, match="unknown sampler"):
        task_probabilities("zipf", SIZES)
