"""Admission by work without a server: the estimate, the caps that refuse a request before it costs anything, and
the admission queue (order, KV budget, overflow, drain, cancellation)."""

from __future__ import annotations

import asyncio

import pytest

from inferenceguard.service.admission import Admission
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import BudgetedCost, Guard, InvalidOptionError, SearchOptions
from inferenceguard.service.errors import NotServingError, OverloadedError
from inferenceguard.service.work import ModelShape, WorkLimits, check, estimate

# the default model's shape: 30 layers x 3 KV heads x 64 dims x K and V x 4 bytes; a 30-token chat template
SHAPE = ModelShape(kv_bytes_per_token=46080, template_tokens=30, context_length=8192)
LIMITS = WorkLimits.of(Settings())


class Words:
    name, semantics = "words", "prefix"

    def __call__(self, prompts: list[str], responses: list[str]) -> list[float]:
        return [0.0] * len(responses)


GUARD = Guard((BudgetedCost(Words(), 1.0, label="words"),), None, (), "", (("words", "1"),))


def test_the_kv_estimate_counts_the_resampled_children_beside_the_kept_ones() -> None:
    options = SearchOptions(num_candidates=16, max_new_tokens=128, block_tokens=16, max_retries=2)
    work = estimate(SHAPE, options, prompt_tokens=20, scorers=1)
    assert work.kv_bytes == 46080 * (20 + 30 + 128) * (2 * 16 + 1)
    assert work.scorer_calls == 8 * 16 * 3  # blocks x children x attempts
    beam = estimate(SHAPE, options.with_updates(strategy="beam"), prompt_tokens=20, scorers=1)
    assert beam.kv_bytes == 46080 * (20 + 30 + 128) * 17 and beam.scorer_calls == 8 * 16


def test_batched_searches_count_the_prompt_once() -> None:
    shared = ModelShape(kv_bytes_per_token=46080, template_tokens=30, context_length=8192, shared_prompt=True)
    options = SearchOptions(num_candidates=16, max_new_tokens=128, block_tokens=16, max_retries=2)
    work = estimate(shared, options, prompt_tokens=20, scorers=1)
    assert work.kv_bytes == 46080 * ((20 + 30) + 128 * (2 * 16 + 1))
    recontrol = estimate(shared, options.with_updates(strategy="recontrol"), prompt_tokens=20, scorers=1)
    assert recontrol.kv_bytes == 46080 * (20 + 30 + 128)  # runs beside the scheduler, with a cache of its own


def test_a_prompt_counts_at_most_its_bytes_and_never_past_the_context() -> None:
    options = SearchOptions(num_candidates=4, max_new_tokens=64)
    small = check(SHAPE, options, "hello", GUARD, LIMITS)
    huge = check(SHAPE, options, "word " * 30_000, GUARD, LIMITS)
    assert small.kv_bytes == 46080 * (5 + 30 + 64) * 9
    assert huge.kv_bytes == 46080 * (8192 + 64) * 9


def test_the_reviews_oversize_request_is_refused_on_each_count_before_it_runs() -> None:
    review = SearchOptions(num_candidates=256, max_retries=16, block_tokens=1, max_new_tokens=1024)
    with pytest.raises(InvalidOptionError, match=r"^search\.max_retries: must be at most 4 on this server, got 16"):
        check(SHAPE, review, "hi", GUARD, LIMITS)
    with pytest.raises(InvalidOptionError, match=r"^search\.block_tokens: must be at least 4 on this server, got 1"):
        check(SHAPE, review.with_updates(max_retries=4), "hi", GUARD, LIMITS)
    with pytest.raises(InvalidOptionError, match=r"^search\.num_candidates: .* MiB of KV cache; the server's budget"):
        check(SHAPE, review.with_updates(max_retries=4, block_tokens=4), "hi", GUARD, LIMITS)


def test_too_many_scorer_calls_is_refused_with_what_to_lower() -> None:
    limits = WorkLimits(kv_cache_bytes=10**12, scorer_calls=1000, max_retries=4, min_block_tokens=4)
    options = SearchOptions(num_candidates=64, block_tokens=4, max_new_tokens=64, max_retries=2)  # 16*64*3
    with pytest.raises(InvalidOptionError, match=r"need up to 3072 scorer calls; the server's limit is 1000"):
        check(SHAPE, options, "hi", GUARD, limits)
    assert check(SHAPE, options.with_updates(num_candidates=16), "hi", GUARD, limits).scorer_calls == 768


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


async def holding(admission: Admission, kv: int, until: asyncio.Event) -> None:
    """A request that holds its place (queued or running) until `until` is set."""
    async with admission.slot(kv):
        await until.wait()


def test_admission_waits_for_kv_room_in_arrival_order() -> None:
    async def scenario() -> list[str]:
        admission, order = Admission(max_running=4, max_queued=4, kv_budget_bytes=100), []
        release = asyncio.Event()

        async def request(name: str, kv: int) -> None:
            async with admission.slot(kv):
                order.append(name)
                await release.wait()

        first = asyncio.create_task(request("big-1", 80))
        await asyncio.sleep(0)
        later = [asyncio.create_task(request(n, kv)) for n, kv in (("big-2", 80), ("small", 10))]
        await asyncio.sleep(0.01)
        assert order == ["big-1"] and admission.waiting == 2  # the small one does not overtake the big one
        assert admission.kv_reserved == 80
        release.set()
        await asyncio.gather(first, *later)
        assert admission.running == 0 and admission.kv_reserved == 0
        return order

    assert run(scenario()) == ["big-1", "big-2", "small"]


def test_a_request_larger_than_the_budget_runs_alone() -> None:
    async def scenario() -> None:
        admission = Admission(max_running=2, max_queued=2, kv_budget_bytes=100)
        async with admission.slot(500):
            assert admission.kv_reserved == 100

    run(scenario())


def test_a_full_queue_refuses_with_a_retry_hint_and_the_drain_refuses_the_queue() -> None:
    async def scenario() -> None:
        admission = Admission(max_running=1, max_queued=1, kv_budget_bytes=100)
        hold = asyncio.Event()
        running, queued = (asyncio.create_task(holding(admission, 10, hold)) for _ in range(2))
        await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError) as overloaded:
            async with admission.slot(10):
                pass
        assert 0.1 <= overloaded.value.retry_after_s <= 300
        admission.close()
        with pytest.raises(NotServingError, match="shutting down"):
            await queued
        with pytest.raises(NotServingError):
            async with admission.slot(10):
                pass
        hold.set()
        await running  # what was running finishes
        assert admission.running == 0 and admission.waiting == 0

    run(scenario())


def test_a_cancelled_waiter_gives_its_place_up() -> None:
    async def scenario() -> None:
        admission = Admission(max_running=1, max_queued=4, kv_budget_bytes=100)
        hold = asyncio.Event()
        tasks = [asyncio.create_task(holding(admission, 10, hold)) for _ in range(3)]
        await asyncio.sleep(0.01)
        tasks[1].cancel()
        await asyncio.sleep(0.01)
        assert admission.waiting == 1
        hold.set()
        await asyncio.gather(tasks[0], tasks[2])
        assert admission.running == 0 and admission.kv_reserved == 0 and admission.waiting == 0

    run(scenario())


def test_every_strategy_the_options_accept_has_one_entry_in_the_table() -> None:
    from inferenceguard.service.engine.options import STRATEGIES as NAMES
    from inferenceguard.service.engine.strategies import STRATEGIES

    assert set(STRATEGIES) == set(NAMES)
    for name in NAMES:  # every strategy can be priced
        assert estimate(SHAPE, SearchOptions(strategy=name), prompt_tokens=10, scorers=1).kv_bytes > 0
