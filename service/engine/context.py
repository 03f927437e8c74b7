"""One request as every runner sees it (the block search, ARGS, RE-Control), and the events built from it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from inferenceguard.service.engine.candidates import Candidate
from inferenceguard.service.engine.evaluation import Scorers
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.options import SearchOptions
from inferenceguard.service.engine.types import BlockTrace, FinishReason, GenerationResult, Started, Usage


@dataclass
class RequestContext:
    """Everything one request's search needs, built by the engine."""

    lm: LanguageModel
    scorers: Scorers
    options: SearchOptions
    exhausted_message: str  # the request's, else the policy's
    policies: tuple[tuple[str, str], ...]
    prompt_ids: list[int]
    seed: int
    generator: torch.Generator
    usage: Usage
    stop_reason: Callable[[], FinishReason | None]  # aborted or over time, checked between forward passes
    started: float


def result_of(best: Candidate, text: str, finish: FinishReason, ctx: RequestContext) -> GenerationResult:
    ctx.usage.prompt_tokens = len(ctx.prompt_ids)
    ctx.usage.new_tokens = len(best.tokens)
    costs = {c.name: float(v) for c, v in zip(ctx.scorers.costs, best.states.cumulative[0], strict=False)}
    min_z = best.states.min_z[0]
    return GenerationResult(
        text=text,
        token_ids=tuple(best.tokens),
        safe=not best.violating,
        min_safety_state=float(min_z.min()) if min_z.size else 0.0,
        cost=float(sum(costs.values())),
        costs=costs,
        reward=best.reward,
        finish_reason=finish,
        strategy=ctx.options.strategy,
        seed=ctx.seed,
        seconds=time.perf_counter() - ctx.started,
        usage=ctx.usage,
        policies=ctx.policies,
    )


def started_of(ctx: RequestContext) -> Started:
    return Started(len(ctx.prompt_ids), ctx.seed, ctx.options.strategy, ctx.policies)


def trace_of(best: Candidate, block: int, candidates: int, retries: int) -> BlockTrace:
    z = best.states.z[0]
    return BlockTrace(
        block=block,
        candidates=candidates,
        retries=retries,
        cumulative_cost=best.total_cost,
        safety_state=float(z.min()) if z.size else 0.0,
        p_safe=best.p_safe,
        value=best.value,
    )
