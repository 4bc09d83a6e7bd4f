"""LogME (You et al. 2021, "LogME: Practical Assessment of Pre-trained Models for Transfer
Learning", ICML): the log marginal likelihood (evidence) per example of a Bayesian linear
model on frozen features, maximised over its prior precision alpha and noise precision beta.

For features F (n × d) and one target column y (n):

    log p(y | F, alpha, beta) = n/2 log beta + d/2 log alpha - n/2 log 2 pi
                                - beta/2 ||F m - y||^2 - alpha/2 m'm - 1/2 log |A|,
    A = alpha I + beta F'F,   m = beta A^-1 F'y,

maximised by the paper's fixed-point iteration (its Algorithm 1, MacKay's updates) on the
SVD of F: gamma = sum beta s_i^2 / (alpha + beta s_i^2), alpha = gamma / m'm,
beta = (n - gamma) / ||F m - y||^2. Classification: y is each class's one-hot column, and
LogME is the mean over the classes of the evidence divided by n (as the paper's code does).
Where F interpolates y (more features than examples, little noise) beta grows without bound;
the iteration then stops after MAX_ITERATIONS, near the evidence's supremum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_ITERATIONS = 100
TOLERANCE = 1e-5  # relative change of alpha and beta at which the iteration stops


@dataclass(frozen=True)
class Evidence:
    """One target column's maximised evidence: the log evidence (not divided by n), the
    hyperparameters at the fixed point, and the posterior mean weights m (d)."""

    log_evidence: float
    alpha: float
    beta: float
    weights: np.ndarray
    iterations: int


def fit_column(features: np.ndarray, y: np.ndarray) -> Evidence:
    """The fixed point for one column y (see the module docstring)."""
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = f.shape
    u, s, vt = np.linalg.svd(f, full_matrices=False)
    sigma = s**2
    z = u.T @ y  # y in the basis of F's left singular vectors
    outside = max(float(y @ y - z @ z), 0.0)  # the part of y no weights can reach
    alpha, beta = 1.0, 1.0
    iterations = 0
    while iterations < MAX_ITERATIONS:
        iterations += 1
        coef = beta * s * z / (alpha + beta * sigma)  # m in the basis of V
        gamma = float(np.sum(beta * sigma / (alpha + beta * sigma)))
        m2 = float(coef @ coef)
        residual = float(np.sum((s * coef - z) ** 2)) + outside
        new_alpha = gamma / max(m2, 1e-12)
        new_beta = (n - gamma) / max(residual, 1e-12)
        done = (abs(new_alpha - alpha) / alpha < TOLERANCE
                and abs(new_beta - beta) / beta < TOLERANCE)
        alpha, beta = new_alpha, new_beta
        if done:
            break
    coef = beta * s * z / (alpha + beta * sigma)
    m2 = float(coef @ coef)
    residual = float(np.sum((s * coef - z) ** 2)) + outside
    # log |A|: the d - rank eigenvalues of F'F that are 0 contribute log alpha each.
    log_det = float(np.sum(np.log(alpha + beta * sigma))) + (d - len(s)) * math.log(alpha)
    evidence = (n / 2 * math.log(beta) + d / 2 * math.log(alpha) - n / 2 * math.log(2 * math.pi)
                - beta / 2 * residual - alpha / 2 * m2 - log_det / 2)
    return Evidence(evidence, alpha, beta, vt.T @ coef, iterations)


def one_hot(labels: np.ndarray, classes: int | None = None) -> np.ndarray:
    """(n, C) indicator columns of integer labels 0..C-1."""
    labels = np.asarray(labels, dtype=np.int64)
    classes = int(labels.max()) + 1 if classes is None else classes
    return (labels[:, None] == np.arange(classes)[None, :]).astype(np.float64)


def logme(features: np.ndarray, labels: np.ndarray) -> float:
    """LogME of integer class labels on the features: the mean over the classes present of
    the one-hot column's log evidence / n. NaN with fewer than two classes or examples."""
    labels = np.asarray(labels, dtype=np.int64)
    present = np.unique(labels)
    if len(labels) < 2 or len(present) < 2:
        return math.nan
    columns = one_hot(labels)[:, present]
    return float(np.mean([fit_column(features, c).log_evidence / len(labels)
                          for c in columns.T]))


def probe(features: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(d, C) weights of the evidence-maximising linear probe: each present class's posterior
    mean m at its LogME fixed point (Bayesian ridge regression onto its one-hot column)."""
    labels = np.asarray(labels, dtype=np.int64)
    columns = one_hot(labels)[:, np.unique(labels)]
    return np.column_stack([fit_column(features, c).weights for c in columns.T])
