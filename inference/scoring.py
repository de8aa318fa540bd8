"""Exam scores and their decision (method step 5). Django-free.

An exam with per-image cancer probabilities P1..Pn scores
    theta = -[ln(1 - P1) + ... + ln(1 - Pn)] / n,
the mean "surprise" of the images not being cancer: one very suspicious image raises the
score much more than several mildly suspicious ones. The two networks are combined weighted
by their validation AUCs: Theta = sum_m w_m * theta_m with w_m = AUC_m / sum of the AUCs.
An exam is called malignant when its score >= the chosen threshold.

Each rule has its one home here: the clipped surprise (`surprise`), the weighted sum of the
two networks (`weighted_score`), and the decision (`is_malignant`, `decision_name`).
"""

import math
from collections.abc import Mapping, Sequence

import numpy as np

# Probabilities are clipped to [0, 1 - EPSILON] before the logarithm, so an image at p = 1
# (or rounded to 1 in float32) gives a large finite score, -ln(EPSILON) ~ 13.8, not infinity.
EPSILON = 1e-6

THRESHOLD_RULES = ("youden", "sensitivity")
MALIGNANT, BENIGN = "malignant", "benign"


def surprise(probabilities):
    """-ln(1 - p), with p clipped to [0, 1 - EPSILON]: an image's part of its exam's score.
    A float for a float, an array for an array."""
    values = -np.log1p(-np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0 - EPSILON))
    return float(values) if values.ndim == 0 else values


def exam_score(probabilities: Sequence[float]) -> float:
    """theta = -mean(ln(1 - p_i)) over the exam's images; ValueError when there are none."""
    values = np.asarray(probabilities, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError("an exam score needs at least one image probability")
    if np.isnan(values).any():
        raise ValueError("image probabilities must not be NaN")
    return float(np.mean(surprise(values)))


def weighted_score(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """sum_m w_m * value_m: the ensemble's combination of its networks' scores (theta, or an
    image's probability or surprise), with the weights of `ensemble_weights`."""
    if set(values) != set(weights):
        raise ValueError(
            f"values of {sorted(values)} but weights of {sorted(weights)}: every model needs both"
        )
    return float(sum(weights[model] * value for model, value in values.items()))


def is_malignant(score: float, threshold: float) -> bool:
    """The decision: malignant at or above the operating threshold."""
    return score >= threshold


def decision_name(malignant: bool) -> str:
    return MALIGNANT if malignant else BENIGN


def ensemble_weights(auc_by_model: Mapping[str, float]) -> dict[str, float]:
    """w_m = AUC_m / sum of the AUCs: the weights sum to 1."""
    if not auc_by_model:
        raise ValueError("no models to weight")
    if any(not math.isfinite(auc) or auc <= 0 for auc in auc_by_model.values()):
        raise ValueError("validation AUCs must be positive numbers")
    total = sum(auc_by_model.values())
    return {model: auc / total for model, auc in auc_by_model.items()}


def combine_scores(theta_by_model: Mapping[str, float], auc_by_model: Mapping[str, float]) -> float:
    """Theta = sum_m w_m * theta_m, with the AUC weights of `ensemble_weights`."""
    if set(theta_by_model) != set(auc_by_model):
        raise ValueError(
            f"scores of {sorted(theta_by_model)} but AUCs of {sorted(auc_by_model)}: "
            "every model needs both"
        )
    return weighted_score(theta_by_model, ensemble_weights(auc_by_model))


def choose_threshold(
    scores: Sequence[float],
    truth: Sequence[int | bool],
    rule: str = "youden",
    target_sensitivity: float | None = None,
) -> tuple[float, float, float]:
    """(threshold, sensitivity, specificity) for "score >= threshold means malignant".

    The candidate thresholds are the observed scores. "youden" maximises Youden's
    J = sensitivity + specificity - 1 (on a tie, the highest threshold: fewer false alarms).
    "sensitivity" takes the highest threshold whose sensitivity reaches
    `target_sensitivity`, i.e. the best specificity at that sensitivity."""
    values = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(truth).astype(bool).ravel()
    if values.shape != labels.shape:
        raise ValueError("scores and truth must have the same length")
    if np.isnan(values).any():
        raise ValueError("scores must not be NaN")
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        raise ValueError("choosing a threshold needs both malignant and benign exams")
    if rule not in THRESHOLD_RULES:
        raise ValueError(f"unknown rule {rule!r}; allowed: {', '.join(THRESHOLD_RULES)}")
    if rule == "sensitivity" and (target_sensitivity is None or not 0 < target_sensitivity <= 1):
        raise ValueError("the sensitivity rule needs target_sensitivity in (0, 1]")

    # Descending scores: the threshold at each distinct score calls everything up to it.
    order = np.argsort(-values, kind="stable")
    sorted_values, sorted_labels = values[order], labels[order]
    true_positives = np.cumsum(sorted_labels)
    false_positives = np.cumsum(~sorted_labels)
    last_of_tie = np.r_[sorted_values[1:] != sorted_values[:-1], True]
    thresholds = sorted_values[last_of_tie]  # descending
    sensitivity = true_positives[last_of_tie] / positives
    specificity = 1.0 - false_positives[last_of_tie] / negatives

    if rule == "youden":
        index = int(np.argmax(sensitivity + specificity))  # first maximum: highest threshold
    else:
        # Float tolerance: 0.8 reached by 4 of 5 must count even if 4/5 rounds below 0.8.
        reached = np.flatnonzero(sensitivity >= target_sensitivity - 1e-12)
        index = int(reached[0])  # the lowest threshold reaches sensitivity 1, so never empty
    return float(thresholds[index]), float(sensitivity[index]), float(specificity[index])
