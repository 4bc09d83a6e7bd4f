"""Small replicas of every Hugging Face hub dataset the built-in tasks read, in the hub's layout.

`build_hub_mirror(root)` writes, under `root/owner/name`, what `hf download --repo-type dataset
owner/name --local-dir root/owner/name` writes for the real dataset: a README.md whose YAML
front matter has `dataset_info:` (features, splits) and `configs:` (data files per config and
split), and parquet data files named as on the hub (`udpos.Kazakh/test-00000-of-00001.parquet`).
Datasets that still ship a loading script on the hub are read from its parquet conversion
(`revision="refs/convert/parquet"`): their replicas have that branch's layout instead
(`default/train/0000.parquet`, no README).

Each replica keeps the real config and split names, features (ClassLabel names and order,
string labels where the hub has strings) and the irregularities the task converters handle
(unlabelled -1 rows, HellaSwag's "" test labels, Tatoeba's trailing newlines, BUCC's sentence
ids in source_lang/target_lang, XQuAD answers a character off, ...). Rows are tiny and made
up: ~8 train, ~4 dev/validation and ~4 test rows per language, every class in every train
split. The data files are written by `datasets` itself (`Dataset.to_parquet`), so they carry
the same schema metadata as the hub's. Each replica function says which card (and commit)
it follows; cards were read on huggingface.co (dataset pages and commit pages).
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

from xstilts.tasks.xtreme_langs import (
    PANX_TAGS,
    TASK_LANGS,
    TATOEBA_ISO3,
    TYDIQA_NAMES,
    UDPOS_NAMES,
    UPOS_TAGS,
)

PARQUET_EXPORT = "refs/convert/parquet"  # the hub's parquet conversion of a dataset
NLI = ("entailment", "neutral", "contradiction")  # GLUE/SNLI/ANLI/XNLI class-label order
XNLI_LANGS = TASK_LANGS["xnli"]  # facebook/xnli and google/xtreme XNLI: the same 15
PAWSX_LANGS = TASK_LANGS["pawsx"]  # de en es fr ja ko zh
UDPOS_NO_DEV = {"Kazakh": ("train", "test"), "Thai": ("test",), "Tagalog": ("test",),
                "Yoruba": ("test",)}  # google/xtreme udpos configs without validation


@dataclass
class Config:
    """One config of a replica: its features and rows per split (in the hub's split order)."""

    name: str
    features: object  # datasets.Features
    splits: dict[str, list[dict]]
    folder: str | None = None  # the data files' folder on the hub (default: the config name)


# --- writing a repository ---------------------------------------------------------------------

def _feature_yaml(feature) -> dict:
    """A feature in the hub cards' YAML (`dtype:`, `sequence:`, `class_label:`), as the
    cards written by datasets 2.x have it."""
    from datasets import ClassLabel, LargeList, List, Sequence, Value

    if isinstance(feature, Value):
        return {"dtype": feature.dtype}
    if isinstance(feature, ClassLabel):
        return {"dtype": {"class_label": {"names": {str(i): n for i, n in
                                                     enumerate(feature.names)}}}}
    if isinstance(feature, dict):
        return {"struct": [{"name": k, **_feature_yaml(v)} for k, v in feature.items()]}
    if isinstance(feature, (List, LargeList, Sequence)):
        inner = feature.feature
        if isinstance(inner, dict):
            return {"sequence": [{"name": k, **_feature_yaml(v)} for k, v in inner.items()]}
        if isinstance(inner, Value):
            return {"sequence": inner.dtype}
        return {"sequence": _feature_yaml(inner)["dtype"]}
    raise TypeError(f"no card YAML for {feature!r}")


def write_repo(root: Path, repo_id: str, configs: list[Config], *, export: bool = False,
               card: str = "") -> Path:
    """Write one dataset repository under root/repo_id; `export`: the refs/convert/parquet
    layout ({config}/{split}/0000.parquet, no README), else the main branch's."""
    from datasets import Dataset

    folder = Path(root) / repo_id
    infos, data_files = [], []
    for config in configs:
        split_infos, download = [], 0
        for split, rows in config.splits.items():
            if export:
                path = folder / config.name / split / "0000.parquet"
            else:
                path = folder / (config.folder or config.name) / f"{split}-00000-of-00001.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            table = Dataset.from_list(rows, features=config.features)
            table.to_parquet(str(path))
            download += path.stat().st_size
            split_infos.append({"name": split, "num_bytes": int(table.data.nbytes),
                                "num_examples": len(rows)})
        features = [{"name": k, **_feature_yaml(v)} for k, v in config.features.items()]
        infos.append({"config_name": config.name, "features": features, "splits": split_infos,
                      "download_size": download,
                      "dataset_size": sum(s["num_bytes"] for s in split_infos)})
        prefix = config.folder or config.name
        data_files.append({"config_name": config.name, "data_files": [
            {"split": split, "path": f"{prefix}/{split}-*"} for split in config.splits]})
    _download_leftovers(folder)
    if not export:
        if len(infos) == 1 and infos[0]["config_name"] == "default":
            info: object = {k: v for k, v in infos[0].items() if k != "config_name"}
        else:
            info = infos
        front = yaml.safe_dump({"dataset_info": info, "configs": data_files},
                               sort_keys=False, allow_unicode=True)
        name = repo_id.split("/")[-1]
        (folder / "README.md").write_text(
            f"---\n{front}---\n\n# Dataset Card for \"{name}\" (xstilts test replica)\n\n"
            f"{card}\n", encoding="utf-8")
    return folder


def _download_leftovers(folder: Path) -> None:
    """What `hf download --local-dir` writes besides the repository's files: the repo's
    .gitattributes, and .cache/huggingface/ (a .gitignore and one .metadata file per
    downloaded file), which `datasets` must not take for data files."""
    files = sorted(p.relative_to(folder) for p in folder.rglob("*.parquet"))
    (folder / ".gitattributes").write_text("*.parquet filter=lfs diff=lfs merge=lfs -text\n")
    meta = folder / ".cache" / "huggingface"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / ".gitignore").write_text("*\n")
    for rel in [Path(".gitattributes"), Path("README.md"), *files]:
        path = meta / "download" / f"{rel}.metadata"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0123456789abcdef0123456789abcdef01234567\n"
                        "\"0123456789abcdef\"\n1700000000.0\n")


def card_configs(folder: Path) -> dict[str, list[str]]:
    """config name -> split names, from a replica's README `configs:` (or, for a
    refs/convert/parquet replica, its {config}/{split}/ folders)."""
    readme = Path(folder) / "README.md"
    if not readme.exists():
        return {c.name: sorted(s.name for s in c.iterdir() if s.is_dir())
                for c in sorted(Path(folder).iterdir())
                if c.is_dir() and not c.name.startswith(".")}
    front = readme.read_text(encoding="utf-8").split("---\n")[1]
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: google/xtreme's is long
    return {c["config_name"]: [f["split"] for f in c["data_files"]]
            for c in yaml.load(front, Loader=loader)["configs"]}


# --- row makers -------------------------------------------------------------------------------

def _features(spec: dict):
    from datasets import Features

    return Features(spec)


def _str():
    from datasets import Value

    return Value("string")


def _squad_features(title: bool = True):
    from datasets import Sequence, Value

    spec = {"id": _str()}
    if title:
        spec["title"] = _str()
    spec.update({"context": _str(), "question": _str(),
                 "answers": Sequence({"text": _str(), "answer_start": Value("int32")})})
    return spec


def _squad_rows(prefix: str, lang: str, n: int, *, title: bool = True, shifted: int = -1,
                unanswerable: tuple[int, ...] = (), references: int = 1) -> list[dict]:
    """n questions on short paragraphs; row `shifted` has its answer_start one character
    off (google/xtreme kept the offsets of unstripped text), rows in `unanswerable` have no
    answer (SQuAD 2.0), `references` answers per question (SQuAD's dev sets have several)."""
    rows = []
    for i in range(n):
        city, country = ("Paris", "France") if i % 2 == 0 else ("Lima", "Peru")
        context = f"{city} ({lang}) is the capital of {country}. It has {i + 2} museums."
        start = context.index(country)
        answers = {"text": [country] * references,
                   "answer_start": [start + (1 if i == shifted else 0)] * references}
        if i in unanswerable:
            answers = {"text": [], "answer_start": []}
        rows.append({"id": f"{prefix}{i:04d}", **({"title": city} if title else {}),
                     "context": context,
                     "question": f"Of which country is {city} the capital? ({lang} {i})",
                     "answers": answers})
    return rows


def _tag_rows(n: int, length: int, tags: list[list[int]], lang: str) -> list[dict]:
    """n sentences of `length` tokens whose tag ids cycle through `tags` (sentence templates)."""
    out = []
    for i in range(n):
        template = tags[i % len(tags)]
        out.append({"tokens": [f"{lang}{i}w{j}" for j in range(length)],
                    "tags": template[:length]})
    return out


def _sizes(train: int = 8, dev: int = 4, test: int = 4) -> dict[str, int]:
    return {"train": train, "validation": dev, "test": test}


# --- google/xtreme ----------------------------------------------------------------------------

def xtreme(root: Path) -> Path:
    """google/xtreme, main after the parquet conversion (lhoestq, Feb 2024: "Add ... data files"
    commits, e.g. 7ac3854 "Add udpos.Kazakh data files", 68694eb "Add udpos.Thai data files",
    2c28c0d udpos.Tagalog, 68bd9e0 udpos.Yoruba, then 21f88c0 "Delete loading script"); the
    features as in the card's dataset_info. Every config the built-in tasks read, every
    language: XNLI (test, validation; all languages in one split, `language` column, string
    gold_label), PAWS-X.{lang} (string labels "0"/"1"; the translated train splits hold a few
    malformed rows), udpos.{Language} (udpos.Afrikaans as the parquet card spells it; Kazakh:
    train and test only; Thai, Tagalog, Yoruba: test only), PAN-X.{lang}, XQuAD.{lang}
    (validation only, no title, answers a character off after stripping), MLQA.{lang}.{lang}
    (test, validation), tydiqa (train, validation, every language in each; ids start with the
    language's name), bucc18.{lang} (validation, test; source_lang/target_lang hold sentence
    ids), tatoeba.{iso3} (validation only; sentences end with "\\n")."""
    from datasets import ClassLabel, Sequence

    configs = []
    xnli_rows = {split: [{"language": lang, "sentence1": f"{lang} premise {i}",
                          "sentence2": f"{lang} hypothesis {i}", "gold_label": NLI[i % 3]}
                         for lang in XNLI_LANGS for i in range(4)]
                 for split in ("test", "validation")}
    configs.append(Config("XNLI", _features({"language": _str(), "sentence1": _str(),
                                             "sentence2": _str(), "gold_label": _str()}),
                          xnli_rows))
    pawsx = _features({"sentence1": _str(), "sentence2": _str(), "label": _str()})
    for lang in PAWSX_LANGS:
        splits = {}
        for split, n in _sizes().items():
            rows = [{"sentence1": f"{lang} {split} a {i}", "sentence2": f"{lang} {split} b {i}",
                     "label": str(i % 2)} for i in range(n)]
            if split == "train" and lang != "en":  # machine-translated: a malformed row
                rows.append({"sentence1": f"{lang} broken", "sentence2": "", "label": ""})
            splits[split] = rows
        configs.append(Config(f"PAWS-X.{lang}", pawsx, splits))
    upos = _features({"tokens": Sequence(_str()), "pos_tags": Sequence(ClassLabel(
        names=list(UPOS_TAGS)))})
    cycle = list(range(len(UPOS_TAGS)))
    upos_templates = [[cycle[(5 * s + j) % len(cycle)] for j in range(5)] for s in range(8)]
    for lang, name in UDPOS_NAMES.items():
        wanted = UDPOS_NO_DEV.get(name, ("train", "validation", "test"))
        splits = {split: [{"tokens": r["tokens"], "pos_tags": r["tags"]}
                          for r in _tag_rows(n, 5, upos_templates, f"{lang}-{split}-")]
                  for split, n in _sizes().items() if split in wanted}
        configs.append(Config(f"udpos.{name}", upos, splits))
    panx = _features({"tokens": Sequence(_str()), "ner_tags": Sequence(ClassLabel(
        names=list(PANX_TAGS))), "langs": Sequence(_str())})
    panx_templates = [[1, 2, 0, 5], [3, 4, 0, 0], [5, 6, 0, 1], [0, 3, 4, 0]]
    for lang in TASK_LANGS["panx"]:
        splits = {split: [{"tokens": r["tokens"], "ner_tags": r["tags"],
                           "langs": [lang] * len(r["tokens"])}
                          for r in _tag_rows(n, 4, panx_templates, f"{lang}-{split}-")]
                  for split, n in (("validation", 4), ("test", 4), ("train", 8))}
        configs.append(Config(f"PAN-X.{lang}", panx, splits))
    for lang in TASK_LANGS["xquad"]:
        # The same questions in every language (XQuAD translates SQuAD's dev articles).
        configs.append(Config(f"XQuAD.{lang}", _features(_squad_features(title=False)),
                              {"validation": _squad_rows("5726", lang, 4, title=False,
                                                         shifted=1)}))
    for lang in TASK_LANGS["mlqa"]:
        configs.append(Config(f"MLQA.{lang}.{lang}", _features(_squad_features()), {
            "test": _squad_rows(f"mlqa-test-{lang}-", lang, 4),
            "validation": _squad_rows(f"mlqa-dev-{lang}-", lang, 4)}))
    tydiqa = {}
    for split, n_en in (("train", 8), ("validation", 4)):
        tydiqa[split] = [row for lang in TASK_LANGS["tydiqa"]
                         for row in _squad_rows(f"{TYDIQA_NAMES[lang]}-{split}-", lang,
                                                n_en if lang == "en" else 4)]
    configs.append(Config("tydiqa", _features(_squad_features()), tydiqa))
    bucc = _features({"source_sentence": _str(), "target_sentence": _str(),
                      "source_lang": _str(), "target_lang": _str()})
    for lang in TASK_LANGS["bucc2018"]:
        splits = {split: [{"source_sentence": f"{lang} sentence {i}",
                           "target_sentence": f"English sentence {i}",
                           "source_lang": f"{lang}-{100 * k + i:09d}",
                           "target_lang": f"en-{100 * k + 50 + i:09d}"} for i in range(4)]
                  for k, split in enumerate(("validation", "test"))}
        configs.append(Config(f"bucc18.{lang}", bucc, splits))
    for lang in TASK_LANGS["tatoeba"]:
        iso3 = TATOEBA_ISO3[lang]
        rows = [{"source_sentence": f"{lang} sentence number {i}.\n",
                 "target_sentence": f"English sentence number {i}.\n",
                 "source_lang": iso3, "target_lang": "eng"} for i in range(4)]
        configs.append(Config(f"tatoeba.{iso3}", bucc, {"validation": rows}))
    return write_repo(root, "google/xtreme", configs, card="XTREME (replica of google/xtreme).")


# --- English intermediate tasks ---------------------------------------------------------------

def glue(root: Path) -> Path:
    """nyu-mll/glue, main after the parquet conversion (albertvillanova: 4c50f6d "Add mnli data
    files", b04c7fe mnli_mismatched, c234b36 mnli_matched); configs mnli (train,
    validation_matched, validation_mismatched, test_matched, test_mismatched), qqp and sst2
    (train, validation, test); ClassLabel labels, idx int32; test rows unlabelled (-1)."""
    from datasets import ClassLabel, Value

    def rows(n, make, classes, test):
        return [{**make(i), "label": -1 if test else i % classes, "idx": i} for i in range(n)]

    mnli = _features({"premise": _str(), "hypothesis": _str(),
                      "label": ClassLabel(names=list(NLI)), "idx": Value("int32")})

    def pair(i):
        return {"premise": f"A man plays {i} songs.", "hypothesis": f"Someone plays {i}."}

    mnli_splits = {s: rows(n, pair, 3, s.startswith("test")) for s, n in (
        ("train", 9), ("validation_matched", 4), ("validation_mismatched", 4),
        ("test_matched", 4), ("test_mismatched", 4))}
    qqp = _features({"question1": _str(), "question2": _str(), "label": ClassLabel(
        names=["not_duplicate", "duplicate"]), "idx": Value("int32")})
    sst2 = _features({"sentence": _str(), "label": ClassLabel(names=["negative", "positive"]),
                      "idx": Value("int32")})
    configs = [
        Config("mnli", mnli, mnli_splits),
        Config("qqp", qqp, {s: rows(n, lambda i: {"question1": f"How do I learn {i}?",
                                                  "question2": f"How to learn {i}?"},
                                    2, s == "test") for s, n in _sizes().items()}),
        Config("sst2", sst2, {s: rows(n, lambda i: {"sentence": f"a film with {i} good scenes "},
                                      2, s == "test") for s, n in _sizes().items()}),
    ]
    return write_repo(root, "nyu-mll/glue", configs, card="GLUE (replica of nyu-mll/glue).")


def squad(root: Path) -> Path:
    """rajpurkar/squad, main (parquet; config plain_text: train, validation): id, title,
    context, question, answers {text, answer_start int32}; dev questions have several
    reference answers."""
    features = _features(_squad_features())
    return write_repo(root, "rajpurkar/squad", [Config("plain_text", features, {
        "train": _squad_rows("5733be284776f41900661", "en", 8),
        "validation": _squad_rows("56be4db0acb8001400a502e", "en", 4, references=3)})],
        card="SQuAD v1.1 (replica of rajpurkar/squad).")


def squad_v2(root: Path) -> Path:
    """rajpurkar/squad_v2, main (parquet; config squad_v2: train, validation): as SQuAD, with
    unanswerable questions (empty answer lists)."""
    features = _features(_squad_features())
    return write_repo(root, "rajpurkar/squad_v2", [Config("squad_v2", features, {
        "train": _squad_rows("56be85543aeaaa14008c9", "en", 8, unanswerable=(3, 6)),
        "validation": _squad_rows("5ad39d53604f3c001a3f", "en", 4, unanswerable=(2,),
                                  references=2)})],
        card="SQuAD 2.0 (replica of rajpurkar/squad_v2).")


def snli(root: Path) -> Path:
    """stanfordnlp/snli, main (parquet; config plain_text: test, validation, train): premise,
    hypothesis, label ClassLabel; pairs without a gold label are -1 in every split."""
    from datasets import ClassLabel

    features = _features({"premise": _str(), "hypothesis": _str(),
                          "label": ClassLabel(names=list(NLI))})
    splits = {s: [{"premise": f"A dog runs in a park {i}.", "hypothesis": f"An animal {i}.",
                   "label": -1 if i == n - 1 else i % 3} for i in range(n)]
              for s, n in (("test", 5), ("validation", 5), ("train", 10))}
    return write_repo(root, "stanfordnlp/snli", [Config("plain_text", features, splits)],
                      card="SNLI (replica of stanfordnlp/snli).")


def anli(root: Path) -> Path:
    """facebook/anli, main (parquet; config plain_text: train_r1, dev_r1, test_r1, train_r2,
    ..., test_r3): uid, premise, hypothesis, label ClassLabel, reason."""
    from datasets import ClassLabel

    features = _features({"uid": _str(), "premise": _str(), "hypothesis": _str(),
                          "label": ClassLabel(names=list(NLI)), "reason": _str()})
    splits = {}
    for r in (1, 2, 3):
        for kind, n in (("train", 8), ("dev", 4), ("test", 4)):
            splits[f"{kind}_r{r}"] = [
                {"uid": f"r{r}-{kind}-{i:04d}", "premise": f"The event {i} took place in 19{r}0.",
                 "hypothesis": f"Event {i} happened in round {r}.", "label": i % 3,
                 "reason": "" if kind == "train" else f"The text says 19{r}0."}
                for i in range(n)]
    return write_repo(root, "facebook/anli", [Config("plain_text", features, splits)],
                      card="ANLI (replica of facebook/anli).")


def hellaswag(root: Path) -> Path:
    """Rowan/hellaswag at refs/convert/parquet: main still ships hellaswag.py (a loading
    script, refused by datasets >= 4; its parquet PR, discussion #7 "Convert dataset to
    Parquet", was open when this was written), so the task reads the hub's parquet conversion: default/{train,validation,test}/
    0000.parquet, no README. Features as the card's dataset_info: ind int32, activity_label,
    ctx_a, ctx_b, ctx, endings (list of 4), source_id, split, split_type, label (a string:
    "0".."3", "" in test)."""
    from datasets import Sequence, Value

    features = _features({"ind": Value("int32"), "activity_label": _str(), "ctx_a": _str(),
                          "ctx_b": _str(), "ctx": _str(), "endings": Sequence(_str()),
                          "source_id": _str(), "split": _str(), "split_type": _str(),
                          "label": _str()})
    splits = {}
    for split, n in _sizes().items():
        splits[split] = [{
            "ind": 100 * len(splits) + i, "activity_label": "Cooking",
            "ctx_a": f"A man takes a pan {i}.", "ctx_b": "he",
            "ctx": f"A man takes a pan {i}. he",
            "endings": [f"puts it on the stove {i}.", "eats the pan.", "flies away.",
                        "sings to it."],
            "source_id": f"activitynet~v_{i:04d}", "split": "val" if split == "validation"
            else split, "split_type": "indomain" if i % 2 else "zeroshot",
            "label": "" if split == "test" else str(i % 4)} for i in range(n)]
    return write_repo(root, "Rowan/hellaswag", [Config("default", features, splits)],
                      export=True)


def cosmos_qa(root: Path) -> Path:
    """allenai/cosmos_qa at refs/convert/parquet: main still ships cosmos_qa.py (a loading
    script), so the task reads the parquet conversion: default/{train,validation,test}/
    0000.parquet, no README. Features as the card (2bea51e): id, context, question,
    answer0..answer3, label int32 (-1 in test)."""
    from datasets import Value

    features = _features({"id": _str(), "context": _str(), "question": _str(),
                          **{f"answer{k}": _str() for k in range(4)}, "label": Value("int32")})
    splits = {split: [{"id": f"3Q9SPIIRWJKVQ8244310E8TUS6{split[:2]}{i}",
                       "context": f"We went to the lake on day {i}. It rained all day.",
                       "question": "Why did we stay inside?",
                       **{f"answer{k}": f"Answer {k} for {i}." for k in range(4)},
                       "label": -1 if split == "test" else i % 4} for i in range(n)]
              for split, n in (("train", 8), ("test", 4), ("validation", 4))}
    return write_repo(root, "allenai/cosmos_qa", [Config("default", features, splits)],
                      export=True)


def commonsense_qa(root: Path) -> Path:
    """tau/commonsense_qa, main (parquet; config default, data/{split}-00000-of-00001.parquet:
    train, validation, test): id, question, question_concept, choices {label, text},
    answerKey (a letter; "" in the unlabelled test split)."""
    from datasets import Sequence

    features = _features({"id": _str(), "question": _str(), "question_concept": _str(),
                          "choices": Sequence({"label": _str(), "text": _str()}),
                          "answerKey": _str()})
    letters = list("ABCDE")
    splits = {split: [{"id": f"075e483d21c29a511267ef62bedc0461{split[:2]}{i}",
                       "question": f"Where would you put a cup number {i}?",
                       "question_concept": "cup",
                       "choices": {"label": letters,
                                   "text": ["table", "sky", "river", "car", "tree"]},
                       "answerKey": "" if split == "test" else letters[i % 5]}
                      for i in range(n)] for split, n in (("train", 10), ("validation", 5),
                                                          ("test", 4))}
    return write_repo(root, "tau/commonsense_qa",
                      [Config("default", features, splits, folder="data")],
                      card="CommonsenseQA (replica of tau/commonsense_qa).")


def xnli(root: Path) -> Path:
    """facebook/xnli, main after the parquet conversion (albertvillanova: 137b2f1 "Convert
    dataset to Parquet", then "Add {lang} data files"): one config per language
    ({lang}/{split}-00000-of-00001.parquet: train = XNLI-MT's translated MultiNLI,
    validation, test): premise, hypothesis, label ClassLabel(entailment, neutral,
    contradiction). (The all_languages config is not read by any task and not replicated.)"""
    from datasets import ClassLabel

    features = _features({"premise": _str(), "hypothesis": _str(),
                          "label": ClassLabel(names=list(NLI))})
    configs = [Config(lang, features, {split: [
        {"premise": f"{lang} {split} premise {i}", "hypothesis": f"{lang} hypothesis {i}",
         "label": i % 3} for i in range(n + 1)] for split, n in _sizes().items()})
        for lang in XNLI_LANGS]
    return write_repo(root, "facebook/xnli", configs, card="XNLI (replica of facebook/xnli).")


def paws_x(root: Path) -> Path:
    """google-research-datasets/paws-x, main after the parquet conversion (d046830 "Add de
    data files", ...): one config per language ({lang}/{split}-00000-of-00001.parquet:
    train, test, validation): id int32, sentence1, sentence2, label ClassLabel("0", "1")."""
    from datasets import ClassLabel, Value

    features = _features({"id": Value("int32"), "sentence1": _str(), "sentence2": _str(),
                          "label": ClassLabel(names=["0", "1"])})
    configs = [Config(lang, features, {split: [
        {"id": i + 1, "sentence1": f"{lang} {split} first {i}",
         "sentence2": f"{lang} {split} second {i}", "label": i % 2} for i in range(n)]
        for split, n in (("train", 8), ("test", 4), ("validation", 4))})
        for lang in PAWSX_LANGS]
    return write_repo(root, "google-research-datasets/paws-x", configs,
                      card="PAWS-X (replica of google-research-datasets/paws-x).")


REPLICAS = {
    "google/xtreme": xtreme, "nyu-mll/glue": glue, "rajpurkar/squad": squad,
    "rajpurkar/squad_v2": squad_v2, "stanfordnlp/snli": snli, "facebook/anli": anli,
    "Rowan/hellaswag": hellaswag, "allenai/cosmos_qa": cosmos_qa,
    "tau/commonsense_qa": commonsense_qa, "facebook/xnli": xnli,
    "google-research-datasets/paws-x": paws_x,
}


def build_hub_mirror(root: Path) -> Path:
    """Every replica under `root` (root/owner/name); returns root."""
    from datasets.utils import logging as ds_logging

    was_on = ds_logging.is_progress_bar_enabled()
    ds_logging.disable_progress_bar()
    try:
        for make in REPLICAS.values():
            make(Path(root))
    finally:
        if was_on:
            ds_logging.enable_progress_bar()
    return Path(root)



@contextlib.contextmanager
def reading_replicas(root: Path, cache: Path):
    """`datasets` set up for tests that read the replicas under `root`: its cache in `cache`
    (not ~/.cache), and each replica's dataset module (its README parsed, configs and data
    files resolved: about a second for google/xtreme's 140 configs, on every call) built
    once and reused for later calls on the same folder. Every load still goes through
    `datasets.load_dataset` with the module `datasets` itself made for that folder; folders
    outside `root` are left alone."""
    import datasets.config
    import datasets.load

    original, old_cache = datasets.load.dataset_module_factory, datasets.config.HF_DATASETS_CACHE
    modules: dict = {}

    def dataset_module_factory(path, *args, **kwargs):
        if not Path(str(path)).is_relative_to(root) or args or kwargs.get("data_dir") or kwargs.get("data_files"):
            return original(path, *args, **kwargs)
        key = (str(path), kwargs.get("revision"))
        if key not in modules:
            modules[key] = original(path, *args, **kwargs)
        module = modules[key]  # load_dataset_builder pops from builder_kwargs: hand out a copy
        return dataclasses.replace(module, builder_kwargs=dict(module.builder_kwargs))

    datasets.load.dataset_module_factory = dataset_module_factory
    datasets.config.HF_DATASETS_CACHE = Path(cache)
    try:
        yield
    finally:
        datasets.load.dataset_module_factory = original
        datasets.config.HF_DATASETS_CACHE = old_cache
