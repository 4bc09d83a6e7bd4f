"""Readers: small fixtures for every reader and its errors, plus the real files (realdata)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from xstilts.errors import XstiltsError
from xstilts.tasks.readers import READERS, read_examples


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def at(path: Path, line: int | None = None) -> str:
    """A regex for the location prefix of a located error."""
    return re.escape(f"{path}:{line}" if line is not None else f"{path}")


# --- common -------------------------------------------------------------------------------

def test_every_reader_is_registered():
    assert set(READERS) == {"jsonl", "tsv", "squad_json", "conllu", "conll", "tatoeba", "bucc",
                            "text", "csv", "ccg"}


def test_unknown_reader(tmp_path):
    with pytest.raises(XstiltsError, match="unknown reader 'xml'(?s:.*)jsonl"):
        read_examples("xml", tmp_path / "x.xml", {}, {})


@pytest.mark.parametrize("reader", sorted(READERS))
def test_missing_file_names_path_and_base_dir(tmp_path, reader):
    missing = tmp_path / "nope" / "test-de.xyz"
    with pytest.raises(XstiltsError, match=at(missing) + ": file not found(?s:.*)base_dir"):
        read_examples(reader, missing, {}, {})


def test_relative_missing_path_shows_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(XstiltsError, match=re.escape(str(tmp_path / "data" / "x.jsonl"))):
        read_examples("jsonl", Path("data/x.jsonl"), {}, {})


@pytest.mark.parametrize("reader", sorted(READERS))
def test_empty_file(tmp_path, reader):
    p = write(tmp_path / "empty.eng.txt", "\n  \n")
    with pytest.raises(XstiltsError, match=at(p) + ": the file is empty"):
        read_examples(reader, p, {}, {})


def test_not_utf8_names_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"fine\nalso fine\ncaf\xe9\n")
    with pytest.raises(XstiltsError, match=at(p, 3) + ": not valid UTF-8"):
        read_examples("text", p, {}, {})


def test_bom_and_crlf_tolerated(tmp_path):
    p = write(tmp_path / "bom.jsonl", '{"id": "a", "x": 1}\r\n{"id": "b", "x": 2}\r\n', "utf-8-sig")
    assert read_examples("jsonl", p, {}, {}) == [{"id": "a", "x": 1}, {"id": "b", "x": 2}]


def test_no_examples_is_an_error(tmp_path):
    p = write(tmp_path / "only-comments.conllu", "# sent_id = 1\n# text = nothing\n")
    with pytest.raises(XstiltsError, match=at(p) + ": no examples found"):
        read_examples("conllu", p, {}, {})


# --- jsonl --------------------------------------------------------------------------------

def test_jsonl_fields_and_default_ids(tmp_path):
    p = write(tmp_path / "xnli-de.jsonl",
              '{"premise": "P1", "hypothesis": "H1", "label": "entailment"}\n'
              "\n"
              '{"id": "x7", "premise": "P2", "hypothesis": "H2", "label": "neutral", "g": 1}\n')
    exs = read_examples("jsonl", p, {"text_a": "premise", "text_b": "hypothesis"}, {})
    assert exs == [
        {"text_a": "P1", "text_b": "H1", "label": "entailment", "id": "xnli-de-1"},
        {"text_a": "P2", "text_b": "H2", "id": "x7", "label": "neutral", "g": 1},
    ]


def test_jsonl_mapped_key_wins_over_same_named_key(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"label": "raw", "gold": "mapped"}\n')
    assert read_examples("jsonl", p, {"label": "gold"}, {}) == [{"label": "mapped", "id": "a-1"}]


def test_jsonl_bad_json_names_line(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": 1}\n\n{"id": 2,,}\n')
    with pytest.raises(XstiltsError, match=at(p, 3) + ": not valid JSON"):
        read_examples("jsonl", p, {}, {})


def test_jsonl_non_object_line(tmp_path):
    p = write(tmp_path / "a.jsonl", '{"id": 1}\n[1, 2]\n')
    with pytest.raises(XstiltsError, match=at(p, 2) + ": expected a JSON object, found list"):
        read_examples("jsonl", p, {}, {})


# --- tsv ----------------------------------------------------------------------------------

def test_tsv_header_fields_and_strings(tmp_path):
    p = write(tmp_path / "paws.tsv", "id\tsentence1\tsentence2\tlabel\n"
                                     "1\tA \"q\" b\tC d\t1\n\n2\tE\tF\t0\n")
    exs = read_examples("tsv", p, {"text_a": "sentence1", "text_b": "sentence2"}, {})
    assert exs == [{"text_a": 'A "q" b', "text_b": "C d", "id": "1", "label": "1"},
                   {"text_a": "E", "text_b": "F", "id": "2", "label": "0"}]


def test_tsv_headerless_with_columns(tmp_path):
    p = write(tmp_path / "x.tsv", "P\tH\tneutral\n")
    exs = read_examples("tsv", p, {}, {"header": False, "columns": ["text_a", "text_b", "label"]})
    assert exs == [{"text_a": "P", "text_b": "H", "label": "neutral", "id": "x-1"}]


def test_tsv_headerless_without_columns(tmp_path):
    p = write(tmp_path / "x.tsv", "P\tH\n")
    with pytest.raises(XstiltsError, match="no column names"):
        read_examples("tsv", p, {}, {"header": False})


def test_tsv_wrong_column_count_names_line(tmp_path):
    p = write(tmp_path / "x.tsv", "a\tb\n1\t2\n1\t2\t3\n")
    with pytest.raises(XstiltsError, match=at(p, 3) + ": expected 2 tab-separated columns"):
        read_examples("tsv", p, {}, {})


# --- squad_json ---------------------------------------------------------------------------

def squad(articles) -> str:
    return json.dumps({"version": "1.1", "data": articles})


ARTICLES = [
    {"title": f"T{a}", "paragraphs": [{
        "context": f"Article {a} is about cats.",
        "qas": [{"id": f"q{a}", "question": f"What is {a} about?",
                 "answers": [{"text": "cats", "answer_start": len(f"Article {a} is about ")}]}],
    }]}
    for a in range(4)
]


def test_squad_examples_in_file_order(tmp_path):
    p = write(tmp_path / "xquad.en.json", squad(ARTICLES))
    exs = read_examples("squad_json", p, {}, {})
    assert [e["id"] for e in exs] == ["q0", "q1", "q2", "q3"]
    assert exs[1] == {"id": "q1", "title": "T1", "context": "Article 1 is about cats.",
                      "question": "What is 1 about?",
                      "answers": {"text": ["cats"], "answer_start": [19]}}


def test_squad_article_range(tmp_path):
    p = write(tmp_path / "xquad.en.json", squad(ARTICLES))
    assert [e["id"] for e in read_examples("squad_json", p, {}, {"articles": [1, 3]})] == \
        ["q1", "q2"]
    assert [e["id"] for e in read_examples("squad_json", p, {}, {"articles": [2, None]})] == \
        ["q2", "q3"]


@pytest.mark.parametrize("span", [[3, 2], [0, 5], [-1, 2], "0-2", [0]])
def test_squad_bad_article_range(tmp_path, span):
    p = write(tmp_path / "xquad.en.json", squad(ARTICLES))
    with pytest.raises(XstiltsError, match=at(p) + ": options.articles .* 4 articles"):
        read_examples("squad_json", p, {}, {"articles": span})


def test_squad_v2_unanswerable(tmp_path):
    arts = [{"title": "T", "paragraphs": [{"context": "c", "qas": [
        {"id": "u", "question": "?", "answers": [], "plausible_answers": [
            {"text": "c", "answer_start": 0}], "is_impossible": True}]}]}]
    p = write(tmp_path / "v2.json", squad(arts))
    assert read_examples("squad_json", p, {}, {})[0]["answers"] == {"text": [], "answer_start": []}


def test_squad_answer_mismatch_names_file_and_id(tmp_path):
    arts = json.loads(json.dumps(ARTICLES))
    arts[2]["paragraphs"][0]["qas"][0]["answers"][0]["answer_start"] = 3
    p = write(tmp_path / "xquad.en.json", squad(arts))
    with pytest.raises(XstiltsError, match=at(p) + r": question id 'q2': answer 'cats' .*'icle'"):
        read_examples("squad_json", p, {}, {})


def test_squad_bad_json_names_line(tmp_path):
    p = write(tmp_path / "x.json", '{"data": [\n  {"title": "a",}\n]}\n')
    with pytest.raises(XstiltsError, match=at(p, 2) + ": not valid JSON"):
        read_examples("squad_json", p, {}, {})


def test_squad_wrong_structure(tmp_path):
    p = write(tmp_path / "x.json", squad([{"title": "a", "paragraphs": [{"context": "c"}]}]))
    with pytest.raises(XstiltsError, match=at(p) + ": article 0 is not in SQuAD form.*'qas'"):
        read_examples("squad_json", p, {}, {})
    p = write(tmp_path / "y.json", '{"version": "1.1"}')
    with pytest.raises(XstiltsError, match='"data" list'):
        read_examples("squad_json", p, {}, {})


# --- conllu -------------------------------------------------------------------------------

CONLLU = """# newdoc id = d1
# sent_id = s1
# text = Im Haus.
1-2\tIm\t_\t_\t_\t_\t_\t_\t_\t_
1\tIn\tin\tADP\tAPPR\t_\t3\tcase\t_\t_
2\tdem\tder\tDET\tART\t_\t3\tdet\t_\t_
3\tHaus\tHaus\tNOUN\tNN\t_\t0\troot\t_\tSpaceAfter=No
3.1\tist\tsein\tAUX\tVAFIN\t_\t_\t_\t0:root\t_
4\t.\t.\tPUNCT\t$.\t_\t3\tpunct\t_\t_

# text = no id here
1\tJa\tja\tINTJ\tITJ\t_\t0\troot\t_\t_"""


def test_conllu_skips_multiword_and_empty_nodes(tmp_path):
    p = write(tmp_path / "de_gsd-ud-test.conllu", CONLLU)  # no trailing newline
    exs = read_examples("conllu", p, {}, {})
    assert exs == [
        {"id": "s1", "tokens": ["In", "dem", "Haus", "."], "tags": ["ADP", "DET", "NOUN", "PUNCT"]},
        {"id": "de_gsd-ud-test-2", "tokens": ["Ja"], "tags": ["INTJ"]},
    ]


def test_conllu_xpos_and_extra_blank_lines(tmp_path):
    p = write(tmp_path / "x.conllu", "\n\n" + CONLLU + "\n\n\n")
    exs = read_examples("conllu", p, {}, {"tag_column": "xpos"})
    assert [e["tags"] for e in exs] == [["APPR", "ART", "NN", "$."], ["ITJ"]]


def test_conllu_bad_tag_column(tmp_path):
    p = write(tmp_path / "x.conllu", CONLLU)
    with pytest.raises(XstiltsError, match="tag_column 'lemma'"):
        read_examples("conllu", p, {}, {"tag_column": "lemma"})


def test_conllu_wrong_column_count_names_line(tmp_path):
    lines = CONLLU.split("\n")
    lines[5] = "2 dem der DET ART _ 3 det _ _"  # spaces instead of tabs
    p = write(tmp_path / "x.conllu", "\n".join(lines))
    with pytest.raises(XstiltsError, match=at(p, 6) + ": expected 10 tab-separated"):
        read_examples("conllu", p, {}, {})


def test_conllu_bad_token_id(tmp_path):
    p = write(tmp_path / "x.conllu", "a\tJa\tja\tINTJ\tITJ\t_\t0\troot\t_\t_\n")
    with pytest.raises(XstiltsError, match=at(p, 1) + ": token ID 'a'"):
        read_examples("conllu", p, {}, {})


# --- conll --------------------------------------------------------------------------------

def test_conll_tab_and_space_and_lang_prefix(tmp_path):
    p = write(tmp_path / "panx-en.tsv",
              "en:Paris\tB-LOC\nen:is\tO\n\n\nen:Tom\tB-PER\nen::\tO\n")
    assert read_examples("conll", p, {}, {}) == [
        {"id": "panx-en-1", "tokens": ["en:Paris", "en:is"], "tags": ["B-LOC", "O"]},
        {"id": "panx-en-2", "tokens": ["en:Tom", "en::"], "tags": ["B-PER", "O"]},
    ]
    exs = read_examples("conll", p, {}, {"strip_lang_prefix": True})
    assert [e["tokens"] for e in exs] == [["Paris", "is"], ["Tom", ":"]]
    q = write(tmp_path / "sp.txt", "-DOCSTART- O\n\nParis B-LOC\nis O")
    assert read_examples("conll", q, {}, {}) == [
        {"id": "sp-1", "tokens": ["Paris", "is"], "tags": ["B-LOC", "O"]}]


def test_conll_malformed_line(tmp_path):
    p = write(tmp_path / "x.tsv", "Paris\tB-LOC\nis\n")
    with pytest.raises(XstiltsError, match=at(p, 2) + ": expected 2 columns"):
        read_examples("conll", p, {}, {})


# --- tatoeba ------------------------------------------------------------------------------

def test_tatoeba_aligned(tmp_path):
    src = write(tmp_path / "tatoeba.deu-eng.deu", "Ich  bin hier. \nJa\n")
    write(tmp_path / "tatoeba.deu-eng.eng", "I am here.\r\nYes\n")
    assert read_examples("tatoeba", src, {}, {}) == [
        {"id": "0", "source": "Ich  bin hier. ", "target": "I am here."},
        {"id": "1", "source": "Ja", "target": "Yes"},
    ]


def test_tatoeba_line_count_mismatch(tmp_path):
    src = write(tmp_path / "tatoeba.deu-eng.deu", "a\nb\nc\n")
    eng = write(tmp_path / "tatoeba.deu-eng.eng", "a\nb\n")
    with pytest.raises(XstiltsError, match=at(src) + ": has 3 lines .*" + at(eng) + " has 2"):
        read_examples("tatoeba", src, {}, {})


def test_tatoeba_missing_english_side(tmp_path):
    src = write(tmp_path / "tatoeba.deu-eng.deu", "a\n")
    with pytest.raises(XstiltsError, match=at(tmp_path / "tatoeba.deu-eng.eng") + ": file not"):
        read_examples("tatoeba", src, {}, {})


def test_tatoeba_given_english_side(tmp_path):
    eng = write(tmp_path / "tatoeba.deu-eng.eng", "a\n")
    with pytest.raises(XstiltsError, match="English side"):
        read_examples("tatoeba", eng, {}, {})


# --- text ---------------------------------------------------------------------------------

def test_text_lines(tmp_path):
    p = write(tmp_path / "wiki.de.txt", "Erste Zeile.\n\n  \nZweite\u2028Zeile.\n")
    assert read_examples("text", p, {}, {}) == [
        {"id": "wiki.de-1", "text": "Erste Zeile."},
        {"id": "wiki.de-4", "text": "Zweite\u2028Zeile."},
    ]
    assert read_examples("text", p, {"text_a": "text"}, {})[0] == \
        {"text_a": "Erste Zeile.", "id": "wiki.de-1"}


# --- real files (../shared/data; XSTILTS_REALDATA=1) ---------------------------------------

@pytest.mark.realdata
@pytest.mark.parametrize("lang", ["en", "de", "es", "zh", "ar", "hi"])
def test_real_xquad(shared_data, lang):
    path = shared_data / "xquad" / f"xquad.{lang}.json"
    exs = read_examples("squad_json", path, {}, {})  # also validates every answer span
    assert len(exs) == 1190
    assert len({e["title"] for e in exs}) == 48
    assert len(json.loads(path.read_text(encoding="utf-8"))["data"]) == 48
    assert all(len(e["answers"]["text"]) >= 1 for e in exs)


@pytest.mark.realdata
def test_real_xquad_article_split(shared_data):
    path = shared_data / "xquad" / "xquad.en.json"
    train = read_examples("squad_json", path, {}, {"articles": [0, 32]})
    test = read_examples("squad_json", path, {}, {"articles": [32, 48]})
    assert (len(train), len(test)) == (826, 364)
    assert not {e["context"] for e in train} & {e["context"] for e in test}
    assert test[0]["title"] == "Jacksonville,_Florida"


@pytest.mark.realdata
@pytest.mark.parametrize("name,sentences", [("de_gsd-ud-test", 977), ("es_gsd-ud-test", 427),
                                            ("en_ewt-ud-dev", 2001), ("en_ewt-ud-test", 2077)])
def test_real_udpos(shared_data, name, sentences):
    path = shared_data / "udpos" / f"{name}.conllu"
    exs = read_examples("conllu", path, {}, {})
    assert len(exs) == sentences
    assert len({e["id"] for e in exs}) == sentences  # every sentence has its own sent_id
    assert all(len(e["tokens"]) == len(e["tags"]) > 0 for e in exs)
    # Token count equals the number of lines whose ID is a plain integer.
    ids = [ln.split("\t", 1)[0] for ln in path.read_text(encoding="utf-8").splitlines()
           if ln and not ln.startswith("#")]
    assert sum(len(e["tokens"]) for e in exs) == sum(i.isdigit() for i in ids)
    upos = {"ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
            "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X"}
    assert {t for e in exs for t in e["tags"]} <= upos


@pytest.mark.realdata
def test_real_udpos_de_first_sentence(shared_data):
    exs = read_examples("conllu", shared_data / "udpos" / "de_gsd-ud-test.conllu", {}, {})
    assert exs[0]["id"] == "test-s1"
    assert exs[0]["tokens"][:3] == ["Der", "Hauptgang", "war"]
    assert exs[0]["tags"][:3] == ["DET", "NOUN", "AUX"]


@pytest.mark.realdata
@pytest.mark.parametrize("code,n", [("jav", 205), ("deu", 1000)])
def test_real_tatoeba(shared_data, code, n):
    exs = read_examples("tatoeba", shared_data / "tatoeba" / f"tatoeba.{code}-eng.{code}", {}, {})
    assert len(exs) == n
    assert [e["id"] for e in exs] == [str(i) for i in range(n)]
    assert all(e["source"] and e["target"] for e in exs)
