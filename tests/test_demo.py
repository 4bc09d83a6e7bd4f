"""`xstilts demo` orchestration: baseline + intermediate runs and the comparison table."""

import json

import pytest

from xstilts.cli import main


def test_demo_runs_both_arms_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--quick", "--encoder", "tiny-random", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Zero-shot transfer" in printed and "trivial" in printed
    summary = json.loads((out / "summary.json").read_text())
    baseline, inter = summary["results"]["baseline"], summary["results"]["demo-mc-en"]
    assert baseline["intermediate"]["tasks"] == [] and inter["intermediate"]["tasks"] == ["demo-mc-en"]
    table = (out / "table.txt").read_text().splitlines()
    # One row per target × (6 languages + avg), plus the header.
    assert len(table) == 1 + 4 * 7
    nli_de = next(r for r in table if r.startswith("demo-nli") and " de " in r).split()
    # Columns: target, metric, lang, trivial, baseline, intermediate, difference (1 decimal).
    assert float(nli_de[3]) == pytest.approx(summary["trivial"]["demo-nli"]["de"], abs=0.06)
    assert float(nli_de[4]) == pytest.approx(
        baseline["targets"]["demo-nli"]["languages"]["de"]["accuracy"], abs=0.06)
    assert float(nli_de[5]) == pytest.approx(
        inter["targets"]["demo-nli"]["languages"]["de"]["accuracy"], abs=0.06)
    assert (out / "baseline" / "config.yaml").exists()
