"""The report's figures (matplotlib's Agg canvas, no pyplot state): each function returns PNG
bytes. Scores are in percent, gains in percentage points; k is drawn on a log2 axis."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from xstilts.study import analysis
from xstilts.study.stats import MIN_UNITS

DPI = 110
BASELINE = dict(color="0.35", linestyle="--", linewidth=1.2)


def text(s) -> str:
    """A data string as plain matplotlib text ($ would start mathtext)."""
    return str(s).replace("$", r"\$")


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _k_axis(ax, ks) -> None:
    ks = sorted(k for k in ks if k >= 1)
    ax.set_xticks([math.log2(k) for k in ks], [str(k) for k in ks])
    ax.set_xlabel("number of intermediate tasks k (log2 scale)")
    if ks:
        ax.set_xlim(-0.4, math.log2(max(ks)) + 0.4)


def _errors(mean, low, high):
    below, above = np.asarray(mean) - np.asarray(low), np.asarray(high) - np.asarray(mean)
    return [np.nan_to_num(below), np.nan_to_num(above)]  # no interval: no bar


def average_vs_k(table: pd.DataFrame, by_k: pd.DataFrame, slope: dict, n_targets: int,
                 label: str | None = None) -> bytes:
    """The main plot: the average over the targets per arm (`label`: what it is, from
    analysis.average_description: "average over its 4 targets", "partial average over 3 of 9
    XTREME tasks", "XTREME score") and its mean per k over sets, with its 95% t interval only
    where a k has MIN_UNITS units or more (its sets; the whole pool's seeds), a point otherwise,
    n written beside it; the baseline as a line (with its interval from MIN_UNITS seeds on),
    and the fitted slope."""
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot()
    base = by_k[by_k["k"] == 0]
    runs = by_k[by_k["k"] >= 1]
    if len(base):
        b = base.iloc[0]
        ax.axhline(b["mean"], **BASELINE,
                   label=f"baseline (k = 0), mean of {int(b['units'])} seed arm(s)")
        if b["units"] >= MIN_UNITS and not math.isnan(b["ci_low"]):
            ax.axhspan(b["ci_low"], b["ci_high"], color="0.6", alpha=0.18,
                       label="baseline 95% t interval")
    arms = table[(table["k"] >= 1) & table["average"].notna()]
    if len(arms):
        jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(arms))
        ax.scatter(np.log2(arms["k"].to_numpy(float)) + jitter, arms["average"], s=16,
                   alpha=0.35, color="tab:blue", label="one arm (set × seeds)")
    if len(runs):
        x = np.log2(runs["k"].to_numpy(float))
        ax.plot(x, runs["mean"], "-", color="tab:blue", linewidth=1.4)
        wide = (runs["units"] >= MIN_UNITS).to_numpy() & runs["ci_low"].notna().to_numpy()
        if wide.any():
            ax.errorbar(x[wide], runs["mean"][wide],
                        yerr=_errors(runs["mean"][wide], runs["ci_low"][wide],
                                     runs["ci_high"][wide]),
                        fmt="o", color="tab:blue", capsize=4,
                        label=f"mean over sets, 95% t interval ({MIN_UNITS}+ sets)")
        if (~wide).any():
            ax.plot(x[~wide], runs["mean"][~wide], "o", color="tab:blue", mfc="white",
                    label=f"mean over sets, no interval (< {MIN_UNITS} sets)")
        seeds = analysis.seeds_as_units(table)
        for xi, r in zip(x, runs.itertuples(), strict=True):
            n = f"n = {r.units} seed(s)\n(whole pool)" if r.k in seeds else f"n = {r.sets}"
            ax.annotate(n, (xi, r.mean), textcoords="offset points",  # below, off the arms
                        xytext=(6, -5), va="top", fontsize=7, color="tab:blue")
        if not math.isnan(slope["slope"]):
            xs = np.linspace(x.min(), x.max(), 20)
            ax.plot(xs, slope["intercept"] + slope["slope"] * xs, ":", color="tab:red",
                    label=f"least-squares fit: {slope['slope']:+.2f} points per doubling of k")
    _k_axis(ax, table["k"].unique())
    ax.set_ylabel(f"average over {n_targets} target(s), span QA (EM + F1) / 2 (%)")
    label = label or f"average over {n_targets} target(s)"
    ax.set_title(f"{text(label[:1].upper() + label[1:])} vs number of intermediate tasks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return _png(fig)


def average_vs_k_by_budget(by_k: dict[str, pd.DataFrame], n_targets: int,
                           label: str | None = None) -> bytes:
    """The average over the targets per k, one line per budget regime (`by_k`: each regime's
    analysis.mean_by_k, its name first), intervals only from MIN_UNITS sets on, and the
    shared baseline as a line."""
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot()
    base = next((t[t["k"] == 0] for t in by_k.values() if (t["k"] == 0).any()), None)
    if base is not None:
        ax.axhline(base["mean"].iloc[0], **BASELINE, label="baseline (k = 0), shared")
    ks = set()
    for i, (name, table) in enumerate(by_k.items()):
        runs = table[table["k"] >= 1]
        ks |= set(runs["k"])
        x = np.log2(runs["k"].to_numpy(float)) + (i - (len(by_k) - 1) / 2) * 0.05  # apart
        wide = (runs["units"] >= MIN_UNITS).to_numpy() & runs["ci_low"].notna().to_numpy()
        ax.errorbar(x, runs["mean"], yerr=[e * wide for e in _errors(
            runs["mean"], runs["ci_low"], runs["ci_high"])], fmt="o-", color=f"C{i}",
                    mfc="white", capsize=4, label=f"{text(name)}: mean over sets")
    _k_axis(ax, ks)
    ax.set_ylabel(f"average over {n_targets} target(s) (%)")
    label = label or f"average over {n_targets} target(s)"
    ax.set_title(f"{text(label[:1].upper() + label[1:])} vs k, per budget regime")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    return _png(fig)


def targets_vs_k(by_lang: pd.DataFrame, targets: list[str], metrics: dict[str, str]) -> bytes:
    """Per target: the main score per language vs k (baselines dashed), and the gain."""
    fig = Figure(figsize=(10, 3.3 * len(targets)))
    axes = fig.subplots(len(targets), 2, squeeze=False)
    colours = {}
    for row, target in enumerate(targets):
        score_ax, gain_ax = axes[row]
        here = by_lang[by_lang["target"] == target]
        languages = [lang for lang in sorted(here["language"].unique()) if lang != "avg"]
        for lang in [*languages, "avg"]:
            part = here[(here["language"] == lang) & (here["k"] >= 1)].sort_values("k")
            colour = "black" if lang == "avg" else colours.setdefault(
                lang, f"C{len(colours) % 10}")
            name = "mean over languages" if lang == "avg" else text(lang)
            width = 2.2 if lang == "avg" else 1.3
            x = np.log2(part["k"].to_numpy(float))
            score_ax.plot(x, part["mean"], "o-", color=colour, linewidth=width, label=name)
            gain_ax.plot(x, part["gain"], "o-", color=colour, linewidth=width, label=name)
            base = here[(here["language"] == lang) & (here["k"] == 0)]
            if len(base):
                score_ax.axhline(base["mean"].iloc[0], color=colour, linestyle="--",
                                 linewidth=0.9, alpha=0.8)
        score_ax.plot([], [], color="0.35", linestyle="--", linewidth=0.9,
                      label="baseline (k = 0), per language")
        gain_ax.axhline(0, **BASELINE, label="baseline (k = 0)")
        metric = text(metrics[target])
        score_ax.set_title(f"{text(target)}: {metric} (dashed: baseline)", fontsize=10)
        gain_ax.set_title(f"{text(target)}: gain over the baseline", fontsize=10)
        score_ax.set_ylabel(f"{metric} (%)")
        gain_ax.set_ylabel("gain (percentage points)")
        for ax in (score_ax, gain_ax):
            _k_axis(ax, by_lang["k"].unique())
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return _png(fig)


def same_language(effect: pd.DataFrame) -> bytes:
    """Per target language and k: gain with a task in that language minus gain without, with
    its interval where there is one (n: sets with / without)."""
    effect = effect[effect["difference"].notna()].reset_index(drop=True)
    fig = Figure(figsize=(7, 0.5 * len(effect) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(effect))
    has = effect["ci_low"].notna().to_numpy()
    if has.any():
        part = effect[has]
        ax.errorbar(part["difference"], y[has],
                    xerr=_errors(part["difference"], part["ci_low"], part["ci_high"]),
                    fmt="o", color="tab:purple", capsize=4, label="difference, Welch 95% interval")
    if (~has).any():
        ax.plot(effect.loc[~has, "difference"], y[~has], "o", color="tab:purple", mfc="white",
                label="difference, no interval (a side with < 2 sets)")
    ax.axvline(0, **BASELINE, label="no difference")
    ax.set_yticks(y, [f"{text(r.language)}, k = {r.k} (n = {r.sets_with} / {r.sets_without})"
                      for r in effect.itertuples()])
    ax.set_ylim(-0.6, len(effect) - 0.4)
    ax.set_ylabel("target language, set size")
    ax.set_xlabel("gain with a task in the language − gain without (percentage points)")
    ax.set_title("Same-language effect at a fixed k")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return _png(fig)


def _signed_cells(ax, values: np.ndarray, marks, fontsize: int):
    """Gains as a red-blue grid centred on 0, each cell labelled (* where marks[i][j])."""
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    limit = limit or 1.0
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", aspect="auto",
                      norm=TwoSlopeNorm(0.0, -limit, limit))
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = values[i, j]
            label = "n/a" if math.isnan(v) else f"{v:+.1f}" + ("*" if marks[i][j] else "")
            ax.text(j, i, label, ha="center", va="center", fontsize=fontsize,
                    color="white" if not math.isnan(v) and abs(v) > 0.6 * limit else "black")
    return image


def gain_heatmap(by_lang: pd.DataFrame, targets: list[str]) -> bytes:
    """Target language × k: the gain over the baseline (analysis.by_k_language); * marks a
    Benjamini-Hochberg-adjusted p < 0.05; the columns say their number of sets."""
    cells = by_lang[(by_lang["k"] >= 1) & (by_lang["language"] != "avg")]
    rows = [(t, lang) for t in targets
            for lang in sorted(set(cells.loc[cells["target"] == t, "language"]))]
    ks = sorted(cells["k"].unique())
    at = cells.set_index(["target", "language", "k"])
    values = np.array([[at["gain"].get((t, lang, k), np.nan) for k in ks] for t, lang in rows],
                      dtype=float).reshape(len(rows), len(ks))
    marks = [[bool(at["p_bh"].get((t, lang, k), np.nan) < 0.05) for k in ks] for t, lang in rows]
    sets = cells.groupby("k")["sets"].max()
    fig = Figure(figsize=(1.3 * len(ks) + 3.5, max(3.0, 0.42 * len(rows) + 1.8)))
    ax = fig.add_subplot()
    image = _signed_cells(ax, values, marks, fontsize=8)
    ax.set_xticks(range(len(ks)), [f"k = {k}\n(n = {sets[k]})" for k in ks])
    ax.set_yticks(range(len(rows)), [f"{text(t)} {text(lang)}" for t, lang in rows])
    ax.set_xlabel("number of intermediate tasks (n: sets)")
    ax.set_ylabel("target, language")
    ax.set_title("Gain over the baseline (* Benjamini-Hochberg p < 0.05)")
    fig.colorbar(image, ax=ax).set_label("gain (percentage points)")
    return _png(fig)


def transfer_heatmap(matrix: pd.DataFrame, targets: list[str]) -> bytes:
    """k = 1 task × target gain over the baseline; * marks a Benjamini-Hochberg-adjusted
    paired-bootstrap p < 0.05 (the matrix's `significant`)."""
    tasks = sorted(matrix["task"].unique())
    gains = matrix.pivot(index="task", columns="target", values="gain").reindex(
        index=tasks, columns=targets)
    marks = matrix.pivot(index="task", columns="target", values="significant").reindex(
        index=tasks, columns=targets)
    fig = Figure(figsize=(1.6 * len(targets) + 3.5, max(4.0, 0.55 * len(tasks) + 2)))
    ax = fig.add_subplot()
    image = _signed_cells(ax, gains.to_numpy(float), marks.to_numpy(), fontsize=9)
    ax.set_xticks(range(len(targets)), [text(t) for t in targets], rotation=20, ha="right")
    ax.set_yticks(range(len(tasks)), [text(t) for t in tasks])
    ax.set_xlabel("target task")
    ax.set_ylabel("intermediate task (k = 1)")
    ax.set_title("Transfer: gain over the baseline (* Benjamini-Hochberg p < 0.05)")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("gain (percentage points)")
    return _png(fig)
