"""Intermediate tasks: each loads from fake hub rows and from local files in the real layout."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from xstilts.config import parse_config
from xstilts.errors import XstiltsError
from xstilts.pipeline import RunData, run
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
def hub(monkeypatch):
    """Install a fake `datasets`; fill `tables[(dataset, config, split)] = rows` in a test."""
    tables: dict = {}

    def load_dataset(name, config=None, split=None, revision=None):
        # `datasets` reads "a+b" as the concatenation of splits a and b.
        return [row for part in split.split("+") for row in tables[(name, config, part)]]

    fake = types.ModuleType("datasets")
    fake.load_dataset = load_dataset
    monkeypatch.setitem(sys.modules, "datasets", fake)
    return tables


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

def nli_rows(prefix: str, labels: list[int], **extra) -> list[dict]:
    return [{"premise": f"{prefix} p{i}", "hypothesis": f"{prefix} h{i}", "label": lab,
             **{k: f"{v}{i}" for k, v in extra.items()}} for i, lab in enumerate(labels)]


def test_nli_from_the_hub(hub):
    hub[("stanfordnlp/snli", None, "train")] = nli_rows("snli", [0, -1, 2])
    hub[("stanfordnlp/snli", None, "validation")] = nli_rows("snli-dev", [1])
    hub[("nyu-mll/glue", "mnli", "train")] = [{**r, "idx": i} for i, r in
                                              enumerate(nli_rows("mnli", [1, 2]))]
    hub[("nyu-mll/glue", "mnli", "validation_matched")] = nli_rows("mnli-dev", [0])
    for r in (1, 2, 3):
        hub[("facebook/anli", None, f"train_r{r}")] = nli_rows(f"anli{r}", [r - 1], uid=f"r{r}-")
        hub[("facebook/anli", None, f"dev_r{r}")] = nli_rows(f"anli-dev{r}", [0], uid=f"d{r}-")
    snli = task("snli").load("train")
    assert [(e["text_a"], e["label"]) for e in snli] == [("snli p0", "entailment"),
                                                        ("snli p2", "contradiction")]  # -1 dropped
    assert task("mnli").load("dev")[0]["label"] == "entailment"
    anli = task("anli").load("train")
    assert [(e["id"], e["label"]) for e in anli] == [("r1-0", "entailment"), ("r2-0", "neutral"),
                                                     ("r3-0", "contradiction")]
    plus = task("anli_plus").load("train")
    assert len(plus) == 2 + 2 + 3
    assert len({e["id"] for e in plus}) == 7  # SNLI's and MNLI's numbered ids do not clash
    assert [e["id"].split(":")[0] for e in plus] == ["snli"] * 2 + ["mnli"] * 2 + ["anli"] * 3
    dev = task("anli_plus").load("dev")  # ANLI's three dev rounds only
    assert [e["text_a"] for e in dev] == ["anli-dev1 p0", "anli-dev2 p0", "anli-dev3 p0"]


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
    hub[("nyu-mll/glue", "qqp", "train")] = [
        {"question1": "q1", "question2": "q2", "label": 1, "idx": 0},
        {"question1": "q3", "question2": "q4", "label": 0, "idx": 1}]
    hub[("nyu-mll/glue", "sst2", "validation")] = [{"sentence": "great", "label": 1, "idx": 7}]
    qqp = task("qqp").load("train")
    assert [(e["text_a"], e["text_b"], e["label"]) for e in qqp] == [
        ("q1", "q2", "duplicate"), ("q3", "q4", "not_duplicate")]
    assert task("sst2").load("dev") == [{"id": "7", "text_a": "great", "label": "positive"}]


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
    hub[("rajpurkar/squad", None, "train")] = [
        {"id": "a", "title": "T", "context": "Paris is in France.", "question": "Where?",
         "answers": {"text": ["France"], "answer_start": [12]}}]
    hub[("rajpurkar/squad_v2", None, "validation")] = [
        {"id": "b", "title": "T", "context": "Paris is in France.", "question": "Who?",
         "answers": {"text": [], "answer_start": []}}]
    assert task("squad").load("train")[0]["answers"] == {"text": ["France"], "answer_start": [12]}
    v2 = task("squad_v2")
    assert v2.options["version_2_with_negative"] is True
    assert v2.load("dev")[0]["answers"] == {"text": [], "answer_start": []}


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
    hub[("Rowan/hellaswag", None, "train")] = [
        {"ind": 4, "activity_label": "x", "ctx_a": "A man", "ctx_b": "is", "ctx": "A man is",
         "endings": ["e0", "e1", "e2", "e3"], "source_id": "s", "split": "train",
         "split_type": "indomain", "label": "2"}]
    hub[("allenai/cosmos_qa", None, "validation")] = [
        {"id": "c1", "context": "I was late.", "question": "Why?", "answer0": "a",
         "answer1": "b", "answer2": "c", "answer3": "d", "label": 3}]
    hub[("tau/commonsense_qa", None, "train")] = [
        {"id": "k1", "question": "Where do cats sleep?", "question_concept": "cat",
         "choices": {"label": ["A", "B", "C", "D", "E"], "text": ["bed", "sea", "sky", "car",
                                                                  "moon"]}, "answerKey": "A"},
        {"id": "k2", "question": "?", "question_concept": "c",
         "choices": {"label": ["A", "B"], "text": ["x", "y"]}, "answerKey": ""}]
    assert task("hellaswag").load("train") == [
        {"id": "4", "prompt": "A man is", "choices": ["e0", "e1", "e2", "e3"], "label": 2}]
    cosmos = task("cosmosqa").load("dev")[0]
    assert (cosmos["prompt"], cosmos["choices"][3], cosmos["label"]) == ("I was late. Why?", "d", 3)
    csqa = task("commonsenseqa").load("train")
    assert [(e["id"], e["label"], len(e["choices"])) for e in csqa] == [("k1", 0, 5)]


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
    results = run(config, tmp_path / "out")
    target = results["targets"]["ccg"]
    assert target["main_metric"] == "accuracy"
    # Selection used accuracy; the untrained tag can never be predicted, so at most 4/5 right.
    assert 0 <= target["languages"]["en"]["accuracy"] <= 80.0
    assert results["intermediate"]["summary"]  # the intermediate phase ran and selected


# --- translate-train --------------------------------------------------------------------------

def test_translate_train_from_the_hub(hub):
    hub[("facebook/xnli", "de", "train")] = [
        {"premise": "Er schläft.", "hypothesis": "Er ist wach.", "label": 2}]
    hub[("facebook/xnli", "de", "validation")] = [
        {"premise": "P", "hypothesis": "H", "label": 0}]
    hub[("google-research-datasets/paws-x", "ja", "train")] = [
        {"id": 1, "sentence1": "a", "sentence2": "b", "label": 1},
        {"id": 2, "sentence1": "c", "sentence2": "d", "label": -1}]
    t = task("xnli_tt_de")
    assert t.load("train")[0]["label"] == "contradiction"  # the training language by default
    assert t.load("dev")[0]["label"] == "entailment"
    assert task("pawsx_tt_ja").load("train") == [
        {"id": "1", "text_a": "a", "text_b": "b", "label": "1"}]  # -1 (missing label) dropped


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
