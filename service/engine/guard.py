"""What a request is held to: cost functions with budgets, critics bound to their cost functions, the reward
that ranks safe candidates, and the message that closes an answer whose budget ran out. Built from policies by
the policy registry; the engine only reads it."""

from __future__ import annotations

from dataclasses import dataclass, replace

from inferenceguard.critics.interface import Critic, RewardFunction
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.engine.safety_state import BudgetedCost


@dataclass(frozen=True)
class BoundCritic:
    critic: Critic
    columns: tuple[int, ...] = ()  # the cost functions whose safety state it reads; empty = all


@dataclass(frozen=True)
class Guard:
    costs: tuple[BudgetedCost, ...]
    reward: RewardFunction | None = None
    critics: tuple[BoundCritic, ...] = ()
    exhausted_message: str = ""
    policies: tuple[tuple[str, str], ...] = ()  # (policy id, version), for reporting

    def __post_init__(self) -> None:
        if not self.costs:
            raise InvalidOptionError("policy", "at least one cost function is required")
        for bound in self.critics:
            if any(not 0 <= c < len(self.costs) for c in bound.columns):
                raise InvalidOptionError(
                    "critic", f"{bound.critic.name!r} is bound to a cost function that is not applied"
                )

    def with_budget(self, budget: float | None) -> Guard:
        """Every cost function held to `budget` instead of its policy's budget (None keeps them)."""
        if budget is None:
            return self
        return replace(self, costs=tuple(replace(c, budget=budget) for c in self.costs))

    def check_hidden_size(self, hidden_size: int) -> None:
        for bound in self.critics:
            if bound.critic.hidden_size != hidden_size:
                raise InvalidOptionError(
                    "critic",
                    f"{bound.critic.name!r} expects hidden size "
                    f"{bound.critic.hidden_size} but the model has {hidden_size}",
                )


def simple_guard(
    costs: list[BudgetedCost], reward: RewardFunction | None = None, critic: Critic | None = None
) -> Guard:
    """A guard of cost functions, one reward and at most one critic reading every cost function."""
    return Guard(tuple(costs), reward, (BoundCritic(critic),) if critic is not None else ())
