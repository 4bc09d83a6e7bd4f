"""Translate-train intermediate tasks: English training sets machine-translated into one language.

- xnli_tt_{lang}: XNLI-MT 1.0's translations of the MultiNLI training set (the hub's
  facebook/xnli train split is the same files); dev and test are XNLI's in that language.
  Local: XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv and XNLI-1.0/xnli.{dev,test}.tsv
  (unzip XNLI-MT-1.0.zip and XNLI-1.0.zip into the data folder; download_data.sh deletes them).
- pawsx_tt_{lang}: PAWS-X's translated_train.tsv (the hub's paws-x train split for that
  language); dev/test are dev_2k.tsv/test_2k.tsv. Local: x-final/{lang}/ from x-final.tar.gz.
Labels match the XNLI/MNLI and PAWS-X tasks, so heads can be shared. Each task's option
`family` names the English task it translates (xnli_tt_*: "mnli", pawsx_tt_*: "pawsx", the
English PAWS training set's task): a study's `types` strata count the families of a set, so
MNLI and its translations are one type (study/spec.py). The option is in no content key.
"""

from __future__ import annotations

from xstilts.tasks.composite import SplitSource
from xstilts.tasks.registry import register
from xstilts.tasks.task import FileSource, HubSource, Task

NLI_LABELS = ("entailment", "neutral", "contradiction")  # the hub's class-label ids 0, 1, 2
PAWSX_LABELS = ("0", "1")  # 1 = paraphrase, as PAWS-X's files write it
XNLI_TT_LANGS = ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi",
                 "zh")
PAWSX_TT_LANGS = ("de", "es", "fr", "ja", "ko", "zh")


def xnli_hub_row(row: dict, lang: str) -> dict | None:
    if row.get("label") not in (0, 1, 2):
        return None
    return {"text_a": row["premise"], "text_b": row["hypothesis"],
            "label": NLI_LABELS[row["label"]]}


def xnli_mt_record(rec: dict, lang: str) -> dict | None:
    """A row of multinli.train.{lang}.tsv (premise, hypo, label); XNLI-MT says "contradictory"."""
    label = "contradiction" if rec.get("label") == "contradictory" else rec.get("label")
    if label not in NLI_LABELS:
        return None
    return {"id": rec["id"], "text_a": rec["premise"], "text_b": rec["hypo"], "label": label}


def xnli_record(rec: dict, lang: str) -> dict | None:
    """A row of xnli.{dev,test}.tsv, which holds every language: keep this one's."""
    if rec.get("language") != lang or rec.get("gold_label") not in NLI_LABELS:
        return None
    return {"id": f"{lang}-{rec['pairID']}", "text_a": rec["sentence1"],
            "text_b": rec["sentence2"], "label": rec["gold_label"]}


def pawsx_row(row: dict, lang: str) -> dict | None:
    """Hub row (label int, -1 when missing) or x-final TSV row (label "0"/"1", a few broken)."""
    label = str(row.get("label"))
    if label not in PAWSX_LABELS:
        return None
    return {"id": str(row["id"]), "text_a": row["sentence1"], "text_b": row["sentence2"],
            "label": label}


def xnli_tt(lang: str) -> Task:
    hub = HubSource("facebook/xnli", xnli_hub_row, config=lang)
    xnli = FileSource("tsv", {"dev": "XNLI-1.0/xnli.dev.tsv", "test": "XNLI-1.0/xnli.test.tsv"},
                      convert=xnli_record)
    # Machine-translated files may hold a few malformed rows; drop them instead of failing.
    mt = FileSource("tsv", {"train": "XNLI-MT-1.0/multinli/multinli.train.{lang}.tsv"},
                    options={"skip_bad_rows": True}, convert=xnli_mt_record)
    local = SplitSource({"train": mt, "dev": xnli, "test": xnli})
    return Task(name=f"xnli_tt_{lang}", format="classification", languages=[lang], source=hub,
                train_language=lang, labels=list(NLI_LABELS), options={"family": "mnli"},
                description=f"XNLI translate-train ({lang}): MultiNLI machine-translated into "
                            f"{lang} (XNLI-MT 1.0); dev/test = XNLI {lang}.",
                alternatives={"hub": hub, "local": local})


def pawsx_tt(lang: str) -> Task:
    hub = HubSource("google-research-datasets/paws-x", pawsx_row, config=lang)
    local = FileSource("tsv", {"train": "x-final/{lang}/translated_train.tsv",
                               "dev": "x-final/{lang}/dev_2k.tsv",
                               "test": "x-final/{lang}/test_2k.tsv"},
                       options={"skip_bad_rows": True}, convert=pawsx_row)
    return Task(name=f"pawsx_tt_{lang}", format="classification", languages=[lang], source=hub,
                train_language=lang, labels=list(PAWSX_LABELS), options={"family": "pawsx"},
                description=f"PAWS-X translate-train ({lang}): PAWS training pairs machine-"
                            f"translated into {lang}; dev/test = PAWS-X {lang}.",
                alternatives={"hub": hub, "local": local})


for _lang in XNLI_TT_LANGS:
    register(xnli_tt(_lang))
for _lang in PAWSX_TT_LANGS:
    register(pawsx_tt(_lang))
