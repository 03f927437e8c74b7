"""The engine: one object per loaded LM and policy, one generator of events per request.

It never imports grpc and reads no configuration: everything arrives as arguments.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from inferenceguard.critics.interface import Critic, RewardFunction
from inferenceguard.service.engine.args_decoding import run_args
from inferenceguard.service.engine.candidates import Plan
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.engine.evaluation import Scorers
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.options import SearchOptions
from inferenceguard.service.engine.safety_state import BudgetedCost
from inferenceguard.service.engine.sampling import make_generator
from inferenceguard.service.engine.search import BlockSearch, RequestContext
from inferenceguard.service.engine.types import Event, FinishReason, GenerationResult, Usage


class Engine:
    def __init__(
        self,
        lm: LanguageModel,
        costs: Sequence[BudgetedCost],
        reward: RewardFunction | None = None,
        critic: Critic | None = None,
    ) -> None:
        if not costs:
            raise InvalidOptionError("policy", "at least one cost function is required")
        if critic is not None and critic.hidden_size != lm.hidden_size:
            raise InvalidOptionError(
                "critic", f"{critic.name!r} expects hidden size {critic.hidden_size} but the model has {lm.hidden_size}"
            )
        self.lm, self.costs, self.reward, self.critic = lm, list(costs), reward, critic

    def generate(
        self, prompt: str, options: SearchOptions | None = None, *, stop: threading.Event | None = None
    ) -> Iterator[Event]:
        """Committed chunks and block traces as the search goes, then one GenerationResult."""
        options = options or SearchOptions()
        ctx = self._context(prompt, options, stop or threading.Event())
        if options.strategy == "args":
            return run_args(ctx)
        return BlockSearch(ctx, Plan.for_options(options, self.critic is not None)).run()

    def run(self, prompt: str, options: SearchOptions | None = None) -> GenerationResult:
        """The final result of `generate`, for callers that do not stream."""
        for event in self.generate(prompt, options):
            if isinstance(event, GenerationResult):
                return event
        raise AssertionError("the engine ended without a result")  # pragma: no cover

    def _context(self, prompt: str, options: SearchOptions, stop: threading.Event) -> RequestContext:
        started = time.perf_counter()
        prompt_ids = self._encode(prompt, options)
        seed = options.seed if options.seed is not None else secrets.randbits(63)
        costs = self.costs if options.budget is None else [replace(c, budget=options.budget) for c in self.costs]
        usage = Usage(prompt_tokens=len(prompt_ids))
        deadline = None if options.time_limit_s is None else started + options.time_limit_s

        def stop_reason() -> FinishReason | None:
            if stop.is_set():
                return FinishReason.ABORTED
            if deadline is not None and time.perf_counter() > deadline:
                return FinishReason.TIME_LIMIT
            return None

        return RequestContext(
            lm=self.lm, scorers=Scorers(prompt, costs, self.reward, self.critic, usage), options=options,
            prompt_ids=prompt_ids, seed=seed, generator=make_generator(seed, self.lm.device), usage=usage,
            stop_reason=stop_reason, started=started,
        )

    def _encode(self, prompt: str, options: SearchOptions) -> list[int]:
        if not prompt.strip():
            raise InvalidOptionError("prompt", "must not be empty")
        ids = self.lm.encode_prompt(prompt, chat=options.chat_template)
        limit = self.lm.context_length
        if len(ids) >= limit:
            raise InvalidOptionError("prompt", f"is {len(ids)} tokens; the model's context is {limit} tokens")
        if len(ids) + options.max_new_tokens > limit:
            raise InvalidOptionError(
                "max_new_tokens",
                f"{options.max_new_tokens} new tokens after a {len(ids)}-token prompt exceed the model's context of "
                f"{limit} tokens; use at most {limit - len(ids)}",
            )
        return ids
