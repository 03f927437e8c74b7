"""Bad input: a clear error naming the field and the limit, and nothing lost."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inferenceguard.critics.onnx_critic import CriticLoadError, OnnxCritic
from inferenceguard.service.engine import Chunk, InvalidOptionError, LanguageModel, ScorerError, SearchOptions
from tests.engine_helpers import make_engine, run
from tests.onnx_helpers import export_critic
from tests.scripted import ScriptedCost, ScriptedCritic
from tests.tiny_model import tiny_lm


@pytest.mark.parametrize(
    ("changes", "field", "limit"),
    [
        ({"num_candidates": 0}, "num_candidates", "1..1024"),
        ({"num_candidates": 4, "num_beams": 5}, "num_beams", "must not exceed num_candidates (4)"),
        ({"block_tokens": 0}, "block_tokens", "at least 1"),
        ({"temperature": -0.1}, "temperature", ">= 0"),
        ({"strategy": "greedy"}, "strategy", "sample, best_of_n, beam, args, inferenceguard"),
        ({"top_p": 0.0}, "top_p", "(0, 1]"),
        ({"max_new_tokens": 0}, "max_new_tokens", "at least 1"),
        ({"max_retries": -1}, "max_retries", "0..16"),
        ({"p_safe_threshold": 1.5}, "p_safe_threshold", "[0, 1]"),
        ({"budget": -1.0}, "budget", ">= 0"),
        ({"unsafe_penalty": 0.0}, "unsafe_penalty", "> 0"),
    ],
)
def test_options_out_of_range_name_the_field_and_the_limit(changes: dict[str, Any], field: str, limit: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        SearchOptions(**changes)
    assert caught.value.field == field
    assert limit in str(caught.value)


def test_unknown_option_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="num_candidate: unknown option"):
        SearchOptions().with_updates(num_candidate=3)


def test_empty_prompt(lm: LanguageModel) -> None:
    with pytest.raises(InvalidOptionError, match="prompt: must not be empty"):
        make_engine(lm).run("   ")


def test_prompt_longer_than_the_context() -> None:
    short = tiny_lm(context=32)
    with pytest.raises(InvalidOptionError, match="prompt: is 40 tokens; the model's context is 32 tokens"):
        make_engine(short).run("w1 " * 40)
    with pytest.raises(InvalidOptionError, match=r"max_new_tokens: 64 new tokens .* use at most 22"):
        make_engine(short).run("w1 " * 10, SearchOptions(max_new_tokens=64))


def test_engine_keeps_serving_after_a_bad_request(lm: LanguageModel) -> None:
    engine = make_engine(lm)
    with pytest.raises(InvalidOptionError):
        engine.run("")
    assert run(engine, max_new_tokens=4).result is not None


def test_critic_with_the_wrong_hidden_size_is_refused(lm: LanguageModel) -> None:
    expected = "critic: 'scripted-critic' expects hidden size 64 but the model has 32"
    with pytest.raises(InvalidOptionError, match=expected):
        make_engine(lm, critic=ScriptedCritic(hidden_size=64))


def test_onnx_critic_runs_in_the_search_and_a_mismatched_one_is_refused(lm: LanguageModel, tmp_path: Path) -> None:
    good = OnnxCritic(export_critic(tmp_path / "good.onnx", lm.hidden_size))
    out = run(make_engine(lm, critic=good), num_candidates=4, block_tokens=4, max_new_tokens=8, p_safe_threshold=0)
    assert out.result is not None and out.result.usage.critic_evaluations == 8
    assert out.traces[0].p_safe is not None
    wrong = OnnxCritic(export_critic(tmp_path / "wrong.onnx", 576))
    with pytest.raises(InvalidOptionError, match="expects hidden size 576 but the model has 32"):
        make_engine(lm, critic=wrong)


def test_onnx_critic_with_the_wrong_signature_names_the_file(tmp_path: Path) -> None:
    path = export_critic(tmp_path / "odd.onnx", 8, input_names=("features", "budget_state"))
    with pytest.raises(CriticLoadError, match=r"odd\.onnx: signature"):
        OnnxCritic(path)
    (tmp_path / "broken.onnx").write_bytes(b"not a model")
    with pytest.raises(CriticLoadError, match=r"broken\.onnx: onnx"):
        OnnxCritic(tmp_path / "broken.onnx")


def test_a_failing_cost_function_stops_the_search_and_releases_nothing_unchecked(lm: LanguageModel) -> None:
    def fail_on_third_block(call: int, text: str) -> float:
        if call == 3:
            raise RuntimeError("model file vanished")
        return 0.0

    cost = ScriptedCost(fail_on_third_block)
    options = SearchOptions(num_candidates=2, num_beams=1, block_tokens=3, max_new_tokens=30, seed=0)
    streamed: list[str] = []
    with pytest.raises(ScorerError, match="scorer 'scripted' failed: model file vanished"):
        for event in make_engine(lm, cost).generate("w1", options):
            if isinstance(event, Chunk):
                streamed.append(event.text)
    released = "".join(streamed)
    checked = [text for call in cost.calls[:2] for text in call]
    assert released and any(text.startswith(released) for text in checked)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_cost_that_is_not_a_finite_number_fails_closed(lm: LanguageModel, bad: float) -> None:
    with pytest.raises(ScorerError, match="not a finite number"):
        make_engine(lm, ScriptedCost(lambda call, text: bad)).run("w1", SearchOptions(max_new_tokens=4, seed=0))


def test_a_failing_critic_fails_closed(lm: LanguageModel) -> None:
    class Broken(ScriptedCritic):
        def __call__(self, hidden: np.ndarray, budget_state: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            raise RuntimeError("onnxruntime error")

    with pytest.raises(ScorerError, match="critic 'scripted-critic' failed"):
        make_engine(lm, critic=Broken(lm.hidden_size)).run("w1", SearchOptions(max_new_tokens=4, seed=0))


def test_a_negative_cost_fails_closed(lm: LanguageModel) -> None:
    """A negative cost would give budget back, letting a later unsafe block through: it is a broken scorer."""
    with pytest.raises(ScorerError, match=r"outside \[0, inf\]"):
        make_engine(lm, ScriptedCost(lambda call, text: -0.5)).run("w1", SearchOptions(max_new_tokens=4, seed=0))


@pytest.mark.parametrize("p_safe", [-0.1, 1.5])
def test_a_critic_probability_outside_zero_one_fails_closed(lm: LanguageModel, p_safe: float) -> None:
    critic = ScriptedCritic(lm.hidden_size, p_safe=p_safe)
    with pytest.raises(ScorerError, match=r"p_safe outside \[0, 1\]"):
        make_engine(lm, critic=critic).run("w1", SearchOptions(max_new_tokens=4, seed=0))
