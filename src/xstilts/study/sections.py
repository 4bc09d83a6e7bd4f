"""The report's sections beyond its answers: coverage, per target and language, the
same-language effect, single-task transfer, the best sets and the methods."""

from __future__ import annotations

import json

import pandas as pd

from xstilts import __version__
from xstilts.study import plots
from xstilts.study.coverage import Coverage
from xstilts.study.render import Box, Bullets, Figure, Heading, Para, Table, interval, num
from xstilts.study.results import StudyData
from xstilts.study.stats import MIN_UNITS

INCOMPLETE_LISTED = 40  # beyond this many incomplete arms, the list ends with a count


def coverage_note(cover: Coverage) -> Para:
    """The report's first line: how many planned arms are complete, and that only they count."""
    missing = cover.incomplete
    if missing.empty:
        return Para(f"{cover.summary()}: every target has its results in every planned "
                    "language.")
    return Para(f"{cover.summary()}: {len(missing)} arm(s) lack results (listed under "
                "Coverage). Every average, interval, test and figure below uses the "
                f"{len(cover.arms) - len(missing)} complete arm(s) only, so that each k and "
                "each language is averaged over the same arms.", note=True)


def coverage_blocks(cover: Coverage, frame: pd.DataFrame) -> list:
    """Planned and complete arms per k (per budget regime and k where there are several)
    and per target language; the incomplete arms."""
    by_lang = cover.by_language(frame)
    languages = list(dict.fromkeys(by_lang["language"]))
    keys = cover.keys  # ["k"], or ["budget", "k"]
    per_k = cover.by_k()
    cells = by_lang.set_index([*keys, "language"])["complete"]
    rows = [[*([r.budget or "– (baseline, shared)"] if len(keys) > 1 else []), str(r.k),
             str(int(r.planned)), str(int(r.complete)),
             *[str(int(cells.get((*[getattr(r, c) for c in keys], lang), 0)))
               for lang in languages]]
            for r in per_k.itertuples()]
    blocks: list = [Heading("Coverage"),
                    Para("Planned arms (set × seeds) and complete ones, per k"
                         + (" and budget regime" if len(keys) > 1 else "") + "; per target "
                         "language, the arms with every target tested in it scored there."),
                    Table([*keys, "planned", "complete",
                           *[f"complete in {lang}" for lang in languages]], rows)]
    missing = cover.incomplete
    if len(missing):
        listed = [f"k = {r.k}, {r.intermediate or 'baseline'} (seeds {r.intermediate_seed}/"
                  f"{r.target_seed}" + (f", budget {r.budget}" if len(keys) > 1 and r.budget
                                       else "") + f"): missing {r.missing}"
                  for r in missing.head(INCOMPLETE_LISTED).itertuples()]
        if len(missing) > INCOMPLETE_LISTED:
            listed.append(f"… and {len(missing) - INCOMPLETE_LISTED} more")
        blocks += [Para("Incomplete arms, left out of every statistic:"), Bullets(listed)]
    return blocks


def language_blocks(by_lang: pd.DataFrame, targets: list[str], metrics: dict[str, str]
                    ) -> list:
    """Per target and language: the score and gain plots, the gain heatmap and the table."""
    cells = by_lang[(by_lang["k"] >= 1) & (by_lang["language"] != "avg")]
    tested = cells["p"].notna().sum()
    found = int((cells["p_bh"] < 0.05).sum())
    blocks = [Heading("Per target and language"),
              Figure("targets_vs_k.png", plots.targets_vs_k(by_lang, targets, metrics),
                     "score and gain vs k per target and language",
                     "Left: mean main score per k and language, over sets (each set's seeds "
                     "averaged first; dashed: the baseline's). Right: gain over the baseline "
                     "in percentage points.")]
    if len(cells):
        blocks.append(Figure("gain_heatmap.png", plots.gain_heatmap(by_lang, targets),
                             "gain over the baseline per target language and k",
                             "Gain over the baseline per target, language and k (points); "
                             "*: Benjamini-Hochberg-adjusted p < 0.05 over the "
                             f"{tested} tested cells (Welch's t over sets against the "
                             "baseline's seeds); n: sets per k."))
    blocks += [Table(["target", "language", "split", "k", "sets", "arms", "mean (%)",
                      "gain (points)", "95% CI", "p (BH)"],
                     [[r.target, r.language, r.split, str(r.k), str(r.sets), str(r.arms),
                       num(r.mean), "–" if r.k == 0 else num(r.gain, sign=True),
                       "–" if r.k == 0 else interval(r.ci_low, r.ci_high), num(r.p_bh, 3)]
                      for r in by_lang.itertuples()]),
               Para(f"{found} of {tested} target × language × k cells differ from the "
                    "baseline at a false discovery rate of 5% (Benjamini-Hochberg). A cell's "
                    "interval includes the baseline's seed-to-seed variance; an untrained "
                    "target's baseline is one fixed model and has none.")]
    return blocks


def same_language_blocks(effect: pd.DataFrame, data: StudyData) -> list:
    """The same-language section (needs the pool's languages from plan.json)."""
    blocks: list = [Heading("Same-language effect")]
    if data.pool_languages is None:
        return blocks + [Para("Not computed: the pool's languages are unknown without the "
                              "study's plan.json (report the study's --out folder).")]
    blocks.append(Para("For each target language and each k: the mean gain over the baseline "
                       "(main metric, averaged over the targets tested in that language) of "
                       "sets that contain a task trained in the language, and of sets of the "
                       "same size that have none; the difference's 95% interval is Welch's "
                       "over the two groups' sets (each set's seeds averaged first); p (BH): "
                       "Benjamini-Hochberg over every language and k. Sets of different sizes "
                       "are never compared."))
    if effect["difference"].notna().any():
        blocks.append(Figure("same_language.png", plots.same_language(effect),
                             "same-language effect per target language and k",
                             "Difference in gain (with − without) at each k; bars: 95% "
                             "intervals where each side has 2 or more sets (n: sets with / "
                             "without); points alone otherwise."))
    blocks.append(Table(["language", "k", "sets with", "sets without", "gain with",
                         "gain without", "difference", "95% CI", "p (BH)"],
                        [[r.language, str(r.k), str(r.sets_with), str(r.sets_without),
                          num(r.gain_with, sign=True), num(r.gain_without, sign=True),
                          num(r.difference, sign=True), interval(r.ci_low, r.ci_high),
                          num(r.p_bh, 3)] for r in effect.itertuples()]))
    return blocks


def transfer_blocks(matrix: pd.DataFrame, targets: list[str], n_boot: int, seed: int) -> list:
    """The k = 1 transfer heatmap and its table (matrix with p_bh: report.build adds it)."""
    blocks: list = [Heading("Transfer from single intermediate tasks (k = 1)")]
    if matrix.empty:
        return blocks + [Para("No arms with a single intermediate task (k = 1).")]
    tested = int(matrix["p"].notna().sum())
    blocks += [Figure("transfer_heatmap.png", plots.transfer_heatmap(matrix, targets),
                      "gain over the baseline per single task and target",
                      "Gain of each single task's arms over the baseline arms (main score, "
                      "mean over languages; seeds averaged). *: Benjamini-Hochberg-adjusted "
                      f"p < 0.05 over the {tested} tested cells, p from a paired bootstrap "
                      f"over test examples ({n_boot} resamples, seed {seed})."),
               Table(["intermediate task", "target", "gain (points)", "95% CI", "p",
                      "p (BH)", "test units", "note"],
                     [[r.task, r.target, num(r.gain, sign=True), interval(r.ci_low, r.ci_high),
                       num(r.p, 3), num(r.p_bh, 3), str(r.examples), r.note]
                      for r in matrix.itertuples()]),
               Para("The paired bootstrap resamples test examples (sentences, questions or "
                    "source sentences for F1-type metrics, recomputed with the project's "
                    "metric functions), not seeds: it says how sure the gain is on this test "
                    "set; seed-to-seed and set-to-set variation show in the intervals per k "
                    "above. Its interval is per cell (unadjusted); the stars and p (BH) "
                    "account for the number of cells.", note=True)]
    return blocks


def best_blocks(best: pd.DataFrame, bench: dict, split: str) -> list:
    """The best set per target and the average over the targets it gives."""
    rows = [[r.target, num(r.baseline), r.best_set or "–", num(r.k, 0), num(r.score),
             num(r.gain, sign=True), r.dev_set or "–", num(r.dev_set_score)]
            for r in best.itertuples()]
    undevved = [r.target for r in best.itertuples() if not r.dev_set]
    blocks = [Heading("Best intermediate set per target"),
              Table(["target", "baseline (%)", f"best set on {split}", "k", "its score (%)",
                     "gain", "set chosen on dev", "its score (%)"], rows),
              Bullets([f"Baseline average over the targets: {num(bench['baseline'])}%",
                       f"Each target's best set, chosen on {split}: {num(bench['oracle'])}%",
                       "Each target's set chosen on the targets' English dev scores: "
                       + (f"{num(bench['dev_chosen'])}%" if not undevved else
                          f"– ({', '.join(undevved)}: no dev scores; an untrained target "
                          "has none)"),
                       f"Best single set for all targets ({bench['best_single_set'] or '–'}): "
                       f"{num(bench['best_single_score'])}%"]),
              Para("Scores: each target's main metric averaged over its languages, (EM + F1) "
                   "/ 2 for span QA (what it contributes to the average over the targets)."),
              Para(f"Choosing the set on the same {split} examples it is scored on is "
                   "optimistic: the maximum over many noisy sets is biased upwards. The "
                   "dev-chosen column picks each target's set by the mean English dev score "
                   "of its target training (where the target is trained), then reports its "
                   f"{split} score.", note=True)]
    return blocks


def dev_scores(data: StudyData) -> pd.DataFrame:
    """Each arm's target dev score (the target training's best checkpoint score)."""
    rows = []
    for arm in (data.plan or {}).get("arms", []):
        for target, key in (arm.get("target_jobs") or {}).items():
            output = data.store.output(key) if key else None
            if output and output.get("best_score") is not None:
                rows.append({"run_id": arm["run_id"], "target": target,
                             "dev": float(output["best_score"])})
    return pd.DataFrame(rows, columns=["run_id", "target", "dev"])


def _compact(value):
    """A draw without its unset fields."""
    return {k: v for k, v in value.items() if v is not None} if isinstance(value, dict) else value


def _settings(values: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (values or {}).items() if v is not None) or "–"


def methods(data: StudyData, table: pd.DataFrame, cover: Coverage, n_boot_paired: int,
            seed: int) -> Box:
    """What a reader needs to reproduce the study."""
    plan = data.plan or {}
    spec = plan.get("spec") or {}
    seconds, finished = data.compute_seconds()
    unknown = "unknown (no plan.json)"
    pool = plan.get("pool")
    items = [("study", data.name), ("store", str(data.store.root)),
             ("encoder", f"{plan.get('encoder', unknown)} "
                         f"({_settings((plan.get('settings') or {}).get('encoder'))})"),
             ("pool", "; ".join(f"{t} ({', '.join(langs)})" for t, langs in pool.items())
              if pool else unknown)]
    for name, info in (plan.get("targets") or {}).items():
        limit = info.get("test_limit")
        training = (f"training: {_settings(info.get('training'))}" if info.get("trained", True)
                    else "not trained (scored zero-shot with the start model)")
        items.append((f"target {name}", f"format {info['format']}, main metric "
                      f"{info['main_metric']}, languages {', '.join(info['languages'])}, "
                      f"{info['split']} split, "
                      + (f"first {limit} examples" if limit else "every example")
                      + f"; {training}"))
    draws = {str(k): _compact(v) for k, v in (spec.get("draws") or {}).items()}
    items += [("sizes k", ", ".join(map(str, spec.get("sizes", sorted(table["k"].unique()))))),
              ("draw", f"{json.dumps(_compact(spec.get('draw')))}; per k: "
                       f"{json.dumps(draws)}; seed {spec.get('seed', '–')}" if spec else unknown),
              ("seeds", f"intermediate {spec['seeds']['intermediate']}, target "
                        f"{spec['seeds']['target']}" if spec else unknown),
              ("intermediate training", _settings((plan.get("settings") or {})
                                                  .get("intermediate")) if plan else unknown),
              ("arms", f"{cover.summary()}; the statistics use the {len(table)} complete "
                       "arm(s)"),
              ("jobs", ", ".join(f"{k} {v}" for k, v in plan["counts"].items()) + " planned; "
               f"{finished} finished" if plan else f"{finished} finished"),
              ("compute", f"{seconds:.0f} s ({seconds / 3600:.2f} h) of job time, summed over "
                          f"the {finished} finished jobs' records"),
              ("statistics", "95% intervals with the intermediate-task set as the unit (seeds "
                             "nested in sets): per k, t intervals over the sets' means (each "
                             "set's seeds averaged); gains by Welch's t, the baseline's seeds "
                             "being its units, as a whole-pool set's (the only set of its "
                             "size); slope and regression by least squares with "
                             "CR1 standard errors clustered by set (t with sets − 1 degrees "
                             "of freedom); Holm's correction across k, Benjamini-Hochberg's "
                             "across heatmap cells and languages; arms sharing every "
                             "evaluation (an untrained target scored once per model) count "
                             f"once; figures draw intervals from {MIN_UNITS} units on; "
                             f"paired bootstrap over test examples {n_boot_paired} "
                             f"resamples, seed {seed}"),
              ("xstilts", f"{__version__} (jobs by {plan.get('xstilts', unknown)})")]
    return Box("Methods", items)
