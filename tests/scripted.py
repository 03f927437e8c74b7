"""Scripted scorers for unit tests: deterministic functions of the response text, with call logs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


class WordCost:
    """Prefix cost: `weight` for every occurrence of a banned word in the response."""

    name = "words"
    semantics = "prefix"
    default_budget = 0.5

    def __init__(self, banned: set[str], weight: float = 1.0) -> None:
        self.banned, self.weight = banned, weight
        self.calls: list[list[str]] = []

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        self.calls.append(list(responses))
        return np.array([self.weight * sum(w in self.banned for w in r.split()) for r in responses], dtype=float)


class ScriptedCost:
    """Cost given by an arbitrary function of (call number, response)."""

    name = "scripted"
    semantics = "prefix"
    default_budget = 0.5

    def __init__(self, rule: Callable[[int, str], float]) -> None:
        self.rule = rule
        self.calls: list[list[str]] = []

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        self.calls.append(list(responses))
        return np.array([self.rule(len(self.calls), r) for r in responses], dtype=float)


class LengthReward:
    """Reward = number of distinct words: longer, more varied answers score higher."""

    name = "length"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        self.calls.append(list(responses))
        return np.array([len(set(r.split())) for r in responses], dtype=float)


class ScriptedCritic:
    name = "scripted-critic"

    def __init__(self, hidden_size: int, p_safe: float = 0.9) -> None:
        self.hidden_size, self.p_safe = hidden_size, p_safe
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def __call__(self, hidden: np.ndarray, budget_state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.calls.append((hidden, budget_state))
        return np.full(len(hidden), self.p_safe), hidden[:, 0].astype(np.float64)
