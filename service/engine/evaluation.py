"""Batched calls to the cost functions, the reward function and the critic, failing closed.

Each method yields its scorer calls (calls.py) and returns the checked scores: the driver decides how they run.

Any exception or malformed output from a scorer becomes a ScorerError: the search stops there, so no text that
was not checked is ever released.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from inferenceguard.service.engine.calls import Score, Steps
from inferenceguard.service.engine.errors import ScorerError, ScorerTimeoutError
from inferenceguard.service.engine.guard import BoundCritic, Guard
from inferenceguard.service.engine.safety_state import SafetyStates
from inferenceguard.service.engine.types import Usage


class Scorers:
    """The scorers of one request, bound to its prompt, counting their calls and time in `usage`."""

    def __init__(self, prompt: str, guard: Guard, usage: Usage, timeout_s: float | None = None) -> None:
        self.prompt, self.timeout_s = prompt, timeout_s
        self.costs = list(guard.costs)
        self.reward_function = guard.reward
        self.critics = guard.critics
        self.usage = usage
        self.additive = [c.function.semantics == "additive" for c in self.costs]

    def cost_scores(self, responses: Sequence[str], blocks: Sequence[str]) -> Steps[np.ndarray]:
        """[B, F]: for each cost function, the prefix score of the response or the score of the new block."""
        scores = np.zeros((len(responses), len(self.costs)))
        for column, cost in enumerate(self.costs):
            texts = blocks if self.additive[column] else responses
            # a negative cost would give budget back: refused like any malformed score
            scores[:, column] = yield from self._call(cost.name, cost.function, texts, low=0.0)
            self.usage.cost_evaluations += len(texts)
        return scores

    def rewards(self, responses: Sequence[str]) -> Steps[np.ndarray]:
        if self.reward_function is None or not responses:
            return np.zeros(len(responses))
        self.usage.reward_evaluations += len(responses)
        return (yield from self._call(self.reward_function.name, self.reward_function, responses))

    def critic(self, hidden: np.ndarray, states: SafetyStates) -> Steps[tuple[np.ndarray, np.ndarray] | None]:
        """(p_safe, value): the least p_safe and the mean value over the critics, each reading its own z/d."""
        if not self.critics:
            return None
        results = []
        for bound in self.critics:
            results.append((yield from self._one_critic(bound, hidden.astype(np.float32), states)))
        self.usage.critic_evaluations += len(hidden) * len(results)
        return np.min([p for p, _ in results], axis=0), np.mean([v for _, v in results], axis=0)

    def _one_critic(
        self, bound: BoundCritic, hidden: np.ndarray, states: SafetyStates
    ) -> Steps[tuple[np.ndarray, np.ndarray]]:
        started = time.perf_counter()
        name = f"critic {bound.critic.name!r}"
        try:
            z = states.normalised_z(bound.columns)
            p_safe, value = yield Score(bound.critic, (hidden, z), self.timeout_s, name)
            return _checked(p_safe, len(hidden), low=0.0, high=1.0, what="p_safe"), _checked(value, len(hidden))
        except ScorerTimeoutError:
            raise
        except Exception as exc:
            raise ScorerError(f"{name} failed: {exc}") from exc
        finally:
            elapsed = time.perf_counter() - started
            self.usage.scoring_seconds += elapsed
            self.usage.critic_seconds += elapsed

    def _call(self, name: str, function: object, responses: Sequence[str], low: float = -np.inf) -> Steps[np.ndarray]:
        started = time.perf_counter()
        try:
            prompts, texts = [self.prompt] * len(responses), list(responses)
            scores = yield Score(function, (prompts, texts), self.timeout_s, f"scorer {name!r}")
            return _checked(scores, len(responses), low=low)
        except ScorerError:
            raise
        except Exception as exc:
            raise ScorerError(f"scorer {name!r} failed: {exc}") from exc
        finally:
            self.usage.scoring_seconds += time.perf_counter() - started


def _checked(
    values: object, expected: int, *, low: float = -np.inf, high: float = np.inf, what: str = "score"
) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (expected,):
        raise ScorerError(f"expected {expected} scores, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ScorerError(f"returned a {what} that is not a finite number")
    if (array < low).any() or (array > high).any():
        raise ScorerError(f"returned a {what} outside [{low:g}, {high:g}]")
    return array
