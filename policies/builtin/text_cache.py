"""A small, thread-safe least-recently-used cache of per-text results: the scorers see the same prompt and the same
answer prefixes many times within a request, from several worker threads."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class TextCache(Generic[T]):
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, T] = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, texts: Sequence[str], compute: Callable[[list[str]], Sequence[T]]) -> list[T]:
        """The result for each text, computing the missing ones in one call (outside the lock)."""
        with self._lock:
            known = {t: self._items[t] for t in texts if t in self._items}
            for text in known:
                self._items.move_to_end(text)
        missing = sorted(set(texts) - set(known))
        if missing:
            fresh = dict(zip(missing, compute(missing), strict=True))
            with self._lock:
                self._items.update(fresh)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            known.update(fresh)
        return [known[t] for t in texts]
