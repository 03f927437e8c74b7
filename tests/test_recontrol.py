"""RE-Control: the differentiable critic copy, the hidden-state ascent and the token loop, on the tiny model."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from inferenceguard.critics.onnx_critic import CriticLoadError, OnnxCritic
from inferenceguard.service.convert import request_to_pb
from inferenceguard.service.engine import Chunk, FinishReason, GenerationResult, InvalidOptionError, SearchOptions
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.recontrol import HiddenEditor
from inferenceguard.service.option_flags import add_search_flags, options_from_args
from tests.engine_helpers import PROMPT, make_engine, run
from tests.onnx_helpers import export_critic
from tests.scripted import ScriptedCritic, WordCost
from tests.tiny_model import tiny_lm

SHIPPED_CRITICS = sorted(Path("policies/builtin/models/critics").glob("*.onnx"))
BANNED = {f"w{i}" for i in range(0, 96, 3)}  # a third of the words cost 1 each: answers have a cost to report


def editor(critic: OnnxCritic, steps: int, lagrange: float | None = None) -> HiddenEditor:
    return HiddenEditor(critic.differentiable(), critic.name, (), steps, 0.5, lagrange)


def prompt_hidden(lm: LanguageModel) -> torch.Tensor:
    return lm.prefill(lm.encode_prompt(PROMPT))[1].hidden


# -- the differentiable copy -----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", SHIPPED_CRITICS, ids=lambda p: p.stem)
def test_the_torch_copy_of_a_shipped_critic_matches_onnxruntime(path: Path) -> None:
    critic = OnnxCritic(path)
    hidden = np.random.default_rng(1).standard_normal((5, critic.hidden_size)).astype(np.float32)
    budget_state = np.array([1.0, 0.5, 0.0, -0.2, 1.5], dtype=np.float32)
    want = critic(hidden, budget_state)
    with torch.no_grad():
        got = critic.differentiable()(torch.from_numpy(hidden), torch.from_numpy(budget_state).view(-1, 1))
    for expected, actual in zip(want, got, strict=True):
        np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-4, atol=1e-5)
    assert critic.differentiable() is critic.differentiable()  # built once


def test_the_torch_copy_of_a_training_export_matches_and_is_frozen(training_critic: OnnxCritic) -> None:
    copy = training_critic.differentiable()
    assert not copy.training and not any(p.requires_grad for p in copy.parameters())
    hidden = np.random.default_rng(2).standard_normal((3, training_critic.hidden_size)).astype(np.float32)
    budget_state = np.array([1.0, 0.3, -0.1], dtype=np.float32)
    with torch.no_grad():
        got = copy(torch.from_numpy(hidden), torch.from_numpy(budget_state).view(-1, 1))
    for expected, actual in zip(training_critic(hidden, budget_state), got, strict=True):
        np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_a_critic_of_another_architecture_has_no_copy_and_the_error_names_the_file(tmp_path: Path) -> None:
    other = OnnxCritic(export_critic(tmp_path / "other.onnx", 32))
    with pytest.raises(CriticLoadError, match=r"other\.onnx: differentiable: .*critics/training/critic\.py::Critic"):
        other.differentiable()


# -- the ascent ------------------------------------------------------------------------------------------------
def test_gradient_ascent_raises_the_critics_value(lm: LanguageModel, training_critic: OnnxCritic) -> None:
    hidden, z = prompt_hidden(lm), torch.ones(1, 1)
    unchanged, _, start = editor(training_critic, 0).edit(hidden, z)
    _, _, partway = editor(training_critic, 10).edit(hidden, z)
    edited, _, raised = editor(training_critic, 30).edit(hidden, z)
    assert torch.equal(unchanged, hidden)
    assert start < partway < raised
    assert not torch.equal(edited, hidden)


def test_the_lagrangian_ascent_raises_its_own_objective(lm: LanguageModel, training_critic: OnnxCritic) -> None:
    hidden, z, lam = prompt_hidden(lm), torch.ones(1, 1), 5.0
    _, p0, v0 = editor(training_critic, 0, lam).edit(hidden, z)
    _, p1, v1 = editor(training_critic, 30, lam).edit(hidden, z)
    assert v1 - lam * (1 - p1) > v0 - lam * (1 - p0)


def test_the_ascent_works_under_the_callers_inference_mode(lm: LanguageModel, training_critic: OnnxCritic) -> None:
    with torch.inference_mode():
        _, _, raised = editor(training_critic, 5).edit(prompt_hidden(lm), torch.ones(1, 1))
    assert raised > editor(training_critic, 0).edit(prompt_hidden(lm), torch.ones(1, 1))[2]


# -- the token loop --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sampling",
    [dict(seed=3), dict(seed=4, temperature=0.7, top_p=0.9, top_k=20), dict(temperature=0)],
    ids=["plain", "filtered", "greedy"],
)
def test_without_ascent_it_is_plain_sampling_token_for_token(
    lm: LanguageModel, training_critic: OnnxCritic, sampling: dict[str, Any]
) -> None:
    options: dict[str, Any] = dict(block_tokens=4, max_new_tokens=30, **sampling)
    engine = make_engine(lm, WordCost(BANNED), critic=training_critic, budget=3.0)
    sample = run(engine, strategy="sample", **options).result
    edited = run(engine, strategy="recontrol", recontrol_steps=0, **options)
    assert sample is not None and edited.result is not None
    assert edited.result.token_ids == sample.token_ids and edited.result.text == sample.text
    assert edited.result.finish_reason == sample.finish_reason
    assert (edited.result.cost, edited.result.safe, edited.result.reward) == (sample.cost, sample.safe, sample.reward)
    assert edited.streamed_text == edited.result.text


def test_ascent_changes_the_answer_and_the_same_seed_repeats_it(lm: LanguageModel, training_critic: OnnxCritic) -> None:
    engine = make_engine(lm, critic=training_critic)
    options: dict[str, Any] = dict(strategy="recontrol", block_tokens=4, max_new_tokens=20, seed=5)
    first, again = run(engine, **options).result, run(engine, **options).result
    plain = run(engine, **{**options, "recontrol_steps": 0}).result
    assert first is not None and again is not None and plain is not None
    assert first.token_ids == again.token_ids
    assert first.token_ids != plain.token_ids


@pytest.mark.parametrize("objective", ["value", "lagrangian"])
def test_safety_and_usage_are_reported_block_by_block(
    lm: LanguageModel, training_critic: OnnxCritic, objective: str
) -> None:
    cost = WordCost(BANNED)
    out = run(
        make_engine(lm, cost, critic=training_critic, budget=2.0),
        strategy="recontrol",
        recontrol_objective=objective,
        recontrol_steps=3,
        block_tokens=4,
        max_new_tokens=18,
    )
    result = out.result
    assert result is not None and result.strategy == "recontrol" and result.new_tokens > 0
    assert result.cost == sum(w in BANNED for w in result.text.split())
    assert result.safe == all(t.safety_state >= 0 for t in out.traces)
    assert [t.cumulative_cost for t in out.traces][-1] == result.cost
    assert len(out.traces) == result.usage.blocks == -(-result.new_tokens // 4)
    assert all(t.p_safe is not None and t.value is not None and t.candidates == 1 for t in out.traces)
    assert result.usage.critic_evaluations == 4 * result.usage.tokens_sampled
    assert all(len(call) == 1 for call in cost.calls) and len(cost.calls) == result.usage.blocks


def test_a_stop_mid_block_releases_only_scored_blocks(lm: LanguageModel, training_critic: OnnxCritic) -> None:
    stop = threading.Event()
    options = SearchOptions(strategy="recontrol", recontrol_steps=1, block_tokens=3, max_new_tokens=60, seed=0)
    events = []
    for event in make_engine(lm, critic=training_critic).generate(PROMPT, options, stop=stop):
        events.append(event)
        if isinstance(event, Chunk):
            stop.set()  # after the first scored block; the next token is never drawn
    result = events[-1]
    assert isinstance(result, GenerationResult) and result.finish_reason == FinishReason.ABORTED
    assert "".join(e.text for e in events if isinstance(e, Chunk)) == result.text
    assert result.new_tokens == 3


# -- refusals --------------------------------------------------------------------------------------------------
def test_without_a_critic_it_is_refused_before_any_event(lm: LanguageModel) -> None:
    with pytest.raises(InvalidOptionError, match="needs a critic") as caught:
        make_engine(lm).generate(PROMPT, SearchOptions(strategy="recontrol"))
    assert caught.value.field == "strategy"


def test_a_critic_without_a_differentiable_copy_is_refused(lm: LanguageModel, tmp_path: Path) -> None:
    scripted = make_engine(lm, critic=ScriptedCritic(lm.hidden_size))
    with pytest.raises(InvalidOptionError, match="'scripted-critic' has none") as caught:
        scripted.generate(PROMPT, SearchOptions(strategy="recontrol"))
    assert caught.value.field == "strategy"
    other = make_engine(lm, critic=OnnxCritic(export_critic(tmp_path / "other.onnx", lm.hidden_size)))
    with pytest.raises(InvalidOptionError, match=r"cannot differentiate the critic 'other': .*other\.onnx"):
        other.generate(PROMPT, SearchOptions(strategy="recontrol"))


def test_a_critic_reading_another_layer_is_refused(training_critic: OnnxCritic) -> None:
    inner = tiny_lm(hidden_layer=1)
    with pytest.raises(InvalidOptionError, match=r"must read the final layer .* hidden_layer 1") as caught:
        make_engine(inner, critic=training_critic).generate(PROMPT, SearchOptions(strategy="recontrol"))
    assert caught.value.field == "hidden_layer"


@pytest.mark.parametrize(
    ("changes", "field", "limit"),
    [
        ({"recontrol_steps": -1}, "recontrol_steps", "0..1000"),
        ({"recontrol_steps": 1001}, "recontrol_steps", "0..1000"),
        ({"recontrol_step_size": -0.5}, "recontrol_step_size", "[0, 1e+06]"),
        ({"recontrol_step_size": float("nan")}, "recontrol_step_size", "[0, 1e+06]"),
        ({"recontrol_step_size": float("inf")}, "recontrol_step_size", "[0, 1e+06]"),
        ({"recontrol_objective": "reward"}, "recontrol_objective", "value, lagrangian"),
    ],
)
def test_options_out_of_range_name_the_field(changes: dict[str, Any], field: str, limit: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        SearchOptions(**changes)
    assert caught.value.field == field and limit in str(caught.value)


def test_the_options_are_command_line_flags() -> None:
    parser = argparse.ArgumentParser()
    add_search_flags(parser)
    flags = ["--strategy", "recontrol", "--recontrol-steps", "5", "--recontrol-step-size", "0.25"]
    options = options_from_args(parser.parse_args([*flags, "--recontrol-objective", "lagrangian"]))
    assert (options.strategy, options.recontrol_steps, options.recontrol_step_size) == ("recontrol", 5, 0.25)
    assert options.recontrol_objective == "lagrangian"


def test_defaults_are_table_1s_and_a_server_request_is_refused() -> None:
    options = SearchOptions()
    assert (options.recontrol_steps, options.recontrol_step_size, options.recontrol_objective) == (30, 0.5, "value")
    with pytest.raises(InvalidOptionError, match="cannot be sent to a server") as caught:
        request_to_pb("hi", {"strategy": "recontrol"}, ["harm"])
    assert caught.value.field == "strategy"


# -- the real model --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_on_the_real_model_with_the_harm_critic_it_answers_and_reports_usage() -> None:
    from tests.real import real_runtime

    runtime = real_runtime()
    options = SearchOptions(strategy="recontrol", seed=0, max_new_tokens=16, block_tokens=8)
    events = list(runtime.engine.generate("How do I bake bread at home?", options, guard=runtime.guard(["harm"])))
    result = events[-1]
    assert isinstance(result, GenerationResult)
    assert result.finish_reason in (FinishReason.EOS, FinishReason.LENGTH) and result.text.strip()
    assert "".join(e.text for e in events if isinstance(e, Chunk)) == result.text
    usage = result.usage
    assert usage.new_tokens == result.new_tokens > 0 and usage.blocks >= 1
    assert usage.critic_evaluations == 31 * usage.tokens_sampled and usage.cost_evaluations >= usage.blocks
    assert "harm" in result.costs and result.reward is not None
