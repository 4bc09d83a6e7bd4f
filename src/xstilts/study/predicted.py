"""The report's "Predicted vs measured": how well `xstilts rank`'s scores (rank.csv in the
study's folder) ordered the sets the study then trained.

Per target (and for the average over the targets): each set's measured gain is its arms'
mean score (seeds averaged) minus the baseline arms' mean, in points; Spearman's rho between
the predicted score and the measured gain over the sets (scipy.stats.spearmanr), with a 95%
percentile bootstrap interval resampling sets (N_BOOT resamples, numpy default_rng([seed,
crc32(target)]); resamples whose ranks are constant are dropped); and the regret of trusting
the ranking: the best measured gain minus the measured gain of the set ranked first among the
measured ones. Below MIN_SETS sets, rho is shown but called too few to tell, without an
interval. Torch-free: it reads rank.csv with pandas.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

RANK_FILE = "rank.csv"
AVERAGE = "average"  # rank.csv's rows over every target (rank/combine.py)
N_BOOT = 2000
MIN_SETS = 5
LEVEL = 0.95
COLUMNS = ["target", "sets", "rho", "ci_low", "ci_high", "top_set", "top_gain", "best_set",
           "best_gain", "regret", "note"]


def measured_gains(table: pd.DataFrame, targets: list[str]) -> pd.DataFrame:
    """Per target (and AVERAGE) and set: the measured gain in points over the baseline, from
    an arm table (analysis.arm_table: `intermediate`, `k`, one column per target, `average`)."""
    base = table[table["k"] == 0]
    runs = table[table["k"] >= 1]
    columns = [*targets, "average"]
    by_set = runs.groupby("intermediate")[columns].mean()
    rows = []
    for column in columns:
        baseline = float(base[column].mean()) if len(base) else math.nan
        for members, value in by_set[column].dropna().items():
            rows.append({"target": AVERAGE if column == "average" else column, "set": members,
                         "gain": float(value) - baseline})
    return pd.DataFrame(rows, columns=["target", "set", "gain"]).dropna()


def joined(rank: pd.DataFrame, gains: pd.DataFrame) -> pd.DataFrame:
    """The measured sets with their predicted score and rank (sets rank.csv lacks dropped)."""
    return gains.merge(rank[["target", "set", "score", "rank"]], on=["target", "set"],
                       how="inner")


def spearman(x, y) -> float:
    """Spearman's rho; NaN when either side is constant or has fewer than 2 values."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


def bootstrap_rho(x, y, n_boot: int, seed, level: float = LEVEL) -> tuple[float, float]:
    """Percentile interval of rho over resampled sets (constant resamples dropped)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(x), size=(n_boot, len(x)))
    rhos = np.array([spearman(x[i], y[i]) for i in draws])
    rhos = rhos[~np.isnan(rhos)]
    if not len(rhos):
        return math.nan, math.nan
    low, high = np.quantile(rhos, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def compare(rank: pd.DataFrame, gains: pd.DataFrame, n_boot: int = N_BOOT,
            seed: int = 0) -> pd.DataFrame:
    """One row per target: sets, rho and its interval, the top-1 predicted set, the best
    measured one, the regret, and a note when too few sets to tell (see the docstring)."""
    both = joined(rank, gains)
    rows = []
    for target, group in both.groupby("target", sort=False):
        group = group.sort_values(["rank", "set"])
        top, best = group.iloc[0], group.loc[group["gain"].idxmax()]
        rho = spearman(group["score"], group["gain"])
        low = high = math.nan
        note = ""
        if len(group) < MIN_SETS:
            note = f"too few sets to tell ({len(group)}; an interval needs {MIN_SETS} or more)"
        elif math.isnan(rho):
            note = "no rho: the predicted scores or the measured gains are all equal"
        else:
            low, high = bootstrap_rho(group["score"], group["gain"], n_boot,
                                      [seed, zlib.crc32(str(target).encode("utf-8"))])
        rows.append({"target": target, "sets": len(group), "rho": rho, "ci_low": low,
                     "ci_high": high, "top_set": top["set"], "top_gain": float(top["gain"]),
                     "best_set": best["set"], "best_gain": float(best["gain"]),
                     "regret": float(best["gain"] - top["gain"]), "note": note})
    return pd.DataFrame(rows, columns=COLUMNS)


def scatter(both: pd.DataFrame, results: pd.DataFrame) -> bytes:
    """Predicted score against measured gain, one panel per target (rho in the title)."""
    from matplotlib.figure import Figure

    targets = list(dict.fromkeys(both["target"]))
    fig = Figure(figsize=(3.6 * len(targets), 3.4))
    rho = results.set_index("target")["rho"]
    for i, target in enumerate(targets):
        ax = fig.add_subplot(1, len(targets), i + 1)
        group = both[both["target"] == target]
        ax.scatter(group["score"], group["gain"], s=22, color="C0")
        ax.axhline(0, color="0.35", linestyle="--", linewidth=1)
        value = rho.get(target, math.nan)
        ax.set_title(f"{target}: rho " + ("–" if math.isnan(value) else f"{value:+.2f}"),
                     fontsize=9)
        ax.set_xlabel("predicted score (rank)")
        if i == 0:
            ax.set_ylabel("measured gain (points)")
    from xstilts.study.plots import _png  # the report's figures' one PNG writer

    return _png(fig)


def report_blocks(folder: Path, table: pd.DataFrame, targets: list[str],
                  seed: int = 0) -> list:
    """The report's section: a pointer to `xstilts rank` when the folder has no rank.csv."""
    from xstilts.study.render import Figure, Heading, Para, Table, interval, num

    heading = Heading("Predicted vs measured")
    path = Path(folder) / RANK_FILE
    if not path.exists():
        return [heading, Para(f"No ranking in {folder}: `xstilts rank STUDY.yaml --out "
                              f"{folder}` writes {RANK_FILE} (estimates from the base encoder, "
                              "no training), and this section then compares it with the "
                              "measured gains.")]
    rank = pd.read_csv(path, dtype={"set": str, "target": str})
    gains = measured_gains(table, targets)
    if len(targets) == 1:  # the average over one target is that target: shown once
        gains = gains[gains["target"] != AVERAGE]
    both = joined(rank, gains)
    if both.empty:
        return [heading, Para(f"{path} ranks none of the sets with results (ranked for "
                              "another study?).")]
    results = compare(rank, gains, N_BOOT, seed)
    rows = [[r.target, str(r.sets), num(r.rho, sign=True), interval(r.ci_low, r.ci_high),
             r.top_set, num(r.top_gain, sign=True), r.best_set, num(r.best_gain, sign=True),
             num(r.regret), r.note or "–"] for r in results.itertuples()]
    return [heading,
            Para(f"{RANK_FILE}'s scores, estimated before training, against the gains the "
                 "study measured (each set's mean over its seeds minus the baseline's mean, "
                 "in points). Spearman's rho over the sets with a 95% bootstrap interval "
                 f"({N_BOOT} resamples of the sets, seed {seed}); the regret: the best "
                 "measured gain minus that of the set ranked first."),
            Figure("predicted_vs_measured.png", scatter(both, results),
                   "predicted score vs measured gain per target",
                   "Each dot a set: its predicted score (rank.csv) and its measured gain."),
            Table(["target", "sets", "Spearman rho", "95% CI", "ranked first", "its gain",
                   "best measured", "its gain", "regret (points)", "note"], rows),
            Para(f"With fewer than {MIN_SETS} sets a rank correlation cannot tell a good "
                 "ranking from chance; sets picked by the ranking itself (an adaptive study, "
                 "`--top`) are its best-ranked ones, so rho over them says how well it orders "
                 "its favourites, not the whole pool.", note=True)]
