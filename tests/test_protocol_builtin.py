"""Built-in benchmark tasks through the whole protocol, from XTREME's local file layout."""

import json

import pytest

from tests.tasks.xtreme_data import build_local
from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.evaluate.xtreme import score_benchmark
from xstilts.study.run import run_config


def mnli_line(i: int, label: str) -> str:
    return json.dumps({"gold_label": label, "pairID": f"p{i}", "sentence1": f"a premise {i}",
                       "sentence2": f"a hypothesis {i % 3}"})


def write_config(tmp_path, extra: str = "") -> object:
    build_local(tmp_path / "xtreme", "pawsx")
    mnli = tmp_path / "xtreme" / "multinli_1.0"
    mnli.mkdir(parents=True)
    labels = ["entailment", "neutral", "contradiction"]
    for split, n in (("train", 12), ("dev_matched", 6)):
        (mnli / f"multinli_1.0_{split}.jsonl").write_text(
            "\n".join(mnli_line(i, labels[i % 3]) for i in range(n)) + "\n")
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: tiny-random}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
intermediate:
  tasks: [mnli]
  training: {{max_steps: 2, batch_size: 4}}
targets:
  tasks: [pawsx]
  languages: {{pawsx: [en, de]}}
  training: {{max_steps: 2, batch_size: 4}}
{extra}""")
    return load_config(tmp_path / "c.yaml")


def test_intermediate_and_target_from_local_xtreme_files_rescore_identically(tmp_path):
    config = write_config(tmp_path)
    out = tmp_path / "out"
    results = run_config(config, out)
    assert results["intermediate"]["tasks"] == ["mnli"]
    pawsx = results["targets"]["pawsx"]
    assert set(pawsx["languages"]) == {"en", "de"}
    scored = score_benchmark(out / "predictions", out / "labels")
    task = scored["tasks"]["pawsx"]
    for lang in ("en", "de"):
        assert task["languages"][lang]["accuracy"] == pytest.approx(
            pawsx["languages"][lang]["accuracy"])
    assert task["average"] is None  # 2 of PAWS-X's 7 official languages: no task average
    assert scored["overall"] is None


def test_language_subset_must_belong_to_the_task(tmp_path):
    config = write_config(tmp_path)
    config.targets.languages = {"pawsx": ["en", "xx"]}
    with pytest.raises(XstiltsError, match=r"targets.languages.pawsx: \['xx'\] are not languages"):
        run_config(config, tmp_path / "out")
