"""`check_task` and `xstilts data check`: counts per split and language, every failure named."""

from __future__ import annotations

import pytest
from tests.tasks.xtreme_data import build_local

from xstilts.cli import main
from xstilts.errors import XstiltsError
from xstilts.tasks.check import CheckFailed, check_task
from xstilts.tasks.registry import builtin_tasks
from xstilts.tasks.xtreme_langs import TASK_LANGS


def test_check_task_counts_every_split_and_language(tmp_path):
    build_local(tmp_path, "pawsx")
    rows = check_task(builtin_tasks()["pawsx"].with_source("local", str(tmp_path)))
    assert rows[0] == ("train", "en", 2)
    # Every language's own dev set (the English one first: it selects the model), then test.
    assert [(s, lang) for s, lang, _ in rows[1:]] == (
        [("dev", lang) for lang in ("en", "de", "es", "fr", "ja", "ko", "zh")]
        + [("test", lang) for lang in ("de", "en", "es", "fr", "ja", "ko", "zh")])


def test_bucc_dev_is_per_language(tmp_path):
    build_local(tmp_path, "bucc2018")
    rows = check_task(builtin_tasks()["bucc2018"].with_source("local", str(tmp_path)))
    assert [(s, lang) for s, lang, _ in rows] == [(s, lang) for s in ("dev", "test")
                                                  for lang in ("de", "fr", "ru", "zh")]
    assert {count for *_, count in rows} == {5}  # 2 source + 3 target sentences


def test_check_task_reports_all_failures(tmp_path):
    build_local(tmp_path, "udpos")
    (tmp_path / "udpos/test-yo.tsv").unlink()
    (tmp_path / "udpos/dev-en.tsv").write_text("word-without-tag\n")
    with pytest.raises(CheckFailed) as info:
        check_task(builtin_tasks()["udpos"].with_source("local", str(tmp_path)))
    err = info.value
    assert isinstance(err, XstiltsError)
    assert [(s, lang) for s, lang, _ in err.failures] == [("dev", "en"), ("test", "yo")]
    # train; dev in the 29 languages that have one (kk, th, tl, yo do not) but en; every
    # test language but yo.
    assert len(err.rows) == 1 + 28 + 32
    assert not any(s == "dev" and lang in ("kk", "th", "tl", "yo") for s, lang, _ in err.rows)
    msg = str(err)
    assert "2 of 63 splits failed" in msg
    assert "test-yo.tsv: file not found" in msg and "dev-en.tsv:1: expected 2 columns" in msg


def test_cli_data_check_prints_counts(tmp_path, capsys):
    build_local(tmp_path, "xquad")
    assert main(["data", "check", "xquad", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"xquad (local, {tmp_path})")
    lines = out.splitlines()
    assert lines[1].split() == ["split", "lang", "examples"]
    # XQuAD has no dev set: SQuAD's dev set selects the model.
    assert lines[2].split() == ["train", "en", "3"]
    assert lines[3].split() == ["selection", "en", "2"]
    assert [line.split()[1] for line in lines[4:]] == list(builtin_tasks()["xquad"].languages)


def test_cli_data_check_missing_files_exit_2(tmp_path, capsys):
    build_local(tmp_path, "tatoeba")
    (tmp_path / "tatoeba/v1/tatoeba.jav-eng.jav").unlink()
    (tmp_path / "tatoeba/v1/tatoeba.swh-eng.eng").unlink()
    assert main(["data", "check", "tatoeba", "--source", "local", "--dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "test      de" in captured.out  # what loaded is still shown
    assert "jv" not in captured.out.split()
    err = captured.err
    assert "2 of 36 splits failed" in err
    assert str(tmp_path / "tatoeba/v1/tatoeba.jav-eng.jav") + ": file not found" in err
    assert str(tmp_path / "tatoeba/v1/tatoeba.swh-eng.eng") + ": file not found" in err
    assert "fix:" in err


def test_cli_data_check_local_needs_dir(capsys):
    assert main(["data", "check", "xnli", "--source", "local"]) == 2
    assert "--dir PATH" in capsys.readouterr().err


def test_cli_data_check_unknown_task(capsys):
    assert main(["data", "check", "nope", "--dir", "."]) == 2
    assert "unknown task 'nope'" in capsys.readouterr().err


def test_cli_data_check_hub(hub_mirror_env, capsys):
    # The hub read from its local copy ($XSTILTS_HUB_MIRROR: replicas of the hub datasets).
    assert main(["data", "check", "tydiqa"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "tydiqa (hub)"
    # The hub split holds every language's rows; the converter keeps this language's.
    assert out[1].split() == ["split", "lang", "examples", "dropped"]
    assert out[2].split() == ["train", "en", "8", "32"]  # 4 rows in each of 8 other languages
    assert [line.split() for line in out[3:]] == [
        [split, lang, "4", "32"] for split in ("dev", "test") for lang in TASK_LANGS["tydiqa"]]
