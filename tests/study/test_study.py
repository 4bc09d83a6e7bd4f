"""The CI study (examples/study-tiny.yaml) end to end, with the local and the Ray backend."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from tests.fixtures import assert_rho_reported

from xstilts.cli import main
from xstilts.study.planned import plan_study
from xstilts.study.spec import load_study
from xstilts.study.store import Store
from xstilts.study.study import run_study

STUDY = Path(__file__).resolve().parents[2] / "examples" / "study-tiny.yaml"


def table(store: Store) -> list[tuple]:
    return [(r["run_id"], r["target"], r["language"], r["metric"], r["value"], r["job"])
            for r in store.results("study-tiny")]


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    run_study(load_study(STUDY), out)
    return out


def test_dry_run_counts_match_the_hand_count(tmp_path, capsys):
    # Sets: k=1: 4, k=2: 3 (random: 3 of 6), k=4: 1 -> 8 sets x 2 intermediate seeds = 16
    # intermediate trainings. Arms: 8 x 2 x 2 seeds + 2 baseline arms (one per target seed)
    # = 34, each training demo-nli once: 34 target trainings. Evaluations: demo-nli in 2
    # languages per arm (68) + demo-retrieval (untrained: depends on the start model only)
    # in 2 languages per start (16 intermediate checkpoints + the base encoder): 34 -> 102.
    assert main(["study", str(STUDY), "--out", str(tmp_path / "s"), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert plan_study(load_study(STUDY)).count() == {
        "intermediate": 16, "target": 34, "evaluation": 102}
    # Tokens at max_length 48: a job's 4 steps x batch 8 = 32 examples, shared equally by
    # its tasks (32 training examples each, proportional sampler); a demo-mc-en example is 4
    # sequences (one per choice). Per intermediate seed: k = 1: 32 x (1 + 4 + 1 + 1) x 48;
    # k = 2 (topic-en+mc-en, topic-en+topic-de, mc-en+topic-de): 16 x (5 + 2 + 5) x 48;
    # k = 4: 8 x 7 x 48. Targets: 34 x 4 x 8 x 48.
    intermediate = 2 * (32 * 7 + 16 * 12 + 8 * 7) * 48
    assert re.search(r"intermediate\s+16\s+0\s+16\s+" + re.escape(f"{intermediate:.3g}"),
                     printed)
    assert re.search(r"target\s+34\s+0\s+34\s+5\.22e\+04", printed)
    assert not (tmp_path / "s" / "store" / "checkpoints").exists()  # nothing ran


def test_each_intermediate_checkpoint_is_trained_exactly_once(local):
    store = Store(local / "store")
    done = Counter(e["key"] for e in store.events("done") if e["kind"] == "intermediate")
    assert len(done) == 16 and set(done.values()) == {1}
    assert len(table(store)) == 34 * 9  # per arm: nli (en, de, avg) x 2 metrics + 3 retrieval
    assert len(set(r[:4] for r in table(store))) == len(table(store))  # no duplicate rows


def test_running_again_trains_and_evaluates_nothing(local, capsys):
    before = table(Store(local / "store"))
    said = []
    outcome = run_study(load_study(STUDY), local, log=said.append)
    assert outcome["ran"] == [] and len(outcome["reused"]) == 152
    # What it reused in one line, not one per job (a paper-scale study has 56,000).
    reusing = [line for line in said if "reus" in line]
    assert len(reusing) == 2, said  # the summary, and the study's closing line
    assert reusing[0] == (f"reusing 152 job(s) already in {local / 'store'} (16 intermediate, "
                          "34 target, 102 evaluation); nothing to run")
    assert reusing[1].startswith("study study-tiny: 0 job(s) ran, 152 reused, 0 failed")
    assert table(Store(local / "store")) == before
    assert main(["study", "status", str(local)]) == 0
    status = capsys.readouterr().out
    assert re.search(r"intermediate\s+16(\s+0){4}\n", status)
    assert re.search(r"evaluation\s+102(\s+0){4}\n", status)


def test_keep_drops_target_weights_and_keeps_intermediate_ones(local):
    store = local / "store" / "checkpoints"
    targets = list(store.glob("target-*"))
    assert len(targets) == 34 and all(not (t / "best").exists() for t in targets)
    assert all((t / "summary.json").exists() for t in targets)
    assert all((i / "best" / "model.safetensors").exists()
               for i in store.glob("intermediate-*"))


def test_ray_backend_gives_the_identical_table(local, tmp_path):
    # Ray comes with the test extra (pip install -e ".[test]"): missing, this fails.
    run_study(load_study(STUDY), tmp_path, backend="ray")
    assert table(Store(tmp_path / "store")) == table(Store(local / "store"))


def test_a_second_study_on_the_same_store_reuses_everything(local, tmp_path):
    text = STUDY.read_text().replace("name: study-tiny", "name: study-tiny-again")
    (tmp_path / "again.yaml").write_text(text)
    outcome = run_study(load_study(tmp_path / "again.yaml"), tmp_path / "again",
                        store_dir=local / "store")
    assert outcome["ran"] == []
    rows = Store(local / "store").results("study-tiny-again")
    assert len(rows) == 34 * 9


def test_a_dropped_target_is_retrained_when_a_new_language_needs_it(local, tmp_path):
    store = tmp_path / "store"
    shutil.copytree(local / "store", store)
    text = STUDY.read_text().replace("demo-nli: [en, de]", "demo-nli: [en, de, es]")
    (tmp_path / "more.yaml").write_text(text)
    outcome = run_study(load_study(tmp_path / "more.yaml"), tmp_path / "more", store_dir=store)
    kinds = Counter(key_kind(store, k) for k in outcome["ran"])
    # 34 new evaluations (es); their 34 target checkpoints had been dropped, so they retrain
    # (same seed: the same model); no intermediate training.
    assert kinds == {"evaluation": 34, "target": 34}
    old = {r[:5] for r in table(Store(local / "store")) if r[2] != "avg"}
    new = {r[:5] for r in table(Store(store))}
    assert old <= new  # the retrained targets give the same en/de scores
    # The average now spans en, de and es (it moved unless es scored exactly the old mean).
    scores = {(r[0], r[1], r[2], r[3]): r[4] for r in new}
    for run_id, target, _, metric in [k for k in scores if k[1:3] == ("demo-nli", "avg")]:
        per_language = [scores[(run_id, target, lang, metric)] for lang in ("en", "de", "es")]
        assert scores[(run_id, target, "avg", metric)] == pytest.approx(sum(per_language) / 3)


def key_kind(store: Path, key: str) -> str:
    import json

    return json.loads((store / "jobs" / f"{key}.json").read_text())["kind"]


def test_local_worker_processes_run_the_study_too(tmp_path):
    text = STUDY.read_text().replace("sizes: [0, 1, 2, 4]", "sizes: [0, 1]").replace(
        "draws:\n  2: {random: 3}          # 3 of the 6 pairs, seeded by `seed`\n", "")
    (tmp_path / "small.yaml").write_text(text)
    study = load_study(tmp_path / "small.yaml")
    run_study(study, tmp_path / "inline")
    outcome = run_study(study, tmp_path / "workers", workers=2)
    assert len(outcome["ran"]) == sum(plan_study(study).count().values())
    inline, workers = (table(Store(tmp_path / d / "store")) for d in ("inline", "workers"))
    # Same jobs, same rows; values equal up to float reduction order (1 thread per worker).
    assert [r[:4] + r[5:] for r in workers] == [r[:4] + r[5:] for r in inline]
    assert [r[4] for r in workers] == pytest.approx([r[4] for r in inline], abs=1e-6)


def test_the_ci_study_ends_with_its_report(local):
    # run_study writes the report at the end: the four outputs, numbers from the store.
    for name in ("report.md", "report.html", "results.csv", "average_vs_k.png"):
        assert (local / name).stat().st_size > 0, name
    import pandas as pd

    csv = pd.read_csv(local / "results.csv")
    assert len(csv) == 34 * 9  # the store's rows, one per arm x target x language x metric


def test_the_ranking_runs_on_the_ci_study_and_its_report_shows_rho(local, tmp_path):
    # issue 28: xstilts rank on examples/study-tiny.yaml, then its report's "Predicted vs
    # measured" over its 8 sets (a copy of the study folder: the store stays where it is).
    folder = tmp_path / "ranked"
    shutil.copytree(local, folder, ignore=shutil.ignore_patterns("store"))
    assert main(["rank", str(STUDY), "--out", str(folder), "--examples", "16"]) == 0
    assert main(["report", str(folder)]) == 0
    assert_rho_reported(folder, "demo-nli")
