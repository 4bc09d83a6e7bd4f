"""Which planned arms have every result: the report's statistics use the complete arms only,
and say which are missing what, so that no gap hides in an average.

An arm is complete when every target has its main metric in every language planned for it
(plan.json's targets; without plan.json, the languages any arm was scored in). The planned
arms are plan.json's (without it, the arms with any result). With several budget regimes
(study/regimes.py) the counts are per regime and k, the baseline's arms shared by all.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

ARM_COLUMNS = ["run_id", "intermediate", "k", "intermediate_seed", "target_seed", "complete",
               "missing", "budget"]


@dataclass
class Coverage:
    """Planned arms and what each lacks."""

    arms: pd.DataFrame  # ARM_COLUMNS, one row per planned arm
    languages: dict[str, list[str]]  # target -> its planned languages

    @property
    def complete_ids(self) -> set[str]:
        return set(self.arms.loc[self.arms["complete"], "run_id"])

    @property
    def regimes(self) -> list[str]:
        """The budget regimes of the planned arms of k ≥ 1, in plan order ([] without)."""
        return list(dict.fromkeys(self.arms.loc[(self.arms["k"] >= 1)
                                                & (self.arms["budget"] != ""), "budget"]))

    @property
    def keys(self) -> list[str]:
        """What the counts are per: k, or budget and k where there are several regimes."""
        return ["budget", "k"] if len(self.regimes) > 1 else ["k"]

    @property
    def incomplete(self) -> pd.DataFrame:
        """The incomplete arms (their budget only where there are several regimes)."""
        missing = self.arms[~self.arms["complete"]]
        return missing if len(self.regimes) > 1 else missing.drop(columns="budget")

    def of(self, regime: str) -> Coverage:
        """The coverage of one regime's analysis: its arms and the baseline's."""
        arms = self.arms[(self.arms["budget"] == regime) | (self.arms["k"] == 0)]
        return Coverage(arms.reset_index(drop=True), self.languages)

    def by_k(self) -> pd.DataFrame:
        """Per k (per budget and k with several regimes): planned and complete arms."""
        grouped = self.arms.groupby(self.keys)["complete"]
        return pd.DataFrame({"planned": grouped.size(), "complete": grouped.sum()}).reset_index()

    def by_language(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Per target language (over the targets planned in it) and k (budget and k with
        several regimes): planned arms and those with every such target's result in that
        language."""
        have = _present(frame)
        rows = []
        for lang in sorted({lang for langs in self.languages.values() for lang in langs}):
            targets = [t for t, langs in self.languages.items() if lang in langs]
            for key, arms in self.arms.groupby(self.keys):
                done = sum(all((run, t, lang) in have for t in targets) for run in arms["run_id"])
                rows.append({"language": lang, **dict(zip(self.keys, key, strict=True)),
                             "planned": len(arms), "complete": done})
        return pd.DataFrame(rows, columns=["language", *self.keys, "planned", "complete"])

    def summary(self) -> str:
        """'32 of 34 planned arms complete' (one line)."""
        return (f"{int(self.arms['complete'].sum())} of {len(self.arms)} planned arm(s) "
                "complete")


def _present(frame: pd.DataFrame) -> set[tuple[str, str, str]]:
    """(run_id, target, language) with a main-metric result."""
    rows = frame[frame["main"] & (frame["language"] != "avg")]
    return set(zip(rows["run_id"], rows["target"], rows["language"], strict=True))


def coverage(frame: pd.DataFrame, plan: dict | None, targets: list[str]) -> Coverage:
    """The planned arms of a study (plan.json's, else those with results) and whether each has
    every target's main metric in every planned language."""
    described = (plan or {}).get("targets") or {}
    languages = {t: list(described[t]["languages"]) if t in described and
                 described[t].get("languages") else
                 sorted(set(frame.loc[(frame["target"] == t) & (frame["language"] != "avg"),
                                      "language"])) for t in targets}
    if plan and plan.get("arms"):
        planned = pd.DataFrame([{"run_id": a["run_id"], "intermediate": ",".join(a["tasks"]),
                                 "k": len(a["tasks"]), "intermediate_seed": a["intermediate_seed"],
                                 "target_seed": a["target_seed"], "budget": a.get("budget", "")}
                                for a in plan["arms"]])
    else:
        planned = frame.drop_duplicates("run_id")[["run_id", "intermediate", "k",
                                                   "intermediate_seed", "target_seed"]].copy()
        planned["budget"] = (frame.drop_duplicates("run_id")["budget"].fillna("").to_numpy()
                             if "budget" in frame else "")
    have = _present(frame)
    missing = []
    for run in planned["run_id"]:
        lacks = [f"{t} {lang}" for t in targets for lang in languages[t]
                 if (run, t, lang) not in have]
        total = sum(len(v) for v in languages.values())
        missing.append("no results" if total and len(lacks) == total else ", ".join(lacks))
    arms = planned.assign(complete=[not m for m in missing], missing=missing)
    arms = arms.sort_values(["k", "intermediate", "intermediate_seed", "target_seed"])
    return Coverage(arms.reset_index(drop=True)[ARM_COLUMNS], languages)
