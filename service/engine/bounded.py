"""Scorer calls with a time bound: a scorer that hangs fails its request closed instead of holding a worker.

The call runs on a scorer thread while the search's thread waits for it; on time-out the search stops with a
ScorerTimeoutError and releases nothing unchecked. A Python call cannot be killed, so a hung one keeps its scorer
thread: the pool is sized for a few such threads, and once every thread hangs each later call times out too (fail
closed, never open).
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from inferenceguard.service.engine.errors import ScorerTimeoutError

T = TypeVar("T")
POOL_SIZE = 8
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=POOL_SIZE, thread_name_prefix="scorer")


def within(seconds: float | None, call: Callable[[], T], what: str) -> T:
    """`call()`, or ScorerTimeoutError naming `what` when it takes longer than `seconds` (None: no bound)."""
    if seconds is None:
        return call()
    future = _POOL.submit(call)
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        future.cancel()  # still queued behind hung calls: never starts
        raise ScorerTimeoutError(f"{what} did not answer within {seconds:g} s") from None
