"""The ranking key of method.md §2.2 step 3: tiers, the augmented score and the Lagrangian score."""

from __future__ import annotations

import math

import numpy as np

VIOLATING, PREDICTED_UNSAFE, SAFE = 0, 1, 2


def tiers(violating: np.ndarray, p_safe: np.ndarray | None, threshold: float) -> np.ndarray:
    """0 = over budget, 1 = within budget but the critic predicts it will not stay so, 2 = safe."""
    tier = np.where(violating, VIOLATING, SAFE)
    if p_safe is not None:
        tier = np.where(~violating & (p_safe < threshold), PREDICTED_UNSAFE, tier)
    return tier


def augmented_keys(tier: np.ndarray, score: np.ndarray, unsafe_penalty: float) -> np.ndarray:
    """Sort keys [B, 2] (higher is better) for the augmented objective R~_n: score if safe, else -n.

    With n = inf every safe candidate ranks above every unsafe one, and unsafe ones keep their tier order.
    """
    if math.isinf(unsafe_penalty):
        return np.stack([tier.astype(np.float64), score], axis=1)
    folded = np.where(tier == SAFE, score, -unsafe_penalty)
    return np.stack([np.zeros_like(folded), folded], axis=1)


def lagrangian_keys(score: np.ndarray, total_cost: np.ndarray, lam: float) -> np.ndarray:
    """Sort keys [B, 2] for r - lambda * C."""
    value = score - lam * total_cost
    return np.stack([np.zeros_like(value), value], axis=1)


def top_k(keys: np.ndarray, k: int) -> list[int]:
    """Indices of the k best rows by (key 0, key 1), highest first; ties keep input order (stable)."""
    order = np.lexsort((np.arange(len(keys)), -keys[:, 1], -keys[:, 0]))
    return [int(i) for i in order[:k]]
