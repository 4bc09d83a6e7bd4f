"""Predict before training: estimates of how much an intermediate-task set helps a target,
computed from the base encoder and small samples of the data (no intermediate training),
combined into one score per set (`xstilts rank`), checked against a study's measured gains
(the report's "Predicted vs measured"), and used to choose what an adaptive study trains
(`select: {by: rank, budget: B}`).

    languages.py  language overlap and a shipped genealogical/script distance table
    logme.py      LogME (You et al. 2021), numpy only
    estimates.py  samples, mean-pooled text embeddings, gradient (Fisher) task embeddings
    combine.py    the per-set score rule, rank.csv, the --top study file
    ranking.py    `xstilts rank STUDY.yaml`
    predicted.py  predicted vs measured gain (Spearman, bootstrap, regret, plot)
    adaptive.py   the adaptive study
"""
