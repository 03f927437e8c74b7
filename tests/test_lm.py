"""The LM runtime: hidden states of the chosen layer, block-end states, cache row selection."""

from __future__ import annotations

import pytest
import torch

from inferenceguard.service.engine import LanguageModel, SearchOptions
from tests.engine_helpers import make_engine
from tests.scripted import ScriptedCritic
from tests.tiny_model import tiny_lm


def full_forward_state(lm: LanguageModel, ids: list[int], layer: int) -> torch.Tensor:
    with torch.no_grad():
        if layer == -1:
            return lm.model.model(torch.tensor([ids])).last_hidden_state[0, -1]
        return lm.model(torch.tensor([ids]), output_hidden_states=True).hidden_states[layer][0, -1]


@pytest.mark.parametrize("layer", [0, 1, 2, -1])
def test_hidden_state_of_the_chosen_layer(layer: int) -> None:
    lm = tiny_lm(hidden_layer=layer)
    ids = lm.encode_prompt("w4 w5 w6 w7")
    cache, out = lm.prefill(ids[:-1])
    stepped = lm.step(cache, torch.tensor([ids[-1]]))
    assert torch.allclose(stepped.hidden[0], full_forward_state(lm, ids, layer), atol=1e-5)
    assert torch.allclose(out.hidden[0], full_forward_state(lm, ids[:-1], layer), atol=1e-5)


def test_hidden_layer_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match=r"hidden_layer: must be -1 \(final\) or 0..2, got 5"):
        tiny_lm(hidden_layer=5)


def test_critic_reads_the_state_at_each_childs_block_end(lm: LanguageModel) -> None:
    critic = ScriptedCritic(lm.hidden_size, p_safe=1.0)
    result = make_engine(lm, critic=critic).run(
        "w1 w2", SearchOptions(num_candidates=3, num_beams=1, block_tokens=4, max_new_tokens=4, seed=3)
    )
    prompt_ids = lm.encode_prompt("w1 w2")
    hidden, budget_state = critic.calls[0]
    assert hidden.shape == (3, lm.hidden_size) and budget_state.tolist() == [1.0, 1.0, 1.0]
    chosen = list(result.token_ids) + ([1] if result.finish_reason.value == "eos" else [])
    expected = full_forward_state(lm, prompt_ids + chosen, -1).numpy()
    assert any(abs(row - expected).max() < 1e-4 for row in hidden)


def test_select_rows_copies_rows_and_leaves_the_source_intact(lm: LanguageModel) -> None:
    cache, _ = lm.prefill(lm.encode_prompt("w1 w2 w3"))
    before = cache.layers[0].keys.clone()
    picked = lm.select_rows(cache, torch.tensor([0, 0, 0]))
    lm.step(picked, torch.tensor([5, 6, 7]))
    assert picked.layers[0].keys.shape[0] == 3 and picked.get_seq_length() == 4
    assert torch.equal(cache.layers[0].keys, before) and cache.get_seq_length() == 3
