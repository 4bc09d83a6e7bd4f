"""The paper's path as users run it: every examples/paper config, and the grid study, end to end
on the local copy of the hub (tests/hub_replicas.py: the hub's own layouts, read through
`datasets.load_dataset`), with `eval_split: dev` and `test`.

Only what the machine cannot afford changes: tiny-random for XLM-R Large, two training steps,
a few evaluation examples. CCGbank (LDC) and the MLM text are the user's own files, and BUCC
reads XTREME's files: those are written here in their layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.tasks.xtreme_data import build_local
from xstilts.config import parse_config
from xstilts.report import targets_average
from xstilts.study.run import run_config
from xstilts.tasks.xtreme_langs import TASK_LANGS

PAPER = Path(__file__).resolve().parents[1] / "examples" / "paper"
SINGLE = sorted(p for p in PAPER.glob("*.yaml"))
QUICK = {"max_steps": 2, "batch_size": 2, "dev_limit": 4, "evaluations": 1, "bf16": False}
# Targets and languages of the configs other than the baseline's (every target, every
# language): a UD-POS language with a dev set of its own and one without, and retrieval.
FEW = {"udpos": ["de", "kk"], "tatoeba": ["kk"]}
CCG = """ID=wsj_0001.{i} PARSER=GOLD NUMPARSE=1
(<T S[dcl] 0 2> (<L NP NNP NNP Pierre NP>) (<L S[dcl]\\NP VBZ VBZ sleeps S[dcl]\\NP_1>) )
"""


def user_files(root: Path) -> Path:
    """The files the paper configs read outside the hub: CCGbank, MLM text, XTREME's BUCC."""
    (root / "ccg").mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        (root / "ccg" / f"{split}.auto").write_text(
            "".join(CCG.format(i=i) for i in range(12)), encoding="utf-8")
    for lang in TASK_LANGS["panx"]:  # the MLM config's 40 languages
        for split in ("train", "dev"):
            (root / f"{split}.{lang}.txt").write_text(f"Text in {lang}.\nMore text.\n",
                                                      encoding="utf-8")
    build_local(root, "bucc2018")
    return root


def quick(config: dict, mirror: Path, files: Path, split: str, every_language: bool) -> dict:
    """A paper config (as parsed YAML) made tiny; everything else as written."""
    config["encoder"]["name"] = "tiny-random"
    if config["data"].get("source") == "local":
        config["data"]["dir"] = str(files)
    else:
        config["data"]["hub_mirror"] = str(mirror)
    for declared in (config.get("tasks") or {}).values():
        declared["base_dir"] = str(files)
    if config.get("intermediate"):
        config["intermediate"]["training"].update(QUICK, epochs=1)
    targets = config["targets"]
    targets["eval_split"] = split
    targets["test_limit"] = 3
    if "training" in targets:
        targets["training"].update(QUICK, eval_every=2)
    for settings in (targets.get("task_training") or {}).values():
        settings.update(batch_size=2, max_length=128)
    if not every_language:
        # The targets are the same in every config (the baseline runs them all, in every
        # language): the other configs add their intermediate phase, checked through UD-POS
        # (a language with a dev set and one without) and Tatoeba.
        targets["tasks"] = [t for t in targets["tasks"] if t in FEW]
        targets["languages"] = {t: FEW[t] for t in targets["tasks"]}
        targets["task_training"] = {t: v for t, v in (targets.get("task_training") or {}).items()
                                    if t in targets["tasks"]}
        kept = set(targets["tasks"]) | set((config.get("intermediate") or {}).get("tasks", []))
        config["task_options"] = {t: v for t, v in (config.get("task_options") or {}).items()
                                  if t in kept}
    return config


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return user_files(tmp_path_factory.mktemp("user_files"))


@pytest.mark.parametrize("path", SINGLE, ids=lambda p: p.stem)
def test_paper_config_runs_on_the_hub_replicas(path, hub_mirror, files, tmp_path):
    every_language = path.stem in ("baseline", "bucc2018")
    store = tmp_path / "store"  # shared: the test-split run reuses the dev run's training
    for split in ("dev", "test"):
        raw = quick(load_yaml(path), hub_mirror, files, split, every_language)
        out = tmp_path / split
        results = run_config(parse_config(yaml.safe_dump(raw)), out, store=store)
        check_results(raw, results, out, split)


def check_results(raw: dict, results: dict, out: Path, split: str) -> None:
    """Every target scored in every language asked for, each on the split the protocol says."""
    targets = results["targets"]
    assert set(targets) == set(raw["targets"]["tasks"])
    if raw.get("intermediate"):
        assert results["intermediate"]["tasks"] == raw["intermediate"]["tasks"]
    for name, target in targets.items():
        languages = raw["targets"].get("languages", {}).get(name, TASK_LANGS[name])
        assert sorted(target["languages"]) == sorted(languages)
        splits = target["splits"]
        if name == "bucc2018":  # the paper's oracle: tuned and scored on the dev/sample data
            assert set(splits.values()) == {"dev"} and "oracle" in target
        elif split == "test" or name in ("xquad", "tatoeba"):  # no dev set of their own
            assert set(splits.values()) == {"test"}
        else:
            assert splits == {lang: "test" if (name, lang) in NO_DEV else "dev"
                              for lang in languages}
        suffix = "json" if target["format"] == "span_qa" else "tsv"
        for lang, scored in splits.items():
            assert (out / "predictions" / name / f"{scored}-{lang}.{suffix}").is_file()
    saved = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert saved["targets"].keys() == targets.keys()
    # Scored on 3 examples each (test_limit): whatever the targets, their average is not
    # the XTREME score, and says why.
    _, described = targets_average(targets)
    assert not described["complete"]
    assert f"scored on part of their examples (test_limit): {', '.join(targets)}" in \
        described["detail"]


NO_DEV = {("udpos", lang) for lang in ("kk", "th", "tl", "yo")}


def test_the_paper_grid_study_runs_on_the_hub_replicas(hub_mirror, files, tmp_path):
    from xstilts.study.spec import load_study
    from xstilts.study.study import run_study

    for split in ("dev", "test"):  # one store: the test split reuses the dev run's training
        raw = load_yaml(PAPER / "study" / "grid.yaml")
        raw["base"] = quick(raw["base"], hub_mirror, files, split, every_language=False)
        path = tmp_path / f"grid-{split}.yaml"
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
        out = tmp_path / split
        summary = run_study(load_study(path), out, store_dir=tmp_path / "store")  # failures raise
        assert summary["planned"]["intermediate"] == 10  # nine single tasks and all nine
        assert len(summary["ran"]) + len(summary["reused"]) == sum(summary["planned"].values())
        assert (out / "report.html").is_file()
        # Nine sets at k = 1 and one at k = 9: the slope's interval is left out, and why.
        report = (out / "report.md").read_text(encoding="utf-8")
        assert "no interval (the slope rests on the one set at k = 9" in report
        # All nine at once is the only set of its size: its seeds are its units.
        assert "Average, k = 9: " in report and "the whole pool, its 1 arm(s) as the units" \
            in report
