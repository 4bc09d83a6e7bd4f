"""Per-example units reproduce the project's metric functions on any resample of the examples,
and the paired bootstrap is the documented draw."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from xstilts.evaluate.metrics import accuracy, bucc_f1, macro_f1, seqeval_prf, squad_scores
from xstilts.study.paired import Units, job_units, paired_bootstrap


def job(folder: Path, name: str, pred: str, gold: str, metrics: dict) -> tuple[Path, dict]:
    """An evaluation job's folder: predictions/NAME, labels/NAME and its output."""
    for kind, text in (("predictions", pred), ("labels", gold)):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        (folder / kind / name).write_text(text, encoding="utf-8")
    return folder, {"metrics": metrics, "file": name, "labels": True}


def resamples(n: int, count: int = 5) -> list[np.ndarray]:
    return [np.random.default_rng(i).integers(0, n, n) for i in range(count)]


def weights(index: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(index, minlength=n).astype(float)


def test_label_units_recompute_accuracy_and_macro_f1(tmp_path):
    gold, pred = list("aabbcab"), list("abbbcca")
    text = lambda xs: "".join(f"{x}\n" for x in xs)  # noqa: E731
    metrics = {"accuracy": accuracy(gold, pred), "macro_f1": macro_f1(gold, pred)}
    for metric, fn in (("accuracy", accuracy), ("macro_f1", macro_f1)):
        units, why = job_units(*job(tmp_path, "test-en.tsv", text(pred), text(gold), metrics),
                               metric, "en", "classification")
        assert why == ""
        for index in resamples(len(gold)):
            expected = fn([gold[i] for i in index], [pred[i] for i in index])
            assert units.score(weights(index, len(gold)) @ units.stats) == pytest.approx(expected)


def test_tag_units_recompute_seqeval_f1_over_resampled_sentences(tmp_path):
    gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"], ["B-ORG", "O", "B-PER"], ["O"]]
    pred = [["B-PER", "O", "O"], ["O", "B-LOC"], ["B-ORG", "O", "B-LOC"], ["B-PER"]]
    text = lambda ss: "".join("".join(f"{t}\n" for t in s) + "\n" for s in ss)  # noqa: E731
    units, why = job_units(*job(tmp_path, "test-de.tsv", text(pred), text(gold),
                                {"f1": seqeval_prf(gold, pred)["f1"]}), "f1", "de", "tagging")
    assert why == ""
    for index in resamples(len(gold), 8):
        expected = seqeval_prf([gold[i] for i in index], [pred[i] for i in index])["f1"]
        assert units.score(weights(index, len(gold)) @ units.stats) == pytest.approx(expected)


def test_qa_units_recompute_squad_f1_and_em(tmp_path):
    refs = {"q1": ["the cat"], "q2": ["Berlin", "in Berlin"], "q3": ["42"], "q4": ["a dog"]}
    preds = {"q1": "cat", "q2": "in Berlin", "q3": "41", "q4": "dog barks"}
    labels = {"data": [{"paragraphs": [{"context": "", "qas": [
        {"id": q, "answers": [{"text": t, "answer_start": 0} for t in ts]}]}
        for q, ts in refs.items()]}]}
    scores = squad_scores(preds, refs)
    folder, output = job(tmp_path, "test-en.json", json.dumps(preds), json.dumps(labels),
                         {**scores, "em_f1": (scores["exact_match"] + scores["f1"]) / 2})
    ids = list(refs)
    for metric in ("f1", "exact_match"):
        units, why = job_units(folder, output, metric, "en", "span_qa")
        assert why == ""
        for index in resamples(4):
            # Resampled questions get new ids so that repeats count twice.
            r = {f"{ids[i]}#{j}": refs[ids[i]] for j, i in enumerate(index)}
            p = {f"{ids[i]}#{j}": preds[ids[i]] for j, i in enumerate(index)}
            expected = squad_scores(p, r)[metric]
            assert units.score(weights(index, 4) @ units.stats) == pytest.approx(expected)


def test_pair_units_recompute_bucc_f1_over_source_sentences(tmp_path):
    gold = ["s1\tt1", "s2\tt2", "s3\tt3", "s4\tt4"]
    pred = ["s1\tt1", "s2\tt9", "s3\tt3", "s5\tt5"]
    as_set = lambda lines: {tuple(x.split("\t")) for x in lines}  # noqa: E731
    f1 = bucc_f1(as_set(pred), as_set(gold))["f1"]
    units, why = job_units(*job(tmp_path, "test-de.tsv", "\n".join(pred) + "\n",
                                "\n".join(gold) + "\n", {"f1": f1}), "f1", "de",
                           "bitext_mining")
    assert why == "" and units.score(units.stats.sum(axis=0)) == pytest.approx(f1)
    assert len(units.stats) == 5  # s1..s5: every source sentence in either file


def test_a_job_whose_units_miss_its_stored_score_is_not_tested(tmp_path):
    units, why = job_units(*job(tmp_path, "test-en.tsv", "a\nb\n", "a\na\n",
                                {"accuracy": 75.0}), "accuracy", "en", "classification")
    assert units is None and "do not reproduce the stored accuracy" in why


def accuracy_units(correct: list[int]) -> Units:
    stats = np.array([[c, 1.0] for c in correct])
    return Units(stats, lambda s: 100.0 * s[..., 0] / s[..., 1], "gold")


def test_paired_bootstrap_is_the_documented_draw():
    run = [accuracy_units([1, 1, 0, 1, 1, 0]), accuracy_units([1, 0, 0, 1, 1, 1])]
    base = [accuracy_units([1, 0, 0, 1, 0, 0])]
    out = paired_bootstrap({"de": run}, {"de": base}, n_boot=200, seed=[9, 1, 2])
    assert out["gain"] == pytest.approx(100 * (8 / 12 - 2 / 6))  # seeds averaged
    rng = np.random.default_rng([9, 1, 2])
    w = rng.multinomial(6, np.full(6, 1 / 6), size=200).astype(float)
    a, b = np.array([[1, 1, 0, 1, 1, 0], [1, 0, 0, 1, 1, 1.0]]), np.array([1, 0, 0, 1, 0, 0.0])
    draws = 100 * ((w @ a.T).mean(axis=1) - w @ b) / 6
    assert (out["ci_low"], out["ci_high"]) == pytest.approx(tuple(
        np.quantile(draws, [0.025, 0.975])))
    assert out["p"] == pytest.approx(min(1, 2 * min((draws <= 0).mean(), (draws >= 0).mean())))
    same = paired_bootstrap({"de": base}, {"de": base}, n_boot=50)
    assert same["gain"] == 0 and same["p"] == 1 and not same["significant"]
