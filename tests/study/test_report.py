"""`xstilts report` on a real small study (a reduced CI study whose pool has a task named with
markup characters), and the HTML page checked in headless Chromium."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from tests.fixtures import write_colour_task

from xstilts.cli import main
from xstilts.study import load_results
from xstilts.study.spec import load_study
from xstilts.study.store import RESULT_COLUMNS
from xstilts.study.study import run_study

MARKUP = 'demo<b>&"x'
ESCAPED = "demo&lt;b&gt;&amp;&quot;x"
STUDY = """
name: report-tiny
base:
  encoder: {name: tiny-random}
  suites:
    demo: {sizes: {train: 32, dev: 16, test: 16}, seed: 0}
  tasks:
    'demo<b>&"x':
      format: classification
      languages: [en]
      reader: jsonl
      paths: {train: "data/train-en.jsonl", dev: "data/dev-en.jsonl"}
      labels: [pos, neg]
  intermediate:
    training: {max_steps: 2, batch_size: 8, learning_rate: 1.0e-3, max_length: 48,
               evaluations: 1}
  targets:
    tasks: [demo-nli, demo-retrieval]
    languages: {demo-nli: [en, de], demo-retrieval: [de, es]}
    training: {max_steps: 2, batch_size: 8, learning_rate: 1.0e-3, max_length: 48,
               evaluations: 1}
pool: [demo-topic-en, 'demo<b>&"x', demo-topic-de]
sizes: [0, 1, 2]
draws: {2: {random: 2}}
seeds: {intermediate: [0], target: [0]}
"""
PLOTS = ("average_vs_k.png", "targets_vs_k.png", "gain_heatmap.png", "same_language.png",
         "transfer_heatmap.png")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory) -> Path:
    """The reduced study, run once (its report is written at the end of the run)."""
    root = tmp_path_factory.mktemp("report")
    write_colour_task(root / "data", n_train=32, n_dev=16, n_test=8)
    (root / "study.yaml").write_text(STUDY, encoding="utf-8")
    run_study(load_study(root / "study.yaml"), root / "out")
    return root / "out"


def test_the_study_run_writes_its_report(study_dir):
    for name in ("report.md", "report.html", "results.csv", *PLOTS):
        assert (study_dir / name).stat().st_size > 0, name


def test_xstilts_report_writes_the_four_outputs(study_dir, tmp_path, capsys):
    assert main(["report", str(study_dir), "--out", str(tmp_path)]) == 0
    assert "report.html" in capsys.readouterr().out
    for name in ("report.md", "report.html", "results.csv", *PLOTS):
        assert (tmp_path / name).stat().st_size > 0, name
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert ESCAPED in page and MARKUP not in page and "<b>" not in page
    assert page.count('src="data:image/png;base64,') == len(PLOTS)
    assert "http://" not in page and "https://" not in page  # self-contained
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "demo&lt;b&gt;&amp;\"x" in md and "<b>" not in md
    for text in ("Answers", "per doubling of k", "Same-language effect", "Methods",
                 "choosing", "tiny-random", "xstilts"):
        assert text.lower() in md.lower(), text


def test_the_report_names_its_average_and_the_splits(study_dir):
    md = (study_dir / "report.md").read_text(encoding="utf-8")
    # Demo targets, not XTREME tasks: an average over its targets, never an XTREME score.
    assert "Average over the targets: the average over its 2 targets; each target's main " \
        "metric averaged over its languages, then the mean over the targets." in md
    assert "XTREME" not in md
    frame = load_results(study_dir)
    base = frame[(frame["k"] == 0) & (frame["language"] == "avg") & frame["main"]]
    # both targets are scored by accuracy: the baseline's average is the mean of the two
    expected = base.groupby("target")["value"].mean().mean()
    assert f"- Average, baseline (k = 0): {expected:.2f}% " in md
    assert ("| target | language | split | k | sets | arms | mean (%) | gain (points) | 95% CI "
            "| p (BH) |") in md
    assert "| demo-nli | de | test | 0 |" in md and "| demo-nli | avg | test | 0 |" in md


def test_load_results_has_one_row_per_job_target_language_and_metric(study_dir):
    frame = load_results(study_dir)
    assert set(RESULT_COLUMNS) <= set(frame.columns)
    assert {"languages", "english_in_set", "main", "split"} <= set(frame.columns)
    # 6 arms (1 baseline + 3 singles + 2 pairs): nli (en, de, avg) x 2 metrics + 3 retrieval
    assert len(frame) == 6 * 9 and frame["run_id"].nunique() == 6
    assert not frame.duplicated(["run_id", "target", "language", "metric"]).any()
    markup = frame[frame["intermediate"] == MARKUP]
    assert set(markup["languages"]) == {"en"} and markup["english_in_set"].all()
    assert set(frame.loc[frame["main"], "metric"]) == {"accuracy"}
    assert load_results(study_dir / "store").shape == frame.shape  # the store folder too
    assert load_results(study_dir / "store", "report-tiny").shape == frame.shape


def test_report_of_a_folder_that_is_no_study_is_a_clear_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "neither a study folder (plan.json) nor a store" in error and "fix:" in error


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium; CI (XSTILTS_REALDATA=1) installs it, so there a missing one fails
    (checked before the study runs)."""
    path = shutil.which("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        path = None
    if path is None:
        message = "needs Debian's chromium and playwright (pip install -e '.[test]')"
        if os.environ.get("XSTILTS_REALDATA") == "1":
            pytest.fail(f"{message}; .ci/run installs chromium when it is missing")
        pytest.skip(message)
    return path


def test_the_page_renders_in_headless_chromium(chromium, study_dir, tmp_path):
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            page.goto((study_dir / "report.html").resolve().as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => i.naturalWidth)")
            body = page.inner_text("body")
            bold = page.locator("b").count()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert len(images) == len(PLOTS) and all(width > 0 for width in images), images
    assert problems == []
    assert MARKUP in body and bold == 0  # shown as text, never a <b> element
    assert shot.stat().st_size > 10_000


def test_a_report_failure_at_the_end_of_a_study_is_said_not_raised(tmp_path):
    from xstilts.study.study import report_study

    lines = []
    report_study(tmp_path, "nothing-here", log=lines.append)
    assert len(lines) == 1 and lines[0].startswith("report not written (XstiltsError")
    assert f"xstilts report {tmp_path}" in lines[0]
