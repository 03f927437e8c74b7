"""Sampling one block of w tokens for every child at once: one batched forward pass (a yielded Forward) per token."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from inferenceguard.service.engine.calls import Forward, Steps
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.sampling import Sampler
from inferenceguard.service.engine.types import Usage


@dataclass
class Frontier:
    """Where a batch of sequences stands: their KV cache and the model's output at their last token."""

    cache: Any
    logits: torch.Tensor  # [B, V] next-token logits
    hidden: torch.Tensor  # [B, H] chosen-layer state at the last token

    @property
    def rows(self) -> int:
        return int(self.logits.shape[0])

    def select(self, rows: torch.Tensor) -> Frontier:
        """The frontier of `rows` (repeats allowed); this one stays valid for resampling."""
        index = rows.to(self.logits.device)
        return Frontier(LanguageModel.select_rows(self.cache, index), self.logits[index], self.hidden[index])


@dataclass
class Block:
    """The tokens each child drew in one block, and the frontier after them."""

    tokens: torch.Tensor  # [B, L] (positions past a child's length are padding)
    lengths: torch.Tensor  # [B] valid tokens, the EOS included
    ended: torch.Tensor  # [B] bool: the child drew an end-of-sequence token
    frontier: Frontier

    def row_tokens(self, row: int) -> list[int]:
        return [int(t) for t in self.tokens[row, : int(self.lengths[row])]]


def sample_block(
    lm: LanguageModel,
    start: Frontier,
    width: int,
    sampler: Sampler,
    generator: torch.Generator | None,
    usage: Usage,
    *,
    logit_penalty: torch.Tensor | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Steps[Block]:
    """Draw up to `width` tokens per row, stopping a row at EOS and the whole block once every row ended.

    Feeding each drawn token (the last one included) yields both the next logits and the block-end hidden
    state, so the next block and the critic need no further pass. A stopped row keeps being fed its EOS so
    the batch stays rectangular; its outputs are ignored.
    """
    rows = start.rows
    device = start.logits.device
    eos = torch.tensor(sorted(lm.eos_token_ids), dtype=torch.long, device=device)
    tokens = torch.zeros((rows, width), dtype=torch.long, device=device)
    lengths = torch.zeros(rows, dtype=torch.long, device=device)
    ended = torch.zeros(rows, dtype=torch.bool, device=device)
    penalty = logit_penalty.to(device) if logit_penalty is not None else None
    logits, hidden, cache = start.logits, start.hidden.clone(), start.cache
    drawn = 0
    for position in range(width):
        if should_stop():
            break
        drawn_now = sampler(logits - penalty if penalty is not None else logits, generator)
        live = ~ended
        drawn_now = torch.where(live, drawn_now, tokens[:, max(position - 1, 0)])
        tokens[:, position] = drawn_now
        lengths += live.long()
        ended |= live & torch.isin(drawn_now, eos)
        usage.tokens_sampled += int(live.sum())
        started = time.perf_counter()
        out = yield Forward(cache, drawn_now)
        usage.forward_passes += 1
        usage.lm_seconds += time.perf_counter() - started
        hidden = torch.where(live.unsqueeze(1), out.hidden, hidden)
        logits = out.logits
        drawn = position + 1
        if bool(ended.all()):
            break
    return Block(tokens[:, :drawn], lengths, ended, Frontier(cache, logits, hidden))
