"""Requests in flight, by tenant and id, so that Abort can stop them (proxies do not always pass cancellation on).

A caller reaches only its own tenant's requests, and an id already in flight for the tenant is refused rather than
overwriting the first request's stop event.
"""

from __future__ import annotations

import threading

from inferenceguard.service.engine.types import FinishReason, Stop
from inferenceguard.service.errors import AlreadyExistsError


class InFlight:
    def __init__(self) -> None:
        self._stops: dict[tuple[str, str], Stop] = {}
        self._lock = threading.Lock()

    def add(self, tenant: str, request_id: str) -> Stop:
        """The request's stop event; AlreadyExistsError when the tenant already runs a request with this id."""
        stop = Stop()
        with self._lock:
            if (tenant, request_id) in self._stops:
                raise AlreadyExistsError(f"request_id: {request_id!r} is already in flight")
            self._stops[(tenant, request_id)] = stop
        return stop

    def remove(self, tenant: str, request_id: str, stop: threading.Event) -> None:
        """Forget the request, only if `stop` is still its entry (never another request's with the same id)."""
        with self._lock:
            if self._stops.get((tenant, request_id)) is stop:
                del self._stops[(tenant, request_id)]

    def abort(self, tenant: str, request_ids: list[str]) -> list[str]:
        with self._lock:
            found = [i for i in request_ids if (tenant, i) in self._stops]
            for request_id in found:
                self._stops[(tenant, request_id)].set()
        return found

    def shut_down(self) -> int:
        """End every request at its next forward pass with FinishReason.SHUTDOWN (and its checked text)."""
        with self._lock:
            for stop in self._stops.values():
                stop.stop(FinishReason.SHUTDOWN)
            return len(self._stops)

    def __len__(self) -> int:
        return len(self._stops)
