"""What the engine yields: committed chunks, a per-block safety trace, and one final result."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class FinishReason(StrEnum):
    LENGTH = "length"
    EOS = "eos"
    STOP = "stop"
    ABORTED = "aborted"
    TIME_LIMIT = "time_limit"
    SAFETY_BLOCKED = "safety_blocked"
    BUDGET_EXHAUSTED = "budget_exhausted"
    SHUTDOWN = "shutdown"


# stopped from outside mid-block: the unscored tokens of the block are dropped, the checked text is kept
STOPPED_EARLY = (FinishReason.ABORTED, FinishReason.TIME_LIMIT, FinishReason.SHUTDOWN)


class Stop(threading.Event):
    """Set from another thread to end a search at its next forward pass; `reason` is what its result reports."""

    reason = FinishReason.ABORTED

    def stop(self, reason: FinishReason) -> None:
        if not self.is_set():
            self.reason = reason
        self.set()


@dataclass(frozen=True)
class Started:
    """The first event of every request: what the search runs with."""

    prompt_tokens: int
    seed: int
    strategy: str
    policies: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Chunk:
    """Text and token ids that are final: they are in every beam that can still be chosen."""

    text: str
    token_ids: tuple[int, ...]


@dataclass(frozen=True)
class BlockTrace:
    """The state of the best kept beam after one block of the search."""

    block: int
    candidates: int  # children evaluated in this block, over all attempts
    retries: int  # fallback resamples in this block
    cumulative_cost: float  # summed over cost functions
    safety_state: float  # z: the smallest remaining budget over cost functions
    p_safe: float | None
    value: float | None


@dataclass
class Usage:
    prompt_tokens: int = 0
    new_tokens: int = 0
    tokens_sampled: int = 0  # LM tokens sampled over all candidates, retries included
    forward_passes: int = 0
    blocks: int = 0
    retries: int = 0
    cost_evaluations: int = 0
    reward_evaluations: int = 0
    critic_evaluations: int = 0
    lm_seconds: float = 0.0
    scoring_seconds: float = 0.0  # cost, reward and critic calls
    critic_seconds: float = 0.0  # the critics' share of scoring_seconds
    kv_bytes_peak: int = 0  # the most KV-cache bytes the search held at once (a block's parents and children)


@dataclass(frozen=True)
class GenerationResult:
    text: str
    token_ids: tuple[int, ...]
    safe: bool  # within budget under every cost function, at every block end
    min_safety_state: float
    cost: float
    costs: dict[str, float]
    reward: float | None
    finish_reason: FinishReason
    strategy: str
    seed: int
    seconds: float
    usage: Usage = field(default_factory=Usage)
    policies: tuple[tuple[str, str], ...] = ()  # (id, version) of the policies applied

    @property
    def new_tokens(self) -> int:
        return len(self.token_ids)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["finish_reason"] = self.finish_reason.value
        data["token_ids"] = list(self.token_ids)
        data["new_tokens"] = self.new_tokens
        data["min_safety_state"] = self.min_safety_state
        data.pop("policies")
        return data


Event = Started | Chunk | BlockTrace | GenerationResult
