"""`xstilts rank STUDY.yaml --out DIR`: rank the study's candidate sets per target from the
base encoder and small samples (rank/estimates.py), by the rule of rank/combine.py.

Writes DIR/rank.csv (every target × set, and the `average` rows) and DIR/rank.json (the
settings, the encoder, the single tasks' estimates, notes); with `top`, DIR/<name>-top<M>.yaml
trains the M best sets plus the baseline. Give DIR as the study's --out folder and its report
gets "Predicted vs measured".
"""

from __future__ import annotations

import dataclasses
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from xstilts.artifacts import content_key, write_json_atomic, write_text_atomic
from xstilts.config import read_yaml_file, read_yaml_mapping
from xstilts.formats.spec import format_spec
from xstilts.progress import stage
from xstilts.rank import combine, languages
from xstilts.rank.logme import logme, probe
from xstilts.study.spec import Study

RANK_FILE, META_FILE = "rank.csv", "rank.json"
logger = logging.getLogger(__name__)


def candidate_sets(study: Study) -> list[tuple[str, ...]]:
    """The sets the study would train (every size k ≥ 1), in its order."""
    return list(dict.fromkeys(s for k in study.spec.sizes if k > 0 for s in study.sets(k)))


def rank_key(study: Study, settings) -> str:
    """What the estimates depend on: the study (its `select` aside) and the settings; an
    adaptive study reuses a ranking with the same key."""
    spec = study.spec.model_dump(mode="json", exclude={"select"})
    return content_key({"spec": spec, "settings": dataclasses.asdict(settings), "v": 1})


def estimate(study: Study, settings, log=None) -> tuple[pd.DataFrame, dict]:
    """(singles, meta): per target × pool task the raw estimates, and what they came from."""
    from xstilts.models.encoder import load_encoder
    from xstilts.rank.estimates import (
        sample_examples,
        task_sample,
        task_similarity,
        text_similarity,
    )
    from xstilts.study.prepare import prepare
    from xstilts.tasks.loading import load_split

    say = log or logger.info
    pool = tuple(study.spec.pool)
    tasks, setup = prepare(study.base, pool, label=study.spec.name)
    encoder, tokenizer = load_encoder(setup.encoder_location,
                                      study.base.encoder.trust_remote_code)
    encoder.eval()
    samples = {}
    for name in pool:
        with stage(f"estimates {name}", done=f"estimated {name}") as bar:
            examples = sample_examples(load_split(tasks[name], "train"), settings.examples,
                                       settings.seed)
            bar.count = len(examples)
            samples[name] = task_sample(tasks[name], examples, encoder, tokenizer, settings)
    targets = list(study.base.targets.tasks)
    target_languages, logme_target, target_notes = {}, {}, {}
    for name in targets:
        task = tasks[name]
        trained = format_spec(task.format).trainable
        with stage(f"estimates target {name}", done=f"estimated target {name}") as bar:
            examples = sample_examples(_target_examples(task, study, load_split, trained),
                                       settings.examples, settings.seed)
            bar.count = len(examples)
            samples[name] = task_sample(task, examples, encoder, tokenizer, settings, trained)
        target_languages[name] = list(task.languages)
        labelled = samples[name].labelled
        logme_target[name] = logme(*labelled) if labelled is not None else math.nan
        if labelled is None:
            target_notes[name] = (f"{name} ({task.format}): no LogME (its labels are not "
                                  "classes of a fixed set)" + ("" if trained else
                                  "; never trained, so no task embedding either, and its "
                                  "text sample is its scored split's text"))
    rows = []
    for target in targets:
        t = samples[target]
        for name in pool:
            i = samples[name]
            rows.append({"target": target, "task": name,
                         "text_sim": text_similarity(i, t),
                         "task_sim": task_similarity(i, t),
                         "logme": transferred_logme(i.labelled, t.labelled),
                         "lang_overlap": languages.overlap(study.languages[name],
                                                           target_languages[target]),
                         "lang_distance": languages.set_distance(study.languages[name],
                                                                 target_languages[target])})
    every_language = {c for t in targets for c in target_languages[t]}
    every_language |= {c for t in pool for c in study.languages[t]}
    notes = list(target_notes.values())
    missing = languages.unknown(every_language)
    if missing:
        notes.append(f"languages not in the distance table (distance 1 to any other): "
                     f"{', '.join(missing)}")
    for note in notes:
        say(f"rank: {note}")
    meta = {"study": study.spec.name, "encoder": setup.encoder_location,
            "settings": dataclasses.asdict(settings), "target_languages": target_languages,
            "logme_target": logme_target, "notes": notes,
            "examples": {n: s.examples for n, s in samples.items()}}
    return pd.DataFrame(rows), meta


def transferred_logme(intermediate, target) -> float:
    """LogME of the target's labels on the intermediate task's evidence-maximising probe
    applied to the target's features (with a bias column); NaN where either side has no
    class labels."""
    if intermediate is None or target is None:
        return math.nan
    weights = probe(*intermediate)
    outputs = target[0] @ weights
    return logme(np.column_stack([outputs, np.ones(len(outputs))]), target[1])


def _target_examples(task, study: Study, load_split, trained: bool) -> list[dict]:
    """A trained target's English training data; an untrained one's scored split's
    examples in each of its languages (text only: its labels are never read)."""
    if trained:
        return load_split(task, "train")
    from xstilts.tasks.splits import scored_split

    examples = []
    for lang in task.languages:
        split = scored_split(task, study.base.targets.eval_split, lang)
        examples += list(load_split(task, split, lang))
    return examples


def rank_study(study: Study, study_path: Path, out: Path, settings, top: int | None = None,
               log=None) -> dict:
    """Estimate, combine, write rank.csv and rank.json (and the top-M study); returns
    {"frame": rank frame, "meta": ..., "top_file": path or None}."""
    singles, meta = estimate(study, settings, log)
    scored = combine.single_scores(singles)
    frame = combine.set_rows(scored, candidate_sets(study), study.languages,
                             meta["target_languages"], meta["logme_target"])
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / RANK_FILE, frame.to_csv(index=False))
    meta["singles"] = scored.to_dict(orient="records")
    meta["key"] = rank_key(study, settings)
    write_json_atomic(out / META_FILE, meta)
    top_file = None
    if top:
        sets = combine.top_sets(frame, top)
        name = f"{study.spec.name}-top{top}"
        data, _ = read_yaml_mapping(read_yaml_file(study_path, "study"), study_path,
                                    "examples/study-tiny.yaml")
        text = combine.study_yaml(combine.top_study(data, Path(study_path), sets, name),
                                  f"the {len(sets)} best sets of {study.spec.name} by "
                                  f"`xstilts rank` ({out / RANK_FILE}), plus the baseline")
        top_file = out / f"{name}.yaml"
        write_text_atomic(top_file, text)
    return {"frame": frame, "meta": meta, "top_file": top_file}


def summary_text(result: dict, out: Path, limit: int = 20) -> str:
    """What `xstilts rank` prints: the ranking over every target, then each target's top 3."""
    frame = result["frame"]
    lines = ["Sets ranked by predicted gain, mean score over the targets (rule: README, "
             "'Predicting before training'):",
             combine.as_table(frame[frame["target"] == combine.AVERAGE], limit)]
    for target, group in frame[frame["target"] != combine.AVERAGE].groupby("target",
                                                                            sort=False):
        best = ", ".join(f"{r.set} ({r.score:.2f})" for r in group.head(3).itertuples())
        lines.append(f"{target}: {best}")
    lines += [f"note: {n}" for n in result["meta"]["notes"]]
    lines.append(f"ranking: {out / RANK_FILE}")
    if result["top_file"]:
        lines.append(f"study of the top sets: {result['top_file']}")
    return "\n".join(lines)
