"""The three scoring interfaces the engine calls, all batched.

Scorers see the plain user prompt and the response text so far; critics see the LM's hidden state. Every
scorer returns numpy arrays with one value per candidate, in input order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:  # torch is only needed by strategies that differentiate a critic
    import torch

CostSemantics = Literal["prefix", "additive"]


@runtime_checkable
class CostFunction(Protocol):
    """(prompt, response) -> cost >= 0. Higher is less safe.

    `semantics` says how the engine turns scores into the cumulative cost C of a response:
    - "prefix": the score of the response so far *is* C (whole-text classifiers; additive token costs summed
      by the function itself);
    - "additive": each block is scored on its own and C is the sum of block scores.
    """

    name: str
    semantics: CostSemantics
    default_budget: float

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class RewardFunction(Protocol):
    """(prompt, response) -> reward. Higher is better; the scale is the function's own."""

    name: str

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray: ...


@runtime_checkable
class Critic(Protocol):
    """(hidden [B, H], z/d [B]) -> (p_safe [B], value [B]), for one LM and one layer.

    p_safe is the predicted probability that the response ends within budget; value is the expected reward.
    """

    name: str
    hidden_size: int

    def __call__(self, hidden: np.ndarray, budget_state: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@runtime_checkable
class DifferentiableCritic(Critic, Protocol):
    """A critic that also offers a PyTorch copy gradients can flow through (RE-Control edits hidden states with it).

    `differentiable(device)` returns a module on `device` mapping hidden [B, H] float32 and budget_state [B, 1] to
    (p_safe [B], value [B]) like the critic itself, with frozen parameters; it raises ValueError when the critic
    has no such copy.
    """

    def differentiable(self, device: str | torch.device = "cpu") -> torch.nn.Module: ...
