"""Running the calls of many searches together: every decoding step in one forward pass, every call of one scorer
in one call. Each search gets back its own part, or the error of its own part: a scorer that fails on a merged
batch is called again per search, so one request's text that breaks a scorer fails that request alone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from inferenceguard.service.engine.calls import Call, Forward, Prefill, Score, attempt
from inferenceguard.service.engine.errors import ScorerTimeoutError
from inferenceguard.service.engine.lm import LanguageModel


class Waiting(Protocol):
    """A search waiting for the reply to its call."""

    reply: Any
    error: BaseException | None


def settle(waiting: Waiting, call: Callable[[], Any]) -> None:
    waiting.reply, waiting.error = attempt(call)


def run_together(pending: list[tuple[Waiting, Call]], lm: LanguageModel) -> None:
    """Run every pending call, setting each waiting search's reply or error."""
    forwards: list[tuple[Waiting, Forward]] = []
    scorers: dict[tuple[int, float | None], list[tuple[Waiting, Score]]] = {}
    for waiting, call in pending:
        if isinstance(call, Prefill):  # prompts differ in length: one pass each, and once per request
            settle(waiting, functools.partial(lm.prefill_shared, call.prompt_ids))
        elif isinstance(call, Forward):
            forwards.append((waiting, call))
        else:
            scorers.setdefault((id(call.function), call.timeout_s), []).append((waiting, call))
    if forwards:
        _forward(forwards, lm)
    for members in scorers.values():
        _score(members)


def _forward(forwards: list[tuple[Waiting, Forward]], lm: LanguageModel) -> None:
    try:
        outputs = lm.step_stacked([call.cache for _, call in forwards], [call.tokens for _, call in forwards])
    except Exception as exc:  # every search of the pass fails closed with the pass's error
        for waiting, _ in forwards:
            waiting.error = exc
        return
    for (waiting, _), output in zip(forwards, outputs, strict=True):
        waiting.reply = output


def _score(members: list[tuple[Waiting, Score]]) -> None:
    if len(members) == 1:
        waiting, call = members[0]
        settle(waiting, call.run)
        return
    calls = [call for _, call in members]
    merged = Score(calls[0].function, _merged_args(calls), calls[0].timeout_s, calls[0].what)
    try:
        parts = _split(merged.run(), [call.items for call in calls])
    except ScorerTimeoutError as exc:  # calling each again would only wait longer: all fail closed
        for waiting, _ in members:
            waiting.error = exc
        return
    except Exception:  # find whose part broke it: each search alone
        for waiting, call in members:
            settle(waiting, call.run)
        return
    for (waiting, _), part in zip(members, parts, strict=True):
        waiting.reply = part


def _merged_args(calls: list[Score]) -> tuple[Any, ...]:
    columns = zip(*(call.args for call in calls), strict=True)
    return tuple(
        np.concatenate(parts) if isinstance(parts[0], np.ndarray) else [item for part in parts for item in part]
        for parts in columns
    )


def _split(result: Any, sizes: list[int]) -> list[Any]:
    """Each search's part of a merged result: an array of one score per item, or a tuple of such arrays."""
    if isinstance(result, tuple):
        columns = [_split(column, sizes) for column in result]
        return [tuple(column[i] for column in columns) for i in range(len(sizes))]
    array = np.asarray(result)
    if array.ndim == 0 or array.shape[0] != sum(sizes):
        raise ValueError(f"expected {sum(sizes)} scores, got shape {array.shape}")
    return np.split(array, np.cumsum(sizes)[:-1])
