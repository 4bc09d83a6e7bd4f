"""`xstilts demo` orchestration: a mini scaling study, its report and the table by set size."""

import json

import pytest

from xstilts.cli import main
from xstilts.demo import POOL
from xstilts.study import load_results


def test_demo_runs_the_study_writes_the_report_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--encoder", "tiny-random", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Zero-shot transfer by intermediate set size" in printed and "trivial" in printed
    summary = json.loads((out / "summary.json").read_text())
    arms = summary["arms"]
    # Where it ran, for README's line about the wall time (docs/demo_table.py).
    assert summary["machine"].endswith("-core CPU") or summary["machine"].startswith("the GPU ")
    # The baseline, 2 single tasks, a one-language and a two-language pair, all four.
    assert sorted(a["k"] for a in arms.values()) == [0, 1, 1, 2, 2, 4]
    assert arms[",".join(POOL)]["k"] == 4 and arms["baseline"]["k"] == 0
    for name in ("report.html", "report.md", "results.csv", "study.yaml"):
        assert (out / name).exists(), name
    table = (out / "table.txt").read_text().splitlines()
    assert table[0].split()[-3:] == ["k=1", "k=2", "k=4"]
    # one row per target x (6 languages + avg), then the average over the targets and its label
    assert len(table) == 1 + 4 * 7 + 2
    nli_de = next(r for r in table if r.startswith("demo-nli") and " de " in r).split()
    # Columns: target, metric, lang, trivial, baseline, k=1, k=2, k=4 (one decimal).
    assert float(nli_de[3]) == pytest.approx(summary["trivial"]["demo-nli"]["de"], abs=0.06)
    assert float(nli_de[4]) == pytest.approx(
        arms["baseline"]["targets"]["demo-nli"]["languages"]["de"], abs=0.06)
    singles = [a for a in arms.values() if a["k"] == 1]
    mean = sum(a["targets"]["demo-nli"]["languages"]["de"] for a in singles) / 2
    assert float(nli_de[5]) == pytest.approx(mean, abs=0.06)
    assert float(nli_de[7]) == pytest.approx(
        arms[",".join(POOL)]["targets"]["demo-nli"]["languages"]["de"], abs=0.06)

    # The average over the targets, computed here from the results rows: each target's main
    # metric averaged over its languages, demo-qa as (EM + F1) / 2.
    frame = load_results(out)
    avg = frame[frame["language"] == "avg"]

    def value(run_id, target, metric):
        return float(avg.loc[(avg["run_id"] == run_id) & (avg["target"] == target)
                             & (avg["metric"] == metric), "value"].iloc[0])

    def average(run_id):
        return (value(run_id, "demo-nli", "accuracy") + value(run_id, "demo-ner", "f1")
                + value(run_id, "demo-retrieval", "accuracy")
                + (value(run_id, "demo-qa", "exact_match") + value(run_id, "demo-qa", "f1")) / 2
                ) / 4

    base = frame.loc[frame["k"] == 0, "run_id"].iloc[0]
    assert arms["baseline"]["average"] == pytest.approx(average(base))
    row = table[-2].split()
    assert row[0] == "average" and float(row[2]) == pytest.approx(average(base), abs=0.06)
    assert float(row[1]) == pytest.approx(summary["trivial_average"], abs=0.06)
    fours = frame.loc[frame["k"] == 4, "run_id"].unique()
    assert float(row[5]) == pytest.approx(sum(map(average, fours)) / len(fours), abs=0.06)
    assert table[-1].startswith("average: the average over its 4 targets")
    assert "XTREME" not in table[-1] and "XTREME" not in printed
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "Average over the targets: the average over its 4 targets; each target's main " \
        "metric averaged over its languages, then the mean over the targets, span QA as " \
        "(EM + F1) / 2 (XTREME's rule): demo-qa." in report
    assert "XTREME score" not in report and "XTREME-style" not in report
