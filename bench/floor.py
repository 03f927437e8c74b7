"""The floor of the search's cost: plain batched sampling of N candidates for D tokens, with no scoring."""

from __future__ import annotations

import time

import torch

from inferenceguard.service.engine.blocks import Frontier, sample_block
from inferenceguard.service.engine.calls import run_now
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.sampling import Sampler, make_generator
from inferenceguard.service.engine.types import Usage


def sample_floor(lm: LanguageModel, prompt: str, candidates: int, max_new_tokens: int, seed: int) -> tuple[float, int]:
    """Seconds taken and tokens sampled to draw `candidates` responses of up to `max_new_tokens` tokens."""
    started = time.perf_counter()
    cache, out = lm.prefill(lm.encode_prompt(prompt))
    start = Frontier(cache, out.logits, out.hidden).select(torch.zeros(candidates, dtype=torch.long))
    usage = Usage()
    run_now(sample_block(lm, start, max_new_tokens, Sampler(), make_generator(seed, lm.device), usage), lm)
    return time.perf_counter() - started, usage.tokens_sampled
