"""A study's statistics: scores per arm, means per k with their intervals, each k against the
baseline and the best single task, the slope over log2(k), a regression separating "more
tasks" from "more languages", per target and language gains, the same-language effect at a
fixed k and the best set per target.

Scores are percentages; a gain is in percentage points over the baseline's (k = 0) mean.
Sets are the units of every interval and test (study/stats.py says how); an arm's `model`
names the evaluations it was scored by, so arms that share them (an untrained target is
scored once per intermediate model, whatever the target seed) count once. Every interval is
a 95% one unless `level` says otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from xstilts.evaluate.average import task_score
from xstilts.evaluate.xtreme import describe_average, split_text
from xstilts.study import stats
from xstilts.study.stats import LEVEL

ARM_COLUMNS = ["intermediate", "k", "n_languages", "languages", "english_in_set",
               "intermediate_seed", "target_seed"]
# results.load_results' (study/budget.py; the pool from plan.json), when present
COVARIATES = ["budget", "tokens_seen", "whole_pool"]
TOKENS = "log2(tokens seen)"
BY_K = ["k", "arms", "sets", "units", "mean", "sd", "ci_low", "ci_high"]
VERSUS = ["k", "against", "reference", "units", "reference_units", "difference", "ci_low",
          "ci_high", "p", "p_holm"]


def target_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Per arm (run_id) × target: `score`, what the target contributes to the average over the
    targets — evaluate.average.task_score of its metrics averaged over its languages: (EM +
    F1) / 2 for span QA (XTREME's rule), else its main metric."""
    rows = []
    for (run_id, target), group in frame[frame["language"] == "avg"].groupby(
            ["run_id", "target"], sort=False):
        main = group.loc[group["main"], "metric"]
        metrics = dict(zip(group["metric"], group["value"], strict=True))
        rows.append({"run_id": run_id, "target": target,
                     "score": task_score(metrics, main.iloc[0] if len(main) else None)})
    return pd.DataFrame(rows, columns=["run_id", "target", "score"])


def with_models(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with `model`: the evaluation job of a language's row, the target's jobs for
    its 'avg' row (the run_id where the frame names no jobs). Rows of one target, language
    and model are one measurement, however many arms list it."""
    out = frame.copy()
    if "job" not in out or not (out["job"] != "").any():
        out["model"] = out["run_id"].astype(str)
        return out
    jobs = out[out["language"] != "avg"].groupby(["run_id", "target"])["job"].agg(
        lambda s: "+".join(sorted(set(s))))
    out["model"] = [job if lang != "avg" else jobs.get((run, target), run) for job, lang, run,
                    target in zip(out["job"], out["language"], out["run_id"], out["target"],
                                  strict=True)]
    return out


def arm_table(frame: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """One row per arm (index run_id): its columns, each target's score (target_scores: its
    main metric averaged over its languages, (EM + F1) / 2 for span QA), `average`, the
    mean over `targets` of those scores (NaN when one of them is missing for the arm; what it
    is, XTREME score or partial, says `average_description`), and `model`, the evaluations
    its scores come from (arms with the same are one measurement)."""
    scores = target_scores(frame)
    wide = scores.pivot_table(index="run_id", columns="target", values="score", aggfunc="mean")
    arms = frame.drop_duplicates("run_id").set_index("run_id")[
        ARM_COLUMNS + [c for c in COVARIATES if c in frame]]
    table = arms.join(wide.reindex(columns=targets))
    table["average"] = table[targets].mean(axis=1, skipna=False)
    models = with_models(frame[frame["language"] != "avg"]).groupby("run_id")["model"].agg(
        lambda s: "+".join(sorted(set(s))))
    table["model"] = [models.get(run, run) for run in table.index]
    return table.sort_values(["k", "intermediate", "intermediate_seed", "target_seed"])


def average_description(frame: pd.DataFrame, targets: list[str], limited=()) -> dict:
    """What arm_table's `average` is (evaluate.xtreme.describe_average over the targets and
    the languages they were scored on, with "splits": split_text of those languages' splits):
    the XTREME score only with all nine XTREME tasks in all their official languages; a
    partial average naming what is missing; for other targets "average over its N targets";
    `limited`: targets evaluated with test_limit (never the XTREME score)."""
    rows = frame[(frame["language"] != "avg") & frame["target"].isin(targets)]
    languages = {t: list(dict.fromkeys(rows.loc[rows["target"] == t, "language"]))
                 for t in targets}
    described = describe_average(languages, limited=limited)
    if "split" in rows:
        per_language = rows.drop_duplicates(["target", "language"])
        described["splits"] = split_text({t: {lang: sp for lang, sp in zip(
            g["language"], g["split"], strict=True) if sp} for t, g in per_language.groupby(
            "target", sort=False)})
    return described



def measured_arms(table: pd.DataFrame, column: str = "average") -> pd.DataFrame:
    """The arms with a `column` score, each model once (arms sharing all their evaluations
    are one measurement)."""
    sub = table[table[column].notna()]
    return sub.drop_duplicates(["intermediate", "model"]) if "model" in sub else sub


def set_scores(table: pd.DataFrame, column: str = "average") -> pd.DataFrame:
    """Per intermediate set (index): k and its mean `column` over its measured arms (`score`)
    with their number (`arms`): the units of every interval over sets."""
    arms = measured_arms(table, column)
    return arms.groupby("intermediate").agg(k=("k", "first"), score=(column, "mean"),
                                            arms=(column, "size"))


def seeds_as_units(table: pd.DataFrame) -> set[int]:
    """The sizes k whose one set has no other of its size, so that its seeds are the units:
    the baseline (k = 0, no intermediate phase) and the set of every pool task (results'
    `whole_pool`, from plan.json: the paper's all-nine set)."""
    alone = {""}
    if "whole_pool" in table:
        alone |= set(table.loc[table["whole_pool"].fillna(False).astype(bool), "intermediate"])
    names = table.groupby("k")["intermediate"].agg(set)
    return {int(k) for k, sets in names.items() if sets <= alone}


def units_by_k(table: pd.DataFrame, column: str = "average") -> dict[int, np.ndarray]:
    """Per k, its independent units: the sets' scores, or the measured arms where the seeds
    are the only thing that varies (seeds_as_units)."""
    sets, arms = set_scores(table, column), measured_arms(table, column)
    seeds = seeds_as_units(table)
    out = {int(k): group[column].to_numpy(float) if k in seeds
           else sets.loc[sets["k"] == k, "score"].to_numpy(float)
           for k, group in arms.groupby("k")}
    return dict(sorted(out.items()))


def mean_by_k(table: pd.DataFrame, column: str = "average", level: float = LEVEL
              ) -> pd.DataFrame:
    """Per k: measured arms, sets, units (units_by_k), the mean over the units and its t
    interval (stats.t_interval): a mean over sets, each set's seeds averaged first."""
    arms = measured_arms(table, column)
    rows = []
    for k, units in units_by_k(table, column).items():
        here = arms[arms["k"] == k]
        rows.append({"k": k, "arms": len(here), "sets": here["intermediate"].nunique(),
                     **stats.t_interval(units, level), "units": len(units)})
    return pd.DataFrame(rows, columns=BY_K)


def best_single(table: pd.DataFrame, column: str = "average") -> str | None:
    """The single task (k = 1 set) with the highest mean `column` over its seeds."""
    sets = set_scores(table, column)
    singles = sets.loc[sets["k"] == 1, "score"]
    return str(singles.idxmax()) if len(singles) else None


def comparisons(table: pd.DataFrame, column: str = "average", level: float = LEVEL,
                fixed_baseline: bool = False) -> pd.DataFrame:
    """Each k ≥ 1 against the baseline, and each k ≥ 2 against the best single task (its seeds
    as its units; chosen on these same scores, which favours it): stats.difference, with
    Holm's correction within each of the two families. `fixed_baseline`: the baseline is one
    fixed model (every target untrained)."""
    units = units_by_k(table, column)
    arms = measured_arms(table, column)
    best = best_single(table, column)
    references = []
    if 0 in units:
        references.append(("baseline", "baseline (k = 0)", units[0], fixed_baseline, 1))
    if best is not None:
        references.append(("best single task", best, arms.loc[arms["intermediate"] == best,
                                                              column].to_numpy(float), False, 2))
    rows = []
    for against, name, ref, fixed, smallest in references:
        family = [{"k": k, "against": against, "reference": name, "units": len(values),
                   "reference_units": len(ref),
                   **stats.difference(values, ref, level, b_fixed=fixed)}
                  for k, values in units.items() if k >= smallest]
        for row, p in zip(family, stats.adjust([r["p"] for r in family], "holm"), strict=True):
            row["p_holm"] = p
        rows += family
    return pd.DataFrame(rows, columns=VERSUS)


def slope_log2k(table: pd.DataFrame, column: str = "average", level: float = LEVEL) -> dict:
    """Least-squares slope of `column` on log2(k) over the measured arms with k ≥ 1 (points per
    doubling of k), its standard error clustered by set (stats.cluster_ols); `n` arms, `sets`
    clusters. Needs two sizes; an interval needs three sets."""
    sub = measured_arms(table[table["k"] >= 1], column)
    out = {"slope": math.nan, "intercept": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "stderr": math.nan, "p": math.nan, "n": len(sub),
           "sets": sub["intermediate"].nunique(), "note": ""}
    x = np.log2(sub["k"].to_numpy(float))
    if len(set(x)) < 2:
        out["note"] = "needs arms at two sizes k ≥ 1"
        return out
    fit = stats.cluster_ols(sub[column], np.column_stack([np.ones(len(x)), x]),
                            ["intercept", "slope"], sub["intermediate"], level).set_index("term")
    out.update(slope=float(fit.loc["slope", "estimate"]),
               intercept=float(fit.loc["intercept", "estimate"]),
               **{key: float(fit.loc["slope", key]) for key in ("stderr", "ci_low", "ci_high",
                                                                "p")})
    alone = fit.loc["slope", "rests_on"]
    if out["sets"] < 3:
        out["note"] = f"{out['sets']} set(s): an interval needs 3 or more"
    elif pd.notna(alone):
        k = int(sub.loc[sub["intermediate"] == alone, "k"].iloc[0])
        out["note"] = (f"the slope rests on the one set at k = {k}, and with sets as the "
                       "units one set has no spread to measure")
    elif math.isnan(out["stderr"]):
        out["note"] = "the standard error clustered by set is undefined"
    return out


def scaling_regression(table: pd.DataFrame, column: str = "average", level: float = LEVEL
                       ) -> tuple[pd.DataFrame, list[str], int]:
    """score ~ 1 + log2(k) + n_languages + english_in_set over the measured arms with k ≥ 1,
    standard errors clustered by set: "more tasks" and "more languages" separately. Where the
    arms hold several budget regimes (`budget`), log2(tokens seen by the intermediate phase)
    follows log2(k): "more tasks" at a fixed amount of training, and "more training" at a
    fixed k (one regime fixes the training by k, so the term is not asked for). A term the
    arms cannot separate from the ones before it (constant, or collinear) is left out with a
    note. Returns (terms, notes, arms)."""
    sub = measured_arms(table[table["k"] >= 1], column)
    notes = []
    tokens = _tokens_term(sub, notes)
    if sub["english_in_set"].isna().any():
        sub = sub.drop(columns="english_in_set")
        notes.append("english_in_set: the pool's languages are unknown (no plan.json); "
                     "left out")
    candidates = {"intercept": np.ones(len(sub)), "log2(k)": np.log2(sub["k"].to_numpy(float)),
                  **tokens, "n_languages": sub["n_languages"].to_numpy(float)}
    if "english_in_set" in sub:
        candidates["english_in_set"] = sub["english_in_set"].astype(float).to_numpy()
    names, columns = [], []
    for name, values in candidates.items():
        trial = np.column_stack([*columns, values])
        if np.linalg.matrix_rank(trial) > len(columns):
            names.append(name)
            columns.append(values)
        else:
            notes.append(f"{name}: not separable from {', '.join(names)} with these arms "
                         "(constant or collinear); left out")
    if not len(sub):
        return pd.DataFrame(columns=stats.TERM_COLUMNS), notes, 0
    sets = sub["intermediate"].nunique()
    if sets <= len(names):
        notes.append(f"{sets} set(s) for {len(names)} terms: no intervals (standard errors "
                     "clustered by set need more sets than terms)")
    terms = stats.cluster_ols(sub[column], np.column_stack(columns), names,
                              sub["intermediate"], level)
    for r in terms[terms["rests_on"].notna()].itertuples():
        notes.append(f"{r.term}: rests on one set ({r.rests_on}), the only one that "
                     "separates it from the other terms; with sets as the units one set "
                     "has no spread to measure: no interval")
    return terms.drop(columns="rests_on"), notes, len(sub)


def _tokens_term(arms: pd.DataFrame, notes: list[str]) -> dict[str, np.ndarray]:
    """{TOKENS: values} where the arms hold several budget regimes and every arm's tokens are
    recorded; a note where they are not."""
    if "budget" not in arms or arms.loc[arms["budget"] != "", "budget"].dropna().nunique() < 2:
        return {}
    tokens = pd.to_numeric(arms["tokens_seen"], errors="coerce")
    if not (tokens > 0).all():
        notes.append(f"{TOKENS}: not recorded for {int((~(tokens > 0)).sum())} arm(s) (their "
                     "intermediate job's summary has no 'seen': an older or unfinished job); "
                     "left out")
        return {}
    return {TOKENS: np.log2(tokens.to_numpy(float))}


def _language_scores(frame: pd.DataFrame) -> pd.DataFrame:
    """Main-metric scores per set × target × language (mean over its models), with k and the
    set's training languages."""
    rows = with_models(frame[frame["main"] & (frame["language"] != "avg")])
    rows = rows.drop_duplicates(["target", "language", "model"])
    return rows.groupby(["intermediate", "target", "language"], as_index=False).agg(
        k=("k", "first"), languages=("languages", "first"), score=("value", "mean"))


def same_language_effect(frame: pd.DataFrame, level: float = LEVEL) -> pd.DataFrame:
    """Per target language L and size k ≥ 1: sets with a task trained in L against sets of the
    same size without one. A set's score on L is its mean over seeds, averaged over the targets
    tested in L; its gain subtracts the baseline's score on L (the same for both groups, so the
    difference is Welch's over the two groups' sets: stats.difference). Comparing at one k
    keeps set size out of the difference. p_bh: Benjamini-Hochberg over every (L, k)."""
    columns = ["language", "k", "sets_with", "sets_without", "gain_with", "gain_without",
               "difference", "ci_low", "ci_high", "p", "p_bh"]
    if frame.empty or frame["languages"].isna().any():
        return pd.DataFrame(columns=columns)
    scores = _language_scores(frame)
    base = scores[scores["k"] == 0].groupby("language")["score"].mean()
    per_set = scores[scores["k"] >= 1].groupby(["intermediate", "language"], as_index=False).agg(
        k=("k", "first"), languages=("languages", "first"), score=("score", "mean"))
    out = []
    for (lang, k), group in per_set.groupby(["language", "k"]):
        has = group["languages"].map(lambda s, lang=lang: lang in str(s).split(","))
        a, b = group.loc[has, "score"].to_numpy(float), group.loc[~has, "score"].to_numpy(float)
        baseline = base.get(lang, math.nan)
        test = stats.difference(a, b, level)
        out.append({"language": lang, "k": int(k), "sets_with": len(a), "sets_without": len(b),
                    "gain_with": float(a.mean()) - baseline if len(a) else math.nan,
                    "gain_without": float(b.mean()) - baseline if len(b) else math.nan,
                    **{c: test[c] for c in ("difference", "ci_low", "ci_high", "p")}})
    table = pd.DataFrame(out, columns=columns)
    table["p_bh"] = stats.adjust(table["p"], "fdr_bh")
    return table


def best_sets(table: pd.DataFrame, targets: list[str], dev: pd.DataFrame | None = None
              ) -> tuple[pd.DataFrame, dict]:
    """Per target, the intermediate set with the highest mean test score over its seeds (and,
    where `dev` gives the targets' dev scores per arm, the set with the best mean dev score);
    with the benchmark average that picking each target's best set gives.

    `dev`: columns run_id, target, dev. Returns (per target rows, benchmark dict)."""
    runs, base = table[table["k"] >= 1], table[table["k"] == 0]
    by_set = runs.groupby("intermediate")[targets + ["average"]].mean()
    rows = []
    dev_by_set = None
    if dev is not None and not dev.empty:
        joined = dev.join(runs["intermediate"], on="run_id", how="inner")
        dev_by_set = joined.groupby(["target", "intermediate"])["dev"].mean()
    for target in targets:
        scores = by_set[target].dropna()
        row = {"target": target, "baseline": float(base[target].mean()) if len(base)
               else math.nan, "best_set": "", "k": math.nan, "score": math.nan,
               "dev_set": "", "dev_set_score": math.nan}
        if len(scores):
            best = scores.idxmax()
            row.update(best_set=best, k=len(best.split(",")), score=float(scores[best]))
        if dev_by_set is not None and target in dev_by_set.index.get_level_values(0):
            choice = dev_by_set[target].idxmax()
            row.update(dev_set=choice, dev_set_score=float(by_set.loc[choice, target]))
        row["gain"] = row["score"] - row["baseline"]
        rows.append(row)
    per_target = pd.DataFrame(rows)
    averages = by_set["average"].dropna()
    bench = {"baseline": float(base["average"].mean()) if len(base) else math.nan,
             "oracle": float(per_target["score"].mean(skipna=False)) if rows else math.nan,
             "dev_chosen": (float(per_target["dev_set_score"].mean(skipna=False))
                            if dev_by_set is not None and rows else math.nan),
             "best_single_set": averages.idxmax() if len(averages) else "",
             "best_single_score": float(averages.max()) if len(averages) else math.nan}
    return per_target, bench


def by_k_language(frame: pd.DataFrame, level: float = LEVEL,
                  untrained: frozenset[str] = frozenset()) -> pd.DataFrame:
    """Main metric per target, language (and 'avg') and k: `sets`, measured `arms`, the mean
    over sets (k ≥ 1; each set's models averaged first) or over the baseline's models, the
    baseline's mean, the gain over it with Welch's interval and p against the baseline's
    models (an `untrained` target's baseline is one fixed model: no variance), `p_bh`
    (Benjamini-Hochberg over every target × language × k ≥ 1 cell; the targets' 'avg' rows
    are a family of their own), and `split`, the split the
    language was scored on (for 'avg', evaluate.xtreme.split_text of its languages' splits;
    "" where the frame has none)."""
    main = with_models(frame[frame["main"]])
    main = main.drop_duplicates(["target", "language", "model"])
    seeds = seeds_as_units(frame)  # their models are the units, as in units_by_k
    rows = []
    for (target, lang), group in main.groupby(["target", "language"]):
        base = group.loc[group["k"] == 0, "value"].to_numpy(float)
        per_set = group[group["k"] >= 1].groupby("intermediate").agg(
            k=("k", "first"), score=("value", "mean"))
        for k in sorted(group["k"].unique()):
            here = group[group["k"] == k]
            units = (here["value"].to_numpy(float) if k in seeds
                     else per_set.loc[per_set["k"] == k, "score"].to_numpy(float))
            row = {"target": target, "language": lang, "k": int(k),
                   "sets": here["intermediate"].nunique(), "arms": len(here),
                   "mean": float(units.mean()), "baseline": float(base.mean()) if len(base)
                   else math.nan}
            test = (stats.difference(units, base, level, b_fixed=target in untrained)
                    if k > 0 else {})
            row.update(gain=test.get("difference", math.nan) if len(base) else math.nan,
                       ci_low=test.get("ci_low", math.nan), ci_high=test.get("ci_high", math.nan),
                       p=test.get("p", math.nan))
            rows.append(row)
    out = pd.DataFrame(rows, columns=["target", "language", "k", "sets", "arms", "mean",
                                      "baseline", "gain", "ci_low", "ci_high", "p"])
    out["p_bh"] = np.nan
    for family in (out["language"] != "avg", out["language"] == "avg"):
        out.loc[family, "p_bh"] = stats.adjust(out.loc[family, "p"], "fdr_bh")
    splits: dict[tuple[str, str], str] = {}
    if "split" in main:
        rows = main[(main["language"] != "avg") & (main["split"] != "")]
        for (target, lang), group in rows.groupby(["target", "language"]):
            splits[(target, lang)] = "/".join(sorted(set(group["split"])))
        for target, group in rows.drop_duplicates(["target", "language"]).groupby("target"):
            splits[(target, "avg")] = split_text(dict(zip(group["language"], group["split"],
                                                          strict=True)))
    out["split"] = [splits.get((t, lang), "")
                    for t, lang in zip(out["target"], out["language"], strict=True)]
    return out
