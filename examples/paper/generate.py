"""Write the paper configs (examples/paper/*.yaml) from one table of settings.

    python examples/paper/generate.py           # (re)write the YAML files next to this script
    python examples/paper/generate.py --check   # exit 1 if a file differs from what it writes
    python examples/paper/generate.py --costs   # print the compute estimate (README table)

The config loader has no include mechanism, so each YAML file is complete; they are all
written from the tables below and `tests/test_examples_paper.py` checks the files equal this
script's output, so they cannot drift apart. Edit the tables, then rerun the script.

Sources: "jiant" is github.com/nyu-mll/jiant (the paper ran its experiments with jiant; its
guide guides/projects/xstilts.md points to the XTREME scripts). Its XTREME scripts are
jiant/scripts/benchmarks/xtreme/subscripts/{c_tokenize_and_cache,d_write_configs,
e_run_models}.sh and jiant/scripts/benchmarks/xtreme/xtreme_runconfig_writer.py; the
intermediate defaults are jiant/proj/simple/runscript.py's. "unverified" marks a value no
code of jiant or XTREME confirms (the paper's own text could not be checked).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------------------------------------
# Targets, as jiant's XTREME scripts trained them (zero-shot: English training data only).
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    epochs: int
    batch_size: int  # effective batch (jiant: micro-batch 4 x gradient accumulation)
    jiant_batch: str  # how jiant formed it
    max_length: int
    train_on: str  # English training set (for the cost table)
    train_sequences: int  # sequences per epoch (QA: 384-token windows)
    padded_length: int  # assumed mean padded length with per-batch padding (cost table)


TARGETS: dict[str, Target] = {
    # d_write_configs.sh: --epochs, --train_batch_size 4 --gradient_accumulation_steps 8|4;
    # c_tokenize_and_cache.sh: --max_seq_length 256 (classification, tagging) / 384 (QA).
    "xnli": Target(2, 32, "4 x 8", 256, "MNLI", 392_702, 96),
    "pawsx": Target(5, 32, "4 x 8", 256, "PAWS (en)", 49_401, 96),
    "udpos": Target(10, 32, "4 x 8", 256, "UD 2.5 English treebanks", 21_253, 80),
    "panx": Target(10, 32, "4 x 8", 256, "PAN-X en", 20_000, 48),
    "xquad": Target(2, 16, "4 x 4", 384, "SQuAD v1.1", 88_600, 360),
    "mlqa": Target(2, 16, "4 x 4", 384, "SQuAD v1.1", 88_600, 360),
    "tydiqa": Target(2, 16, "4 x 4", 384, "TyDiQA-GoldP en", 3_700, 360),
}
QA_TARGETS = ("xquad", "mlqa", "tydiqa")
# No training: evaluated straight from the (intermediate) encoder. BUCC has its own config
# (bucc2018.yaml): its hub copy holds only the gold pairs, see that file.
RETRIEVAL_TARGETS = ("tatoeba",)

# Shared by every trained target: (key, value, source).
TARGET_TRAINING = [
    ("learning_rate", 1.0e-5, "e_run_models.sh --learning_rate 1e-5"),
    ("warmup_ratio", 0.1, "xtreme_runconfig_writer.py warmup_steps_proportion 0.1"),
    ("weight_decay", 0.01, "jiant shared/model_setup.py 0.01 (unverified for the paper's version)"),
    ("max_grad_norm", 1.0, "simple/runscript.py default 1.0 (main runscript: unverified)"),
    ("max_length", 256, "c_tokenize_and_cache.sh --max_seq_length 256 (QA 384 below)"),
    ("eval_every", 1000, "e_run_models.sh --eval_every_steps 1000 (optimiser steps)"),
    ("patience", 30, "e_run_models.sh --no_improvements_for_n_evals 30"),
    ("dev_limit", 500, "xtreme_runconfig_writer.py eval_subset_num 500 (first 500 dev examples)"),
    ("bf16", True, "ours: jiant trained in fp32 (no --fp16 in e_run_models.sh)"),
]

# ------------------------------------------------------------------------------------------
# Intermediate phase: jiant's simple runscript, as the X-STILTs guide calls it.
# ------------------------------------------------------------------------------------------

INTERMEDIATE_TRAINING = [
    ("learning_rate", 1.0e-5, "simple/runscript.py learning_rate default 1e-5"),
    ("batch_size", 4, "guides/projects/xstilts.md --train_batch_size 4 (runscript default: 32)"),
    ("epochs", 3, "simple/runscript.py num_train_epochs default 3"),
    ("max_length", 256, "simple/runscript.py max_seq_length default 256 (QA too)"),
    ("warmup_ratio", 0.1, "configurator.py SimpleAPIMultiTaskConfigurator warmup 0.1"),
    ("weight_decay", 0.01, "jiant shared/model_setup.py 0.01 (unverified for the paper's version)"),
    ("eval_every", 0, "simple/runscript.py eval_every_steps 0: no evaluation during training;"),
    ("evaluations", 1, "  jiant's metarunner evaluates once, at the end: the final model"),
    ("dev_limit", 500, "configurator.py eval_subset_num 500"),
    ("sampler", "proportional", "configurator.py ProportionalMultiTaskSampler (several tasks)"),
    ("bf16", True, "ours: jiant trained in fp32 (no --fp16 in the guide's command)"),
]

# The nine English intermediate tasks of the paper, with their training sequences per epoch
# (multiple choice: one sequence per choice) and an assumed mean padded length for the cost
# table. Sizes are the public releases' (SNLI counts its pairs with a gold label).
INTERMEDIATE_TASKS = ["anli_plus", "mnli", "qqp", "squad", "squad_v2", "hellaswag", "cosmosqa",
                      "commonsenseqa", "ccg"]


@dataclass(frozen=True)
class Size:
    what: str
    examples: int  # what a batch counts (QA: 384-token windows; multiple choice: questions)
    padded_length: int
    per_example: int = 1  # sequences per example (multiple choice: one per choice)
    mlm: bool = False  # MLM also projects every position onto the vocabulary


SIZES: dict[str, Size] = {
    "anli_plus": Size("SNLI 549,367 + MNLI 392,702 + ANLI 162,865 pairs", 1_104_934, 96),
    "mnli": Size("392,702 pairs", 392_702, 96),
    "qqp": Size("363,846 pairs", 363_846, 64),
    "squad": Size("87,599 questions, ~88.6k windows", 88_600, 256),
    "squad_v2": Size("130,319 questions, ~132k windows", 132_000, 256),
    "hellaswag": Size("39,905 contexts x 4 endings", 39_905, 112, per_example=4),
    "cosmosqa": Size("25,262 questions x 4 answers", 25_262, 192, per_example=4),
    "commonsenseqa": Size("9,741 questions x 5 answers", 9_741, 40, per_example=5),
    "ccg": Size("CCGbank 02-21, 39,604 sentences", 39_604, 80),
    "translate-train": Size("MNLI + 14 XNLI-MT translations, 15 x 392,702", 15 * 392_702, 112),
    "mlm": Size("per 100k lines of text (you choose the corpus)", 100_000, 256, mlm=True),
}

# The translate-train alternative: MNLI in English plus its 14 machine translations
# (XNLI-MT 1.0, the built-in xnli_tt_<lang> tasks), one shared 3-way head.
XNLI_TT_LANGS = ("ar", "bg", "de", "el", "es", "fr", "hi", "ru", "sw", "th", "tr", "ur", "vi",
                 "zh")
# The continued-MLM alternative: XTREME's 40 languages (PAN-X's list covers all of them).
MLM_LANGS = ("af", "ar", "bg", "bn", "de", "el", "en", "es", "et", "eu", "fa", "fi", "fr", "he",
             "hi", "hu", "id", "it", "ja", "jv", "ka", "kk", "ko", "ml", "mr", "ms", "my", "nl",
             "pt", "ru", "sw", "ta", "te", "th", "tl", "tr", "ur", "vi", "yo", "zh")
MLM_WITH = "mnli"  # the intermediate task trained together with MLM in mlm.yaml


@dataclass
class Variant:
    title: list[str]
    tasks: list[str]
    declares: list[str] = field(default_factory=list)  # "ccg", "mlm"
    shared_heads: dict[str, list[str]] = field(default_factory=dict)


def variants() -> dict[str, Variant]:
    out = {"baseline": Variant(["Baseline: no intermediate phase; XLM-R Large is fine-tuned on "
                                "each target directly."], [])}
    for task in INTERMEDIATE_TASKS:
        title = [f"X-STILTs with the intermediate task `{task}` ({SIZES[task].what})."]
        if task == "ccg":
            title.append("CCGbank is LDC-licensed: `ccg` reads your local copy (see tasks.ccg).")
        out[task] = Variant(title, [task], declares=["ccg"] if task == "ccg" else [])
    out["multitask"] = Variant(
        ["Multi-task intermediate training on all nine tasks at once: batches drawn in",
         "proportion to each task's size, one head per task; the score of an evaluation is",
         "the mean of the tasks' main dev metrics (jiant's EqualMetricAggregator)."],
        list(INTERMEDIATE_TASKS), declares=["ccg"])
    out["mlm"] = Variant(
        [f"Continued multilingual MLM during intermediate training: `{MLM_WITH}` mixed with a",
         "masked-LM task over Wikipedia text you provide (tasks.wiki-mlm: fill in base_dir).",
         "Which intermediate tasks, languages and how much text the paper used: unverified."],
        [MLM_WITH, "wiki-mlm"], declares=["mlm"])
    tt = ["mnli"] + [f"xnli_tt_{lang}" for lang in XNLI_TT_LANGS]
    out["translate-train"] = Variant(
        ["Machine-translated intermediate data: MNLI in English plus its 14 XNLI-MT",
         "translations (xnli_tt_<lang>), mixed proportionally, one shared NLI head. Which",
         "translated sets and languages the paper mixed: unverified (a translated SQuAD is",
         "not a built-in task)."],
        tt, shared_heads={"nli": tt})
    return out


# ------------------------------------------------------------------------------------------
# YAML text (written by hand: comments sit beside the settings they source).
# ------------------------------------------------------------------------------------------

COMMENT_COLUMN = 34


def scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.1e}" if value < 1e-3 else repr(value)
        return text.replace("e-0", "e-")  # 1.0e-5: YAML 1.1 reads "1e-5" as a string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {scalar(v)}" for k, v in value.items()) + "}"
    return str(value)


def flow_list(prefix: str, items, width: int = 92) -> list[str]:
    """`prefix [a, b, ...]` as a YAML flow sequence wrapped under its first item."""
    lines, current = [], prefix + "["
    pad = " " * len(current)
    for i, item in enumerate(items):
        piece = str(item) + (", " if i < len(items) - 1 else "]")
        if len(current) + len(piece.rstrip()) > width and current.strip() != prefix.strip() + "[":
            lines.append(current.rstrip())
            current = pad
        current += piece
    return lines + [current]


def line(indent: int, text: str, comment: str = "") -> str:
    text = " " * indent + text
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {comment}"


def header(name: str, title: list[str], out_dir: str | None = None) -> list[str]:
    out = [f"# {t}" for t in title]
    out += ["# Phang et al. 2020 (X-STILTs) as jiant ran it: XLM-R Large, zero-shot on the",
            "# targets' dev sets. Written by examples/paper/generate.py from one table of",
            "# settings: edit the table there and rerun it, not this file. Each comment names",
            "# the source of its value (jiant = github.com/nyu-mll/jiant; the XTREME scripts are",
            "# under jiant/scripts/benchmarks/xtreme/); \"ours\"/\"unverified\": not from jiant.",
            f"#   xstilts run examples/paper/{name}.yaml --out {out_dir or 'runs/paper-' + name}",
            "seed: 0"]
    return out


def encoder_block(name: str = "xlm-roberta-large", comment: str = "the paper's encoder") -> list:
    return ["encoder:",
            line(2, f"name: {name}", comment),
            line(2, "retrieval_layer: null", "XLM-R Large: layer 14 (xtreme_runconfig_writer.py "
                                             "retrieval_layer=14)")]


def data_block() -> list[str]:
    return ["data:",
            line(2, "source: hub", "or {source: local, dir: PATH}: XTREME's download_data.sh "
                                   "layout")]


def task_options_block(tasks: list[str]) -> list[str]:
    qa = [t for t in tasks if t in ("squad", "squad_v2", *QA_TARGETS)]
    if not qa:
        return []
    out = ["task_options:                     # selection metric = jiant's \"major\" metric "
           "(jiant/tasks/evaluate/core.py)"]
    for t in qa:
        out.append(line(2, f"{t}: {{main_metric: em_f1}}", "QA: (EM + F1) / 2"))
    return out


def ccg_declaration() -> list[str]:
    return [
        line(2, "ccg:", "shadows the built-in `ccg` (same reader, paths, options) so the"),
        line(4, "", "other tasks keep reading from the hub; CCGbank is LDC-licensed"),
        line(4, "format: tagging"),
        line(4, "languages: [en]"),
        line(4, "reader: ccg"),
        line(4, "base_dir: /path/to/data", "PLACEHOLDER: the folder that holds ccg/*.auto"),
        line(4, "paths: {train: ccg/train.auto, dev: ccg/dev.auto, test: ccg/test.auto}"),
        line(4, "options: {labels_from_train: 10, main_metric: accuracy}",
             "supertags seen 10+ times; token accuracy"),
        line(4, "description: CCG supertagging on CCGbank (WSJ 02-21 train, 00 dev, 23 test)"),
    ]


def mlm_declaration() -> list[str]:
    return [
        line(2, "wiki-mlm:", "continued MLM over plain text, one file per language and split."),
        line(4, "", "The files' size sets MLM's share of the proportional mixture and"),
        line(4, "", "the step budget (3 epochs over all tasks); dev_limit 500 scores the"),
        line(4, "", "first 500 dev lines of the concatenation (the first language's)."),
        line(4, "format: mlm"),
        *flow_list("    languages: &xtreme40 ", MLM_LANGS),
        line(4, "train_languages: *xtreme40", "train/dev: the concatenation over these"),
        line(4, "reader: text", "one example per non-empty line (cut at max_length)"),
        line(4, "base_dir: /path/to/wikipedia-text", "PLACEHOLDER: your extracted Wikipedia text"),
        line(4, "paths: {train: \"train.{lang}.txt\", dev: \"dev.{lang}.txt\"}",
             "PLACEHOLDER file names"),
        line(4, "options: {mask_rate: 0.15}", "BERT masking (80/10/10)"),
        line(4, "description: Continued multilingual MLM on Wikipedia text"),
    ]


def intermediate_block(v: Variant) -> list[str]:
    out = ["intermediate:"]
    if v.shared_heads:  # one head shared by all the phase's tasks
        (head, members), = v.shared_heads.items()
        assert members == v.tasks
        out += flow_list("  tasks: &tasks ", v.tasks)
        out.append(line(2, f"shared_heads: {{{head}: *tasks}}"))
    else:
        out += flow_list("  tasks: ", v.tasks)
    out.append("  training:")
    for key, value, source in INTERMEDIATE_TRAINING:
        if key == "sampler" and len(v.tasks) < 2:
            continue
        out.append(line(4, f"{key}: {scalar(value)}", source))
    return out


def targets_block(tasks: list[str], eval_split_comment: bool = True) -> list[str]:
    trained = [t for t in tasks if t in TARGETS]
    out = ["targets:", line(2, f"tasks: {scalar(tasks)}")]
    if any(t in RETRIEVAL_TARGETS or t == "bucc2018" for t in tasks):
        out.append(line(2, "", "retrieval: not trained; 512 tokens (c_tokenize_and_cache.sh),"))
        out.append(line(2, "", "mean-pooled layer 14 (xtreme_runconfig_writer.py)"))
    out.append(line(2, "eval_split: dev", "the paper's per-task table is on dev sets (test: "
                                          "XTREME submission): each language's own;"))
    out.append(line(2, "", "XQuAD and UD-POS kk/th/tl/yo have none: test (jiant)"))
    if not trained:
        return out
    out.append(line(2, "training:", "selection on the English dev of the training task (hub"))
    out.append(line(4, "", "xnli: MNLI dev-matched, as jiant; local files: XNLI-en dev)"))
    for key, value, source in TARGET_TRAINING:
        out.append(line(4, f"{key}: {scalar(value)}", source))
    out.append(line(2, "task_training:", "d_write_configs.sh --epochs, batch = 4 x accumulation;"))
    out.append(line(4, "", "max_length: c_tokenize_and_cache.sh"))
    for t in trained:
        s = TARGETS[t]
        settings = {"epochs": s.epochs, "batch_size": s.batch_size, "grad_accum": 1,
                    "max_length": s.max_length}
        out.append(line(4, f"{t}: {scalar(settings)}", f"jiant: {s.jiant_batch}"))
    return out


def render_variant(name: str, v: Variant) -> str:
    lines = header(name, v.title)
    lines += encoder_block() + data_block()
    targets = list(TARGETS) + list(RETRIEVAL_TARGETS)
    lines += task_options_block(v.tasks + targets)
    if v.declares:
        lines.append("tasks:")
        for kind in v.declares:
            lines += ccg_declaration() if kind == "ccg" else mlm_declaration()
    if v.tasks:
        lines += intermediate_block(v)
    lines += targets_block(targets)
    return "\n".join(lines) + "\n"


def render_bucc() -> str:
    title = ["BUCC 2018 (bitext mining; no training) for any encoder, from XTREME's own files.",
             "It is separate because the hub's BUCC holds only the gold pairs, not the corpora",
             "around them (xstilts refuses it unless data.allow_gold_only), and `data` is one",
             "source for a whole run: the other configs read the hub. Evaluate the baseline as",
             "is; for an intermediate task, point encoder.name at that run's checkpoint,",
             "results.json's intermediate.checkpoint (runs/paper-<task>/checkpoints/",
             "intermediate-<key>/best). Encoded at 512 tokens (c_tokenize_and_cache.sh); F1 on",
             "each language's dev (sample) data with the threshold tuned on that same data: the",
             "paper's oracle (protocol: xtreme tunes on dev and scores test, with test gold)."]
    lines = header("bucc2018", title, out_dir="runs/paper-bucc2018-baseline")
    lines += encoder_block(comment="or an intermediate checkpoint folder (see above)")
    lines += ["data:",
              line(2, "source: local"),
              line(2, "dir: /path/to/xtreme/download", "PLACEHOLDER: holds bucc2018/ "
                                                      "(download_data.sh)")]
    lines += ["task_options:",
              line(2, "bucc2018: {protocol: oracle}", "jiant/tasks/evaluate/core.py: BUCC "
                                                      "threshold=None, tuned on the scored data")]
    lines += targets_block(["bucc2018"])
    return "\n".join(lines) + "\n"


def render_study() -> str:
    """The paper's whole grid as one study: the baseline, the nine tasks one at a time and
    all nine together, on every target (run with `xstilts study`)."""
    title = ["The paper's whole grid as one study: the baseline (k = 0), each of the nine",
             "intermediate tasks alone (k = 1) and all nine at once (k = 9), every target;",
             "the same settings as the single configs (generated from the same table). BUCC",
             "needs XTREME's own files: run examples/paper/bucc2018.yaml on the checkpoints.",
             "  xstilts study examples/paper/study/grid.yaml --out runs/paper-grid --dry-run"]
    lines = [f"# {t}" if t else "#" for t in title]
    lines += ["name: paper-grid", "base:"]
    every = Variant([], list(INTERMEDIATE_TASKS), declares=["ccg"])
    body = encoder_block() + data_block()
    targets = list(TARGETS) + list(RETRIEVAL_TARGETS)
    body += task_options_block(every.tasks + targets)
    body += ["tasks:"] + ccg_declaration()
    body += [x for x in intermediate_block(every) if "tasks:" not in x or "training" in x]
    body += targets_block(targets)
    lines += [("  " + x) if x else x for x in body]
    lines += flow_list("pool: ", list(INTERMEDIATE_TASKS))
    lines += [f"sizes: [0, 1, {len(INTERMEDIATE_TASKS)}]",
              line(0, "draw: all", "k = 9: the one set of all nine"),
              line(0, "seeds: {intermediate: [0], target: [0]}", "the paper's seeds: unknown"),
              line(0, "keep: {intermediate_weights: true, target_weights: false}")]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# The scaling study: the research question at paper scale.
# ------------------------------------------------------------------------------------------

SCALING_LANGS = ("de", "es", "fr", "ru")  # XNLI-MT and PAWS-X both have them
# Sets per k and per number of distinct training languages in the set (language strata).
SCALING_DRAWS = {1: "{random: 10}", 2: "{languages: [1, 2], random: 5}",
                 4: "{languages: [1, 2, 4], random: 4}", 8: "{languages: [1, 2, 4], random: 4}"}
SCALING_STEPS = 50_000  # equal total budget: 200,000 examples at batch 4, whatever k
# The translations the study declares (MNLI's are the built-in xnli_tt_<lang>; CCGbank's
# supertags are not translated): format, reader, file suffix, labels, options.
TRANSLATED = {
    "anli_plus": ("classification", "jsonl", "jsonl", "[entailment, neutral, contradiction]", ""),
    "qqp": ("classification", "jsonl", "jsonl", "[not_duplicate, duplicate]", ""),
    "squad": ("span_qa", "squad_json", "json", "", "max_length: 384, window_step: 128, "
              "main_metric: em_f1, "),
    "squad_v2": ("span_qa", "squad_json", "json", "", "max_length: 384, window_step: 128, "
                 "version_2_with_negative: true, main_metric: em_f1, "),
    "hellaswag": ("multiple_choice", "jsonl", "jsonl", "", ""),
    "cosmosqa": ("multiple_choice", "jsonl", "jsonl", "", ""),
    "commonsenseqa": ("multiple_choice", "jsonl", "jsonl", "", ""),
}


def translated(task: str, lang: str) -> str:
    return f"xnli_tt_{lang}" if task == "mnli" else f"{task}_tt_{lang}"


def scaling_pool() -> list[str]:
    """The nine English tasks, then each translated task in each language (41 tasks)."""
    return list(INTERMEDIATE_TASKS) + [translated(t, lang) for t in INTERMEDIATE_TASKS
                                       if t != "ccg" for lang in SCALING_LANGS]


def translation_declaration(task: str, lang: str) -> str:
    """One translated task on one line: files you provide, sizes those of the English set
    (the task option `sizes`: the study's cost before the files exist)."""
    from xstilts.tasks.card_sizes import CARD_SIZES

    fmt, reader, suffix, labels, options = TRANSLATED[task]
    sizes = CARD_SIZES[task]
    return (f"    {translated(task, lang)}: {{format: {fmt}, languages: [{lang}], "
            f"train_language: {lang}, reader: {reader}, base_dir: /path/to/translations, "
            f"paths: {{train: {task}/train.{lang}.{suffix}, dev: {task}/dev.{lang}.{suffix}}}, "
            + (f"labels: {labels}, " if labels else "")
            + f"options: {{{options}family: {task}, sizes: {{train: {sizes['train']}, "
            f"dev: {sizes['dev']}}}}}}}")


def render_scaling() -> str:
    """Does training on more intermediate tasks help zero-shot transfer, at an equal budget?
    The nine tasks and their translations into four languages, k = 1, 2, 4, 8 with language
    strata, three intermediate seeds."""
    title = ["The research question at paper scale: does training on more intermediate tasks",
             "(k = 1, 2, 4, 8) help zero-shot cross-lingual transfer, at an equal budget? The",
             "pool: the paper's nine English tasks and their machine translations into de, es,",
             "fr and ru (41 tasks; MNLI's are XNLI-MT, the built-in xnli_tt_<lang>; CCGbank is",
             "not translated). The other translations are files you provide under",
             "/path/to/translations (PLACEHOLDER; XTREME's translate-train SQuAD covers de, es and",
             "ru); their `sizes` option, the English sets' sizes, costs the study before they",
             "exist. Sets drawn per number of distinct training languages (language strata),",
             "three intermediate seeds, one target seed; every set trains for the same total",
             "number of steps (budget), the tasks sampled uniformly (N/k steps each).",
             "  xstilts study examples/paper/study/scaling.yaml --out runs/paper-scaling "
             "--dry-run"]
    lines = [f"# {t}" for t in title]
    lines += ["name: paper-scaling", "base:"]
    targets = list(TARGETS) + list(RETRIEVAL_TARGETS)
    body = encoder_block() + data_block()
    body += task_options_block(list(INTERMEDIATE_TASKS) + targets)
    body += ["tasks:"] + ccg_declaration()
    body += [translation_declaration(t, lang)[2:] for t in TRANSLATED for lang in SCALING_LANGS]
    body += ["intermediate:", "  training:"]
    for key, value, source in INTERMEDIATE_TRAINING:
        if key == "epochs":
            continue  # the budget sets the steps
        if key == "sampler":
            value, source = "uniform", "each task of a k-set N/k steps (the paper: proportional)"
        body.append(line(4, f"{key}: {scalar(value)}", source))
    body += targets_block(targets)
    lines += [("  " + x) if x else x for x in body]
    lines += flow_list("pool: ", scaling_pool())
    lines += [f"sizes: [0, {', '.join(str(k) for k in SCALING_DRAWS)}]", "draws:"]
    lines += [line(2, f"{k}: {draw}", "N sets per number of distinct languages" if k == 2
                   else "") for k, draw in SCALING_DRAWS.items()]
    lines += [line(0, "seed: 0", "of the draws"),
              line(0, "seeds: {intermediate: [0, 1, 2], target: [0]}"),
              line(0, f"budget: {{total_steps: {SCALING_STEPS}}}",
                   "equal total (per_task_steps: N x k; per_task_examples: capped sets)"),
              line(0, "keep: {intermediate_weights: true, target_weights: false}")]
    return "\n".join(lines) + "\n"


def render() -> dict[str, str]:
    """Every config file's name (relative to this folder) and text."""
    files = {f"{name}.yaml": render_variant(name, v) for name, v in variants().items()}
    files["bucc2018.yaml"] = render_bucc()
    files["study/grid.yaml"] = render_study()
    files["study/scaling.yaml"] = render_scaling()
    return files


# ------------------------------------------------------------------------------------------
# Compute estimate.
# ------------------------------------------------------------------------------------------

N_NON_EMBEDDING = 302.3e6  # XLM-R Large: 24 x 12.6M (attention, FFN, LayerNorms)
N_TOTAL = 559.9e6  # + 250,002 x 1024 word embeddings and 514 x 1024 positions
N_VOCAB_PROJECTION = 256.0e6  # MLM head's 1024 x 250,002 decoder, applied at every position
LAYERS, WIDTH = 24, 1024
OPTIMIZER_BYTES = 32 * N_TOTAL  # AdamW: read p, g, m, v; write p, m, v; grad-norm pass
GPUS = {  # name: (bf16 dense peak FLOP/s, assumed utilisation, memory bandwidth B/s)
    "A100": (312e12, 0.35, 2.0e12),
    "H100": (989e12, 0.30, 3.35e12),
}


def flops_per_token(length: int, mlm: bool = False) -> float:
    """Training FLOPs per token: 6 x non-embedding params + attention scores (fwd + bwd)."""
    params = N_NON_EMBEDDING + (N_VOCAB_PROJECTION if mlm else 0)
    return 6 * params + 6 * LAYERS * length * WIDTH


@dataclass(frozen=True)
class Run:
    label: str
    what: str
    examples: int
    epochs: int
    batch: int
    length: int  # max length: every sequence padded to it (jiant's caches are)
    padded_length: int  # assumed mean length per batch (xstilts pads to the batch's longest)
    per_example: int = 1
    mlm: bool = False

    @property
    def steps(self) -> int:
        return math.ceil(self.examples * self.epochs / self.batch)

    def tokens(self, length: int) -> float:
        return self.examples * self.per_example * self.epochs * length

    def gpu_hours(self, gpu: str, length: int) -> float:
        """(FLOPs / (utilisation x peak) + steps x optimiser memory traffic / bandwidth)."""
        peak, utilisation, bandwidth = GPUS[gpu]
        seconds = self.tokens(length) * flops_per_token(length, self.mlm) / (peak * utilisation)
        return (seconds + self.steps * OPTIMIZER_BYTES / bandwidth) / 3600


def cost_runs() -> list[Run]:
    runs = []
    for name, t in TARGETS.items():
        if name == "mlqa":
            continue  # the same training as xquad (SQuAD v1.1): one row covers both
        label = "target xquad, mlqa (each)" if name == "xquad" else f"target {name}"
        runs.append(Run(label, t.train_on, t.train_sequences, t.epochs, t.batch_size,
                        t.max_length, t.padded_length))
    settings = {k: v for k, v, _ in INTERMEDIATE_TRAINING}
    epochs, batch, length = settings["epochs"], settings["batch_size"], settings["max_length"]
    for name in [*INTERMEDIATE_TASKS, "translate-train", "mlm"]:
        s = SIZES[name]
        label = f"intermediate {name}" if name in INTERMEDIATE_TASKS else f"alternative {name}"
        runs.append(Run(label, s.what, s.examples, epochs, batch, length, s.padded_length,
                        s.per_example, s.mlm))
    return runs


def hours(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.1f}"


def cost_table() -> str:
    out = ["| run | training data | steps | tokens at L (bn) | A100 h at L | H100 h at L "
           "| L̄ (assumed) | H100 h at L̄ |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    runs = cost_runs()
    for r in runs:
        out.append(f"| {r.label} (L {r.length}, {r.epochs} ep., batch {r.batch}) | {r.what} "
                   f"| {r.steps:,} | {r.tokens(r.length) / 1e9:.2f} "
                   f"| {hours(r.gpu_hours('A100', r.length))} "
                   f"| {hours(r.gpu_hours('H100', r.length))} | {r.padded_length} "
                   f"| {hours(r.gpu_hours('H100', r.padded_length))} |")
    nine = [r for r in runs if r.label.removeprefix("intermediate ") in INTERMEDIATE_TASKS]
    total = [sum(r.gpu_hours(g, r.length) for r in nine) for g in ("A100", "H100")]
    mean = sum(r.gpu_hours("H100", r.padded_length) for r in nine)
    out.append(f"| intermediate multitask (all nine) | the nine above | "
               f"{sum(r.steps for r in nine):,} "
               f"| {sum(r.tokens(r.length) for r in nine) / 1e9:.2f} | {hours(total[0])} "
               f"| {hours(total[1])} | | {hours(mean)} |")
    trained = [r for r in runs if r.label.startswith("target")]
    grid = [sum(r.gpu_hours(g, r.length) * (2 if "mlqa" in r.label else 1) for r in trained)
            for g in ("A100", "H100")]
    grid_mean = sum(r.gpu_hours("H100", r.padded_length) * (2 if "mlqa" in r.label else 1)
                    for r in trained)
    out.append(f"| all seven trained targets, once | | | | {hours(grid[0])} | {hours(grid[1])} "
               f"| | {hours(grid_mean)} |")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--costs", action="store_true", help="print the compute estimate")
    args = parser.parse_args(argv)
    if args.costs:
        print(cost_table(), end="")
        return 0
    stale = []
    for name, text in render().items():
        path = HERE / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if stale:
        print("differ from generate.py's output: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
