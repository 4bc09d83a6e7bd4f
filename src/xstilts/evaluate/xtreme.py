"""Score a folder of predictions in the XTREME submission layout, as XTREME's `evaluate.py` does.

Both folders hold `<task>/<split>-<lang>.<suffix>` (split `test`, or `dev` for a run with
`targets.eval_split: dev`), tasks named as the official submission folders, suffix `json` for QA
and `tsv` otherwise. Reading and metrics follow google-research/xtreme: classification and
Tatoeba are accuracy over stripped lines; UD-POS and PAN-X are seqeval's micro F1 on the raw tags
(so "NOUN NOUN" is one chunk); XQuAD and TyDiQA are SQuAD v1.1 EM/F1, MLQA uses MLQA's
normalisation for the file's language; BUCC is F1 over the sets of lines. A task's score is its
metric averaged over the official languages ((EM + F1) / 2 for QA: evaluate/average.py's
`task_score`, the one rule every average over tasks uses); a group's is the mean of its tasks'
scores; the overall score is the mean over every task.

Each language is scored on one split, said per language: with `split="test"` its test file;
with `split="dev"` its dev file, or its test file where it has no dev file (as jiant evaluates
UD-POS kk, th, tl and yo); with `split="auto"` whichever of the two its labels hold (both is an
error: choose one).

Deviations from evaluate.py, which crashes on any missing file: a task gets an average only when
all its official languages are there (missing ones are listed), a group score only when its
tasks are complete, an overall score (the XTREME score) only when every task is. An average over
the tasks that are there is always given, labelled partial and naming what is missing (see
`describe_average`). Duplicate QA ids are an error, and a gold question with no answers counts
as answer "" (the official scripts would crash).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xstilts.errors import XstiltsError, located
from xstilts.evaluate.average import QA_SCORE, language_average, task_score
from xstilts.evaluate.metrics import accuracy, bucc_f1, mlqa_scores, seqeval_prf, squad_scores
from xstilts.tasks.xtreme_langs import TASK_LANGS

GROUP_TITLES = {"classification": "sentence classification", "tagging": "structured prediction",
                "qa": "question answering", "retrieval": "sentence retrieval"}


def _langs(s: str) -> list[str]:
    return s.split(",")


# evaluate.py's GROUP2TASK.
XTREME_GROUPS = {"classification": ["pawsx", "xnli"], "tagging": ["udpos", "panx"],
                 "qa": ["xquad", "mlqa", "tydiqa"], "retrieval": ["bucc2018", "tatoeba"]}
# One list for the tasks and the scorer (tasks/xtreme_langs.py holds evaluate.py's TASK2LANGS).
XTREME_LANGUAGES = {task: list(langs) for task, langs in TASK_LANGS.items()}
# XTREME-R (Ruder et al., 2021): ten tasks; UD-POS, PAN-X and Tatoeba gain languages.
XTREME_R_GROUPS = {"classification": ["xnli", "xcopa"], "tagging": ["udpos", "panx"],
                   "qa": ["xquad", "mlqa", "tydiqa"], "retrieval": ["mewsli-x", "lareqa", "tatoeba"]}
XTREME_R_LANGUAGES = {
    "xnli": XTREME_LANGUAGES["xnli"],
    "xcopa": _langs("et,ht,id,it,qu,sw,ta,th,tr,vi,zh"),
    "udpos": _langs("af,ar,bg,de,el,en,es,et,eu,fa,fi,fr,he,hi,hu,id,it,ja,kk,ko,lt,mr,nl,pl,pt,"
                    "ro,ru,ta,te,th,tl,tr,uk,ur,vi,wo,yo,zh"),
    "panx": XTREME_LANGUAGES["panx"] + _langs("qu,pl,uk,az,lt,pa,gu,ro"),
    "xquad": XTREME_LANGUAGES["xquad"],
    "mlqa": XTREME_LANGUAGES["mlqa"],
    "tydiqa": XTREME_LANGUAGES["tydiqa"],
    "mewsli-x": _langs("ar,de,en,es,fa,ja,pl,ro,ta,tr,uk"),
    "lareqa": _langs("ar,de,el,en,es,hi,ru,th,tr,vi,zh"),
    "tatoeba": XTREME_LANGUAGES["tatoeba"] + _langs("az,lt,pl,uk,ro"),
}
# How each task's files are read and scored; the metric its task score averages.
TASK_KIND = {"pawsx": "label", "xnli": "label", "xcopa": "label", "tatoeba": "label",
             "udpos": "tag", "panx": "tag", "bucc2018": "pairs",
             "xquad": "squad", "tydiqa": "squad", "mlqa": "mlqa"}
KIND_METRIC = {"label": "accuracy", "tag": "f1", "pairs": "f1", "squad": QA_SCORE,
               "mlqa": QA_SCORE}
TASK_METRIC = {task: KIND_METRIC[kind] for task, kind in TASK_KIND.items()}
# Ranked retrieval scored by mean average precision over candidate pools: not implemented.
UNSUPPORTED = {"mewsli-x": "Mewsli-X (MAP@20 entity retrieval)", "mewslix": "Mewsli-X",
               "lareqa": "LAReQA (MAP@20 answer retrieval)"}


@dataclass(frozen=True)
class Benchmark:
    name: str
    groups: dict[str, list[str]]
    languages: dict[str, list[str]]
    title: str  # in prose: "the XTREME score"

    @property
    def tasks(self) -> list[str]:
        return [t for members in self.groups.values() for t in members]


BENCHMARKS = {"xtreme": Benchmark("xtreme", XTREME_GROUPS, XTREME_LANGUAGES, "XTREME"),
              "xtreme-r": Benchmark("xtreme-r", XTREME_R_GROUPS, XTREME_R_LANGUAGES, "XTREME-R")}
SPLITS = ("test", "dev")  # the evaluation splits a prediction file's name starts with


def suffix(task: str) -> str:
    """File type of a task's prediction and label files."""
    return "json" if TASK_KIND.get(task) in ("squad", "mlqa") else "tsv"


# ---------------------------------------------------------------- readers (as evaluate.py)


def read_label(path: Path) -> list[str]:
    """One stripped value per line (file iteration, so only \\n, \\r\\n and \\r end a line)."""
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh]


def read_tag(path: Path) -> list[list[str]]:
    """Sentences of tags: one tag per line, a blank line ends a sentence."""
    sentences, current = [], []
    for line in read_label(path):
        if line:
            current.append(line)
        else:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return sentences


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise located(path, exc.lineno, f"not valid JSON ({exc.msg})",
                      "write the file with json.dump") from exc


def read_qa_labels(path: Path) -> dict[str, list[str]]:
    """Gold answer texts by question id from SQuAD-format JSON (data → paragraphs → qas)."""
    obj = _load_json(path)
    data = obj["data"] if isinstance(obj, dict) and "data" in obj else obj
    refs: dict[str, list[str]] = {}
    try:
        for article in data:
            for paragraph in article["paragraphs"]:
                for qa in paragraph["qas"]:
                    if qa["id"] in refs:
                        raise located(path, None, f"question id {qa['id']!r} occurs twice",
                                      "give every question a unique id")
                    refs[qa["id"]] = [a["text"] for a in qa["answers"]] or [""]
    except (KeyError, TypeError) as exc:
        raise located(path, None, f"not SQuAD-format labels (missing or bad {exc})",
                      'use {"data": [{"paragraphs": [{"context": ..., "qas": [{"id": ..., '
                      '"answers": [{"text": ..., "answer_start": ...}]}]}]}]}') from exc
    return refs


def read_qa_predictions(path: Path) -> dict[str, str]:
    """A JSON object question id → answer text."""
    obj = _load_json(path)
    if (not isinstance(obj, dict) or isinstance(obj.get("data"), list)
            or not all(isinstance(v, str) for v in obj.values())):
        raise located(path, None, "QA predictions must be one JSON object {question id: answer "
                      "text}", "write the predictions file, not a SQuAD-format dataset")
    return obj


# ---------------------------------------------------------------- one file pair


def _check_count(task: str, pred_path: Path, label_path: Path, n_pred: int, n_gold: int,
                 unit: str) -> None:
    if n_pred != n_gold:
        raise XstiltsError(
            f"{task}: {pred_path} has {n_pred} {unit} but {label_path} has {n_gold}.\n"
            f"  fix: write one prediction per gold {unit[:-1]}, in the label file's order.")


def score_pair(task: str, pred_path: Path, label_path: Path, lang: str) -> dict[str, float]:
    """The metrics (percent) of one prediction file against its label file."""
    kind = TASK_KIND[task]
    try:
        if kind in ("squad", "mlqa"):
            preds, refs = read_qa_predictions(pred_path), read_qa_labels(label_path)
            if kind == "mlqa":
                return mlqa_scores(preds, refs, lang)
            return squad_scores(preds, refs)
        if kind == "pairs":  # BUCC: sets of tab-separated lines, no count check (as evaluate.py)
            gold, pred = read_label(label_path), read_label(pred_path)
            return bucc_f1({tuple(x.split("\t")) for x in pred},
                           {tuple(x.split("\t")) for x in gold})
        if kind == "tag":
            gold, pred = read_tag(label_path), read_tag(pred_path)
            _check_count(task, pred_path, label_path, len(pred), len(gold), "sentences")
            for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
                if len(g) != len(p):
                    raise XstiltsError(
                        f"{task}: sentence {i + 1} has {len(p)} tags in {pred_path} but "
                        f"{len(g)} in {label_path}.\n  fix: one tag per token, a blank line "
                        "after each sentence.")
            prf = seqeval_prf(gold, pred)
            return {"f1": prf["f1"], "precision": prf["precision"], "recall": prf["recall"]}
        gold, pred = read_label(label_path), read_label(pred_path)
        _check_count(task, pred_path, label_path, len(pred), len(gold), "lines")
        return {"accuracy": accuracy(gold, pred)}
    except ValueError as exc:  # e.g. an empty file, or no gold questions
        raise XstiltsError(f"{task}: cannot score {pred_path} against {label_path}: {exc}.\n"
                           "  fix: check that both files hold the same split of this "
                           "language.") from exc


# ---------------------------------------------------------------- which split, which average


def split_text(splits: dict) -> str:
    """The splits languages were scored on, in one line: "test", "dev", "dev; test: kk, th".
    `splits`: {lang: split} of one task, or {task: {lang: split}} of several ("dev; test:
    udpos (kk, th)"). The split most languages are on comes first."""
    nested = any(isinstance(v, dict) for v in splits.values())
    flat = ([(task, lang, sp) for task, langs in splits.items() for lang, sp in langs.items()]
            if nested else [("", lang, sp) for lang, sp in splits.items()])
    counts: dict[str, int] = {}
    for _, _, sp in flat:
        counts[sp] = counts.get(sp, 0) + 1
    order = sorted(counts, key=lambda sp: (-counts[sp], sp))
    parts = order[:1]
    for sp in order[1:]:
        where: dict[str, list[str]] = {}
        for task, lang, s in flat:
            if s == sp:
                where.setdefault(task, []).append(lang)
        parts.append(f"{sp}: " + ", ".join(
            f"{task} ({', '.join(langs)})" if task else ", ".join(langs)
            for task, langs in where.items()))
    return "; ".join(parts)


def describe_average(languages: dict[str, list[str]], benchmark: str = "xtreme",
                     limited=()) -> dict:
    """What a mean over these targets' scores (target -> the languages it was scored on) is.

    It is the benchmark's score (for XTREME "XTREME score") only when every benchmark task is
    there with exactly its official languages and nothing else; otherwise a "partial average
    over K of N XTREME tasks" naming the missing tasks and languages, or, when no target is a
    benchmark task (the demo's), an "average over its N targets". `limited`: targets scored
    on part of their examples (`test_limit`), which no benchmark score is. Returns {"complete",
    "label", "detail" (what is missing or extra; "" if nothing), "tasks" (the benchmark tasks
    among the targets), "other_targets", "missing_tasks", "missing_languages" and
    "extra_languages" ({task: [lang]})}."""
    bench = BENCHMARKS[benchmark]
    n = len(bench.tasks)
    present = [t for t in bench.tasks if t in languages]
    others = [t for t in languages if t not in bench.languages]
    missing_tasks = [t for t in bench.tasks if t not in languages]
    missing_langs = {t: [lang for lang in bench.languages[t] if lang not in languages[t]]
                     for t in present}
    extra_langs = {t: [lang for lang in languages[t] if lang not in bench.languages[t]]
                   for t in present}
    missing_langs = {t: v for t, v in missing_langs.items() if v}
    extra_langs = {t: v for t, v in extra_langs.items() if v}
    limited = [t for t in limited if t in languages]
    covered = not (missing_tasks or others or missing_langs or extra_langs)
    complete = covered and not limited
    count = len(languages)
    its = f"average over its {count} target{'' if count == 1 else 's'}"
    cut = f"scored on part of their examples (test_limit): {', '.join(limited)}"
    if complete:
        label, detail = f"{bench.title} score", f"all {n} tasks, every official language"
    elif not present:
        label, detail = its, cut if limited else ""
    elif covered:
        label, detail = f"average over the {n} {bench.title} tasks, not the {bench.title} score", cut
    else:
        label = (f"partial average over {len(present)} of {n} {bench.title} tasks" if not others
                 else f"{its} ({len(present)} of {n} {bench.title} tasks), not the "
                      f"{bench.title} score")
        parts = []
        if missing_tasks:
            parts.append("missing tasks: " + ", ".join(missing_tasks))
        if missing_langs:
            parts.append("missing languages: " + "; ".join(
                f"{t} {', '.join(v)}" for t, v in missing_langs.items()))
        if extra_langs:
            parts.append(f"languages outside {bench.title}'s: " + "; ".join(
                f"{t} {', '.join(v)}" for t, v in extra_langs.items()))
        if others:
            parts.append(f"targets outside {bench.title}: " + ", ".join(others))
        if limited:
            parts.append(cut)
        detail = "; ".join(parts)
    return {"complete": complete, "label": label, "detail": detail, "tasks": present,
            "other_targets": others, "missing_tasks": missing_tasks,
            "missing_languages": missing_langs, "extra_languages": extra_langs}


def average_caption(description: dict) -> str:
    """describe_average's label with its detail: "partial average over 2 of 9 XTREME tasks
    (missing tasks: ...)"."""
    detail = description["detail"]
    return description["label"] + (f" ({detail})" if detail else "")


# ---------------------------------------------------------------- a whole benchmark


def _split_of(task: str, label_dir: Path, lang: str, split: str) -> str | None:
    """The split `lang` is scored on (None: no label file on a split `split` allows)."""
    has = {sp: (label_dir / f"{sp}-{lang}.{suffix(task)}").exists() for sp in SPLITS}
    if split == "auto" and all(has.values()):
        raise XstiltsError(
            f"{task}: {label_dir} holds both test-{lang} and dev-{lang} labels.\n  fix: say "
            "which to score with --split test or --split dev (split='test'|'dev').")
    order = {"test": ["test"], "dev": ["dev", "test"], "auto": ["test", "dev"]}[split]
    return next((sp for sp in order if has[sp]), None)


def score_task(task: str, pred_dir: Path, label_dir: Path, languages: list[str],
               split: str = "auto") -> dict:
    """Per-language metrics and splits, the missing languages and, when none is missing, the
    averages. `split`: see the module's docstring."""
    per_language, splits, missing, notes, seen = {}, {}, [], [], set()
    for lang in languages:
        chosen = _split_of(task, label_dir, lang, split)
        if chosen is None:
            missing.append(lang)
            for sp in ["test"] if split == "test" else SPLITS:
                pred = pred_dir / f"{sp}-{lang}.{suffix(task)}"
                if pred.exists():
                    seen.add(pred.name)
                    notes.append(f"{task}: {pred} has no label file {label_dir / pred.name}; "
                                 "not scored")
            continue
        name = f"{chosen}-{lang}.{suffix(task)}"
        pred, label = pred_dir / name, label_dir / name
        if not pred.exists():
            raise located(pred, None, f"no {task} predictions for {lang}, but {label} exists",
                          f"write the predictions as {pred}, or remove {label}")
        per_language[lang] = score_pair(task, pred, label, lang)
        splits[lang] = chosen
        seen.add(name)
    outside, unused = [], []
    for sp in SPLITS:
        for path in sorted(pred_dir.glob(f"{sp}-*")):
            if path.name.split(".")[0][len(sp) + 1:] not in languages:
                outside.append(path.name)
            elif path.name not in seen:
                unused.append(path.name)
    if outside:
        notes.append(f"{task}: files outside the official languages ignored: {', '.join(outside)}")
    if unused:
        notes.append(f"{task}: files of a split not scored ignored: {', '.join(unused)}")
    average = score = None
    if per_language and not missing:
        average = language_average(per_language)
        score = task_score(average)
    return {"metric": TASK_METRIC[task], "languages": per_language, "splits": splits,
            "missing_languages": missing, "average": average, "score": score, "notes": notes}


def score_benchmark(pred_dir, label_dir, benchmark: str = "xtreme", split: str = "auto") -> dict:
    """Score every benchmark task found in both folders; averages only where complete, and
    the average over the tasks there, labelled (describe_average).

    `split`: "test", "dev" (a language without a dev file on test) or "auto" (each language on
    the split its labels hold). Returns {"benchmark", "predictions", "labels", "split",
    "tasks": {task: {"group", "metric", "languages": {lang: {metric: value}}, "splits": {lang:
    split}, "missing_languages", "average", "score"}}, "groups": {group: score} (complete
    groups only), "overall" (the benchmark score; None unless every task is complete),
    "average": describe_average's keys with "value" (the mean of "task_scores"; None without
    a task), "task_scores" (each task's score over the languages it has) and "splits" (in
    words), "missing_tasks", "notes"}. Values are percentages.
    """
    if benchmark not in BENCHMARKS:
        raise XstiltsError(f"unknown benchmark {benchmark!r}.\n"
                           f"  fix: use one of {', '.join(BENCHMARKS)}.")
    if split not in ("auto", *SPLITS):
        raise XstiltsError(f"unknown split {split!r}.\n  fix: use test, dev or auto.")
    bench = BENCHMARKS[benchmark]
    pred_dir, label_dir = Path(pred_dir), Path(label_dir)
    for what, folder in (("predictions", pred_dir), ("labels", label_dir)):
        if not folder.is_dir():
            raise located(folder, None, f"no {what} folder here",
                          f"pass the folder holding one sub-folder per task ({what}/<task>/)")
    unsupported = [t for t in UNSUPPORTED if (pred_dir / t).is_dir()]
    if benchmark == "xtreme-r" and unsupported:
        raise XstiltsError(
            f"{pred_dir}: xstilts cannot score the XTREME-R task(s) "
            f"{', '.join(UNSUPPORTED[t] for t in unsupported)}; it scores xnli, xcopa, udpos, "
            "panx, xquad, mlqa, tydiqa and tatoeba.\n  fix: move those folders out of "
            "the predictions folder and score them with XTREME's own evaluate.py.")
    tasks, missing_tasks, notes = {}, [], []
    group_of = {t: g for g, members in bench.groups.items() for t in members}
    for task in bench.tasks:
        if task in UNSUPPORTED:
            missing_tasks.append(task)
            notes.append(f"{task}: not supported by xstilts, so no overall or "
                         f"{group_of[task]} score")
            continue
        has_pred, has_label = (pred_dir / task).is_dir(), (label_dir / task).is_dir()
        if not (has_pred and has_label):
            missing_tasks.append(task)
            if has_pred:
                notes.append(f"{task}: predictions but no labels folder {label_dir / task}")
            continue
        result = score_task(task, pred_dir / task, label_dir / task, bench.languages[task],
                            split)
        notes.extend(result.pop("notes"))
        tasks[task] = {"group": group_of[task], **result}
    ignored = sorted(p.name for p in pred_dir.iterdir() if p.is_dir() and p.name not in group_of)
    if ignored:
        notes.append(f"folders not in {benchmark} ignored: {', '.join(ignored)}")
    complete = {t: r["score"] for t, r in tasks.items() if r["score"] is not None}
    groups = {g: sum(complete[t] for t in members) / len(members)
              for g, members in bench.groups.items() if all(t in complete for t in members)}
    scored = {t: r for t, r in tasks.items() if r["languages"]}
    task_scores = {t: task_score(language_average(r["languages"])) for t, r in scored.items()}
    average = describe_average({t: list(r["languages"]) for t, r in scored.items()}, benchmark)
    average.update(value=sum(task_scores.values()) / len(task_scores) if task_scores else None,
                   task_scores=task_scores,
                   splits=split_text({t: r["splits"] for t, r in scored.items()}))
    overall = average["value"] if average["complete"] else None
    return {"benchmark": benchmark, "predictions": str(pred_dir), "labels": str(label_dir),
            "split": split, "tasks": tasks, "groups": groups, "overall": overall,
            "average": average, "missing_tasks": missing_tasks, "notes": notes}


# ---------------------------------------------------------------- display


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_scores(result: dict) -> str:
    """A readable report of score_benchmark's result."""
    lines = [f"{result['benchmark']}: predictions {result['predictions']}, "
             f"labels {result['labels']}", ""]
    average = result["average"]
    for task, r in result["tasks"].items():
        n_total = len(r["languages"]) + len(r["missing_languages"])
        head = f"{task} ({r['group']}, {r['metric']}): {_fmt(r['score'])}"
        if r["average"] is not None and "exact_match" in r["average"]:
            head += f" (exact_match {_fmt(r['average']['exact_match'])}, " \
                    f"f1 {_fmt(r['average']['f1'])})"
        head += f"  [{len(r['languages'])}/{n_total} languages"
        head += f", split {split_text(r['splits'])}]" if r["splits"] else "]"
        if r["missing_languages"]:
            head += f"  no average; missing: {', '.join(r['missing_languages'])}"
            if task in average["task_scores"]:
                head += f"; over the {len(r['languages'])} there: " \
                        f"{_fmt(average['task_scores'][task])}"
        lines.append(head)
        show: Callable[[dict], str] = (
            (lambda m: f"{m['exact_match']:.1f}/{m['f1']:.1f}") if "exact_match" in r["metric"]
            else (lambda m, key=r["metric"]: f"{m[key]:.2f}"))
        cells = [f"{lang} {show(m)}" for lang, m in r["languages"].items()]
        for i in range(0, len(cells), 8):
            lines.append("    " + "  ".join(cells[i:i + 8]))
    lines.append("")
    for group, score in result["groups"].items():
        lines.append(f"{GROUP_TITLES.get(group, group)}: {score:.2f}")
    title = BENCHMARKS[result["benchmark"]].title
    if result["overall"] is not None:
        lines.append(f"overall: {result['overall']:.2f} (the {title} score: "
                     f"{average['detail']}; split {average['splits']})")
    else:
        unscored = result["missing_tasks"] + [t for t, r in result["tasks"].items()
                                              if r["score"] is None]
        lines.append(f"overall: not computed, no {title} score (no task score for "
                     f"{', '.join(unscored)})")
        if average["value"] is not None:
            lines.append(f"{average_caption(average)}: {average['value']:.2f} "
                         f"(split {average['splits']}; QA as (EM + F1) / 2)")
    lines.extend(f"note: {n}" for n in result["notes"])
    return "\n".join(lines)
