"""The estimates of `xstilts rank` on hand-made data: LogME against its evidence formula
computed directly, similarities against numpy, the language table, the combination rule."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xstilts.rank import combine, languages
from xstilts.rank.logme import MAX_ITERATIONS, fit_column, logme, probe


def direct_evidence(f: np.ndarray, y: np.ndarray, alpha: float, beta: float) -> float:
    """log p(y | F, alpha, beta) written out from the paper, with A and m built explicitly."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ y)
    _, logdet = np.linalg.slogdet(a)
    return float(n / 2 * np.log(beta) + d / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
                 - beta / 2 * np.sum((f @ m - y) ** 2) - alpha / 2 * m @ m - logdet / 2)


@pytest.mark.parametrize("n, d", [(60, 5), (30, 40)])  # more examples than features, and fewer
def test_logme_is_the_evidence_at_its_maximum(n, d):
    rng = np.random.default_rng(0)
    f = rng.normal(size=(n, d))
    y = 0.3 * f @ rng.normal(size=d) + rng.normal(size=n)
    fit = fit_column(f, y)
    assert fit.iterations < MAX_ITERATIONS  # converged
    assert fit.log_evidence == pytest.approx(direct_evidence(f, y, fit.alpha, fit.beta),
                                             rel=1e-9)
    # The fixed point maximises the evidence: every nearby (alpha, beta) gives less.
    for da in (-0.2, 0.0, 0.2):
        for db in (-0.2, 0.0, 0.2):
            if da or db:
                other = direct_evidence(f, y, fit.alpha * math.exp(da), fit.beta * math.exp(db))
                assert other < fit.log_evidence
    # ...and it is the maximum of a wide grid too.
    grid = [direct_evidence(f, y, fit.alpha * math.exp(a), fit.beta * math.exp(b))
            for a in np.linspace(-3, 3, 13) for b in np.linspace(-3, 3, 13)]
    assert max(grid) <= fit.log_evidence + 1e-9
    # m is the posterior mean beta A^-1 F'y at the fixed point.
    a = fit.alpha * np.eye(d) + fit.beta * f.T @ f
    assert np.allclose(fit.weights, fit.beta * np.linalg.solve(a, f.T @ y))


def test_logme_of_labels_is_the_mean_over_classes_per_example():
    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 20)
    f = rng.normal(size=(60, 4)) + labels[:, None]
    expected = np.mean([fit_column(f, (labels == c).astype(float)).log_evidence / 60
                        for c in range(3)])
    assert logme(f, labels) == pytest.approx(expected)
    # Features that carry the labels score higher than noise.
    assert logme(f, labels) > logme(rng.normal(size=(60, 4)), labels)
    assert math.isnan(logme(f, np.zeros(60, dtype=int)))  # one class: nothing to tell apart


def test_probe_columns_are_each_class_posterior_mean():
    rng = np.random.default_rng(2)
    labels = np.array([0, 2] * 15)  # class 1 absent: no column for it
    f = rng.normal(size=(30, 3))
    weights = probe(f, labels)
    assert weights.shape == (3, 2)
    assert np.allclose(weights[:, 1], fit_column(f, (labels == 2).astype(float)).weights)


def test_similarities_against_numpy():
    from xstilts.rank.estimates import TaskSample, cosine, task_similarity, text_similarity

    rng = np.random.default_rng(3)
    a = TaskSample("a", rng.normal(size=(5, 4)), None, rng.random(7), 5)
    b = TaskSample("b", rng.normal(size=(3, 4)), None, rng.random(7), 3)
    ma, mb = a.vectors.mean(0), b.vectors.mean(0)
    assert text_similarity(a, b) == pytest.approx(ma @ mb / np.linalg.norm(ma)
                                                  / np.linalg.norm(mb))
    assert task_similarity(a, b) == pytest.approx(
        a.fisher @ b.fisher / np.linalg.norm(a.fisher) / np.linalg.norm(b.fisher))
    assert math.isnan(cosine(None, a.fisher)) and math.isnan(cosine(np.zeros(3), np.ones(3)))


def test_language_distance_follows_the_documented_rule():
    assert languages.distance("de", "de") == 0
    assert languages.distance("de", "nl") == 0.25  # one genus, one script
    assert languages.distance("en", "fr") == 0.5  # another genus of one family
    assert languages.distance("en", "ru") == 0.75  # and another script
    assert languages.distance("en", "tr") == 0.75  # another family, one script
    assert languages.distance("en", "zh") == 1.0
    assert languages.distance("en", "xx") == 1.0 and languages.unknown(["en", "xx"]) == ["xx"]
    # Target en, de, zh; a set trained on de and es: de covers de (0), en is 0.25 from de,
    # zh is 1 from both.
    assert languages.set_distance(["de", "es"], ["en", "de", "zh"]) == pytest.approx(1.25 / 3)
    assert languages.overlap(["de", "es"], ["en", "de", "zh"]) == pytest.approx(1 / 3)


def test_combination_rule_by_hand():
    singles = pd.DataFrame({
        "target": ["t"] * 3, "task": ["a", "b", "c"],
        "text_sim": [0.1, 0.2, 0.3], "task_sim": [1.0, 1.0, 1.0],  # constant: no z-score
        "logme": [math.nan] * 3, "lang_overlap": [0.0, 0.5, 1.0],
        "lang_distance": [1.0, 0.5, 0.0]})
    scored = combine.single_scores(singles)
    z = (np.array([0.1, 0.2, 0.3]) - 0.2) / np.std([0.1, 0.2, 0.3])
    # text_sim, lang_overlap and -lang_distance all give z here: the mean is z itself.
    assert np.allclose(scored["score"], z)
    frame = combine.set_rows(scored, [("a",), ("c",), ("a", "c"), ("b", "c")],
                             {"a": frozenset({"en"}), "b": frozenset({"de"}),
                              "c": frozenset({"zh"})}, {"t": ["en", "de"]}, {"t": -0.5})
    rows = frame[frame["target"] == "t"].set_index("set")
    assert rows.loc["a,c", "score"] == pytest.approx((z[0] + z[2]) / 2)
    assert list(rows.index) == ["c", "b,c", "a,c", "a"]  # z: 1.22, 0.61, 0, -1.22
    assert list(rows["rank"]) == [1, 2, 3, 4]
    assert rows.loc["a,c", "set_lang_overlap"] == 0.5  # en of en, de
    assert rows.loc["b,c", "text_sim"] == pytest.approx(0.25)
    average = frame[frame["target"] == combine.AVERAGE].set_index("set")
    assert average.loc["a", "score"] == rows.loc["a", "score"]  # one target: the same
    assert combine.top_sets(frame, 2) == [("c",), ("b", "c")]
