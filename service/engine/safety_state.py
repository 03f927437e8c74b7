"""The safety state z of method.md §1: z_0 = d, z = d - C(prompt, response so far), safe iff z >= 0 at every
block end. One budget and one state per cost function; a candidate is safe only if it is safe under all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from inferenceguard.critics.interface import CostFunction


@dataclass(frozen=True)
class BudgetedCost:
    """A cost function with the budget d it is held to."""

    function: CostFunction
    budget: float
    label: str = ""  # the name it was registered under, when it differs from the function's own

    @property
    def name(self) -> str:
        return self.label or self.function.name


@dataclass(frozen=True)
class SafetyStates:
    """The safety bookkeeping of a batch of candidates: one row per candidate, one column per cost function."""

    budgets: np.ndarray  # [F]
    cumulative: np.ndarray  # [B, F] cumulative cost C so far
    min_z: np.ndarray  # [B, F] smallest z seen at any block end

    @classmethod
    def start(cls, costs: Sequence[BudgetedCost], rows: int = 1) -> SafetyStates:
        budgets = np.array([c.budget for c in costs], dtype=np.float64)
        return cls(budgets, np.zeros((rows, len(costs))), np.tile(budgets, (rows, 1)))

    @property
    def z(self) -> np.ndarray:
        """[B, F] remaining budget now."""
        return self.budgets - self.cumulative

    @property
    def violating(self) -> np.ndarray:
        """[B] True where z went below 0 at some block end under some cost function."""
        return np.asarray((self.min_z < 0).any(axis=1))

    def normalised_z(self, columns: Sequence[int] = ()) -> np.ndarray:
        """[B] the tightest z/d over the given cost functions (all when empty), a critic's input; 1 at the start."""
        index = list(columns) or list(range(self.budgets.size))
        budgets = self.budgets[index]
        ratio = self.z[:, index] / np.where(budgets > 0, budgets, 1.0)
        return ratio.min(axis=1).astype(np.float32)

    def take(self, rows: Sequence[int] | np.ndarray) -> SafetyStates:
        index = np.asarray(rows, dtype=np.int64)
        return SafetyStates(self.budgets, self.cumulative[index], self.min_z[index])

    def advance(self, scores: np.ndarray, additive: Sequence[bool]) -> SafetyStates:
        """States after one block, given this block's scores [B, F] (prefix scores or block scores)."""
        add = np.asarray(additive, dtype=bool)
        cumulative = np.where(add, self.cumulative + scores, scores)
        min_z = np.minimum(self.min_z, self.budgets - cumulative)
        return SafetyStates(self.budgets, cumulative, min_z)

    @staticmethod
    def concat(parts: Sequence[SafetyStates]) -> SafetyStates:
        return SafetyStates(
            parts[0].budgets,
            np.concatenate([p.cumulative for p in parts]),
            np.concatenate([p.min_z for p in parts]),
        )
