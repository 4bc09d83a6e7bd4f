"""What a run shows while it works: bars with the language in their label when bars are on,
one line per finished stage when they are off, -q, -v, the hub's download bars and
OUT/xstilts.log."""

from __future__ import annotations

import logging
import re

import pytest
import torch

from xstilts.cli import main
from xstilts.config import EncoderConfig, PhaseConfig, TrainingConfig
from xstilts.errors import XstiltsError
from xstilts.formats import get_format
from xstilts.formats.base import featurize
from xstilts.models.build import build_model
from xstilts.models.encoder import quiet_transformers, resolve_encoder
from xstilts.progress import configure, reset
from xstilts.study.phases import Workspace, evaluate_language
from xstilts.study.plan import EvalJob
from xstilts.tasks.loading import load_split, strings_of
from xstilts.tasks.registry import suite_tasks
from xstilts.train.loop import TaskData, validate

SIZES = {"train": 24, "dev": 12, "test": 10}
CPU = torch.device("cpu")
LINE = r"in \d+\.\d s"


@pytest.fixture(autouse=True)
def no_leftover_logging():
    quiet_transformers()  # as the CLI does: no bars or load reports of transformers' own
    yield
    reset()  # each test's handlers and bar setting go with it


@pytest.fixture(scope="module")
def demo():
    """demo-nli and demo-retrieval (small) and a tiny-random encoder built on their text."""
    tasks = suite_tasks("demo", SIZES, 0)
    nli, retrieval = tasks["demo-nli"], tasks["demo-retrieval"]
    texts = strings_of([load_split(nli, "train"), load_split(nli, "dev"),
                        *(load_split(retrieval, "test", lang) for lang in ("de", "es"))])
    return nli, retrieval, resolve_encoder("tiny-random", texts)


def frames(err: str) -> list[str]:
    """What tqdm drew: the text between carriage returns (each redraw starts with one)."""
    return [frame.strip() for frame in err.split("\r") if frame.strip()]


def has_bar(err: str, label: str, total: int) -> bool:
    """A tqdm bar `label: NN%|...| n/total` among the frames drawn."""
    pattern = re.escape(label) + r":\s+\d+%\|.*\|\s*\d+/" + str(total) + r"\b"
    return any(re.search(pattern, frame) for frame in frames(err))


def featurise_nli(demo):
    nli, _, location = demo
    _, tokenizer = build_model(location, EncoderConfig())
    examples = load_split(nli, "train")
    return featurize(get_format("classification"), examples, tokenizer, nli, 48,
                     "featurise demo-nli train (en)", done="featurised demo-nli train (en)")


def evaluate_dev_and_test(demo, folder):
    """A dev evaluation (as training's model selection runs it) and a zero-shot one."""
    nli, retrieval, location = demo
    model, tokenizer = build_model(location, EncoderConfig())
    model.add_head("demo-nli", nli)
    data = TaskData(nli, get_format("classification"), "demo-nli", [],
                    load_split(nli, "dev"), 48)
    validate(model, [data], tokenizer, TrainingConfig(), CPU)
    job = EvalJob(key="e", task=retrieval, lang="de", split="test", phase=PhaseConfig(),
                  model=None, start=None)
    evaluate_language(job, Workspace(folder, location, EncoderConfig(), CPU))


def test_bars_on_featurising_draws_a_labelled_bar_then_one_line(demo, capsys):
    configure(logging.INFO, bars=True)
    assert len(featurise_nli(demo)) == 24
    err = capsys.readouterr().err
    assert has_bar(err, "featurise demo-nli train (en)", 24), frames(err)
    # The bar is cleared when done; what stays is the stage's line.
    assert re.search(rf"(^|\r)\[xstilts\] featurised demo-nli train \(en\): 24 examples "
                     rf"{LINE}$", err, re.M), err


def test_bars_on_dev_and_test_evaluation_bars_name_the_language(demo, capsys, tmp_path):
    configure(logging.INFO, bars=True)
    evaluate_dev_and_test(demo, tmp_path)
    err = capsys.readouterr().err
    assert has_bar(err, "dev demo-nli (en)", 12), frames(err)
    # Retrieval encodes both sides: 2 x 10 sentences in the bar of the German evaluation.
    assert has_bar(err, "eval demo-retrieval test (de)", 20), frames(err)
    assert re.search(rf"(^|\r)\[xstilts\] eval demo-retrieval test \(de\): 10 examples "
                     rf"{LINE} \(accuracy \d+\.\d\d\)$", err, re.M), err
    assert (tmp_path / "predictions" / "test-de.tsv").exists()


def test_no_terminal_no_bars_one_line_per_stage(demo, capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("XSTILTS_PROGRESS", raising=False)
    configure(logging.INFO)  # bars: auto, and capsys' stderr is no terminal
    featurise_nli(demo)
    evaluate_dev_and_test(demo, tmp_path)
    err = capsys.readouterr().err
    assert "\r" not in err and "%|" not in err
    lines = err.splitlines()
    assert all(line.startswith("[xstilts] ") for line in lines), lines
    assert sum("featurised demo-nli train (en): 24 examples" in line for line in lines) == 1
    assert sum("eval demo-retrieval test (de): 10 examples" in line for line in lines) == 1
    # The dev evaluation inside training is a DEBUG line: not shown at INFO.
    assert not any("dev demo-nli" in line for line in lines), lines


def test_verbose_shows_debug_lines_and_quiet_shows_nothing(demo, capsys, tmp_path):
    configure(logging.DEBUG)
    evaluate_dev_and_test(demo, tmp_path / "v")
    err = capsys.readouterr().err
    assert re.search(rf"^\[xstilts\] debug: dev demo-nli \(en\): 12 examples {LINE}", err,
                     re.M), err
    configure(logging.WARNING)
    featurise_nli(demo)
    evaluate_dev_and_test(demo, tmp_path / "q")
    assert capsys.readouterr().err == ""


def test_quiet_transformers_keeps_the_hubs_download_bars(monkeypatch):
    from huggingface_hub import constants
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as hf_logging

    try:
        quiet_transformers()
        assert not hf_logging.is_progress_bar_enabled()  # transformers' own (loading) bars
        assert not hub_utils.are_progress_bars_disabled()  # downloads
        quiet_transformers(download_bars=False)  # -q
        assert hub_utils.are_progress_bars_disabled()
        monkeypatch.setattr(constants, "HF_HUB_DISABLE_PROGRESS_BARS", True)
        quiet_transformers()  # the user's HF_HUB_DISABLE_PROGRESS_BARS=1 wins
        monkeypatch.undo()
        assert hub_utils.are_progress_bars_disabled()
    finally:
        quiet_transformers()


RUN = """
seed: 0
encoder: {name: tiny-random}
suites:
  demo: {sizes: {train: 16, dev: 8, test: 8}, seed: 0}
targets:
  tasks: [demo-nli]
  languages: {demo-nli: [en, de]}
  training: {max_steps: 2, batch_size: 8, max_length: 48, evaluations: 1}
"""


def log_during_checks(monkeypatch, out, refuse: bool) -> list[bool]:
    """An INFO line from inside the run's pre-flight checks (as converting an encoder or a
    slow split load says); then refuse the run, or go on. Returns, per check, whether OUT
    existed then."""
    import xstilts.study.prepare as prepare_module

    check = prepare_module.check_encoder

    def noisy_check(*args, **kwargs):
        existed.append(out.exists())
        logging.getLogger("xstilts.preflight").info("checking the encoder (before OUT)")
        if refuse:
            raise XstiltsError("encoder: refused by the test.\n  fix: none needed.")
        return check(*args, **kwargs)

    existed: list[bool] = []
    monkeypatch.setattr(prepare_module, "check_encoder", noisy_check)
    return existed


def test_quiet_run_keeps_its_log_in_out_appended_across_resumes(tmp_path, capsys,
                                                                 monkeypatch):
    config, out = tmp_path / "run.yaml", tmp_path / "out"
    config.write_text(RUN)
    out_existed = log_during_checks(monkeypatch, out, refuse=False)
    assert main(["-q", "run", str(config), "--out", str(out)]) == 0
    assert out_existed == [False]  # its line below was logged before OUT was made
    captured = capsys.readouterr()
    assert "demo-nli [accuracy]" in captured.out  # the results table is the output
    # -q: warnings only (one dev evaluation selects nothing), no progress lines or bars.
    assert "[xstilts] warning: target demo-nli was scored on dev once, so model selection " \
        "chose nothing;" in captured.err
    assert all(line.startswith("[xstilts] warning: ") for line in captured.err.splitlines())
    assert "\r" not in captured.err
    text = (out / "xstilts.log").read_text(encoding="utf-8")
    stamp = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} "
    for line in (rf"INFO    xstilts -q run {re.escape(str(config))} --out ",
                 r"INFO    checking the encoder \(before OUT\)$",
                 r"INFO    3 job\(s\) to run, 0 already in ",
                 r"INFO    \[1/3\] start target demo-nli ",
                 rf"INFO    target demo-nli: 2 steps {LINE}$",
                 r"WARNING target demo-nli was scored on dev once",
                 rf"INFO    eval demo-nli test \(en\): 8 examples {LINE} \(accuracy ",
                 rf"INFO    eval demo-nli test \(de\): 8 examples {LINE} \(accuracy ",
                 rf"INFO    run: 3 jobs {LINE}$"):
        assert len(re.findall(stamp + line, text, re.M)) == 1, (line, text)
    # Run again: everything is reused, and the log grows (a second header, no new jobs).
    assert main(["run", str(config), "--out", str(out)]) == 0
    again = (out / "xstilts.log").read_text(encoding="utf-8")
    assert again.startswith(text)
    added = again[len(text):]
    assert re.search(stamp + r"INFO    xstilts run ", added, re.M)
    assert re.search(stamp + r"INFO    reusing target demo-nli ", added, re.M)
    assert "start" not in added and "eval demo-nli" not in added
    assert "[xstilts] reusing target demo-nli" in capsys.readouterr().err  # not quiet now


def test_a_bad_config_is_said_on_stderr_and_leaves_no_log(tmp_path, capsys):
    config, out = tmp_path / "run.yaml", tmp_path / "out"
    config.write_text(RUN.replace("[en, de]", "[en, xx]"))
    assert main(["run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("xstilts: error: ") and "targets.languages.demo-nli: ['xx']" in err
    assert not (out / "xstilts.log").exists()  # the log file starts with the run's first line


@pytest.mark.parametrize("out_exists", [False, True])
def test_a_run_refused_after_logging_a_line_leaves_out_as_it_was(tmp_path, capsys,
                                                                  monkeypatch, out_exists):
    config, out = tmp_path / "run.yaml", tmp_path / "out"
    config.write_text(RUN)
    if out_exists:
        out.mkdir()
        (out / "keep.txt").write_text("an earlier run's file\n")
    log_during_checks(monkeypatch, out, refuse=True)
    assert main(["run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "[xstilts] checking the encoder (before OUT)" in err  # logged, then refused
    assert "refused by the test" in err
    if out_exists:
        assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    else:
        assert not out.exists()


def say_from_a_worker(text: str) -> bool:
    logging.getLogger("xstilts.study.jobs").info(text)
    logging.getLogger("xstilts.study.jobs").debug("a debug line")
    return True


def test_worker_processes_log_into_the_drivers_log_file(tmp_path):
    from xstilts.study.backends.local import ProcessBackend

    log_file = tmp_path / "xstilts.log"
    configure(logging.INFO, log_file=log_file)
    backend = ProcessBackend(1)
    try:
        assert backend.pool.submit(say_from_a_worker, "hello from a worker").result(timeout=300)
    finally:
        backend.close()
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and lines[0].endswith("INFO    hello from a worker"), lines
