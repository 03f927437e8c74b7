"""Running the engine on the tiny model and collecting its events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inferenceguard.critics.interface import Critic, RewardFunction
from inferenceguard.service.engine import (
    BlockTrace,
    BudgetedCost,
    Chunk,
    Engine,
    GenerationResult,
    LanguageModel,
    SearchOptions,
    simple_guard,
)
from tests.scripted import LengthReward, WordCost

PROMPT = "w1 w2 w3"


@dataclass
class Run:
    chunks: list[Chunk] = field(default_factory=list)
    traces: list[BlockTrace] = field(default_factory=list)
    result: GenerationResult | None = None

    @property
    def streamed_text(self) -> str:
        return "".join(c.text for c in self.chunks)

    @property
    def streamed_ids(self) -> list[int]:
        return [i for c in self.chunks for i in c.token_ids]


def make_engine(
    lm: LanguageModel,
    cost: Any = None,
    reward: RewardFunction | None = None,
    critic: Critic | None = None,
    budget: float | None = None,
) -> Engine:
    cost = cost if cost is not None else WordCost(set())
    budgeted = BudgetedCost(cost, budget if budget is not None else cost.default_budget)
    return Engine(lm, simple_guard([budgeted], reward if reward is not None else LengthReward(), critic))


def run(engine: Engine, prompt: str = PROMPT, **options: Any) -> Run:
    options.setdefault("seed", 0)
    out = Run()
    for event in engine.generate(prompt, SearchOptions(**options)):
        if isinstance(event, Chunk):
            out.chunks.append(event)
        elif isinstance(event, BlockTrace):
            out.traces.append(event)
        elif isinstance(event, GenerationResult):
            out.result = event
    assert out.result is not None
    return out
