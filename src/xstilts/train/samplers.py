"""Task samplers for multi-task training: each step draws the task whose batch it takes.

Probabilities from per-task training-set sizes n_t:
- uniform:       p_t = 1 / T
- proportional:  p_t ∝ n_t                      (examples-proportional)
- capped:        p_t ∝ min(n_t, cap)            (proportional with a per-task cap)
- temperature:   p_t ∝ min(n_t, cap) ** (1/T)   (cap optional; T = 1 is proportional)
- weights:       p_t ∝ w_t                      (fixed weights from the config)
"""

from __future__ import annotations

import numpy as np

from xstilts.errors import XstiltsError

SAMPLERS = ("uniform", "proportional", "capped", "temperature", "weights")


def task_probabilities(kind: str, sizes: dict[str, int], cap: int | None = None,
                       temperature: float = 2.0,
                       weights: dict[str, float] | None = None) -> dict[str, float]:
    """The sampling probability of each task (same order as `sizes`)."""
    names = list(sizes)
    n = np.array([float(sizes[t]) for t in names])
    if kind == "uniform":
        raw = np.ones_like(n)
    elif kind == "proportional":
        raw = n
    elif kind == "capped":
        if cap is None:
            raise XstiltsError("sampler 'capped' needs `sampler_cap`.\n  fix: set sampler_cap: N.")
        raw = np.minimum(n, cap)
    elif kind == "temperature":
        raw = (np.minimum(n, cap) if cap else n) ** (1.0 / temperature)
    elif kind == "weights":
        missing = [t for t in names if t not in (weights or {})]
        if missing:
            raise XstiltsError(
                f"sampler 'weights' has no weight for {missing}.\n  fix: give `weights:` a "
                "positive number for every task of the phase."
            )
        raw = np.array([float(weights[t]) for t in names])
    else:
        raise XstiltsError(f"unknown sampler {kind!r}.\n  fix: use one of {SAMPLERS}.")
    if (raw < 0).any() or raw.sum() <= 0:
        raise XstiltsError(f"sampler {kind!r}: weights must be non-negative and not all zero."
                           "\n  fix: give `training.weights` numbers >= 0, at least one > 0.")
    return dict(zip(names, (raw / raw.sum()).tolist(), strict=True))


class TaskSampler:
    """A seeded draw of task names; its state (RNG + counts) round-trips through JSON."""

    def __init__(self, probabilities: dict[str, float], seed: int):
        self.names = list(probabilities)
        self.p = np.array([probabilities[t] for t in self.names])
        self.rng = np.random.default_rng(seed)
        self.counts = {t: 0 for t in self.names}

    def next(self) -> str:
        """Draw the next task."""
        name = self.names[int(self.rng.choice(len(self.names), p=self.p))]
        self.counts[name] += 1
        return name

    def state(self) -> dict:
        """JSON-able state, saved in checkpoints."""
        return {"rng": self.rng.bit_generator.state, "counts": dict(self.counts)}

    def load_state(self, state: dict) -> None:
        """Continue exactly where a saved sampler stopped."""
        self.rng.bit_generator.state = state["rng"]
        self.counts = {t: int(state["counts"].get(t, 0)) for t in self.names}
