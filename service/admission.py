"""Bounded concurrency and a bounded queue: beyond both, a request is refused at once with a retry hint."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from inferenceguard.service.errors import OverloadedError


class Admission:
    def __init__(self, max_running: int, max_queued: int, retry_after_s: float = 1.0) -> None:
        self.max_running, self.max_queued, self.retry_after_s = max_running, max_queued, retry_after_s
        self._slots = asyncio.Semaphore(max_running)
        self.running = 0
        self.waiting = 0

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[float]:
        """Hold a worker slot; yields the seconds spent queued. Raises OverloadedError when the queue is full."""
        if self.running >= self.max_running and self.waiting >= self.max_queued:
            raise OverloadedError(self.retry_after_s)
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        self.waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield loop.time() - queued_at
        finally:
            self.running -= 1
            self._slots.release()
