"""A study's statistics: scores per arm, means per k with bootstrap intervals, the slope over
log2(k), a regression separating "more tasks" from "more languages", the same-language effect
and the best set per target.

Scores are percentages; a gain is in percentage points over the baseline's (k = 0) mean.
Every interval is a 95% one unless `level` says otherwise; bootstraps use numpy Generators
seeded as documented per function, so a test can redraw the same resamples.
"""

from __future__ import annotations

import math
import zlib

import numpy as np
import pandas as pd
from scipy import stats

from xstilts.evaluate.average import task_score
from xstilts.evaluate.xtreme import describe_average, split_text

LEVEL = 0.95
N_BOOT = 2000
ARM_COLUMNS = ["intermediate", "k", "n_languages", "languages", "english_in_set",
               "intermediate_seed", "target_seed"]


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


def arm_table(frame: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """One row per arm (index run_id): its columns, each target's score (target_scores: its
    main metric averaged over its languages, (EM + F1) / 2 for span QA) and `average`, the
    mean over `targets` of those scores (NaN when one of them is missing for the arm; what it
    is, XTREME score or partial, says `average_description`)."""
    scores = target_scores(frame)
    wide = scores.pivot_table(index="run_id", columns="target", values="score", aggfunc="mean")
    arms = frame.drop_duplicates("run_id").set_index("run_id")[ARM_COLUMNS]
    table = arms.join(wide.reindex(columns=targets))
    table["average"] = table[targets].mean(axis=1, skipna=False)
    return table.sort_values(["k", "intermediate", "intermediate_seed", "target_seed"])


def average_description(frame: pd.DataFrame, targets: list[str]) -> dict:
    """What arm_table's `average` is (evaluate.xtreme.describe_average over the targets and
    the languages they were scored on, with "splits": split_text of those languages' splits):
    the XTREME score only with all nine XTREME tasks in all their official languages; a
    partial average naming what is missing; for other targets "average over its N targets"."""
    rows = frame[(frame["language"] != "avg") & frame["target"].isin(targets)]
    languages = {t: list(dict.fromkeys(rows.loc[rows["target"] == t, "language"]))
                 for t in targets}
    described = describe_average(languages)
    if "split" in rows:
        per_language = rows.drop_duplicates(["target", "language"])
        described["splits"] = split_text({t: {lang: sp for lang, sp in zip(
            g["language"], g["split"], strict=True) if sp} for t, g in per_language.groupby(
            "target", sort=False)})
    return described


def bootstrap_mean(values, n_boot: int = N_BOOT, seed=0, level: float = LEVEL
                   ) -> tuple[float, float, float]:
    """The mean and its percentile bootstrap interval: `n_boot` resamples with replacement,
    indices `np.random.default_rng(seed).integers(0, n, (n_boot, n))`; NaN bounds for n < 2."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return math.nan, math.nan, math.nan
    if len(v) < 2:  # one value: no spread to resample
        return float(v.mean()), math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(v.mean()), float(low), float(high)


def mean_by_k(table: pd.DataFrame, column: str = "average", n_boot: int = N_BOOT,
              seed: int = 0, level: float = LEVEL) -> pd.DataFrame:
    """Per k: the mean of `column` over its arms (sets × seeds) and its bootstrap interval,
    resampling arms (bootstrap_mean seeded with [seed, k])."""
    rows = []
    for k, group in table.dropna(subset=[column]).groupby("k"):
        mean, low, high = bootstrap_mean(group[column], n_boot, [seed, int(k)], level)
        rows.append({"k": int(k), "arms": len(group), "sets": group["intermediate"].nunique(),
                     "mean": mean, "sd": float(group[column].std(ddof=1)) if len(group) > 1
                     else math.nan, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=["k", "arms", "sets", "mean", "sd", "ci_low", "ci_high"])


def slope_log2k(table: pd.DataFrame, column: str = "average", level: float = LEVEL) -> dict:
    """OLS slope of `column` on log2(k) over arms with k ≥ 1 (points per doubling of k), with
    its t interval (scipy.stats.linregress's standard error, n - 2 degrees of freedom)."""
    sub = table[(table["k"] >= 1) & table[column].notna()]
    x, y = np.log2(sub["k"].to_numpy(float)), sub[column].to_numpy(float)
    out = {"slope": math.nan, "intercept": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "stderr": math.nan, "p": math.nan, "n": len(sub), "note": ""}
    if len(set(x)) < 2 or len(sub) < 3:
        out["note"] = "needs arms at two sizes k ≥ 1 or more (and 3 arms)"
        return out
    fit = stats.linregress(x, y)
    t = stats.t.ppf((1 + level) / 2, len(sub) - 2)
    out.update(slope=float(fit.slope), intercept=float(fit.intercept), stderr=float(fit.stderr),
               p=float(fit.pvalue), ci_low=float(fit.slope - t * fit.stderr),
               ci_high=float(fit.slope + t * fit.stderr))
    return out


def ols(y, x: np.ndarray, names: list[str], level: float = LEVEL) -> pd.DataFrame:
    """Least squares y ~ x (x holds the intercept column if wanted) with classical standard
    errors sqrt(diag(s² (XᵀX)⁻¹)), s² = RSS / (n - p), and t intervals and p-values."""
    y, x = np.asarray(y, dtype=float), np.asarray(x, dtype=float)
    n, p = x.shape
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    dof = n - p
    if dof > 0:
        resid = y - x @ beta
        cov = (resid @ resid / dof) * np.linalg.inv(x.T @ x)
        se = np.sqrt(np.diag(cov))
        t = stats.t.ppf((1 + level) / 2, dof)
        with np.errstate(divide="ignore", invalid="ignore"):
            pvalues = 2 * stats.t.sf(np.abs(beta / se), dof)
    else:  # as many terms as arms: an exact fit, no error estimate
        se = pvalues = np.full(p, math.nan)
        t = math.nan
    return pd.DataFrame({"term": names, "estimate": beta, "stderr": se,
                         "ci_low": beta - t * se, "ci_high": beta + t * se, "p": pvalues})


def scaling_regression(table: pd.DataFrame, column: str = "average", level: float = LEVEL
                       ) -> tuple[pd.DataFrame, list[str], int]:
    """score ~ 1 + log2(k) + n_languages + english_in_set over arms with k ≥ 1: "more tasks"
    and "more languages" separately. A term the arms cannot separate from the ones before it
    (constant, or collinear) is left out with a note. Returns (terms, notes, arms)."""
    sub = table[(table["k"] >= 1) & table[column].notna()]
    notes = []
    if sub["english_in_set"].isna().any():
        sub = sub.drop(columns="english_in_set")
        notes.append("english_in_set: the pool's languages are unknown (no plan.json); "
                     "left out")
    candidates = {"intercept": np.ones(len(sub)), "log2(k)": np.log2(sub["k"].to_numpy(float)),
                  "n_languages": sub["n_languages"].to_numpy(float)}
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
    if len(sub) <= len(names):
        notes.append(f"{len(sub)} arm(s) for {len(names)} terms: no intervals")
    if not len(sub):
        return pd.DataFrame(columns=["term", "estimate", "stderr", "ci_low", "ci_high", "p"]), \
            notes, 0
    return ols(sub[column].to_numpy(float), np.column_stack(columns), names, level), notes, \
        len(sub)


def gains(frame: pd.DataFrame) -> pd.DataFrame:
    """Main-metric rows of non-baseline arms with `gain`: value minus the baseline arms' mean
    for the same target and language (NaN without a baseline)."""
    main = frame[frame["main"]]
    base = main[main["k"] == 0].groupby(["target", "language"])["value"].mean()
    out = main[main["k"] > 0].copy()
    out["baseline"] = [base.get((t, lang), math.nan)
                       for t, lang in zip(out["target"], out["language"], strict=True)]
    out["gain"] = out["value"] - out["baseline"]
    return out


def _language_seed(seed: int, language: str) -> list[int]:
    return [seed, zlib.crc32(language.encode("utf-8"))]


def same_language_effect(frame: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0,
                         level: float = LEVEL) -> pd.DataFrame:
    """Per target language L: each arm's gain on L (averaged over the targets tested in L) in
    arms whose set has a task in L vs arms whose set has none; the difference's interval
    resamples each group's arms independently (rng seeded with [seed, crc32(L)]; `with`
    indices drawn first)."""
    columns = ["language", "arms_with", "arms_without", "gain_with", "gain_without",
               "difference", "ci_low", "ci_high"]
    rows = gains(frame[frame["language"] != "avg"])
    if rows.empty or rows["languages"].isna().any():
        return pd.DataFrame(columns=columns)
    per_arm = rows.groupby(["run_id", "language", "languages"])["gain"].mean().reset_index()
    out = []
    for lang, group in per_arm.groupby("language"):
        has = group["languages"].map(lambda s, lang=lang: lang in s.split(","))
        a, b = group.loc[has, "gain"].to_numpy(), group.loc[~has, "gain"].to_numpy()
        low = high = math.nan
        if len(a) >= 2 and len(b) >= 2:
            rng = np.random.default_rng(_language_seed(seed, lang))
            ia = rng.integers(0, len(a), size=(n_boot, len(a)))
            ib = rng.integers(0, len(b), size=(n_boot, len(b)))
            diffs = a[ia].mean(axis=1) - b[ib].mean(axis=1)
            low, high = np.quantile(diffs, [(1 - level) / 2, (1 + level) / 2])
        mean_a = float(a.mean()) if len(a) else math.nan
        mean_b = float(b.mean()) if len(b) else math.nan
        out.append({"language": lang, "arms_with": len(a), "arms_without": len(b),
                    "gain_with": mean_a, "gain_without": mean_b, "difference": mean_a - mean_b,
                    "ci_low": float(low), "ci_high": float(high)})
    return pd.DataFrame(out, columns=columns)


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


def by_k_language(frame: pd.DataFrame) -> pd.DataFrame:
    """Main metric per target, language (and 'avg') and k: mean over arms, the baseline mean,
    the gain over it, and `split`, the split the language was scored on (for 'avg',
    evaluate.xtreme.split_text of its languages' splits; "" where the frame has none)."""
    main = frame[frame["main"]]
    out = main.groupby(["target", "language", "k"])["value"].agg(["mean", "count"]).reset_index()
    base = out[out["k"] == 0].set_index(["target", "language"])["mean"]
    out["baseline"] = [base.get((t, lang), math.nan)
                       for t, lang in zip(out["target"], out["language"], strict=True)]
    out["gain"] = out["mean"] - out["baseline"]
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
    return out.rename(columns={"count": "arms"})
