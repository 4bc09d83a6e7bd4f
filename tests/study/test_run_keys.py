"""Content keys of a single run's jobs: what retrains, what only re-evaluates, what is shared."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from tests.fixtures import COLOUR_TASK_YAML, colour_examples, write_colour_task, write_jsonl

from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.study import jobs
from xstilts.study.run import run_config
from xstilts.study.store import Store

CONFIG = """
encoder: {name: tiny-random}
intermediate:
  tasks: [colour_inter]
  training: {max_steps: 3, batch_size: 8}
targets:
  tasks: [colour]
  training: {max_steps: 3, batch_size: 8}
tasks:""" + COLOUR_TASK_YAML + COLOUR_TASK_YAML.replace("colour:", "colour_inter:")


def setup(tmp_path, text: str = CONFIG):
    write_colour_task(tmp_path / "data")
    (tmp_path / "c.yaml").write_text(text)
    return load_config(tmp_path / "c.yaml")


def ran(store_dir, since: int = 0) -> Counter:
    """Jobs finished per kind in the store's log after its first `since` events."""
    return Counter(e["kind"] for e in Store(store_dir).events()[since:] if e["event"] == "done")


def test_the_same_config_into_two_folders_with_one_store_trains_once(tmp_path):
    config = setup(tmp_path)
    first = run_config(config, tmp_path / "a", store=tmp_path / "store")
    n = len(Store(tmp_path / "store").events())
    second = run_config(config, tmp_path / "b", store=tmp_path / "store")
    assert ran(tmp_path / "store", n) == Counter()  # nothing trained or evaluated again
    assert second["targets"] == first["targets"]
    # Each output folder still gets its own results and predictions in XTREME's layout.
    for out in ("a", "b"):
        assert (tmp_path / out / "predictions" / "colour" / "test-de.tsv").exists()
        assert json.loads((tmp_path / out / "results.json").read_text())["targets"]["colour"]


SUBSET = "targets:\n  tasks: [colour]\n  languages: {colour: [en, de]}"


@pytest.mark.parametrize(("before", "after", "evaluations"), [
    (SUBSET, SUBSET.replace("[en, de]", "[en, de, ru]"), 1),  # only ru is new
    (SUBSET, SUBSET.replace("[en, de]", "[de]"), 0),  # de was evaluated already
    (SUBSET, SUBSET + "\n  test_limit: 5", 2),
    (SUBSET, SUBSET + "\n  eval_split: test\n  test_limit: null", 0),  # the same settings
    ("batch_size: 8}\ntasks:", "batch_size: 8, eval_batch_size: 7}\ntasks:", 0),
])
def test_evaluation_settings_re_evaluate_without_retraining(tmp_path, before, after,
                                                             evaluations):
    base = CONFIG.replace("targets:\n  tasks: [colour]", SUBSET)
    out = tmp_path / "out"
    run_config(setup(tmp_path, base), out)
    n = len(Store(out).events())
    (tmp_path / "c.yaml").write_text(base.replace(before, after))
    results = run_config(load_config(tmp_path / "c.yaml"), out)
    assert ran(out, n) == Counter({"evaluation": evaluations} if evaluations else {})
    langs = results["targets"]["colour"]["languages"]
    if "test_limit: 5" in after:
        lines = (out / "predictions" / "colour" / "test-de.tsv").read_text().splitlines()
        assert len(lines) == 5
        assert langs["de"]["accuracy"] % 20 == 0  # k/5 correct
    elif "[de]" in after:
        assert set(langs) == {"de"}


def test_changed_training_data_retrains(tmp_path):
    out = tmp_path / "out"
    run_config(setup(tmp_path), out)
    n = len(Store(out).events())
    rows = colour_examples("en", 64, 1)
    rows[0] = {**rows[0], "text_a": rows[0]["text_a"] + " changed"}
    write_jsonl(tmp_path / "data" / "train-en.jsonl", rows)  # both tasks read this file
    run_config(load_config(tmp_path / "c.yaml"), out)
    assert ran(out, n) == {"intermediate": 1, "target": 1, "evaluation": 3}


def test_a_failed_job_is_recorded_and_the_others_go_on(tmp_path, monkeypatch):
    text = CONFIG.replace("tasks: [colour]\n", "tasks: [colour, colour_copy]\n") + \
        COLOUR_TASK_YAML.replace("colour:", "colour_copy:")
    config = setup(tmp_path, text)
    # Both targets' ru evaluations fail mid-run (bad data is refused before any job, so the
    # failure is injected into the job itself).
    real = jobs.evaluate_language

    def failing_in_ru(job, work):
        if job.lang == "ru":
            raise XstiltsError(f"evaluation of {job.task.name} in ru broke")
        return real(job, work)

    monkeypatch.setattr(jobs, "evaluate_language", failing_in_ru)
    out = tmp_path / "out"
    with pytest.raises(XstiltsError, match=r"(?s)2 job\(s\) failed.*evaluate colour ru.*"
                                           r"evaluation of colour in ru broke"):
        run_config(config, out)
    assert ran(out) == {"intermediate": 1, "target": 2, "evaluation": 4}  # en, de of both
    assert Counter(Store(out).statuses().values())["failed"] == 2
    partial = json.loads((out / "results.json").read_text())
    assert partial["targets"] == {}  # no target is complete without its ru evaluation
    monkeypatch.undo()
    n = len(Store(out).events())
    results = run_config(config, out)  # the same command continues: only the two failed jobs
    assert ran(out, n) == {"evaluation": 2}
    assert set(results["targets"]["colour"]["languages"]) == {"en", "de", "ru"}


def test_the_bucket_width_keys_training_only_where_it_changes_the_batches():
    from xstilts.config import PhaseConfig
    from xstilts.study.plan import training_settings

    def settings(**training):
        return training_settings(PhaseConfig(tasks=["colour"], training=training))

    # The default gives the batches of stores made before the setting existed: same keys.
    before = PhaseConfig(tasks=["colour"]).training.model_dump(
        exclude={"eval_batch_size", "save_every", "length_bucket_width", "examples_per_task"})
    assert settings() == before == settings(length_bucket_width=16)
    assert settings(length_bucket_width=1) == {**before, "length_bucket_width": 1}
    # Likewise the cap on training examples, which only a set cap keys.
    assert settings(examples_per_task=100) == {**before, "examples_per_task": 100}
    # Ungrouped batches are a plain shuffle: the width changes nothing.
    assert settings(group_by_length=False, length_bucket_width=1) == settings(
        group_by_length=False)


def plan_keys(config, device="cpu", **changes) -> dict[str, set[str]]:
    """The job keys per kind of `config` planned for `device`."""
    from xstilts.study.plan import Arm, compile_plan
    from xstilts.study.prepare import prepare

    if changes:
        config = config.model_copy(update={"encoder": config.encoder.model_copy(update=changes)})
    tasks, setup = prepare(config, device=device)
    plan = compile_plan(config, tasks, [Arm(("colour_inter",), 0, 0)], setup)
    keys: dict[str, set[str]] = {}
    for key, job in plan.jobs.items():
        keys.setdefault(job.kind, set()).add(key)
    return keys


def test_device_versions_and_forward_are_in_every_key(tmp_path, monkeypatch):
    from xstilts.study import plan as plan_module

    config = setup(tmp_path)
    cpu = plan_keys(config, "cpu")
    assert cpu == plan_keys(config, "cpu")  # equal settings, equal keys
    assert cpu == plan_keys(config, "cpu", forward="unpadded")  # auto is unpadded on a CPU
    assert {k: len(v) for k, v in cpu.items()} == {"intermediate": 1, "target": 1,
                                                   "evaluation": 3}
    others = [plan_keys(config, "cuda"),  # another device (and auto: Hugging Face's forward)
              plan_keys(config, "cuda", forward="unpadded"),  # the same forward, on CUDA
              plan_keys(config, "cpu", forward="hf")]  # another forward, on a CPU
    real = plan_module.version
    monkeypatch.setattr(plan_module, "version", lambda package: "4.57.1" if package ==
                        "transformers" else real(package))
    others.append(plan_keys(config, "cpu"))  # another transformers release
    monkeypatch.undo()
    for other in others:
        for kind in ("intermediate", "target", "evaluation"):
            assert not cpu[kind] & other[kind], kind
    assert len({frozenset(o["target"]) for o in others}) == len(others)


def test_results_and_study_status_say_the_runtime(tmp_path):
    from importlib.metadata import version

    from xstilts.study.spec import load_study
    from xstilts.study.study import run_study, study_status

    results = run_config(setup(tmp_path), tmp_path / "out")
    torch_version = ".".join(version("torch").split("+")[0].split(".")[:2])
    assert results["forward"] == "unpadded"
    assert results["runtime"] == {"device": "cpu", "torch": torch_version,
                                  "transformers": results["runtime"]["transformers"],
                                  "forward": "unpadded"}
    assert results["intermediate"]["summary"]["forward"] == "unpadded"
    study = Path(__file__).resolve().parents[2] / "examples" / "study-tiny.yaml"
    run_study(load_study(study), tmp_path / "study", dry_run=True)
    status = study_status(tmp_path / "study")
    assert (f"runtime (in every job key): device cpu, torch {torch_version}, transformers "
            f"{results['runtime']['transformers']}, forward unpadded") in status


def test_jobs_get_the_resolved_forward_and_compile_keeps_hugging_faces(tmp_path):
    from xstilts.study.prepare import prepare

    config = setup(tmp_path)
    _, plain = prepare(config, device="cpu")
    assert plain.encoder.forward == plain.runtime["forward"] == "unpadded"
    compiled = CONFIG.replace("training: {max_steps: 3, batch_size: 8}\ntasks:",
                              "training: {max_steps: 3, batch_size: 8, compile: true}\ntasks:")
    assert compiled != CONFIG
    _, setup_ = prepare(setup(tmp_path, compiled), device="cpu")
    assert setup_.encoder.forward == setup_.runtime["forward"] == "hf"


STUDY_TINY = Path(__file__).resolve().parents[2] / "examples" / "study-tiny.yaml"


def test_a_worker_on_another_runtime_refuses_the_job_and_a_new_runtime_is_said(
        tmp_path, monkeypatch, caplog):
    """A job keyed for one runtime never runs (and is never recorded) under another, and
    planning OUT again under another runtime warns that the earlier jobs are not reused."""
    from xstilts.study import plan as plan_module
    from xstilts.study.jobs import run_job_safely
    from xstilts.study.planned import PLAN_FILE, plan_into
    from xstilts.study.spec import load_study

    study = load_study(STUDY_TINY)
    out = tmp_path / "out"
    plan, store = plan_into(study, out, device="cuda")  # planning needs no GPU
    assert plan.setup.runtime["device"] == "cuda" and plan.setup.runtime["forward"] == "hf"
    job = next(j for j in plan.jobs.values() if j.kind == "intermediate")
    ok, message, _ = run_job_safely(job, plan.setup, str(store.root), {}, device="cpu")
    assert not ok
    assert "this worker runs device cpu, but the study was planned for device cuda" in message
    assert store.output(job.key) is None

    caplog.set_level("WARNING", logger="xstilts")
    plan, store = plan_into(study, out, device="cpu")
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("was planned for device cuda" in w and "this plan is for device cpu" in w
               for w in warned), warned
    assert json.loads((out / PLAN_FILE).read_text())["runtime"]["device"] == "cpu"

    # Another transformers release on the worker than at planning: refused as well.
    real = plan_module.version
    monkeypatch.setattr(plan_module, "version", lambda package: "4.57.1" if package ==
                        "transformers" else real(package))
    ok, message, _ = run_job_safely(job, plan.setup, str(store.root), {}, device="cpu")
    assert not ok and "this worker runs transformers 4.57" in message


def test_a_study_is_planned_for_its_backends_device(tmp_path, monkeypatch):
    """run_study keys the jobs for the device its backend runs them on (a Ray cluster's GPUs
    while the driver has none), and closes the backend when planning fails."""
    from xstilts.study import study as study_module
    from xstilts.study.spec import load_study

    class ClusterBackend:  # what RayBackend says of a cluster with GPUs
        device, closed = "cuda", False

        def close(self):
            self.closed = True

    backend, asked = ClusterBackend(), []
    monkeypatch.setattr(study_module, "make_backend", lambda *args: backend)

    def plan_into(study, out, store_dir=None, device=None):
        asked.append(device)
        raise XstiltsError("a bad study")

    monkeypatch.setattr(study_module, "plan_into", plan_into)
    with pytest.raises(XstiltsError, match="a bad study"):
        study_module.run_study(load_study(STUDY_TINY), tmp_path / "out", backend="ray")
    assert asked == ["cuda"] and backend.closed
