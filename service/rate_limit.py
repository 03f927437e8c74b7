"""Requests per second per tenant: a token bucket holding one second's worth of requests (at least one)."""

from __future__ import annotations

import time
from collections.abc import Callable

from inferenceguard.service.errors import RateLimitedError
from inferenceguard.service.tenants import Tenant


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, when)

    def admit(self, tenant: Tenant) -> None:
        """Take one request from the tenant's bucket; RateLimitedError with the wait when it is empty."""
        rate = tenant.requests_per_second
        if rate <= 0:
            return
        now, capacity = self._clock(), max(rate, 1.0)
        tokens, then = self._buckets.get(tenant.name, (capacity, now))
        tokens = min(capacity, tokens + (now - then) * rate)
        if tokens < 1.0:
            self._buckets[tenant.name] = (tokens, now)
            raise RateLimitedError((1.0 - tokens) / rate)
        self._buckets[tenant.name] = (tokens - 1.0, now)
