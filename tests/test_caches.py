"""What is computed once: features per store, dev features per phase, the start encoder per
worker, a retrieval side per model; and the results are the same as without any of it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from safetensors.torch import load_file

from tests.fixtures import COLOUR_TASK_YAML, write_colour_task, write_jsonl
from xstilts.config import load_config
from xstilts.features import FeatureCache
from xstilts.formats.bitext_mining import BitextMiningFormat
from xstilts.formats.classification import ClassificationFormat
from xstilts.formats.retrieval import RetrievalFormat
from xstilts.models import encoder as encoder_module
from xstilts.models import kept
from xstilts.study import phases
from xstilts.study.plan import EvalJob, TargetJob
from xstilts.study.prepare import prepare
from xstilts.study.run import run_config

CONFIG = """
seed: 3
encoder: {name: tiny-random}
intermediate:
  tasks: [colour_inter]
  training: {max_steps: 3, batch_size: 8, eval_every: 1}
targets:
  tasks: [colour]
  training: {max_steps: 3, batch_size: 8, eval_every: 1}
tasks:""" + COLOUR_TASK_YAML + COLOUR_TASK_YAML.replace("colour:", "colour_inter:")


def colour_config(tmp_path: Path, text: str = CONFIG):
    write_colour_task(tmp_path / "data")
    (tmp_path / "c.yaml").write_text(text)
    return load_config(tmp_path / "c.yaml")


def count_calls(monkeypatch, cls, name: str) -> list:
    """Record the arguments of every call to cls.name (still calling it)."""
    calls, real = [], getattr(cls, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(cls, name, spy)
    return calls


def losses(folder: Path) -> list:
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()]
    return [r.get("loss", r.get("dev")) for r in records]


def test_a_warm_feature_cache_tokenises_nothing_and_changes_nothing(tmp_path, monkeypatch):
    config = colour_config(tmp_path)
    calls = count_calls(monkeypatch, ClassificationFormat, "featurize")
    cold = run_config(config, tmp_path / "cold")
    # Train and dev of each phase once (not dev at each of the 3 evaluations), test per
    # language once: 2 + 2 + 3.
    sizes = sorted(len(args[1]) for args in calls)
    assert sizes == [32] * 5 + [64] * 2
    assert any((tmp_path / "cold" / "features").iterdir())
    shutil.copytree(tmp_path / "cold" / "features", tmp_path / "warm" / "features")
    del calls[:]
    warm = run_config(config, tmp_path / "warm")
    assert calls == []  # every split came from the cache
    assert warm["targets"] == json.loads(json.dumps(cold["targets"]).replace(
        str(tmp_path / "cold"), str(tmp_path / "warm")))
    for kind in ("intermediate", "target-colour"):
        (a,) = (tmp_path / "cold" / "checkpoints").glob(f"{kind}-*")
        (b,) = (tmp_path / "warm" / "checkpoints").glob(f"{kind}-*")
        assert losses(a) == losses(b) and len(losses(a)) == 6  # 3 steps, 3 evaluations
        weights_a, weights_b = (load_file(str(f / "best" / "model.safetensors")) for f in (a, b))
        assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


def test_the_start_encoder_is_read_once_and_every_job_gets_its_own_copy(tmp_path,
                                                                        monkeypatch):
    config = colour_config(tmp_path)
    tasks, setup = prepare(config)
    task, phase = tasks["colour"], config.targets.for_task("colour")
    loads = count_calls(monkeypatch, encoder_module, "load_encoder")
    kept.forget_kept()

    def target(seed: int, name: str) -> dict:
        job = TargetJob(key=name, task=task, phase=phase, seed=seed, start=None)
        out = phases.train_target(job, phases.Workspace(tmp_path / name, setup.encoder_location,
                                                        config.encoder, torch.device("cpu")))
        return {**out, "checkpoint": None, "losses": losses(tmp_path / name),
                "weights": load_file(str(tmp_path / name / "best" / "model.safetensors"))}

    in_memory = [target(1, "a"), target(2, "b")]
    assert len(loads) == 1
    # Training never reached the kept weights: they are still what the disk holds.
    ((pristine, _),) = kept._KEPT.values()
    on_disk, _ = kept.load_encoder_isolated(setup.encoder_location)
    assert len(loads) == 2
    expected_state = on_disk.state_dict()
    assert all(torch.equal(v, expected_state[k]) for k, v in pristine.state_dict().items())
    fresh = []
    for seed, name in ((1, "fresh-a"), (2, "fresh-b")):
        kept.forget_kept()
        fresh.append(target(seed, name))
    assert len(loads) == 4
    for got, expected in zip(in_memory, fresh, strict=True):
        weights, expected_weights = got.pop("weights"), expected.pop("weights")
        assert got == expected
        assert all(torch.equal(weights[k], expected_weights[k]) for k in weights)
    assert in_memory[0]["losses"] != in_memory[1]["losses"]  # the seeds did differ
    kept.forget_kept()


def test_loading_an_encoder_leaves_the_gpu_generators_alone(tmp_path, monkeypatch):
    # A GPU's generator is the training seed's (dropout): a load must not reseed it. Here
    # torch.cuda's seeding is watched (no GPU needed); the CPU generator is restored.
    config = colour_config(tmp_path)
    _, setup = prepare(config)
    reseeded = count_calls(monkeypatch, torch.cuda, "manual_seed_all")
    torch.manual_seed(11)
    reseeded.clear()
    before = torch.random.get_rng_state()
    kept.load_encoder_isolated(setup.encoder_location)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert reseeded == []


RETRIEVAL_YAML = """
  sentences:
    format: retrieval
    languages: [de, ru]
    reader: jsonl
    paths: {test: "data/retrieval-{lang}.jsonl"}
"""


def write_retrieval(folder: Path) -> None:
    """Two languages whose English side (the targets) is the same file content."""
    english = ["the red car", "a blue house", "my ball is red", "the door is blue"]
    other = {"de": ["das rote Auto", "ein blaues Haus", "mein Ball ist rot", "die Tür ist blau"],
             "ru": ["красный дом", "синий мяч", "мой мяч красный", "дверь синяя"]}
    for lang, sentences in other.items():
        write_jsonl(folder / f"retrieval-{lang}.jsonl",
                    [{"id": str(i), "source": s, "target": t}
                     for i, (s, t) in enumerate(zip(sentences, english, strict=True))])


def test_the_english_side_is_embedded_once_per_model(tmp_path, monkeypatch):
    config = colour_config(tmp_path, CONFIG.replace("tasks: [colour]\n", "tasks: [sentences]\n")
                           + RETRIEVAL_YAML)
    write_retrieval(tmp_path / "data")
    tasks, setup = prepare(config)
    task, phase = tasks["sentences"], config.targets.for_task("sentences")
    batches = count_calls(monkeypatch, RetrievalFormat, "predict_batch")

    def evaluate(lang: str) -> tuple[dict, int]:
        before = len(batches)
        job = EvalJob(key=lang, task=task, lang=lang, split="test", phase=phase, model=None,
                      start=None)
        result = phases.evaluate_language(job, phases.Workspace(
            tmp_path / lang, setup.encoder_location, config.encoder, torch.device("cpu")))
        predictions = (tmp_path / lang / "predictions" / result["file"]).read_text()
        return {**result, "predictions": predictions}, len(batches) - before

    phases._LOADED.clear()
    (_, de_batches), (ru, ru_batches) = evaluate("de"), evaluate("ru")
    assert (de_batches, ru_batches) == (2, 1)  # ru: its own side only (batch size 32)
    assert phases._LOADED["value"][3].hits == 1
    phases._LOADED.clear()  # a fresh model: nothing remembered
    alone, alone_batches = evaluate("ru")
    assert alone_batches == 2 and alone == ru


def test_bitext_mining_tunes_on_dev_through_both_caches(tmp_path, monkeypatch):
    from tests.tasks.xtreme_data import build_local

    build_local(tmp_path / "xtreme", "bucc2018")  # dev and test hold the same sentences
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: tiny-random}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets:
  tasks: [bucc2018]
  languages: {{bucc2018: [de]}}
""")
    config = load_config(tmp_path / "c.yaml")
    tasks, setup = prepare(config)
    task, phase = tasks["bucc2018"], config.targets.for_task("bucc2018")
    calls = count_calls(monkeypatch, BitextMiningFormat, "featurize")
    features = FeatureCache(tmp_path / "features")

    def evaluate(name: str) -> dict:
        phases._LOADED.clear()  # a fresh model (and embedding memo) each time
        job = EvalJob(key=name, task=task, lang="de", split="test", phase=phase, model=None,
                      start=None)
        result = phases.evaluate_language(job, phases.Workspace(
            tmp_path / name, setup.encoder_location, config.encoder, torch.device("cpu"),
            features))
        memo = phases._LOADED["value"][3]
        files = sorted(p.relative_to(tmp_path / name).as_posix()
                       for p in (tmp_path / name).rglob("*.tsv"))
        return {**result, "memo": (memo.hits, memo.misses), "files": files}

    first = evaluate("first")
    assert len(calls) == 2 and (features.misses, features.hits) == (2, 0)  # dev, test
    assert first["memo"] == (2, 2)  # test's two sides are dev's: embedded once
    assert "threshold" in first["tuned"] and first["files"] == ["labels/test-de.tsv",
                                                               "predictions/test-de.tsv"]
    again = evaluate("again")
    assert len(calls) == 2 and features.hits == 2
    assert again == first


def test_a_warm_run_in_a_new_process_does_not_read_its_training_files(tmp_path, monkeypatch):
    from tests.tasks.test_known_splits import new_process, reads_of
    from xstilts.models.encoder import resolve_encoder

    # A model folder: tiny-random by name (like trim_vocab) reads every text to build its
    # vocabulary, in every run.
    folder = resolve_encoder("tiny-random", ["red blue green"], seed=3)
    config = colour_config(tmp_path, CONFIG.replace("name: tiny-random", f"name: {folder}"))
    reads = reads_of(monkeypatch)
    cold = run_config(config, tmp_path / "out")
    train = tmp_path / "data" / "train-en.jsonl"
    assert train in reads
    new_process(monkeypatch)
    del reads[:]
    warm = run_config(config.model_copy(update={"seed": 4}), tmp_path / "out")
    assert reads and train not in reads  # dev and test files are read: they are scored
    assert warm["targets"]["colour"]["languages"].keys() == cold["targets"]["colour"][
        "languages"].keys()
