"""Continuous batching on the tiny model: many requests through one scheduler, each kept apart."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import torch

from inferenceguard.service.engine import (
    BudgetedCost,
    Chunk,
    Engine,
    GenerationResult,
    ScorerError,
    SearchOptions,
    simple_guard,
)
from inferenceguard.service.engine.guard import Guard
from inferenceguard.service.engine.lm import kv_bytes
from inferenceguard.service.work import ModelShape, estimate, prompt_token_bound, scorers_of
from tests.scripted import LengthReward, ScriptedCritic
from tests.tiny_model import tiny_lm

OPTIONS = {"num_candidates": 4, "num_beams": 2, "max_new_tokens": 24, "block_tokens": 8, "seed": 0}


class PromptCost:
    """Prefix cost: one per banned word; records every (prompt, response) it is asked about."""

    name = "prompt-words"
    semantics = "prefix"
    default_budget = 0.5

    def __init__(self, banned: set[str], poison: str | None = None) -> None:
        self.banned, self.poison = banned, poison
        self.seen: list[tuple[str, str]] = []
        self.calls: list[set[str]] = []  # the prompts of each call

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        self.calls.append(set(prompts))
        if self.poison is not None and self.poison in prompts:
            raise RuntimeError("cannot score this prompt")
        self.seen += list(zip(prompts, responses, strict=True))
        return np.array([float(sum(w in self.banned for w in r.split())) for r in responses])


def guard_of(cost: PromptCost, budget: float, critic: Any = None) -> Guard:
    return simple_guard([BudgetedCost(cost, budget)], LengthReward(), critic)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(tiny_lm(), batching=True)


def start(engine: Engine, prompt: str, guard: Guard, **options: Any) -> Any:
    return engine.generate(prompt, SearchOptions(**{**OPTIONS, **options}), guard=guard)


def collect(events: Any) -> tuple[str, GenerationResult]:
    streamed, result = "", None
    for event in events:
        if isinstance(event, Chunk):
            streamed += event.text
        elif isinstance(event, GenerationResult):
            result = event
    assert result is not None
    return streamed, result


def test_requests_with_different_policies_and_budgets_stay_apart(engine: Engine) -> None:
    costs = [PromptCost({f"w{i}" for i in range(k, 96, 3)}) for k in range(3)]
    prompts = ["w1 w2 w3", "w10 w11", "w20 w21 w22 w23"]
    budgets = [0.5, 2.0, 5.0]
    before = engine.scheduler.passes
    asked = enumerate(zip(prompts, costs, budgets, strict=True))
    running = [start(engine, p, guard_of(c, b), seed=s) for s, (p, c, b) in asked]
    answers = [collect(events) for events in running]
    assert engine.scheduler.most_searches >= 2
    assert engine.scheduler.passes > before
    for prompt, cost, budget, (streamed, result) in zip(prompts, costs, budgets, answers, strict=True):
        assert {p for p, _ in cost.seen} == {prompt}  # a policy never sees another request's text
        assert streamed == result.text
        own_cost = float(sum(w in cost.banned for w in result.text.split()))
        assert result.costs["prompt-words"] == own_cost
        if result.safe:
            assert own_cost <= budget


def test_one_policy_shared_by_requests_is_called_once_for_all(engine: Engine) -> None:
    cost = PromptCost({"w5", "w6"})
    guard = guard_of(cost, 1.0)
    prompts = ["w1 w2", "w3 w4", "w7 w8"]
    running = [start(engine, p, guard, seed=i) for i, p in enumerate(prompts)]
    answers = [collect(events) for events in running]
    assert {p for p, _ in cost.seen} == set(prompts)
    assert max(len(call) for call in cost.calls) >= 2  # one call carried several requests' texts
    for _, result in answers:
        assert result.costs["prompt-words"] == float(sum(w in cost.banned for w in result.text.split()))


def test_a_request_that_breaks_a_scorer_fails_alone(engine: Engine) -> None:
    cost = PromptCost({"w5"}, poison="w9 w9")
    guard = guard_of(cost, 1.0)
    good, bad = start(engine, "w1 w2", guard), start(engine, "w9 w9", guard)
    with pytest.raises(ScorerError):
        collect(bad)
    _, result = collect(good)
    assert result.finish_reason.value in ("length", "eos")


def test_a_stopped_request_leaves_and_the_others_finish(engine: Engine) -> None:
    guard = guard_of(PromptCost(set()), 1.0)
    stop = threading.Event()
    stopped = engine.generate("w1", SearchOptions(**{**OPTIONS, "max_new_tokens": 64}), guard=guard, stop=stop)
    other = start(engine, "w2", guard)
    next(iter(stopped))  # started
    stop.set()
    _, result = collect(stopped)
    assert result.finish_reason.value == "aborted"
    assert collect(other)[1].finish_reason.value in ("length", "eos")


def test_the_critic_is_batched_and_each_request_gets_its_own_rows(engine: Engine) -> None:
    critic = ScriptedCritic(engine.lm.hidden_size)
    guard = guard_of(PromptCost(set()), 1.0, critic)
    running = [start(engine, p, guard, seed=1) for p in ("w1", "w2 w3")]
    answers = [collect(events) for events in running]
    assert all(r.usage.critic_evaluations > 0 for _, r in answers)
    assert max(len(hidden) for hidden, _ in critic.calls) == 2 * OPTIONS["num_candidates"]  # both requests' rows


def test_the_same_seed_alone_gives_the_same_answer(engine: Engine) -> None:
    guard = guard_of(PromptCost({"w4"}), 1.0)
    first = collect(start(engine, "w1 w2 w3", guard, seed=5))[1]
    second = collect(start(engine, "w1 w2 w3", guard, seed=5))[1]
    assert first.token_ids == second.token_ids


def test_the_stacked_step_matches_one_request_at_a_time() -> None:
    lm = tiny_lm()
    reference = tiny_lm()
    lm.enable_stacking()
    prompts = [[2, 3, 4], [5, 6, 7, 8, 9, 10]]
    shared = [lm.prefill_shared(p)[0].select(torch.zeros(3, dtype=torch.long)) for p in prompts]
    plain = [reference.select_rows(reference.prefill(p)[0], torch.zeros(3, dtype=torch.long)) for p in prompts]
    tokens = [torch.tensor([11, 12, 13]), torch.tensor([14, 15, 16])]
    for step in range(6):
        if step == 3:  # a new block: children of the rows kept, as the search selects them
            kept = torch.tensor([2, 2, 0])
            shared = [cache.select(kept) for cache in shared]
            plain = [reference.select_rows(cache, kept) for cache in plain]
        stacked = lm.step_stacked(shared, tokens)
        alone = [reference.step(cache, t) for cache, t in zip(plain, tokens, strict=True)]
        for a, b in zip(stacked, alone, strict=True):
            torch.testing.assert_close(a.logits, b.logits, atol=1e-5, rtol=1e-4)
            torch.testing.assert_close(a.hidden, b.hidden, atol=1e-5, rtol=1e-4)
        tokens = [b.logits.argmax(-1) for b in alone]


def test_the_prompt_is_held_once_and_a_parents_tokens_once_for_its_children() -> None:
    lm = tiny_lm()
    lm.enable_stacking()
    token = lm.kv_bytes_per_token
    prompt = list(range(2, 42))
    cache, _ = lm.prefill_shared(prompt)
    assert kv_bytes([cache]) == len(prompt) * token
    rows = cache.select(torch.zeros(16, dtype=torch.long))
    assert kv_bytes([rows]) == len(prompt) * token  # sixteen rows, one copy of the prompt
    for _ in range(3):
        lm.step_stacked([rows], [torch.full((16,), 3)])
    assert kv_bytes([rows]) == (len(prompt) + 16 * 3) * token
    assert kv_bytes([cache, rows]) == kv_bytes([rows])  # the parent's prompt is the children's
    children = rows.select(torch.tensor([5, 5, 5, 5, 9, 9, 9, 9]))  # two kept parents, four children each
    assert kv_bytes([children]) == (len(prompt) + 2 * 3) * token
    lm.step_stacked([children], [torch.full((8,), 4)])
    assert kv_bytes([children]) == (len(prompt) + 2 * 3 + 8) * token
    assert children.length == len(prompt) + 4


@pytest.mark.parametrize("batching", [False, True])
def test_the_kv_a_search_holds_stays_within_its_admission_estimate(batching: bool) -> None:
    lm = tiny_lm()
    engine = Engine(lm, batching=batching)
    prompt = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12"
    options = SearchOptions(**{**OPTIONS, "max_new_tokens": 32})
    guard = guard_of(PromptCost({f"w{i}" for i in range(90)}), 0.5)  # most words over budget: the fallback fires
    _, result = collect(engine.generate(prompt, options, guard=guard))
    shape = ModelShape.of(lm, shared_prompt=batching)
    estimated = estimate(shape, options, prompt_token_bound(prompt), scorers_of(guard)).kv_bytes
    assert result.usage.retries > 0
    assert 0 < result.usage.kv_bytes_peak <= estimated


def test_a_strategy_that_cannot_join_the_batch_runs_on_a_thread_that_ends(training_critic: Any) -> None:
    lm = tiny_lm()
    batched, alone = Engine(lm, batching=True), Engine(lm)
    guard = guard_of(PromptCost({"w4"}), 2.0, training_critic)
    options = SearchOptions(strategy="recontrol", recontrol_steps=2, block_tokens=4, max_new_tokens=12, seed=2)
    apart = collect(batched.generate("w1 w2", options, guard=guard))[1]
    assert apart.token_ids == collect(alone.generate("w1 w2", options, guard=guard))[1].token_ids
    for _ in range(100):  # the thread ends just after its last event
        if not any(t.name == "inferenceguard-apart" for t in threading.enumerate()):
            break
        threading.Event().wait(0.01)
    assert not any(t.name == "inferenceguard-apart" for t in threading.enumerate())
