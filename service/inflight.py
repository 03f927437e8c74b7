"""Requests in flight, by id, so that Abort can stop them (proxies do not always pass cancellation on)."""

from __future__ import annotations

import threading


class InFlight:
    def __init__(self) -> None:
        self._stops: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def add(self, request_id: str) -> threading.Event:
        stop = threading.Event()
        with self._lock:
            self._stops[request_id] = stop
        return stop

    def remove(self, request_id: str) -> None:
        with self._lock:
            self._stops.pop(request_id, None)

    def abort(self, request_ids: list[str]) -> list[str]:
        with self._lock:
            found = [i for i in request_ids if i in self._stops]
            for request_id in found:
                self._stops[request_id].set()
        return found

    def __len__(self) -> int:
        return len(self._stops)
