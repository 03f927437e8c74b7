"""The block search on the tiny model with scripted scorers."""

import itertools
from typing import Any

import pytest
import torch

from inferenceguard.critics.onnx_critic import OnnxCritic
from inferenceguard.service.engine import Engine, FinishReason, LanguageModel
from inferenceguard.service.engine.options import STRATEGIES
from tests.engine_helpers import PROMPT, make_engine, run
from tests.scripted import ScriptedCost, WordCost


def engine_for(lm: LanguageModel, strategy: str, critic: OnnxCritic) -> Engine:
    """The default test engine; recontrol steers by a critic, which the other strategies run without."""
    return make_engine(lm, critic=critic if strategy == "recontrol" else None)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_chunks_concatenate_to_the_final_text(lm: LanguageModel, training_critic: OnnxCritic, strategy: str) -> None:
    out = run(
        engine_for(lm, strategy, training_critic),
        strategy=strategy,
        num_candidates=6,
        num_beams=2,
        block_tokens=4,
        max_new_tokens=20,
        args_top_k=4,
    )
    assert out.result is not None
    assert out.streamed_text == out.result.text
    assert tuple(out.streamed_ids) == out.result.token_ids
    assert out.result.text == lm.decode(list(out.result.token_ids))
    assert 0 < out.result.new_tokens <= 20


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_answer(lm: LanguageModel, training_critic: OnnxCritic, strategy: str) -> None:
    engine = engine_for(lm, strategy, training_critic)
    options: dict[str, Any] = dict(strategy=strategy, num_candidates=4, block_tokens=4, max_new_tokens=16, args_top_k=4)
    first, again, other = (run(engine, seed=s, **options).result for s in (11, 11, 12))
    assert first is not None and again is not None and other is not None
    assert first.token_ids == again.token_ids and first.seed == again.seed == 11
    if strategy != "args":  # ARGS at temperature 1 still samples, but over only 4 tokens: allow a tie
        assert first.token_ids != other.token_ids


def test_greedy_single_beam_equals_transformers_generate(lm: LanguageModel) -> None:
    prompt_ids = lm.encode_prompt(PROMPT)
    expected = lm.model.generate(
        torch.tensor([prompt_ids]),
        max_new_tokens=24,
        do_sample=False,
        eos_token_id=sorted(lm.eos_token_ids),
        pad_token_id=0,
    )[0, len(prompt_ids) :].tolist()
    expected = [t for t in expected if t not in lm.eos_token_ids]
    for strategy in ("sample", "inferenceguard", "beam"):
        out = run(
            make_engine(lm),
            strategy=strategy,
            temperature=0,
            num_candidates=1,
            num_beams=1,
            block_tokens=5,
            max_new_tokens=24,
        )
        assert out.result is not None
        assert list(out.result.token_ids) == expected, strategy


def test_n_children_per_block_and_at_most_k_parents(lm: LanguageModel) -> None:
    cost = WordCost(set())
    out = run(
        make_engine(lm, cost),
        strategy="inferenceguard",
        num_candidates=8,
        num_beams=3,
        block_tokens=3,
        max_new_tokens=12,
    )
    assert out.result is not None
    blocks = cost.calls
    assert all(len(call) == 8 for call in blocks)
    for previous, current in itertools.pairwise(blocks):
        parents = {" ".join(text.split()[: len(previous[0].split())]) for text in current}
        assert len(parents) <= 3
        assert parents <= set(previous)
    assert [t.candidates for t in out.traces] == [8] * len(out.traces)


def test_safe_children_outrank_unsafe_ones_and_no_unsafe_text_is_streamed(lm: LanguageModel) -> None:
    banned = {f"w{i}" for i in range(0, 96, 2)}  # half the vocabulary
    out = run(
        make_engine(lm, WordCost(banned), budget=0.0),
        strategy="inferenceguard",
        num_candidates=16,
        num_beams=2,
        block_tokens=2,
        max_new_tokens=8,
        logit_penalty_beta=50.0,
    )
    assert out.result is not None
    if out.result.finish_reason != FinishReason.BUDGET_EXHAUSTED:
        assert out.result.safe
    assert not set(out.result.text.split()) & banned
    assert out.streamed_text == out.result.text


def test_beam_baseline_may_continue_unsafe_but_inferenceguard_fails_closed(lm: LanguageModel) -> None:
    every_word = ScriptedCost(lambda _call, text: float(len(text.split())))
    beam = run(
        make_engine(lm, every_word, budget=1.5), strategy="beam", num_candidates=4, block_tokens=2, max_new_tokens=8
    ).result
    guard = run(
        make_engine(lm, ScriptedCost(lambda _c, t: float(len(t.split()))), budget=1.5),
        strategy="inferenceguard",
        num_candidates=4,
        block_tokens=2,
        max_new_tokens=8,
        exhausted_message=" [end]",
    )
    assert beam is not None and not beam.safe and beam.new_tokens == 8
    assert guard.result is not None and guard.result.finish_reason == FinishReason.BUDGET_EXHAUSTED
    assert guard.result.safe and guard.result.new_tokens == 0  # the first block already overshoots
    assert guard.result.text == " [end]" and guard.streamed_text == " [end]"


def test_best_of_n_returns_the_best_safe_complete_answer(lm: LanguageModel) -> None:
    cost = WordCost(set())
    out = run(make_engine(lm, cost), strategy="best_of_n", num_candidates=5, block_tokens=4, max_new_tokens=8)
    assert out.result is not None
    finals = cost.calls[-1]
    assert len(finals) <= 5
    assert out.result.reward == max(len(set(t.split())) for t in finals)


def test_time_limit_returns_the_checked_text_so_far(lm: LanguageModel) -> None:
    out = run(
        make_engine(lm),
        strategy="inferenceguard",
        num_candidates=4,
        block_tokens=2,
        max_new_tokens=200,
        time_limit_s=1e-9,
    )
    assert out.result is not None and out.result.finish_reason == FinishReason.TIME_LIMIT
    assert out.streamed_text == out.result.text
