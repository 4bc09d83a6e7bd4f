"""Training budgets of a study's intermediate phase: a design choice, not a side effect.

One training block serves every k, so without a budget `max_steps` is an equal total (each
task of a k-set gets 1/k of it) and `epochs` a total that grows with the set's data. A
budget says which:

    budget: {total_steps: N}        # equal total: N steps for every set (the mixture,
                                    #   training.sampler, shares them: uniform gives N/k each)
    budget: {per_task_steps: N}     # proportional to k: N x k steps
    budget: {per_task_examples: N}  # each task capped to N training examples (a seeded
                                    #   subset), then the training block's epochs over them

or several regimes side by side, each set trained under each (a job both regimes give the
same settings, e.g. k = 1 under N total and N per task, is trained once):

    budgets: {equal: {total_steps: 20000}, proportional: {per_task_steps: 5000}}

A regime becomes ordinary training settings of the set's intermediate job (`max_steps`,
`examples_per_task`), so job keys cover it. Its name is the results' `budget` column (a
single `budget:` is named by its kind; baseline arms, trained under none, have ""), and
the examples and tokens each job saw (its summary's `seen`, train/loop.py) are the
results' `examples_seen` and `tokens_seen` covariates (`arm_covariates`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from xstilts.config import Strict, TrainingConfig

KINDS = ("total_steps", "per_task_steps", "per_task_examples")


class Budget(Strict):
    """One regime, as a study file gives it: exactly one of the three."""

    total_steps: int | None = Field(None, ge=1)
    per_task_steps: int | None = Field(None, ge=1)
    per_task_examples: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _exactly_one(self):
        given = [k for k in KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"a budget is one of {', '.join(KINDS)} "
                             f"({'none' if not given else ' and '.join(given)} given)")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None)


@dataclass(frozen=True)
class Regime:
    """A named budget of a study (the results' `budget` column)."""

    name: str
    kind: str
    value: int

    @classmethod
    def of(cls, name: str, budget: Budget) -> Regime:
        return cls(name, budget.kind, getattr(budget, budget.kind))

    def training(self, training: TrainingConfig, k: int) -> TrainingConfig:
        """The intermediate training of a k-set under this regime."""
        if self.kind == "total_steps":
            return training.model_copy(update={"max_steps": self.value})
        if self.kind == "per_task_steps":
            return training.model_copy(update={"max_steps": self.value * k})
        return training.model_copy(update={"examples_per_task": self.value})

    def describe(self) -> str:
        """'total_steps 20,000' (a single budget), 'equal: total_steps 20,000' (a regime)."""
        what = f"{self.kind} {self.value:,}"
        return what if self.name == self.kind else f"{self.name}: {what}"


def regimes(budget: Budget | None, budgets: dict[str, Budget]) -> list[Regime | None]:
    """A study's regimes in file order; [None] without a budget (the training block's)."""
    if budget is not None:
        return [Regime.of(budget.kind, budget)]
    return [Regime.of(name, b) for name, b in budgets.items()] or [None]


def conflicts(regime: Regime, training: TrainingConfig) -> str | None:
    """What in the base's intermediate training a regime would silently override, if any."""
    if training.max_steps is not None:  # every regime sets the steps, or epochs decide
        return "max_steps"
    if regime.kind == "per_task_examples" and training.examples_per_task is not None:
        return "examples_per_task"
    return None


def arm_covariates(plan: dict, output) -> dict[str, dict]:
    """Per arm (run_id): its budget's name and the examples and tokens its intermediate job
    saw over all its tasks (summary `seen`; 0 for the baseline, None where not recorded:
    the job is unfinished or older than the record). `plan`: plan.json's content;
    `output(key)`: a finished job's output, else None."""
    out = {}
    for arm in plan.get("arms", []):
        key, examples, tokens = arm.get("intermediate_job"), 0, 0
        if key:
            seen = ((output(key) or {}).get("summary") or {}).get("seen")
            examples = sum(s["examples"] for s in seen.values()) if seen else None
            tokens = sum(s["tokens"] for s in seen.values()) if seen else None
        out[arm["run_id"]] = {"budget": arm.get("budget", ""), "examples_seen": examples,
                              "tokens_seen": tokens}
    return out
