"""The executor's ready-queue: the same events in the same order as the executor that
rescanned every waiting job each round, a valid topological order on a 5000-job plan, blocked
exactly where a needed job failed, dependency checks linear in the plan; and execute() on
fake jobs: failed -> dependents blocked, the rest go on, a second run resumes."""

from __future__ import annotations

import random
from types import SimpleNamespace

from xstilts.study.execute import execute
from xstilts.study.schedule import BLOCKED, START, Schedule
from xstilts.study.store import Store


def random_plan(n: int, seed: int, done_share: float = 0.1) -> tuple[list[str], dict, set]:
    """A random DAG in plan order (0-3 deps among earlier jobs); some jobs are done already
    (in the store: dependencies, but not to run). Returns (keys to run, deps, failing)."""
    rng = random.Random(seed)
    keys = [f"j{i:05d}" for i in range(n)]
    deps = {k: tuple(rng.sample(keys[:i], min(i, rng.randint(0, 3)))) for i, k in
            enumerate(keys)}
    todo = [k for k in keys if rng.random() >= done_share]
    failing = {k for k in todo if rng.random() < 0.03}
    return todo, {k: deps[k] for k in todo}, failing


def study_plan(arms: int) -> tuple[list[str], dict]:
    """A study's shape: per arm an intermediate job, 2 targets on it, 4 languages each."""
    order, deps = [], {}
    for a in range(arms):
        inter = f"i{a}"
        order.append(inter)
        deps[inter] = ()
        for t in range(2):
            target = f"t{a}-{t}"
            order.append(target)
            deps[target] = (inter,)
            for lang in range(4):
                order.append(f"e{a}-{t}-{lang}")
                deps[order[-1]] = (target,)
    return order, deps


def rescanning_reference(order, deps, failing, capacity, seed) -> list[tuple[str, str]]:
    """The executor before the ready-queue: each round rescans every waiting job."""
    rng, todo = random.Random(seed), set(order)
    waiting, running, bad, finished, events = list(order), [], set(), set(), []
    while waiting or running:
        for key in list(waiting):
            if any(d in bad for d in deps[key]):
                waiting.remove(key)
                bad.add(key)
                events.append((BLOCKED, key))
            elif (all(d not in todo or d in finished for d in deps[key])
                  and len(running) < capacity):
                waiting.remove(key)
                running.append(key)
                events.append((START, key))
        if not running:
            break
        key = running.pop(rng.randrange(len(running)))
        if key in failing:
            bad.add(key)
            events.append(("failed", key))
        else:
            finished.add(key)
            events.append(("done", key))
    return events


def drive(order, deps, failing, capacity, seed) -> tuple[list[tuple[str, str]], Schedule]:
    """The executor's loop around a Schedule, with jobs that finish in a seeded order."""
    rng, schedule = random.Random(seed), Schedule(order, deps)
    running, events = [], []
    while True:
        for event, key in schedule.next_round(capacity - len(running)):
            events.append((event, key))
            if event == START:
                running.append(key)
        if not running:
            break
        key = running.pop(rng.randrange(len(running)))
        if key in failing:
            schedule.failed(key)
            events.append(("failed", key))
        else:
            schedule.done(key)
            events.append(("done", key))
    return events, schedule


def test_same_events_in_the_same_order_as_the_rescanning_executor():
    for seed in range(6):
        order, deps, failing = random_plan(300, seed)
        assert failing  # the comparison covers blocking
        for capacity in (1, 2, 5):
            events, _ = drive(order, deps, failing, capacity, seed)
            assert events == rescanning_reference(order, deps, failing, capacity, seed)
    order, deps = study_plan(20)
    failing = {"i3", "t7-1", "e9-0-2"}
    for capacity in (1, 3):
        events, _ = drive(order, deps, failing, capacity, 0)
        assert events == rescanning_reference(order, deps, failing, capacity, 0)


def test_5000_jobs_topological_blocked_where_a_needed_job_failed_and_linear():
    order, deps, failing = random_plan(5000, seed=7)
    todo = set(order)
    events, schedule = drive(order, deps, failing, capacity=3, seed=7)
    # Every job to run appears exactly once as finished, failed or blocked.
    outcome = {key: event for event, key in events if event != START}
    assert len([e for e in events if e[0] != START]) == len(order) == len(outcome)

    def has_failed_ancestor(key, memo={}):  # noqa: B006 (a memo for this one plan)
        if key not in memo:
            memo[key] = any(d in todo and (d in failing or has_failed_ancestor(d))
                            for d in deps.get(key, ()))
        return memo[key]

    for key in order:  # iteratively, in plan order: no deep recursion
        has_failed_ancestor(key)
    blocked = {k for k, e in outcome.items() if e == BLOCKED}
    assert blocked == {k for k in order if has_failed_ancestor(k)}
    assert len(blocked) > 100  # failures near the roots block whole subtrees
    # A job that would fail but was blocked never ran.
    assert {k for k, e in outcome.items() if e == "failed"} == failing - blocked
    # Topological: a job starts only after everything it needs (that had to run) is done.
    done_at, start_at = {}, {}
    for i, (event, key) in enumerate(events):
        (done_at if event == "done" else start_at if event == START else {})[key] = i
    for key, at in start_at.items():
        assert all(d not in todo or done_at[d] < at for d in deps[key])
    # Linear: each dependency edge is looked at a bounded number of times.
    edges = sum(len(d) for d in deps.values())
    assert edges > 5000 and schedule.checks <= 3 * edges
    # Deterministic: the same plan and completions give the same order.
    assert drive(order, deps, failing, capacity=3, seed=7)[0] == events


def test_checks_grow_linearly_with_the_plan():
    checks = []
    for arms in (250, 500, 1000):  # 2250 to 9000 jobs
        order, deps = study_plan(arms)
        checks.append(drive(order, deps, {"i1", "t5-0"}, capacity=4, seed=0)[1].checks)
    assert checks[1] == 2 * checks[0] and checks[2] == 2 * checks[1]  # arms are alike


class Backend:
    """Runs nothing: every job succeeds at once, except those listed to fail."""

    capacity = 1

    def __init__(self, failing=()):
        self.failing, self.ran = set(failing), []

    def submit(self, job, setup, root, folders, threads):
        self.ran.append(job.key)
        return job.key

    def wait(self, handles):
        key = handles[0]
        if key in self.failing:
            return key, (False, "boom\nline 2", 0.1)
        return key, (True, {"metrics": {"f1": 1.0}}, 0.1)

    def close(self):
        pass


def fake_plan(order, deps):
    jobs = {k: SimpleNamespace(key=k, kind="evaluation" if k.startswith("e") else "target",
                               label=k, deps=tuple(deps[k]), folder=f"jobs-out/{k}")
            for k in order}
    return SimpleNamespace(jobs=jobs, setup=SimpleNamespace(label="s"))


def test_execute_blocks_what_needs_a_failed_job_and_resumes(tmp_path):
    order, deps = study_plan(3)
    plan, store = fake_plan(order, deps), Store(tmp_path / "store")
    first = execute(plan, store, Backend(failing={"t1-0"}), log=lambda _: None)
    assert set(first.failed) == {"t1-0"} and first.failed["t1-0"].startswith("boom")
    assert first.blocked == [f"e1-0-{lang}" for lang in range(4)]
    assert len(first.ran) == len(order) - 5
    statuses = store.statuses()
    assert statuses["t1-0"] == "failed"
    assert {statuses[f"e1-0-{lang}"] for lang in range(4)} == {"blocked"}
    # Again, nothing failing: only the failed job and those it blocked run, in plan order.
    backend = Backend()
    second = execute(plan, store, backend, log=lambda _: None)
    assert backend.ran == ["t1-0"] + [f"e1-0-{lang}" for lang in range(4)]
    assert not second.failed and not second.blocked and len(second.reused) == len(order) - 5
    assert set(store.statuses().values()) == {"done"}
