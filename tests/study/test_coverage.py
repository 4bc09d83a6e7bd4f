"""Every gap visible: a study folder made by hand (plan.json and a store with known scores,
shaped like examples/study-tiny.yaml: 34 arms) with one language's results removed from 2 of
the 4 k = 4 arms; the report counts, lists and leaves out those arms everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from xstilts.cli import main
from xstilts.study.coverage import coverage
from xstilts.study.results import open_study
from xstilts.study.store import Store

POOL = {"t-en1": ["en"], "t-en2": ["en"], "t-de1": ["de"], "t-de2": ["de"]}
TARGETS = {"nli": ["en", "de"], "retrieval": ["de", "es"]}  # retrieval: not trained
SETS = [(), *[(t,) for t in POOL], ("t-en1", "t-en2"), ("t-en1", "t-de1"), ("t-de1", "t-de2"),
        tuple(POOL)]
EFFECT = {(): 0.0, ("t-en1",): 1.0, ("t-en2",): -1.0, ("t-de1",): 2.0, ("t-de2",): 0.5,
          ("t-en1", "t-en2"): 1.5, ("t-en1", "t-de1"): 3.0, ("t-de1", "t-de2"): 2.5,
          tuple(POOL): 4.0}
LANG = {"en": 10.0, "de": 0.0, "es": -5.0}
DROPPED = [(0, 1), (1, 1)]  # the k = 4 arms (intermediate seed, target seed) losing nli de


def score(tasks: tuple, target: str, lang: str, si: int, st: int) -> float:
    """A known score: target and language level, the set's effect, seed offsets (an untrained
    target has no target seed)."""
    seeds = 0.4 * max(si, 0) + (0.3 * st if target == "nli" else 0.0)
    return (60.0 if target == "nli" else 40.0) + LANG[lang] + EFFECT[tasks] + seeds


def arms() -> list[dict]:
    out = []
    for tasks in SETS:
        for si in ([-1] if not tasks else [0, 1]):
            for st in (0, 1):
                out.append({"run_id": f"{'+'.join(tasks) or 'base'}-{si}-{st}",
                            "tasks": list(tasks), "intermediate_seed": si, "target_seed": st})
    return out


def make_study(root: Path) -> Path:
    """plan.json and the store's results (rows per arm, target, language and 'avg')."""
    store = Store(root / "store")
    rows = []
    for arm in arms():
        tasks, si, st = tuple(arm["tasks"]), arm["intermediate_seed"], arm["target_seed"]
        langs = len({lang for t in tasks for lang in POOL[t]})
        head = ("tiny", arm["run_id"], ",".join(tasks), len(tasks), langs, si, st)
        for target, languages in TARGETS.items():
            values = {}
            for lang in languages:
                job = f"{target}-{lang}-{','.join(tasks)}-{si}" + (f"-{st}" if target == "nli"
                                                                   else "")
                values[lang] = score(tasks, target, lang, si, st)
                rows.append((*head, target, lang, "accuracy", values[lang], job))
            rows.append((*head, target, "avg", "accuracy", sum(values.values()) / 2, ""))
    store.write_results(rows)
    plan = {"study": "tiny", "store": str((root / "store").resolve()), "encoder": "hand-made",
            "counts": {"intermediate": 16, "target": 34, "evaluation": 136}, "jobs": {},
            "pool": POOL, "arms": arms(),
            "targets": {t: {"format": "classification" if t == "nli" else "retrieval",
                            "trained": t == "nli", "languages": langs, "split": "test",
                            "main_metric": "accuracy", "test_limit": None, "training": {}}
                        for t, langs in TARGETS.items()}}
    (root / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    return root


def drop_language(root: Path) -> None:
    """Delete nli's German rows (the language only: its 'avg' row stays) of two k = 4 arms."""
    import sqlite3

    with sqlite3.connect(root / "store" / "store.sqlite") as conn:
        for si, st in DROPPED:
            conn.execute("DELETE FROM results WHERE run_id = ? AND target = 'nli' AND "
                         "language = 'de'", (f"{'+'.join(POOL)}-{si}-{st}",))


@pytest.fixture()
def study(tmp_path) -> Path:
    root = make_study(tmp_path / "tiny")
    drop_language(root)
    return root


def test_planned_and_complete_arms_per_k_and_language(study):
    data = open_study(study)
    cover = coverage(data.frame, data.plan, data.targets)
    assert cover.summary() == "32 of 34 planned arm(s) complete"
    per_k = cover.by_k().set_index("k")
    assert list(per_k["planned"]) == [2, 16, 12, 4] and list(per_k["complete"]) == [2, 16, 12, 2]
    by_lang = cover.by_language(data.frame).set_index(["language", "k"])["complete"]
    assert (by_lang[("de", 4)], by_lang[("en", 4)], by_lang[("es", 4)]) == (2, 4, 4)
    missing = cover.incomplete
    assert list(zip(missing["intermediate_seed"], missing["target_seed"], strict=True)) == DROPPED
    assert set(missing["missing"]) == {"nli de"}


def test_the_report_says_so_at_its_top_and_averages_only_complete_arms(study, tmp_path,
                                                                       capsys):
    out = tmp_path / "report"
    assert main(["report", str(study), "--out", str(out), "--csv", "--latex"]) == 0
    assert "table file(s)" in capsys.readouterr().out
    md = (out / "report.md").read_text(encoding="utf-8")
    first = md.split("\n\n")[1]
    assert first.startswith("> **Caveat.** 32 of 34 planned arm(s) complete: 2 arm(s) lack "
                            "results")
    for si, st in DROPPED:
        assert (f"- k = 4, t-en1,t-en2,t-de1,t-de2 (seeds {si}/{st}): missing nli de"
                in md)
    assert "| 4 | 4 | 2 | 2 | 4 | 4 |" in md  # k, planned, complete, complete in de, en, es
    # k = 4 by hand over the two complete arms (seeds 0/0 and 1/0): the average over the
    # targets of each target's mean over its languages.
    kept = [(0, 0), (1, 0)]
    tasks = tuple(POOL)

    def average(si, st):
        return sum(sum(score(tasks, t, lang, si, st) for lang in langs) / 2
                   for t, langs in TARGETS.items()) / 2

    by_k = pd.read_csv(out / "tables" / "by_k.csv").set_index("k")
    assert (by_k.loc[4, "arms"], by_k.loc[4, "sets"]) == (2, 1)
    assert by_k.loc[4, "mean"] == pytest.approx(sum(average(*a) for a in kept) / 2)
    lang = pd.read_csv(out / "tables" / "by_language.csv").set_index(
        ["target", "language", "k"])
    for target, language in (("nli", "en"), ("nli", "de")):  # the same two arms for each
        assert lang.loc[(target, language, 4), "arms"] == 2
        assert lang.loc[(target, language, 4), "mean"] == pytest.approx(
            sum(score(tasks, target, language, si, st) for si, st in kept) / 2)
    # retrieval is untrained: seeds 0/0 and 1/0 are two intermediate models
    assert lang.loc[("retrieval", "de", 4), "arms"] == 2
    incomplete = pd.read_csv(out / "tables" / "incomplete.csv")
    assert list(incomplete["missing"]) == ["nli de", "nli de"]
    tex = (out / "tables" / "by_language.tex").read_text(encoding="utf-8")
    assert "\\begin{tabular}" in tex and "p\\_bh" in tex and "\\label{tab:by-language}" in tex
    assert {p.name for p in (out / "tables").iterdir()} == {
        f"{name}.{ext}" for name in ("coverage", "incomplete", "by_k", "versus", "regression",
                                     "by_language", "same_language", "transfer")
        for ext in ("csv", "tex")}


def test_a_complete_study_says_every_arm_is_complete(tmp_path):
    root = make_study(tmp_path / "tiny")
    out = tmp_path / "report"
    assert main(["report", str(root), "--out", str(out)]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.split("\n\n")[1] == ("34 of 34 planned arm(s) complete: every target has its "
                                   "results in every planned language.")
    assert not (out / "tables").exists()  # no --csv / --latex



def test_latex_tables_escape_names_and_write_missing_values_as_dashes():
    from xstilts.study.tables import latex_table

    table = pd.DataFrame({"task": ["xnli_tt_de & 50%"], "gain": [1.234], "p_bh": [float("nan")]})
    tex = latex_table("transfer", table)
    assert "xnli\\_tt\\_de \\& 50\\% & 1.23 & -- \\\\" in tex
    assert "\\toprule" in tex and "\\label{tab:transfer}" in tex
