"""`xstilts demo` orchestration: a mini scaling study, its report and the table by set size."""

import json

import pytest

from xstilts.cli import main
from xstilts.demo import POOL


def test_demo_runs_the_study_writes_the_report_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--encoder", "tiny-random", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Zero-shot transfer by intermediate set size" in printed and "trivial" in printed
    summary = json.loads((out / "summary.json").read_text())
    arms = summary["arms"]
    # The baseline, 2 single tasks, a one-language and a two-language pair, all four.
    assert sorted(a["k"] for a in arms.values()) == [0, 1, 1, 2, 2, 4]
    assert arms[",".join(POOL)]["k"] == 4 and arms["baseline"]["k"] == 0
    for name in ("report.html", "report.md", "results.csv", "study.yaml"):
        assert (out / name).exists(), name
    table = (out / "table.txt").read_text().splitlines()
    assert table[0].split()[-3:] == ["k=1", "k=2", "k=4"]
    assert len(table) == 1 + 4 * 7  # one row per target x (6 languages + avg)
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
