"""The all-unsafe fallback: when it fires, what it penalises, and how often."""

from typing import Any

import torch

from inferenceguard.service.engine import FinishReason, LanguageModel
from inferenceguard.service.engine.blocks import Frontier, sample_block
from inferenceguard.service.engine.calls import run_now
from inferenceguard.service.engine.fallback import unsafe_token_share
from inferenceguard.service.engine.sampling import Sampler, make_generator
from inferenceguard.service.engine.types import Usage
from tests.engine_helpers import make_engine, run
from tests.scripted import ScriptedCost

OPTIONS: dict[str, Any] = dict(
    strategy="inferenceguard", num_candidates=4, num_beams=2, block_tokens=3, max_new_tokens=3
)


def words(call: list[str]) -> set[str]:
    return {w for text in call for w in text.split()}


def test_share_counts_each_token_once_per_unsafe_block_and_exempts_specials() -> None:
    blocks = torch.tensor([[5, 5, 6], [5, 7, 1], [8, 8, 8]])
    share = unsafe_token_share(blocks, torch.tensor([3, 3, 3]), torch.tensor([True, True, False]), 10, exempt=[1])
    assert share[5] == 1.0 and share[6] == 0.5 and share[7] == 0.5
    assert share[8] == 0.0  # only in the safe child's block
    assert share[1] == 0.0  # special tokens stay available
    assert share.sum() == 2.0


def test_share_ignores_padding_past_a_childs_length() -> None:
    share = unsafe_token_share(torch.tensor([[5, 9, 9]]), torch.tensor([1]), torch.tensor([True]), 10, exempt=[])
    assert share[5] == 1.0 and share[9] == 0.0


def test_logit_penalty_steers_sampling_away(lm: LanguageModel) -> None:
    cache, out = lm.prefill(lm.encode_prompt("w1"))
    start = Frontier(cache, out.logits, out.hidden).select(torch.zeros(64, dtype=torch.long))
    penalty = torch.zeros(lm.vocab_size)
    penalty[2:50] = 1e4
    block = run_now(
        sample_block(lm, start, 4, Sampler(), make_generator(0, lm.device), Usage(), logit_penalty=penalty), lm
    )
    assert not ((block.tokens >= 2) & (block.tokens < 50)).any()


def test_no_retry_while_some_child_is_safe(lm: LanguageModel) -> None:
    def odd_last_word_is_unsafe(call: int, text: str) -> float:
        return float(int(text.split()[-1][1:]) % 2) if text else 0.0

    cost = ScriptedCost(odd_last_word_is_unsafe)
    out = run(make_engine(lm, cost), **OPTIONS)
    scores = [odd_last_word_is_unsafe(1, t) for t in cost.calls[0]]
    assert 0.0 in scores and 1.0 in scores  # a mixed block: some unsafe, some safe
    assert out.result is not None and out.result.usage.retries == 0 and len(cost.calls) == 1
    assert out.result.safe


def test_resamples_when_every_child_is_unsafe_and_avoids_their_tokens(lm: LanguageModel) -> None:
    cost = ScriptedCost(lambda call, text: 1.0 if call <= 2 else 0.0)  # first two attempts all unsafe
    out = run(make_engine(lm, cost), logit_penalty_beta=1e4, **OPTIONS)
    assert out.result is not None
    assert out.result.usage.retries == 2 and len(cost.calls) == 3
    assert out.traces[0].retries == 2 and out.traces[0].candidates == 12
    first, second, third = (words(c) for c in cost.calls)
    assert not second & first  # the penalty of retry 1 covers the tokens of the unsafe blocks
    assert not third & (first | second)  # and penalties accumulate over retries
    assert out.result.safe and out.result.finish_reason != FinishReason.BUDGET_EXHAUSTED


def test_a_retry_restarts_from_the_parents_not_from_the_rejected_block(lm: LanguageModel) -> None:
    cost = ScriptedCost(lambda call, text: 1.0 if call == 1 else 0.0)
    out = run(make_engine(lm, cost), temperature=0, logit_penalty_beta=0.0, **OPTIONS)
    assert out.result is not None and out.result.usage.retries == 1
    assert cost.calls[0] == cost.calls[1]  # greedy, no penalty: the resample must redo the same block


def test_gives_up_after_m_retries_and_fails_closed(lm: LanguageModel) -> None:
    cost = ScriptedCost(lambda call, text: 1.0)
    out = run(make_engine(lm, cost), max_retries=3, **OPTIONS)
    assert out.result is not None
    assert len(cost.calls) == 4 and out.result.usage.retries == 3
    assert out.result.finish_reason == FinishReason.BUDGET_EXHAUSTED and out.result.text == ""
    assert out.chunks == []


def test_zero_retries_turns_the_fallback_off(lm: LanguageModel) -> None:
    cost = ScriptedCost(lambda call, text: 1.0)
    out = run(make_engine(lm, cost), max_retries=0, **OPTIONS)
    assert out.result is not None and len(cost.calls) == 1 and out.result.usage.retries == 0


def test_best_effort_continues_past_an_exhausted_budget_and_reports_unsafe(lm: LanguageModel) -> None:
    cost = ScriptedCost(lambda call, text: 1.0)
    out = run(make_engine(lm, cost), on_exhausted="best_effort", max_retries=1, **{**OPTIONS, "max_new_tokens": 6})
    assert out.result is not None and not out.result.safe and out.result.new_tokens == 6


def test_a_pessimistic_critic_ranks_but_does_not_trigger_resampling_by_default(lm: LanguageModel) -> None:
    from tests.scripted import ScriptedCritic

    gloomy = ScriptedCritic(lm.hidden_size, p_safe=0.0)
    default = run(make_engine(lm, critic=gloomy), **OPTIONS)
    assert default.result is not None and default.result.usage.retries == 0
    assert default.result.finish_reason != FinishReason.BUDGET_EXHAUSTED and default.result.safe
    strict = run(make_engine(lm, critic=gloomy), critic_triggers_fallback=True, max_retries=1, **OPTIONS)
    assert strict.result is not None and strict.result.usage.retries == 1
    assert strict.result.finish_reason == FinishReason.BUDGET_EXHAUSTED
