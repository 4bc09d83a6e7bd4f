"""Every built-in hub task through the real `datasets.load_dataset`, on local replicas of the
hub datasets (tests/hub_replicas.py) read as a local copy of the hub (`data.hub_mirror`)."""

from __future__ import annotations

import functools
import json

import pytest
from tests.hub_replicas import PARQUET_EXPORT, REPLICAS, card_configs

from xstilts.config import parse_config
from xstilts.errors import XstiltsError
from xstilts.formats.base import get_format
from xstilts.tasks.check import split_languages
from xstilts.tasks.hub import HUB_MIRROR_ENV
from xstilts.tasks.registry import builtin_tasks
from xstilts.tasks.resolve import resolve_tasks
from xstilts.tasks.task import SPLITS, HubSource, sources_of


def hub_sources(value) -> list[HubSource]:
    """Every HubSource in a (possibly composite) source."""
    return sources_of(value, HubSource)


HUB_TASKS = sorted(name for name, task in builtin_tasks().items()
                   if hub_sources(task.alternatives.get("hub")))


def from_mirror(name: str, root) -> object:
    return builtin_tasks()[name].with_source("hub", hub_mirror=str(root))


@pytest.fixture
def no_env_mirror(monkeypatch):
    monkeypatch.delenv(HUB_MIRROR_ENV, raising=False)


@pytest.fixture
def load_calls(monkeypatch):
    """The (path, config, split, revision) of every `datasets.load_dataset` call."""
    import datasets

    calls: list = []
    real = datasets.load_dataset

    def spy(path, name=None, split=None, revision=None, **kwargs):
        calls.append((str(path), name, split, revision))
        return real(path, name, split=split, revision=revision, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", spy)
    return calls


def test_every_builtin_hub_dataset_has_a_replica():
    datasets = {h.dataset for name in HUB_TASKS
                for h in hub_sources(builtin_tasks()[name].alternatives["hub"])}
    assert datasets == set(REPLICAS)
    assert len(HUB_TASKS) >= 30  # 9 XTREME, 11 English intermediate, 20 translate-train


@pytest.mark.parametrize("name", HUB_TASKS)
def test_every_split_and_language_loads_from_the_replica(name, hub_mirror, no_env_mirror,
                                                         load_calls):
    task = from_mirror(name, hub_mirror)
    fmt = get_format(task.format)
    loaded = []
    for split in SPLITS:
        if not task.has_split(split):
            continue
        for lang in split_languages(task, split):
            examples = task.load(split, lang)
            assert examples, (split, lang)
            problems = {ex["id"]: p for ex in examples if (p := fmt.check_example(ex, task))}
            assert not problems, (split, lang, problems)
            assert len({ex["id"] for ex in examples}) == len(examples), (split, lang)
            if task.format == "span_qa":  # answers sit where answer_start says, realigned
                for ex in examples:
                    a = ex["answers"]
                    for text, start in zip(a["text"], a["answer_start"], strict=True):
                        assert ex["context"][start:start + len(text)] == text, ex["id"]
            if split == "train":
                assert_every_class(task, examples)
            loaded.append((split, lang))
    assert loaded
    # Every call read the local copy, asking for a config and split its card declares.
    assert load_calls
    declared = functools.cache(card_configs)
    for path, config, split, revision in load_calls:
        dataset = path.removeprefix(str(hub_mirror) + "/")
        assert path.startswith(str(hub_mirror)) and dataset in REPLICAS, path
        configs = declared(hub_mirror / dataset)
        config = config or next(iter(configs))
        assert config in configs, (dataset, config)
        assert set(split.split("+")) <= set(configs[config]), (dataset, config, split)
        assert (revision == PARQUET_EXPORT) == (not (hub_mirror / dataset / "README.md").exists())


def assert_every_class(task, examples) -> None:
    """A replica's training split holds every class, so a tiny run can learn each."""
    if task.format == "classification":
        assert {ex["label"] for ex in examples} == set(task.labels)
    elif task.format == "tagging":
        assert {t for ex in examples for t in ex["tags"]} == set(task.labels)
    elif task.format == "multiple_choice":
        assert {ex["label"] for ex in examples} == set(range(len(examples[0]["choices"])))


def test_replica_configs_and_splits_are_the_hubs(hub_mirror):
    xtreme = card_configs(hub_mirror / "google/xtreme")
    assert xtreme["udpos.Kazakh"] == ["train", "test"]
    for name in ("Thai", "Tagalog", "Yoruba"):
        assert xtreme[f"udpos.{name}"] == ["test"]
    assert xtreme["udpos.Afrikaans"] == ["train", "validation", "test"]
    assert xtreme["XNLI"] == ["test", "validation"]
    assert xtreme["tydiqa"] == ["train", "validation"]
    assert {xtreme[c] == ["validation"] for c in xtreme if c.startswith(("XQuAD.", "tatoeba."))} \
        == {True}
    assert len([c for c in xtreme if c.startswith("udpos.")]) == 33
    assert len([c for c in xtreme if c.startswith("PAN-X.")]) == 40
    assert len([c for c in xtreme if c.startswith("tatoeba.")]) == 36
    glue = card_configs(hub_mirror / "nyu-mll/glue")
    assert glue["mnli"] == ["train", "validation_matched", "validation_mismatched",
                            "test_matched", "test_mismatched"]
    assert glue["qqp"] == glue["sst2"] == ["train", "validation", "test"]
    assert card_configs(hub_mirror / "facebook/anli") == {"plain_text": [
        f"{kind}_r{r}" for r in (1, 2, 3) for kind in ("train", "dev", "test")]}
    assert card_configs(hub_mirror / "rajpurkar/squad") == {"plain_text": ["train", "validation"]}
    assert card_configs(hub_mirror / "rajpurkar/squad_v2") == {"squad_v2": ["train",
                                                                            "validation"]}
    assert card_configs(hub_mirror / "tau/commonsense_qa") == {"default": [
        "train", "validation", "test"]}
    # Loading-script datasets: the hub's parquet conversion, one config "default", no README.
    for dataset in ("Rowan/hellaswag", "allenai/cosmos_qa"):
        folder = hub_mirror / dataset
        assert not (folder / "README.md").exists()
        assert (folder / "default/train/0000.parquet").is_file()
        assert card_configs(folder) == {"default": ["test", "train", "validation"]}
    assert (hub_mirror / "google/xtreme/udpos.Kazakh/test-00000-of-00001.parquet").is_file()
    assert (hub_mirror / "google/xtreme/MLQA.hi.hi/validation-00000-of-00001.parquet").is_file()


def test_replica_features_and_irregularities(hub_mirror, no_env_mirror):
    import datasets

    xtreme = str(hub_mirror / "google/xtreme")
    udpos = datasets.load_dataset(xtreme, "udpos.German", split="validation")
    assert udpos.features["pos_tags"].feature.names[:3] == ["ADJ", "ADP", "ADV"]
    pawsx = datasets.load_dataset(xtreme, "PAWS-X.ja", split="train")
    assert pawsx.features["label"].dtype == "string" and "" in pawsx["label"]
    tatoeba = datasets.load_dataset(xtreme, "tatoeba.cmn", split="validation")
    assert all(s.endswith("\n") for s in tatoeba["source_sentence"])
    bucc = datasets.load_dataset(xtreme, "bucc18.zh", split="test")
    assert bucc[0]["source_lang"].startswith("zh-0") and bucc[0]["target_lang"].startswith("en-")
    xnli = datasets.load_dataset(xtreme, "XNLI", split="validation")
    assert set(xnli["language"]) == set(builtin_tasks()["xnli"].languages)
    mnli = datasets.load_dataset(str(hub_mirror / "nyu-mll/glue"), "mnli", split="test_matched")
    assert mnli.features["label"].names == ["entailment", "neutral", "contradiction"]
    assert set(mnli["label"]) == {-1}
    hellaswag = datasets.load_dataset(str(hub_mirror / "Rowan/hellaswag"), "default",
                                      split="test", revision=PARQUET_EXPORT)
    assert set(hellaswag["label"]) == {""}
    cosmos = datasets.load_dataset(str(hub_mirror / "allenai/cosmos_qa"), "default",
                                   split="test", revision=PARQUET_EXPORT)
    assert set(cosmos["label"]) == {-1}


# --- the mirror -------------------------------------------------------------------------------

def test_mirror_without_the_dataset_is_a_clear_error(tmp_path, no_env_mirror):
    task = from_mirror("hellaswag", tmp_path)
    with pytest.raises(XstiltsError) as err:
        task.load("train")
    message = str(err.value)
    assert str(tmp_path / "Rowan/hellaswag") in message and "data.hub_mirror" in message
    assert (f"hf download --repo-type dataset Rowan/hellaswag --revision {PARQUET_EXPORT} "
            f"--local-dir {tmp_path / 'Rowan/hellaswag'}") in message
    assert "fix:" in message


def test_env_mirror_without_the_dataset_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv(HUB_MIRROR_ENV, str(tmp_path))
    with pytest.raises(XstiltsError, match=rf"(?s)\${HUB_MIRROR_ENV}.*hf download --repo-type "
                                           r"dataset google/xtreme --local-dir"):
        builtin_tasks()["pawsx"].load("test", "de")


def test_a_broken_local_copy_says_which_folder(hub_mirror, no_env_mirror):
    source = HubSource("google/xtreme", lambda row, lang: row, config="udpos.Klingon",
                       mirror=str(hub_mirror))
    with pytest.raises(XstiltsError, match=r"(?s)'google/xtreme' \(config 'udpos.Klingon'.*"
                                           r"from its local copy .*google/xtreme"):
        source.load("test", "tlh")


def test_the_config_key_beats_the_environment(hub_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(HUB_MIRROR_ENV, str(tmp_path))  # an empty mirror
    assert from_mirror("pawsx", hub_mirror).load("test", "de")  # data.hub_mirror wins
    monkeypatch.setenv(HUB_MIRROR_ENV, str(hub_mirror))
    assert builtin_tasks()["pawsx"].load("test", "de")  # the variable alone
    with pytest.raises(XstiltsError, match="data.hub_mirror"):
        from_mirror("pawsx", tmp_path).load("test", "de")


def test_the_mirror_changes_no_content_key(hub_mirror):
    for name in HUB_TASKS:
        hub = builtin_tasks()[name].with_source("hub")
        mirrored = from_mirror(name, hub_mirror)
        assert mirrored.describe() == hub.describe() and mirrored == hub, name
        assert json.dumps(mirrored.describe(), sort_keys=True) == json.dumps(hub.describe(),
                                                                             sort_keys=True)
        assert {h.mirror for h in hub_sources(mirrored.source)} == {str(hub_mirror)}
        assert {h.mirror for h in hub_sources(hub.source)} == {None}


def test_data_hub_mirror_reaches_every_hub_source(hub_mirror, no_env_mirror):
    text = """
encoder: {name: tiny-random}
intermediate: {tasks: [anli_plus, hellaswag]}
targets: {tasks: [xnli, udpos]}
"""
    plain = resolve_tasks(parse_config(text))
    config = parse_config(text + f"data: {{hub_mirror: {hub_mirror}}}\n")
    assert config.data.hub_mirror == str(hub_mirror)
    tasks = resolve_tasks(config)
    for name, task in tasks.items():
        assert task.describe() == plain[name].describe(), name
        assert {h.mirror for h in hub_sources(task.source)} == {str(hub_mirror)}, name
    assert len(tasks["anli_plus"].load("train")) > 0  # SNLI + MNLI + ANLI, all from the copy
