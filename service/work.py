"""What a request will cost before it runs, and whether it can ever run on this server.

Two quantities are estimated from the model's shape and the request's options, before the prompt is tokenised
(tokenising is work too, and runs after admission):

- **KV-cache bytes**: while a block is resampled the old and the new children live side by side: up to 2·N + 1
  sequences for InferenceGuard, N + 1 for the other searches. Batched (the scheduler's shared-prefix cache), they
  read one copy of the prompt: prompt + sequences x new tokens, an upper bound (children also share their parent's
  tokens). Unbatched, each
  holds its own copy of the whole context: sequences x (prompt + new tokens). The prompt's length is bounded by its
  UTF-8 bytes (a byte-level tokenizer never makes more tokens than bytes) plus the chat template, and by the
  context window.
- **Scorer calls**: every child of every block is scored, once per attempt (1 + max_retries), by each scorer.

A request whose estimate exceeds a server budget even with a one-token prompt can never run: it is refused with
INVALID_ARGUMENT naming the field to change. Otherwise admission reserves its KV bytes (capped at the budget, so a
request that fits alone runs alone) until it ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inferenceguard.service.config import Settings
from inferenceguard.service.engine import Guard, InvalidOptionError, SearchOptions
from inferenceguard.service.engine.strategies import STRATEGIES

if TYPE_CHECKING:
    from inferenceguard.service.engine import LanguageModel

MIB = 1024 * 1024


@dataclass(frozen=True)
class WorkLimits:
    """The server's caps on one request's work (settings, live on reload)."""

    kv_cache_bytes: int
    scorer_calls: int
    max_retries: int
    min_block_tokens: int

    @classmethod
    def of(cls, settings: Settings) -> WorkLimits:
        return cls(
            settings.max_kv_cache_mib * MIB, settings.max_scorer_calls, settings.max_retries_limit,
            settings.min_block_tokens,
        )  # fmt: skip


@dataclass(frozen=True)
class ModelShape:
    """The facts of the served LM the estimate needs, read once at start."""

    kv_bytes_per_token: int
    template_tokens: int  # tokens the chat template adds around a prompt
    context_length: int
    shared_prompt: bool = False  # batched searches hold the prompt's KV once, not once per sequence

    @classmethod
    def of(cls, lm: LanguageModel, *, shared_prompt: bool = False) -> ModelShape:
        return cls(lm.kv_bytes_per_token, len(lm.encode_prompt(".")), lm.context_length, shared_prompt)


@dataclass(frozen=True)
class Work:
    kv_bytes: int
    scorer_calls: int


def estimate(shape: ModelShape, options: SearchOptions, prompt_tokens: int, scorers: int) -> Work:
    strategy = STRATEGIES[options.strategy]
    held = strategy.footprint(options)
    prompt = min(prompt_tokens + shape.template_tokens, shape.context_length)
    if shape.shared_prompt and strategy.batched:
        tokens = prompt + held.sequences * options.max_new_tokens
    else:
        tokens = held.sequences * (prompt + options.max_new_tokens)
    calls = held.steps * held.scored_per_step * held.attempts * max(scorers, 1)
    return Work(shape.kv_bytes_per_token * tokens, calls)


def prompt_token_bound(prompt: str) -> int:
    return len(prompt.encode("utf-8"))


def scorers_of(guard: Guard) -> int:
    return len(guard.costs) + len(guard.critics) + (guard.reward is not None)


def check(shape: ModelShape, options: SearchOptions, prompt: str, guard: Guard, limits: WorkLimits) -> Work:
    """The request's work; InvalidOptionError naming the field when it is over a cap or can never fit."""
    scorers = scorers_of(guard)
    if options.max_retries > limits.max_retries:
        raise InvalidOptionError(
            "search.max_retries", f"must be at most {limits.max_retries} on this server, got {options.max_retries}"
        )
    if STRATEGIES[options.strategy].in_blocks and options.block_tokens < limits.min_block_tokens:
        raise InvalidOptionError(
            "search.block_tokens",
            f"must be at least {limits.min_block_tokens} on this server, got {options.block_tokens}",
        )
    least = estimate(shape, options, 1, scorers)
    if least.kv_bytes > limits.kv_cache_bytes:
        raise InvalidOptionError(
            "search.num_candidates",
            f"{options.num_candidates} candidates over {options.max_new_tokens} new tokens need at least "
            f"{least.kv_bytes / MIB:.0f} MiB of KV cache; the server's budget is {limits.kv_cache_bytes / MIB:.0f} MiB "
            "(fewer candidates or fewer new tokens)",
        )
    if least.scorer_calls > limits.scorer_calls:
        raise InvalidOptionError(
            "search.num_candidates",
            f"{options.num_candidates} candidates in blocks of {options.block_tokens} over {options.max_new_tokens} "
            f"new tokens with {options.max_retries} retries need up to {least.scorer_calls} scorer calls; the server's "
            f"limit is {limits.scorer_calls} (fewer candidates, larger blocks, fewer tokens or retries)",
        )
    return estimate(shape, options, prompt_token_bound(prompt), scorers)
