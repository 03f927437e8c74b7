"""Held-out metrics without extra dependencies."""

from __future__ import annotations

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (the probability a positive outranks a negative; ties count half)."""
    labels = labels.astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    start = 0
    while start < len(scores):  # average ranks over ties
        end = start
        while end + 1 < len(scores) and sorted_scores[end + 1] == sorted_scores[start]:
            end += 1
        ranks[order[start : end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return float((ranks[labels].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def threshold_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    labels, flagged = labels.astype(bool), scores > threshold
    true_positive = int((flagged & labels).sum())
    return {
        "precision": true_positive / max(int(flagged.sum()), 1),
        "recall": true_positive / max(int(labels.sum()), 1),
        "false_positive_rate": int((flagged & ~labels).sum()) / max(int((~labels).sum()), 1),
    }
