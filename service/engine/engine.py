"""The engine: one object per loaded LM, one generator of events per request.

It never imports grpc and reads no configuration: the LM, a default guard and per-request options and guards
arrive as arguments.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator

from inferenceguard.service.engine.calls import drive
from inferenceguard.service.engine.context import RequestContext
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.engine.evaluation import Scorers
from inferenceguard.service.engine.guard import Guard
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.options import SearchOptions
from inferenceguard.service.engine.sampling import make_generator
from inferenceguard.service.engine.scheduler import Scheduler, run_apart
from inferenceguard.service.engine.strategies import STRATEGIES
from inferenceguard.service.engine.types import Event, FinishReason, GenerationResult, Stop, Usage


class Engine:
    def __init__(
        self,
        lm: LanguageModel,
        guard: Guard | None = None,
        scorer_timeout_s: float | None = None,
        *,
        batching: bool = False,
    ) -> None:
        """`scorer_timeout_s` bounds every scorer call (None: unbounded); a call over it fails the request closed.

        `batching`: concurrent requests share one scheduler (scheduler.py) that runs their steps as one forward pass
        and their scorer calls together. Off, each request runs its own calls on the thread that reads it."""
        if guard is not None:
            guard.check_hidden_size(lm.hidden_size)
        self.lm, self.default_guard, self.scorer_timeout_s = lm, guard, scorer_timeout_s
        self.scheduler: Scheduler | None = None
        if batching:
            lm.enable_stacking()
            self.scheduler = Scheduler(lm)

    def generate(
        self,
        prompt: str,
        options: SearchOptions | None = None,
        *,
        guard: Guard | None = None,
        stop: threading.Event | None = None,
    ) -> Iterator[Event]:
        """Committed chunks and block traces as the search goes, then one GenerationResult."""
        options = options or SearchOptions()
        guard = guard or self.default_guard
        if guard is None:
            raise InvalidOptionError("policy", "no policy was given and the engine has no default")
        guard.check_hidden_size(self.lm.hidden_size)
        ctx = self._context(prompt, options, guard, stop or threading.Event())
        strategy = STRATEGIES[options.strategy]
        search = strategy.start(ctx, bool(guard.critics))
        if self.scheduler is None:
            return drive(search, self.lm)
        if strategy.batched:
            return self.scheduler.submit(search)
        return run_apart(search, self.lm)

    def run(self, prompt: str, options: SearchOptions | None = None, *, guard: Guard | None = None) -> GenerationResult:
        """The final result of `generate`, for callers that do not stream."""
        for event in self.generate(prompt, options, guard=guard):
            if isinstance(event, GenerationResult):
                return event
        raise AssertionError("the engine ended without a result")  # pragma: no cover

    def _context(self, prompt: str, options: SearchOptions, guard: Guard, stop: threading.Event) -> RequestContext:
        started = time.perf_counter()
        prompt_ids = self._encode(prompt, options)
        seed = options.seed if options.seed is not None else secrets.randbits(63)
        usage = Usage(prompt_tokens=len(prompt_ids))
        deadline = None if options.time_limit_s is None else started + options.time_limit_s

        def stop_reason() -> FinishReason | None:
            if stop.is_set():
                return stop.reason if isinstance(stop, Stop) else FinishReason.ABORTED
            if deadline is not None and time.perf_counter() > deadline:
                return FinishReason.TIME_LIMIT
            return None

        return RequestContext(
            lm=self.lm,
            scorers=Scorers(prompt, guard.with_budget(options.budget), usage, self.scorer_timeout_s),
            options=options,
            exhausted_message=options.exhausted_message or guard.exhausted_message,
            policies=guard.policies,
            prompt_ids=prompt_ids,
            seed=seed,
            generator=make_generator(seed, self.lm.device),
            usage=usage,
            stop_reason=stop_reason,
            started=started,
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
