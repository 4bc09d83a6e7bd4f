"""docs/demo_table.py: README's demo numbers and plot are written from a demo run's folder.

The run folder here is made by hand (summary.json, plan.json, table.txt, study.yaml and the
plot, as `xstilts demo` writes them) with round numbers, so that every expected figure below is
computed by hand, not by the script's own code.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from xstilts.demo import demo_study

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- demo-table:start"
END = "<!-- demo-table:end -->"


def load_script():
    spec = importlib.util.spec_from_file_location("demo_table", ROOT / "docs" / "demo_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def arm(k: int, nli: float, qa: float, average: float) -> dict:
    return {"k": k, "average": average, "targets": {
        "demo-nli": {"metric": "accuracy", "average": nli, "languages": {"en": nli, "de": nli}},
        "demo-qa": {"metric": "f1", "average": qa, "languages": {"en": qa, "de": qa}}}}


PLOT = b"\x89PNG\r\n\x1a\n a hand-made plot"


def make_run(folder: Path, study: dict | None = None) -> Path:
    folder.mkdir(parents=True)
    summary = {
        "minutes": 14.46, "machine": "a 2-core CPU",
        "trivial": {"demo-nli": {"en": 30.0, "de": 40.0}, "demo-qa": {"en": 1.0, "de": 0.0}},
        "trivial_average": 17.2,
        "arms": {"baseline": arm(0, 60.0, 40.0, 50.0),
                 "demo-topic-en": arm(1, 50.0, 30.0, 40.0),
                 "demo-pos-en": arm(1, 54.0, 44.0, 49.0),
                 "demo-topic-en,demo-pos-en": arm(2, 58.0, 42.0, 50.0),
                 "demo-topic-en,demo-pos-en,demo-topic-de,demo-topic-zh": arm(4, 62.0, 38.0,
                                                                              50.5)}}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "plan.json").write_text(json.dumps({
        "encoder": "e5-small", "counts": {"intermediate": 5, "target": 18, "evaluation": 144},
        "runtime": {"device": "cpu", "torch": "2.13", "transformers": "5.25"}}),
        encoding="utf-8")
    (folder / "table.txt").write_text(
        "target ...\naverage                              17.2      50.0    44.5    50.0    50.5\n"
        "average: the average over its 2 targets, each target's main metric over its "
        "languages (span QA: (EM + F1) / 2)\n", encoding="utf-8")
    (folder / "study.yaml").write_text(yaml.safe_dump(study or demo_study(), sort_keys=False),
                                       encoding="utf-8")
    (folder / "average_vs_k.png").write_bytes(PLOT)
    return folder


def readme_copy(tmp_path: Path) -> Path:
    readme = tmp_path / "repo" / "README.md"
    readme.parent.mkdir()
    readme.write_text((ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    return readme


def outside(text: str) -> tuple[str, str]:
    return text.split(START)[0], text.split(END)[1]


def test_the_readme_has_one_generated_block_under_the_offline_default():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1
    section = text.split("## The offline default")[1].split("\n## ")[0]
    assert START in section and END in section
    inside = section.split(START)[1].split(END)[0]
    assert "| target | metric | trivial | baseline |" in inside
    assert "(docs/demo-average-vs-k.png)" in inside
    assert (ROOT / "docs" / "demo-average-vs-k.png").exists()


def test_the_table_and_sentences_hold_the_run_folders_numbers(tmp_path):
    script = load_script()
    run = make_run(tmp_path / "demo")
    readme = readme_copy(tmp_path)
    before = readme.read_text(encoding="utf-8")
    plot = readme.parent / "docs" / "demo-average-vs-k.png"
    assert script.main([str(run), "--readme", str(readme), "--plot", str(plot)]) == 0
    after = readme.read_text(encoding="utf-8")
    assert outside(after) == outside(before)  # only the block between the markers changed
    inside = after.split(START)[1].split(END)[0]
    rows = [line for line in inside.splitlines() if line.startswith("|")]
    # Means over the languages (trivial) and over the arms of each size, by hand.
    assert rows == [
        "| target | metric | trivial | baseline | k = 1 | k = 2 | k = 4 |",
        "|---|---|---:|---:|---:|---:|---:|",
        "| `demo-nli` | accuracy | 35.0 | 60.0 | 52.0 | 58.0 | 62.0 |",
        "| `demo-qa` | F1 | 0.5 | 40.0 | 37.0 | 42.0 | 38.0 |",
        "| average over the targets | | 17.2 | 50.0 | 44.5 | 50.0 | 50.5 |"]
    prose = " ".join(inside.split())
    assert "one `xstilts demo` run on a 2-core CPU (wall time 14.5 minutes, 167 jobs, encoder " \
        "e5-small, torch 2.13, transformers 5.25)" in prose
    assert "The last row: the average over its 2 targets, each target's main metric over its " \
        "languages (span QA: (EM + F1) / 2)." in prose
    assert "Against the baseline's 50.0, the average over the targets is 44.5 at k = 1 " \
        "(−5.5), 50.0 at k = 2 (+0.0) and 50.5 at k = 4 (+0.5)." in prose
    # Least squares on log2(k) over the four arms with k >= 1: x = 0, 0, 1, 2 and
    # y = 40, 49, 50, 50.5: Sxy / Sxx = 8.875 / 2.75 = 3.227 points per doubling.
    assert "The slope per doubling of k is +3.2 points, 95% interval " in prose
    assert "over 4 intermediate sets with k ≥ 1 (standard errors clustered by set)" in prose
    assert "Arms per size: 2 at k = 1, 1 at k = 2, 1 at k = 4." in prose
    assert "`demo-nli` from −10.0 (`demo-topic-en`) to +2.0 (`demo-topic-en` + `demo-pos-en` " \
        "+ `demo-topic-de` + `demo-topic-zh`)" in prose
    assert "`demo-qa` from −10.0 (`demo-topic-en`) to +4.0 (`demo-pos-en`)" in prose
    assert "(docs/demo-average-vs-k.png)" in inside  # relative to the README
    assert plot.read_bytes() == PLOT
    prose_lines = [line for line in inside.splitlines()[1:] if not line.startswith(("|", "!["))]
    assert prose_lines and all(len(line) <= 94 for line in prose_lines)  # README's width
    # Run again: nothing changes.
    assert script.main([str(run), "--readme", str(readme), "--plot", str(plot)]) == 0
    assert readme.read_text(encoding="utf-8") == after


def test_the_slope_interval_is_the_reports(tmp_path):
    import numpy as np
    from scipy import stats

    script = load_script()
    run = script.load_run(make_run(tmp_path / "demo"))
    # One arm per set here, so clustering by set is the CR1 sandwich over arms, by hand:
    # (X'X)^-1 (sum_i x_i x_i' e_i^2) (X'X)^-1 times G/(G-1) (N-1)/(N-K) = 4/3 * 3/2, t(G - 1).
    x = np.column_stack([np.ones(4), [0, 0, 1, 2.0]])
    y = np.array([40.0, 49.0, 50.0, 50.5])
    bread = np.linalg.inv(x.T @ x)
    beta = bread @ x.T @ y
    e = y - x @ beta
    meat = sum(np.outer(x[i] * e[i], x[i] * e[i]) for i in range(4))
    half = stats.t.ppf(0.975, 3) * np.sqrt(2 * (bread @ meat @ bread)[1, 1])
    text = " ".join(script.findings(run).split())
    low, high = beta[1] - half, beta[1] + half
    assert low < 0 < high
    assert (f"95% interval {low:+.1f} to {high:+.1f}".replace("-", "−")
            + " over 4 intermediate sets with k ≥ 1 (standard errors clustered by set); the "
            "interval includes 0") in text


def test_a_run_that_is_not_the_default_demo_is_refused(tmp_path):
    script = load_script()
    run = make_run(tmp_path / "demo", study=demo_study(quick=True, encoder="tiny-random"))
    readme = readme_copy(tmp_path)
    before = readme.read_text(encoding="utf-8")
    plot = tmp_path / "plot.png"
    with pytest.raises(SystemExit, match="not the study `xstilts demo` runs now"):
        script.main([str(run), "--readme", str(readme), "--plot", str(plot)])
    assert readme.read_text(encoding="utf-8") == before and not plot.exists()
    # --any-study writes it anyway.
    assert script.main([str(run), "--readme", str(readme), "--plot", str(plot),
                        "--any-study"]) == 0
    assert plot.exists()


def test_a_readme_without_the_markers_is_refused(tmp_path):
    script = load_script()
    run = make_run(tmp_path / "demo")
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nno markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="expected one '<!-- demo-table:start"):
        script.main([str(run), "--readme", str(readme), "--plot", str(tmp_path / "p.png")])
    assert readme.read_text(encoding="utf-8") == "# x\n\nno markers\n"
