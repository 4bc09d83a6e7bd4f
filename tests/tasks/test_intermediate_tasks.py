"""Intermediate tasks: each loads from the hub (replicas of its datasets, tests/hub_replicas.py,
through the real `datasets`) and from local files in the real layout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xstilts.config import parse_config
from xstilts.errors import XstiltsError
from xstilts.study.run import run_config
from xstilts.tasks.loading import RunData
from xstilts.tasks.registry import builtin_tasks
from xstilts.tasks.task import FileSource

NLI = ["entailment", "neutral", "contradiction"]
XNLI_TT = ["ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi", "zh"]
PAWSX_TT = ["de", "es", "fr", "ja", "ko", "zh"]
INTERMEDIATE = (["anli_plus", "mnli", "snli", "anli", "qqp", "sst2", "squad", "squad_v2",
                 "hellaswag", "cosmosqa", "commonsenseqa", "ccg"]
                + [f"xnli_tt_{lang}" for lang in XNLI_TT] + [f"pawsx_tt_{lang}" for lang in PAWSX_TT])


def task(name: str):
    return builtin_tasks()[name]


@pytest.fixture
def hub(hub_mirror_env, monkeypatch):
    """Hub tasks read the replicas of the hub datasets through the real `datasets`; returns
    the (dataset, config, split, revision) of every load_dataset call."""
    import datasets

    calls: list = []
    real = datasets.load_dataset

    def load_dataset(path, name=None, split=None, revision=None, **kwargs):
        calls.append((str(path).removeprefix(f"{hub_mirror_env}/"), name, split, revision))
        return real(path, name, split=split, revision=revision, **kwargs)

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def local(name: str, folder: Path):
    return task(name).with_source("local", str(folder))


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, rows: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r) + "\n" for r in rows))


# --- declarations -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", INTERMEDIATE)
def test_declaration(name):
    t = task(name)
    assert t.description and "\n" not in t.description and t.languages
    if t.format == "classification":
        assert t.labels
    assert set(t.alternatives) == ({"local"} if name == "ccg" else {"hub", "local"})
    assert t.has_split("train") and t.has_split("dev")
    json.dumps(t.describe())
    json.dumps(t.with_source("local", "/data").describe())


def test_nli_tasks_share_one_label_order():
    names = ["snli", "mnli", "anli", "anli_plus"] + [f"xnli_tt_{lang}" for lang in XNLI_TT]
    assert {tuple(task(n).labels) for n in names} == {tuple(NLI)}


def test_translate_train_languages():
    for lang in XNLI_TT:
        t = task(f"xnli_tt_{lang}")
        assert (t.train_language, list(t.languages)) == (lang, [lang])
    for lang in PAWSX_TT:
        assert task(f"pawsx_tt_{lang}").train_language == lang
    assert "xnli_tt_en" not in builtin_tasks() and "pawsx_tt_en" not in builtin_tasks()


# --- NLI --------------------------------------------------------------------------------------

def test_nli_from_the_hub(hub):
    snli = task("snli").load("train")
    assert hub[-1] == ("stanfordnlp/snli", None, "train", None)
    assert [(e["text_a"], e["label"]) for e in snli[:3]] == [
        ("A dog runs in a park 0.", "entailment"), ("A dog runs in a park 1.", "neutral"),
        ("A dog runs in a park 2.", "contradiction")]
    assert len(snli) == 9 and snli.n_dropped == 1  # the pair without a gold label (-1)
    assert task("mnli").load("dev")[0]["label"] == "entailment"
    assert hub[-1] == ("nyu-mll/glue", "mnli", "validation_matched", None)
    anli = task("anli").load("train")
    assert hub[-1] == ("facebook/anli", None, "train_r1+train_r2+train_r3", None)
    assert [(e["id"], e["label"]) for e in anli[::8]] == [
        ("r1-train-0000", "entailment"), ("r2-train-0000", "entailment"),
        ("r3-train-0000", "entailment")]
    plus = task("anli_plus").load("train")
    assert len(plus) == 9 + 9 + 24
    assert len({e["id"] for e in plus}) == len(plus)  # SNLI's and MNLI's numbered ids: no clash
    assert [e["id"].split(":")[0] for e in plus] == ["snli"] * 9 + ["mnli"] * 9 + ["anli"] * 24
    dev = task("anli_plus").load("dev")  # ANLI's three dev rounds only
    assert [e["id"] for e in dev[::4]] == ["anli:r1-dev-0000", "anli:r2-dev-0000",
                                           "anli:r3-dev-0000"]


def snli_line(pair: str, label: str) -> dict:
    return {"annotator_labels": [label], "captionID": "c", "gold_label": label, "pairID": pair,
            "sentence1": f"premise {pair}", "sentence2": f"hypothesis {pair}"}


def test_nli_from_local_files(tmp_path):
    jsonl(tmp_path / "snli_1.0/snli_1.0_train.jsonl",
          [snli_line("a", "neutral"), snli_line("b", "-"), snli_line("c", "entailment")])
    jsonl(tmp_path / "snli_1.0/snli_1.0_dev.jsonl", [snli_line("d", "contradiction")])
    jsonl(tmp_path / "multinli_1.0/multinli_1.0_train.jsonl", [snli_line("m", "entailment")])
    jsonl(tmp_path / "multinli_1.0/multinli_1.0_dev_matched.jsonl", [snli_line("n", "neutral")])
    for r in (1, 2, 3):
        for split, code in (("train", "c"), ("dev", "n")):
            jsonl(tmp_path / f"anli_v1.0/R{r}/{split}.jsonl",
                  [{"uid": f"{split}{r}", "context": f"ctx {r}", "hypothesis": f"hyp {r}",
                    "label": code, "reason": "", "model_label": "e", "tag": ""}])
    snli = local("snli", tmp_path).load("train")
    assert [(e["id"], e["text_a"], e["label"]) for e in snli] == [
        ("a", "premise a", "neutral"), ("c", "premise c", "entailment")]  # "-" dropped
    assert local("mnli", tmp_path).load("dev")[0]["label"] == "neutral"
    anli = local("anli", tmp_path).load("dev")
    assert [(e["text_a"], e["label"]) for e in anli] == [(f"ctx {r}", "neutral") for r in (1, 2, 3)]
    plus = local("anli_plus", tmp_path)
    train = plus.load("train")
    assert [e["label"] for e in train] == ["neutral", "entailment", "entailment"] + ["contradiction"] * 3
    assert [e["id"] for e in train][:3] == ["snli:a", "snli:c", "mnli:m"]
    assert len(plus.load("dev")) == 3


# --- GLUE -------------------------------------------------------------------------------------

def test_glue_from_the_hub(hub):
    qqp = task("qqp").load("train")
    assert hub[-1] == ("nyu-mll/glue", "qqp", "train", None)
    assert [(e["id"], e["text_a"], e["text_b"], e["label"]) for e in qqp[:2]] == [
        ("0", "How do I learn 0?", "How to learn 0?", "not_duplicate"),
        ("1", "How do I learn 1?", "How to learn 1?", "duplicate")]
    assert task("sst2").load("dev")[0] == {"id": "0", "text_a": "a film with 0 good scenes ",
                                           "label": "negative"}
    assert hub[-1] == ("nyu-mll/glue", "sst2", "validation", None)


def test_glue_from_local_files(tmp_path):
    write(tmp_path / "glue_data/QQP/train.tsv", "id\tqid1\tqid2\tquestion1\tquestion2\t"
          "is_duplicate\n5\t1\t2\tHow?\tWhy?\t0\n6\t3\t4\tA?\tB?\t1\n")
    write(tmp_path / "glue_data/SST-2/dev.tsv", "sentence\tlabel\nbad film \t0\n")
    qqp = local("qqp", tmp_path).load("train")
    assert [(e["id"], e["label"]) for e in qqp] == [("5", "not_duplicate"), ("6", "duplicate")]
    sst = local("sst2", tmp_path).load("dev")
    assert [(e["text_a"], e["label"]) for e in sst] == [("bad film ", "negative")]


# --- SQuAD ------------------------------------------------------------------------------------

def test_squad_from_the_hub(hub):
    first = task("squad").load("train")[0]
    assert hub[-1] == ("rajpurkar/squad", None, "train", None)
    assert first["answers"] == {"text": ["France"],
                                "answer_start": [first["context"].index("France")]}
    assert len(task("squad").load("dev")[0]["answers"]["text"]) == 3  # dev: several references
    v2 = task("squad_v2")
    assert v2.options["version_2_with_negative"] is True
    assert v2.load("dev")[2]["answers"] == {"text": [], "answer_start": []}  # unanswerable
    assert hub[-1] == ("rajpurkar/squad_v2", None, "validation", None)


def squad_json(version: str, impossible: bool) -> str:
    qa = {"id": "q1", "question": "Where?", "answers": [{"text": "France", "answer_start": 12}]}
    qas = [qa]
    if impossible:
        qas.append({"id": "q2", "question": "Who?", "answers": [], "is_impossible": True,
                    "plausible_answers": [{"text": "Paris", "answer_start": 0}]})
    return json.dumps({"version": version, "data": [{"title": "T", "paragraphs": [
        {"context": "Paris is in France.", "qas": qas}]}]})


def test_squad_from_local_files(tmp_path):
    write(tmp_path / "squad/train-v1.1.json", squad_json("1.1", False))
    write(tmp_path / "squad/dev-v2.0.json", squad_json("v2.0", True))
    assert local("squad", tmp_path).load("train")[0]["answers"]["text"] == ["France"]
    v2 = local("squad_v2", tmp_path).load("dev")
    assert [e["answers"]["text"] for e in v2] == [["France"], []]  # unanswerable: empty


# --- multiple choice --------------------------------------------------------------------------

def test_multiple_choice_from_the_hub(hub):
    # HellaSwag and Cosmos QA ship loading scripts: read from the hub's parquet conversion.
    assert task("hellaswag").load("train")[0] == {
        "id": "0", "prompt": "A man takes a pan 0. he",
        "choices": ["puts it on the stove 0.", "eats the pan.", "flies away.", "sings to it."],
        "label": 0}  # the hub's label is a string ("0")
    assert hub[-1] == ("Rowan/hellaswag", "default", "train", "refs/convert/parquet")
    cosmos = task("cosmosqa").load("dev")[1]
    assert hub[-1] == ("allenai/cosmos_qa", "default", "validation", "refs/convert/parquet")
    assert (cosmos["prompt"], cosmos["choices"][3], cosmos["label"]) == (
        "We went to the lake on day 1. It rained all day. Why did we stay inside?",
        "Answer 3 for 1.", 1)
    csqa = task("commonsenseqa").load("train")
    assert hub[-1] == ("tau/commonsense_qa", None, "train", None)
    assert [(e["label"], len(e["choices"])) for e in csqa[:3]] == [(0, 5), (1, 5), (2, 5)]


def test_multiple_choice_from_local_files(tmp_path):
    jsonl(tmp_path / "hellaswag/hellaswag_val.jsonl", [
        {"ind": 9, "ctx": "She opens", "endings": ["a", "b", "c", "d"], "label": 1,
         "activity_label": "x", "split": "val"}])
    write(tmp_path / "cosmosqa/train.csv",
          'id,context,question,answer0,answer1,answer2,answer3,label\n'
          'c7,"It rained, so I stayed.",Why?,"rain, mostly",b,c,d,0\n')
    jsonl(tmp_path / "commonsenseqa/dev_rand_split.jsonl", [
        {"answerKey": "C", "id": "k9", "question": {
            "question_concept": "x", "stem": "What is blue?",
            "choices": [{"label": lab, "text": t} for lab, t in zip("ABCDE", "fghij", strict=True)]}}])
    assert local("hellaswag", tmp_path).load("dev") == [
        {"id": "9", "prompt": "She opens", "choices": ["a", "b", "c", "d"], "label": 1}]
    cosmos = local("cosmosqa", tmp_path).load("train")[0]
    assert cosmos["prompt"] == "It rained, so I stayed. Why?" and cosmos["choices"][0] == "rain, mostly"
    assert local("commonsenseqa", tmp_path).load("dev") == [
        {"id": "k9", "prompt": "What is blue?", "choices": list("fghij"), "label": 2}]


# --- CCG --------------------------------------------------------------------------------------

AUTO = """ID=wsj_0001.1 PARSER=GOLD NUMPARSE=1
(<T S[dcl] 0 2> (<L NP NNP NNP Pierre NP>) (<T S[dcl]\\NP 0 2> (<L (S[dcl]\\NP)/NP VBZ VBZ likes (S[dcl]\\NP_1)/NP_2> ) (<L N NNS NNS cats N>) ) )
ID=wsj_0001.2 PARSER=GOLD NUMPARSE=1
(<T S[dcl] 0 2> (<L NP NNP NNP Vinken NP>) (<L S[dcl]\\NP VBZ VBZ sleeps S[dcl]\\NP_1>) )
"""
STAGGED = """# this file was generated by the following command(s):
#   ./bin/generate -T ...

#|#|N/N 200|CD|N slept|VBD|S[dcl]\\NP
"""


def test_ccg_reads_auto_and_stagged_files(tmp_path):
    write(tmp_path / "ccg/train.auto", AUTO)
    write(tmp_path / "ccg/dev.auto", STAGGED)
    t = local("ccg", tmp_path)
    assert t.labels is None and t.options["labels_from_train"] == 10
    assert t.load("train") == [
        {"id": "wsj_0001.1", "tokens": ["Pierre", "likes", "cats"],
         "tags": ["NP", "(S[dcl]\\NP)/NP", "N"]},
        {"id": "wsj_0001.2", "tokens": ["Vinken", "sleeps"], "tags": ["NP", "S[dcl]\\NP"]}]
    dev = t.load("dev")  # a "#|" token is a word, not a comment
    assert dev[0]["tokens"] == ["#", "200", "slept"] and dev[0]["tags"][0] == "N/N"


def test_ccg_labels_come_from_training_data(tmp_path):
    t = local("ccg", tmp_path)
    write(tmp_path / "ccg/train.auto", AUTO)
    with pytest.raises(XstiltsError, match="labels_from_train"):
        t.with_labels_from(t.load("train"))  # no tag is seen 10 times
    train = t.load("train") * 5  # NP 10 times, every other tag 5 times
    assert t.with_labels_from(train).labels == ["NP"]
    assert task("ccg").with_source("local", str(tmp_path)).labels is None


def test_ccg_without_files_says_how_to_get_ccgbank(tmp_path):
    with pytest.raises(XstiltsError, match="file not found(?s:.*)LDC2005T13(?s:.*)ccg/train.auto"):
        local("ccg", tmp_path).load("train")
    # With data from the hub there is no CCG source but the local one; it says the same.
    assert task("ccg").with_source("hub") is task("ccg")


def ccg_config(folder: Path) -> str:
    return f"""
seed: 0
encoder: {{name: tiny-random}}
data: {{source: local, dir: "{folder}"}}
intermediate:
  tasks: [ccg]
  training: {{max_steps: 2, batch_size: 4, eval_every: 2}}
targets:
  tasks: [ccg]
  training: {{max_steps: 2, batch_size: 4, eval_every: 2}}
"""


def test_ccg_runs_with_tags_read_at_load_time(tmp_path):
    # Train: 10 copies, so all four tags qualify; dev and test also hold a tag never trained.
    write(tmp_path / "ccg/train.auto", AUTO * 10)
    rare = AUTO.replace("(<L N NNS NNS cats N>)", "(<L N/PP NNS NNS cats N/PP>)")
    write(tmp_path / "ccg/dev.auto", rare)
    write(tmp_path / "ccg/test.auto", rare)
    config = parse_config(ccg_config(tmp_path))
    data = RunData(config)
    assert data.tasks["ccg"].labels == ["(S[dcl]\\NP)/NP", "N", "NP", "S[dcl]\\NP"]
    results = run_config(config, tmp_path / "out")
    target = results["targets"]["ccg"]
    assert target["main_metric"] == "accuracy"
    # Selection used accuracy; the untrained tag can never be predicted, so at most 4/5 right.
    assert 0 <= target["languages"]["en"]["accuracy"] <= 80.0
    assert results["intermediate"]["summary"]  # the intermediate phase ran and selected


# --- translate-train --------------------------------------------------------------------------

def test_translate_train_from_the_hub(hub):
    t = task("xnli_tt_de")
    train = t.load("train")  # the training language by default
    assert hub[-1] == ("facebook/xnli", "de", "train", None)
    assert [e["label"] for e in train[:3]] == ["entailment", "neutral", "contradiction"]
    assert t.load("dev")[0]["text_a"] == "de validation premise 0"
    assert hub[-1] == ("facebook/xnli", "de", "validation", None)
    assert task("pawsx_tt_ja").load("train")[:2] == [
        {"id": "1", "text_a": "ja train first 0", "text_b": "ja train second 0", "label": "0"},
        {"id": "2", "text_a": "ja train first 1", "text_b": "ja train second 1", "label": "1"}]
    assert hub[-1] == ("google-research-datasets/paws-x", "ja", "train", None)


def test_translate_train_hub_rows_without_a_label_are_dropped():
    from xstilts.tasks.builtin.intermediate_translated import pawsx_row, xnli_hub_row

    assert pawsx_row({"id": 2, "sentence1": "c", "sentence2": "d", "label": -1}, "ja") is None
    assert xnli_hub_row({"premise": "P", "hypothesis": "H", "label": -1}, "de") is None


def test_translate_train_from_local_files(tmp_path):
    write(tmp_path / "XNLI-MT-1.0/multinli/multinli.train.de.tsv",
          "premise\thypo\tlabel\nEr schläft.\tEr ist wach.\tcontradictory\n"
          "Sie liest.\tSie liest ein Buch.\tneutral\nkaputt\n")
    header = ("language\tgold_label\tsentence1_binary_parse\tsentence2_binary_parse\t"
              "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tpromptID\tpairID\n")
    write(tmp_path / "XNLI-1.0/xnli.dev.tsv", header
          + "en\tneutral\t-\t-\t-\t-\tHe reads.\tHe reads a book.\t1\t11\n"
          + "de\tneutral\t-\t-\t-\t-\tEr liest.\tEr liest ein Buch.\t1\t11\n")
    write(tmp_path / "x-final/ko/translated_train.tsv",
          "id\tsentence1\tsentence2\tlabel\n1\t가\t나\t0\n2\t다\tNaN\n3\t라\t마\t1\n")
    t = local("xnli_tt_de", tmp_path)
    train = t.load("train")
    assert [(e["text_a"], e["label"]) for e in train] == [("Er schläft.", "contradiction"),
                                                          ("Sie liest.", "neutral")]
    assert [(e["id"], e["text_a"]) for e in t.load("dev")] == [("de-11", "Er liest.")]
    pawsx = local("pawsx_tt_ko", tmp_path).load("train")  # the broken row is skipped
    assert [(e["id"], e["label"]) for e in pawsx] == [("1", "0"), ("3", "1")]
    assert isinstance(t.source.sources["train"], FileSource)
