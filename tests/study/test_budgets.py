"""Training budgets of a study's intermediate phase (issue 27, point 2): the steps and
examples each regime gives for k = 1, 2, 4; regimes side by side, deduplicated where they
agree; the budget and what each job saw in the results table; refusals with file:line."""

from __future__ import annotations

import pytest

from xstilts.artifacts import content_key
from xstilts.errors import XstiltsError
from xstilts.study.plan import Arm
from xstilts.study.spec import load_study

# Four demo tasks of 16 training examples each (uniform sampler: each task of a k-set
# 1/k of the batches); one target, English only.
BASE = """
name: budgets
base:
  encoder: {name: tiny-random}
  suites: {demo: {sizes: {train: 16, dev: 8, test: 8}}}
  intermediate:
    training: {epochs: 1, batch_size: 4, max_length: 32, evaluations: 1, sampler: uniform,
               learning_rate: 1.0e-3}
  targets:
    tasks: [demo-nli]
    languages: {demo-nli: [en]}
    training: {max_steps: 1, batch_size: 4, max_length: 32, evaluations: 1}
pool: [demo-topic-en, demo-topic-de, demo-nli-de, demo-nli-es]
sizes: [0, 1, 2, 4]
draws:
  1: {fixed: [[demo-topic-en]]}
  2: {fixed: [[demo-topic-en, demo-topic-de]]}
"""
REGIMES = """
budgets:
  equal: {total_steps: 8}
  proportional: {per_task_steps: 4}
  capped: {per_task_examples: 8}
"""


def study_file(tmp_path, text: str):
    path = tmp_path / "study.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    return path


def test_steps_and_examples_of_each_regime_for_k_1_2_4(tmp_path):
    from xstilts.study.dry_run import offline_plan
    from xstilts.train.budget import capped_size, phase_steps

    study = load_study(study_file(tmp_path, REGIMES))
    plan = offline_plan(study)
    steps, caps = {}, {}
    for arm in plan.arms:
        if not arm.arm.tasks:
            continue
        training = plan.jobs[arm.intermediate].phase.training
        k = len(arm.arm.tasks)
        sizes = [capped_size(16, training)] * k
        steps[arm.arm.budget.name, k] = phase_steps(training, sizes)
        caps[arm.arm.budget.name, k] = capped_size(16, training)
    # equal: 8 steps whatever k; proportional: 4 per task, 4k; capped: 8 examples per task,
    # one epoch at batch 4: 2 batches a task, 2k steps.
    assert steps == {("equal", 1): 8, ("equal", 2): 8, ("equal", 4): 8,
                     ("proportional", 1): 4, ("proportional", 2): 8, ("proportional", 4): 16,
                     ("capped", 1): 2, ("capped", 2): 4, ("capped", 4): 8}
    assert {v for (name, _), v in caps.items() if name == "capped"} == {8}
    assert {v for (name, _), v in caps.items() if name != "capped"} == {16}
    # At k = 2 equal and proportional train the same 8 steps: one job, trained once.
    assert plan.count()["intermediate"] == 9 - 1
    by_arm = {(a.arm.budget.name if a.arm.budget else "", len(a.arm.tasks)): a.intermediate
              for a in plan.arms}
    assert by_arm["equal", 2] == by_arm["proportional", 2]
    assert by_arm["equal", 1] != by_arm["proportional", 1]
    assert len({a.arm.run_id for a in plan.arms}) == len(plan.arms) == 1 + 3 * 3


def test_a_study_without_a_budget_keeps_its_run_ids_and_keys(tmp_path):
    plain = load_study(study_file(tmp_path, ""))
    assert plain.regimes() == [None]
    arm = next(a for a in plain.arms() if a.tasks)
    # The run id of studies made before budgets existed.
    assert arm.run_id == content_key({"tasks": list(arm.tasks), "si": arm.intermediate_seed,
                                      "st": arm.target_seed})
    single = load_study(study_file(tmp_path, "budget: {total_steps: 8}\n"))
    assert [r.name for r in single.regimes()] == ["total_steps"]
    budgeted = next(a for a in single.arms() if a.tasks)
    assert budgeted.run_id != arm.run_id == Arm(arm.tasks, arm.intermediate_seed,
                                                arm.target_seed).run_id


@pytest.mark.parametrize("text, line, message", [
    ("budget: {total_steps: 8}\nbudgets: {a: {per_task_steps: 2}}\n", None,
     "give `budget` .* or `budgets`"),
    ("budget: {total_steps: 8, per_task_steps: 2}\n", 18, "a budget is one of"),
    ("budgets: {a: {}}\n", 18, r"a budget is one of .*\(none given\)"),
    ("budget: {per_task_examples: 0}\n", 18, "greater than or equal to 1"),
])
def test_bad_budgets_are_refused_with_file_and_line(tmp_path, text, line, message):
    with pytest.raises(XstiltsError, match=rf"study.yaml{':' + str(line) if line else ''}.*"
                                           rf"{message}"):
        load_study(study_file(tmp_path, text))


def test_a_budget_refuses_the_max_steps_it_would_override(tmp_path):
    text = (BASE.replace("training: {epochs: 1,", "training: {max_steps: 5, epochs: 1,")
            + "budget: {total_steps: 8}\n")
    path = tmp_path / "study.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(XstiltsError, match=r"study.yaml:7: base.intermediate.training."
                                           r"max_steps is set, but the budget \(total_steps "
                                           r"8\) decides it"):
        load_study(path)


def test_regimes_run_and_the_results_hold_the_budget_and_what_each_job_saw(tmp_path):
    from xstilts.study.results import load_results
    from xstilts.study.store import Store
    from xstilts.study.study import run_study

    # k = 0, 1, 2 under the three regimes, one untrained target (retrieval: no target
    # training) in one language: 5 intermediate jobs (k = 2 equal = proportional), 6 evaluations.
    text = (BASE.replace("sizes: [0, 1, 2, 4]", "sizes: [0, 1, 2]")
            .replace("tasks: [demo-nli]\n    languages: {demo-nli: [en]}",
                     "tasks: [demo-retrieval]\n    languages: {demo-retrieval: [de]}"))
    path = tmp_path / "study.yaml"
    path.write_text(text + REGIMES, encoding="utf-8")
    study = load_study(path)
    out = tmp_path / "out"
    assert run_study(study, out)["planned"] == {"intermediate": 5, "target": 0,
                                                "evaluation": 6}
    store = Store(out / "store")
    frame = load_results(out)
    rows = frame[(frame["language"] == "de") & (frame["metric"] == "accuracy")]
    assert len(rows) == 7  # the baseline and 2 sets x 3 regimes
    arms = {a["run_id"]: a for a in study_plan_arms(out)}
    seen = {}
    for _, row in rows.iterrows():
        k, budget = int(row["k"]), row["budget"]
        if k == 0:
            assert (budget, row["examples_seen"], row["tokens_seen"]) == ("", 0, 0)
            continue
        summary = store.output(arms[row["run_id"]]["intermediate_job"])["summary"]
        per_task = summary["seen"]
        assert set(per_task) == set(row["intermediate"].split(","))
        assert row["examples_seen"] == sum(s["examples"] for s in per_task.values())
        assert row["tokens_seen"] == sum(s["tokens"] for s in per_task.values()) > 0
        # Each task's examples: 4 a batch the sampler gave it (the loop's own count).
        assert {t: s["examples"] for t, s in per_task.items()} == {
            t: 4 * n for t, n in summary["batches_per_task"].items()}
        seen[budget, k] = (summary["steps"], {s["train_examples"] for s in per_task.values()},
                           row["examples_seen"])
    # Steps x batch 4 examples in all; the capped regime's tasks train on 8 examples each,
    # one epoch: 2 batches a task.
    assert seen == {("equal", 1): (8, {16}, 32), ("equal", 2): (8, {16}, 32),
                    ("proportional", 1): (4, {16}, 16), ("proportional", 2): (8, {16}, 32),
                    ("capped", 1): (2, {8}, 8), ("capped", 2): (4, {8}, 16)}


def study_plan_arms(out) -> list[dict]:
    import json

    return json.loads((out / "plan.json").read_text(encoding="utf-8"))["arms"]
