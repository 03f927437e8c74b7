"""Admission by work: a request runs when a worker is free and its KV-cache estimate fits beside the running ones.

Waiting requests are served in arrival order (a large request is not starved by small ones behind it). Beyond
the queue a request is refused at once with a retry hint sized from recent request durations; once the server
drains, queued and new requests are refused with UNAVAILABLE so that clients retry on another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

from inferenceguard.service.errors import NotServingError, OverloadedError

DRAINING = "the server is shutting down; retry on another replica"


class Admission:
    def __init__(self, max_running: int, max_queued: int, kv_budget_bytes: int) -> None:
        self.max_running, self.max_queued, self.kv_budget_bytes = max_running, max_queued, kv_budget_bytes
        self.running = 0
        self.kv_reserved = 0
        self.closed = False
        self._queue: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._mean_seconds = 1.0  # of recent requests, for the retry hint

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @contextlib.asynccontextmanager
    async def slot(self, kv_bytes: int) -> AsyncIterator[float]:
        """Hold a worker and `kv_bytes` of the KV budget; yields the seconds spent queued.

        OverloadedError when the queue is full, NotServingError once the server drains."""
        if self.closed:
            raise NotServingError(DRAINING)
        kv = min(kv_bytes, self.kv_budget_bytes)  # a request that fits alone runs alone
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        if self._queue or not self._fits(kv):
            await self._wait(kv, loop)
        else:
            self._take(kv)
        started = loop.time()
        try:
            yield started - queued_at
        finally:
            self._release(kv, loop.time() - started)

    def retry_after_s(self) -> float:
        """About when a place frees up: the queue ahead, worked off at the recent pace."""
        return min(max(self._mean_seconds * (self.waiting + 1) / self.max_running, 0.1), 300.0)

    def close(self) -> None:
        """Refuse every queued request and every later one (the drain)."""
        self.closed = True
        while self._queue:
            _kv, waiter = self._queue.popleft()
            if not waiter.done():
                waiter.set_exception(NotServingError(DRAINING))

    async def _wait(self, kv: int, loop: asyncio.AbstractEventLoop) -> None:
        if len(self._queue) >= self.max_queued:
            raise OverloadedError(self.retry_after_s())
        waiter: asyncio.Future[None] = loop.create_future()
        self._queue.append((kv, waiter))
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(kv, 0.0)  # granted just as the caller went away: hand the place on
            elif (kv, waiter) in self._queue:
                self._queue.remove((kv, waiter))
                self._grant()  # a large request leaving the head may let smaller ones behind it run
            raise

    def _fits(self, kv: int) -> bool:
        return self.running < self.max_running and self.kv_reserved + kv <= self.kv_budget_bytes

    def _take(self, kv: int) -> None:
        self.running += 1
        self.kv_reserved += kv

    def _release(self, kv: int, seconds: float) -> None:
        self.running -= 1
        self.kv_reserved -= kv
        if seconds:
            self._mean_seconds += 0.2 * (seconds - self._mean_seconds)
        self._grant()

    def _grant(self) -> None:
        while self._queue and self._fits(self._queue[0][0]):
            kv, waiter = self._queue.popleft()
            if not waiter.done():
                self._take(kv)
                waiter.set_result(None)
