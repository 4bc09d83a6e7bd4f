"""The report's figures (matplotlib's Agg canvas, no pyplot state): each function returns PNG
bytes. Scores are in percent, gains in percentage points; k is drawn on a log2 axis."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

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
    XTREME tasks", "XTREME score") and its mean per k with 95% bootstrap intervals, the
    baseline as a line with its interval, and the fitted slope."""
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot()
    base = by_k[by_k["k"] == 0]
    runs = by_k[by_k["k"] >= 1]
    if len(base):
        b = base.iloc[0]
        ax.axhline(b["mean"], **BASELINE,
                   label=f"baseline (k = 0), mean of {int(b['arms'])} arm(s)")
        if not math.isnan(b["ci_low"]):
            ax.axhspan(b["ci_low"], b["ci_high"], color="0.6", alpha=0.18,
                       label="baseline 95% bootstrap CI")
    arms = table[(table["k"] >= 1) & table["average"].notna()]
    if len(arms):
        jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(arms))
        ax.scatter(np.log2(arms["k"].to_numpy(float)) + jitter, arms["average"], s=16,
                   alpha=0.35, color="tab:blue", label="one arm (set × seeds)")
    if len(runs):
        x = np.log2(runs["k"].to_numpy(float))
        ax.errorbar(x, runs["mean"], yerr=_errors(runs["mean"], runs["ci_low"], runs["ci_high"]),
                    fmt="o-", color="tab:blue", capsize=4, linewidth=1.8,
                    label="mean over sets and seeds, 95% bootstrap CI")
        if not math.isnan(slope["slope"]):
            xs = np.linspace(x.min(), x.max(), 20)
            ax.plot(xs, slope["intercept"] + slope["slope"] * xs, ":", color="tab:red",
                    label=f"least-squares fit: {slope['slope']:+.2f} points per doubling of k")
    _k_axis(ax, table["k"].unique())
    ax.set_ylabel(f"average over {n_targets} target(s), span QA (EM + F1) / 2 (%)")
    label = label or f"average over {n_targets} target(s)"
    ax.set_title(f"{text(label[:1].upper() + label[1:])} vs number of intermediate tasks")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
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
    """Per target language: gain with a task in that language minus gain without, with CI."""
    effect = effect[effect["difference"].notna()]
    fig = Figure(figsize=(7, 0.6 * len(effect) + 1.6))
    ax = fig.add_subplot()
    y = np.arange(len(effect))
    ax.errorbar(effect["difference"], y,
                xerr=_errors(effect["difference"], effect["ci_low"], effect["ci_high"]),
                fmt="o", color="tab:purple", capsize=4, label="difference, 95% bootstrap CI")
    ax.axvline(0, **BASELINE, label="no difference")
    ax.set_yticks(y, [text(lang) for lang in effect["language"]])
    ax.set_ylim(-0.6, len(effect) - 0.4)
    ax.set_ylabel("target language")
    ax.set_xlabel("gain with a task in the language − gain without (percentage points)")
    ax.set_title("Same-language effect")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def transfer_heatmap(matrix: pd.DataFrame, targets: list[str]) -> bytes:
    """k = 1 task × target gain over the baseline; * marks a paired-bootstrap CI without 0."""
    tasks = sorted(matrix["task"].unique())
    gains = matrix.pivot(index="task", columns="target", values="gain").reindex(
        index=tasks, columns=targets)
    marks = matrix.pivot(index="task", columns="target", values="significant").reindex(
        index=tasks, columns=targets)
    values = gains.to_numpy(float)
    limit = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    limit = limit or 1.0
    fig = Figure(figsize=(1.6 * len(targets) + 3.5, max(4.0, 0.55 * len(tasks) + 2)))
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdBu", aspect="auto",
                      norm=TwoSlopeNorm(0.0, -limit, limit))
    for i in range(len(tasks)):
        for j in range(len(targets)):
            v = values[i, j]
            label = "n/a" if math.isnan(v) else f"{v:+.1f}" + ("*" if marks.iat[i, j] else "")
            ax.text(j, i, label, ha="center", va="center", fontsize=9,
                    color="white" if not math.isnan(v) and abs(v) > 0.6 * limit else "black")
    ax.set_xticks(range(len(targets)), [text(t) for t in targets], rotation=20, ha="right")
    ax.set_yticks(range(len(tasks)), [text(t) for t in tasks])
    ax.set_xlabel("target task")
    ax.set_ylabel("intermediate task (k = 1)")
    ax.set_title("Transfer: gain over the baseline (* paired bootstrap, 95%)")
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("gain (percentage points)")
    return _png(fig)
