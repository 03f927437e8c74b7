"""Batching on the real default model: concurrent requests under different policies and budgets in one batch."""

from __future__ import annotations

from typing import Any

import pytest

from inferenceguard.bench.engine_bench import PROMPTS
from inferenceguard.service.engine import Engine, GenerationResult, SearchOptions
from tests.real import real_runtime

pytestmark = pytest.mark.slow

OPTIONS = SearchOptions(num_candidates=8, num_beams=2, block_tokens=16, max_new_tokens=32)


def result_of(events: Any) -> GenerationResult:
    results = [event for event in events if isinstance(event, GenerationResult)]
    assert len(results) == 1
    return results[0]


def test_requests_under_different_policies_and_budgets_share_the_batch_and_keep_their_own() -> None:
    runtime = real_runtime()
    scheduler = runtime.engine.scheduler
    assert scheduler is not None  # the default runtime batches
    asked = [
        (PROMPTS[0], ["harm"], None),
        (PROMPTS[1], ["toxicity"], 0.2),
        (PROMPTS[2], ["harm", "toxicity"], 0.5),
    ]
    running = []
    for seed, (prompt, policies, budget) in enumerate(asked):
        guard = runtime.guard(policies)
        options = OPTIONS.with_updates(seed=seed, budget=budget)
        running.append((guard, runtime.engine.generate(prompt, options, guard=guard)))
    results = [result_of(events) for _, events in running]
    assert scheduler.most_searches >= 2
    for (guard, _), result in zip(running, results, strict=True):
        assert result.policies == guard.policies
        assert set(result.costs) == {cost.name for cost in guard.costs}
        assert result.safe and result.new_tokens > 0


def test_a_batched_request_holds_the_prompt_once() -> None:
    runtime = real_runtime()
    alone = Engine(runtime.lm, runtime.engine.default_guard)
    options = OPTIONS.with_updates(seed=3)
    batched = result_of(runtime.engine.generate(PROMPTS[3], options)).usage
    unbatched = result_of(alone.generate(PROMPTS[3], options)).usage
    prompt_copies = (unbatched.kv_bytes_peak - batched.kv_bytes_peak) / (
        batched.prompt_tokens * runtime.lm.kv_bytes_per_token
    )
    assert prompt_copies >= OPTIONS.num_candidates  # every child held the prompt; batched, the request holds it once
