"""Candidates of the block search and how they are ranked, kept and finally chosen (method.md §2.2 steps 3, 5, 7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inferenceguard.service.engine.options import SearchOptions
from inferenceguard.service.engine.safety_state import SafetyStates
from inferenceguard.service.engine.scoring import SAFE, VIOLATING, augmented_keys, lagrangian_keys, top_k
from inferenceguard.service.engine.types import FinishReason


@dataclass(frozen=True)
class Plan:
    """What a strategy does with the shared block loop."""

    beams: int  # K kept per block
    children: int  # N sampled per block
    rank_each_block: bool  # score partial responses (beam, inferenceguard) or only finished ones
    tiered: bool  # inferenceguard: critic tiers, all-unsafe fallback, on_exhausted
    retries: int  # M
    use_critic: bool
    lagrangian: bool = False  # rank by r - lambda*C (the Lagrangian baselines) instead of the augmented objective


@dataclass
class Candidate:
    tokens: list[int]  # response token ids, without the end-of-sequence token
    states: SafetyStates  # one row
    tier: int = SAFE
    score: float = 0.0  # what ranks partial responses: reward, critic value, or 0 when unranked
    reward: float | None = None  # reward of exactly `tokens`, once computed
    p_safe: float | None = None
    value: float | None = None
    finish: FinishReason | None = None
    row: int = -1  # row of a live candidate in the current frontier

    @property
    def total_cost(self) -> float:
        return float(self.states.cumulative[0].sum())

    @property
    def violating(self) -> bool:
        return bool(self.states.violating[0])


def allocate_children(live: int, children: int) -> list[int]:
    """Parent index of each child: N children spread as evenly as possible over the live beams."""
    base, extra = divmod(children, live)
    return [parent for parent in range(live) for _ in range(base + (1 if parent < extra else 0))]


def block_keys(pool: list[Candidate], options: SearchOptions, plan: Plan) -> np.ndarray:
    tier = np.array([c.tier for c in pool])
    score = np.array([c.score for c in pool], dtype=np.float64)
    if plan.lagrangian:
        return lagrangian_keys(score, np.array([c.total_cost for c in pool]), options.lagrange_lambda)
    return augmented_keys(tier, score, options.unsafe_penalty)


def keep_best(pool: list[Candidate], options: SearchOptions, plan: Plan) -> list[Candidate]:
    """Step 5: the top K of the new children and the finished beams, best first.

    Under fail-closed inferenceguard a child over budget is never kept: no descendant of it can be safe.
    """
    if plan.tiered and options.on_exhausted == "stop":
        pool = [c for c in pool if c.tier != VIOLATING]
    if not plan.rank_each_block:
        return pool[: plan.beams]
    return [pool[i] for i in top_k(block_keys(pool, options, plan), plan.beams)]


def final_choice(kept: list[Candidate], options: SearchOptions, plan: Plan) -> Candidate:
    """Step 7: argmax of the augmented objective R~_n (or r - lambda*C for the Lagrangian baselines)."""
    reward = np.array([c.reward if c.reward is not None else 0.0 for c in kept], dtype=np.float64)
    if plan.lagrangian:
        keys = lagrangian_keys(reward, np.array([c.total_cost for c in kept]), options.lagrange_lambda)
    else:
        tier = np.array([VIOLATING if c.violating else SAFE for c in kept])
        keys = augmented_keys(tier, reward, options.unsafe_penalty)
    return kept[top_k(keys, 1)[0]]
