"""The heavy calls a search makes, as values it yields, so that whoever drives it decides how they run.

A search is a generator: it yields its events for the client and its calls (a prefill, a decoding step, a scorer
call), and each call's reply is sent back into it (an error is thrown in at the same point). Driven directly, every
call runs at once on the caller's thread: exactly the calls, in exactly the order, of a plain function. Driven by the
scheduler, the calls of many searches run together: one forward pass for all their steps, one call per scorer.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import torch

from inferenceguard.service.engine.bounded import within
from inferenceguard.service.engine.lm import LanguageModel, StepOutput
from inferenceguard.service.engine.types import Event

T = TypeVar("T")


@dataclass(frozen=True)
class Prefill:
    """Encode the prompt; the reply is (cache, StepOutput)."""

    prompt_ids: list[int]

    def run(self, lm: LanguageModel) -> tuple[Any, StepOutput]:
        return lm.prefill(self.prompt_ids)


@dataclass(frozen=True)
class Forward:
    """Feed one token per row of `cache`, growing it by one position; the reply is a StepOutput."""

    cache: Any
    tokens: torch.Tensor  # [B]

    def run(self, lm: LanguageModel) -> StepOutput:
        return lm.step(self.cache, self.tokens)


@dataclass(frozen=True)
class Score:
    """One call of a scorer on a batch: `function(*args)`, each arg a list or array with one entry per item."""

    function: Callable[..., Any]
    args: tuple[Any, ...]
    timeout_s: float | None
    what: str  # names the scorer in a time-out

    @property
    def items(self) -> int:
        return len(self.args[0])

    def run(self, lm: LanguageModel | None = None) -> Any:
        return within(self.timeout_s, lambda: self.function(*self.args), self.what)


Call: TypeAlias = Prefill | Forward | Score
CALLS = (Prefill, Forward, Score)  # what a search yields besides its events
Steps: TypeAlias = Generator[Call, Any, T]  # a computation that yields calls and returns T
Search: TypeAlias = Generator[Event | Call, Any, None]  # a request: its events and its calls


def resume(generator: Generator[Any, Any, Any], reply: Any, error: BaseException | None) -> Any:
    """Continue `generator` where it made its last call: with the call's error thrown in, else its reply."""
    return generator.throw(error) if error is not None else generator.send(reply)


def attempt(function: Callable[[], Any]) -> tuple[Any, BaseException | None]:
    """`function()`'s result, or the error to throw into the search that made the call, as a plain call would
    raise it."""
    try:
        return function(), None
    except Exception as exc:
        return None, exc


def run_now(steps: Steps[T], lm: LanguageModel) -> T:
    """The value of `steps`, every call run at once on this thread."""
    reply: Any = None
    error: BaseException | None = None
    while True:
        try:
            call = resume(steps, reply, error)
        except StopIteration as done:
            return done.value
        reply, error = run_call(call, lm)


def drive(search: Search, lm: LanguageModel) -> Iterator[Event]:
    """The events of `search`, every call run at once on the consumer's thread."""
    reply: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = resume(search, reply, error)
            except StopIteration:
                return
            reply, error = None, None
            if isinstance(item, CALLS):
                reply, error = run_call(item, lm)
            else:
                yield item
    finally:
        search.close()


def run_call(call: Call, lm: LanguageModel) -> tuple[Any, BaseException | None]:
    """The call's reply, or the error to throw into the search that made it."""
    return attempt(lambda: call.run(lm))
