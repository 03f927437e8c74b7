import math

import numpy as np

from inferenceguard.service.engine.scoring import (
    PREDICTED_UNSAFE,
    SAFE,
    VIOLATING,
    augmented_keys,
    lagrangian_keys,
    tiers,
    top_k,
)


def test_tiers_from_budget_and_critic() -> None:
    violating = np.array([True, False, False, True])
    p_safe = np.array([0.9, 0.2, 0.7, 0.1])
    assert tiers(violating, p_safe, 0.5).tolist() == [VIOLATING, PREDICTED_UNSAFE, SAFE, VIOLATING]
    assert tiers(violating, None, 0.5).tolist() == [VIOLATING, SAFE, SAFE, VIOLATING]


def test_infinite_penalty_ranks_every_safe_candidate_above_every_unsafe_one() -> None:
    tier = np.array([VIOLATING, SAFE, PREDICTED_UNSAFE, SAFE])
    score = np.array([100.0, -3.0, 50.0, 1.0])
    assert top_k(augmented_keys(tier, score, math.inf), 4) == [3, 1, 2, 0]


def test_finite_penalty_scores_unsafe_candidates_minus_n() -> None:
    tier = np.array([VIOLATING, SAFE, SAFE])
    score = np.array([9.0, -5.0, 2.0])
    keys = augmented_keys(tier, score, 4.0)
    assert keys[:, 1].tolist() == [-4.0, -5.0, 2.0]
    assert top_k(keys, 3) == [2, 0, 1]  # a safe answer worse than -n loses to an unsafe one, as R~_n says


def test_lagrangian_trades_reward_against_cost() -> None:
    keys = lagrangian_keys(np.array([1.0, 0.5]), np.array([0.2, 0.0]), lam=5.0)
    assert top_k(keys, 1) == [1]
    assert top_k(lagrangian_keys(np.array([1.0, 0.5]), np.array([0.2, 0.0]), lam=1.0), 1) == [0]


def test_top_k_is_stable_on_ties() -> None:
    keys = np.zeros((5, 2))
    assert top_k(keys, 3) == [0, 1, 2]
