"""Two notions of dev: model selection on the English dev of the training data, the paper's
dev table on each language's own dev set (test where a language has none), and BUCC's two
protocols. Data in XTREME's local layout (tests/tasks/xtreme_data.py)."""

import json

import pytest

from tests.tasks.xtreme_data import build_local
from xstilts.config import load_config
from xstilts.errors import XstiltsError
from xstilts.study.run import run_config
from xstilts.tasks.registry import builtin_tasks
from xstilts.tasks.resolve import resolve_tasks
from xstilts.tasks.splits import needed_splits, scored_split


def test_scored_split_per_language():
    tasks = builtin_tasks()
    udpos, xquad, xnli = tasks["udpos"], tasks["xquad"], tasks["xnli"]
    assert scored_split(udpos, "dev", "de") == "dev"
    # jiant's c_tokenize_and_cache.sh: UD-POS kk, th, tl, yo have test data only.
    assert [scored_split(udpos, "dev", lang) for lang in ("kk", "th", "tl", "yo")] == ["test"] * 4
    assert scored_split(udpos, "test", "de") == "test"
    assert scored_split(xquad, "dev", "de") == "test"  # XQuAD has no dev set
    assert scored_split(xnli, "dev", "sw") == "dev"
    bucc = tasks["bucc2018"]
    assert scored_split(bucc, "dev", "de") == "test"  # XTREME's protocol by default
    oracle = bucc.__class__(**{**bucc.__dict__, "options": {"protocol": "oracle"}})
    assert scored_split(oracle, "test", "de") == "dev"
    wrong = bucc.__class__(**{**bucc.__dict__, "options": {"protocol": "best"}})
    with pytest.raises(XstiltsError, match="protocol is 'best'"):
        scored_split(wrong, "dev", "de")


def test_selection_and_evaluation_read_different_splits(tmp_path):
    (tmp_path / "c.yaml").write_text("""
encoder: {name: tiny-random}
targets:
  tasks: [xnli, xquad, udpos]
  eval_split: dev
  languages: {xnli: [en, de], xquad: [en, de], udpos: [de, kk]}
""")
    config = load_config(tmp_path / "c.yaml")
    tasks = resolve_tasks(config)
    needed = {(t.name, split, lang) for t, split, lang in
              needed_splits(tasks, config.targets.tasks, config.targets.eval_split)}
    # From the hub: MNLI's dev-matched selects the XNLI model; XNLI's dev sets are scored.
    assert {("xnli", "selection", None), ("xnli", "dev", "en"), ("xnli", "dev", "de")} <= needed
    assert ("xnli", "dev", None) not in needed and ("xnli", "test", "de") not in needed
    assert {("xquad", "selection", None), ("xquad", "test", "de")} <= needed
    assert {("udpos", "dev", None), ("udpos", "dev", "de"), ("udpos", "test", "kk")} <= needed
    assert ("udpos", "test", "de") not in needed and ("udpos", "dev", "kk") not in needed


def write_udpos(root):
    """XTREME's UD-POS files, with a German dev set of its own (3 sentences, every tag X)."""
    build_local(root, "udpos")
    sentences = [["Ein", "Hund"], ["Zwei", "Katzen", "laufen"], ["Hallo"]]
    (root / "udpos" / "dev-de.tsv").write_text(
        "\n".join("\n".join(f"{w}\tX" for w in s) + "\n" for s in sentences), encoding="utf-8")
    return sentences


def test_dev_run_scores_each_language_on_its_own_dev_set_and_says_which(tmp_path):
    sentences = write_udpos(tmp_path / "xtreme")
    (tmp_path / "c.yaml").write_text(f"""
encoder: {{name: tiny-random}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets:
  tasks: [udpos]
  eval_split: dev
  languages: {{udpos: [de, kk]}}
  training: {{max_steps: 2, batch_size: 2}}
""")
    out = tmp_path / "out"
    results = run_config(load_config(tmp_path / "c.yaml"), out)
    udpos = results["targets"]["udpos"]
    assert udpos["eval_split"] == "dev"
    assert udpos["splits"] == {"de": "dev", "kk": "test"}  # kk has no dev set
    # German is scored on German dev's rows: its gold, in XTREME's layout, is that file's tags.
    gold = (out / "labels" / "udpos" / "dev-de.tsv").read_text(encoding="utf-8").split("\n\n")
    assert [block.split() for block in gold if block.strip()] == [["X"] * len(s)
                                                                   for s in sentences]
    assert (out / "predictions" / "udpos" / "test-kk.tsv").is_file()
    assert not (out / "predictions" / "udpos" / "dev-kk.tsv").exists()
    saved = json.loads((out / "results.json").read_text())
    assert saved["targets"]["udpos"]["splits"] == {"de": "dev", "kk": "test"}


def bucc_config(tmp_path, protocol: str | None) -> object:
    build_local(tmp_path / "xtreme", "bucc2018")
    options = f"task_options: {{bucc2018: {{protocol: {protocol}}}}}" if protocol else ""
    path = tmp_path / f"bucc-{protocol}.yaml"
    path.write_text(f"""
encoder: {{name: tiny-random}}
data: {{source: local, dir: {tmp_path / "xtreme"}}}
targets:
  tasks: [bucc2018]
  eval_split: dev
  languages: {{bucc2018: [de]}}
{options}
""")
    return load_config(path)


def test_bucc_oracle_tunes_and_scores_dev_xtreme_tunes_on_dev_and_scores_test(tmp_path):
    xtreme = run_config(bucc_config(tmp_path, None), tmp_path / "xtreme-out")["targets"]["bucc2018"]
    oracle = run_config(bucc_config(tmp_path, "oracle"), tmp_path / "oracle-out")["targets"]["bucc2018"]
    assert xtreme["splits"] == {"de": "test"} and "oracle" not in xtreme
    assert oracle["splits"] == {"de": "dev"} and "upper bound" in oracle["oracle"]
    assert (tmp_path / "oracle-out" / "predictions" / "bucc2018" / "dev-de.tsv").is_file()
    assert (tmp_path / "xtreme-out" / "predictions" / "bucc2018" / "test-de.tsv").is_file()
    # Both tune on the same German dev/sample data with the same encoder: the same threshold.
    assert oracle["tuned_on_dev"]["de"]["threshold"] == xtreme["tuned_on_dev"]["de"]["threshold"]


def test_bucc_xtreme_protocol_without_test_gold_is_refused_before_any_work(tmp_path):
    config = bucc_config(tmp_path, None)
    (tmp_path / "xtreme" / "bucc2018" / "de-en.test.gold").unlink()  # as download_data.sh
    with pytest.raises(XstiltsError, match=r"de-en.test.gold: file not found.*\n.*protocol: oracle"):
        run_config(config, tmp_path / "out")
    assert not (tmp_path / "out" / "results.json").exists()
