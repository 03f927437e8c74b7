"""Continuous batching of guarded searches across requests.

One thread advances every admitted search to its next call, then runs the calls of all of them together
(together.py) and sends each search its own reply: at each decoding step the live candidate rows of every request
go through one forward pass, and every scorer is called once for all of them. A search joins at the next step and
leaves as soon as it ends or its consumer stops reading. Each keeps its own seed, options, guard and safety state:
the scheduler only moves calls and replies, and a request's events go to its own queue alone. The thread runs only
while there are searches, so an idle engine holds none.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from typing import Any

from inferenceguard.service.engine.calls import CALLS, Call, Score, Search, resume, run_call
from inferenceguard.service.engine.lm import LanguageModel
from inferenceguard.service.engine.together import run_together
from inferenceguard.service.engine.types import Event

log = logging.getLogger(__name__)
_END = object()
# A search that reaches its scoring while others still sample waits up to this many steps for them, so that searches
# which joined a step or two apart score in the same calls from then on (same block width: they stay in phase).
ALIGN_STEPS = 2


class Scheduler:
    def __init__(self, lm: LanguageModel) -> None:
        self.lm = lm
        self._lock = threading.Lock()
        self._joining: list[_Job] = []
        self._running = False
        self.passes = 0  # steps run (for tests and benchmarks)
        self.most_searches = 0  # the most searches one step has served

    def submit(self, search: Search) -> Iterator[Event]:
        """The events of `search`, which joins the running searches at their next step."""
        job = _Job(search)
        with self._lock:
            self._joining.append(job)
            if not self._running:
                self._running = True
                threading.Thread(target=self._loop, name="inferenceguard-scheduler", daemon=True).start()
        return job.events()

    def _loop(self) -> None:
        jobs: list[_Job] = []
        while True:
            with self._lock:
                jobs += self._joining
                self._joining = []
                if not jobs:
                    self._running = False
                    return
            try:
                jobs = self._step(jobs)
            except Exception as exc:  # a fault of the scheduler itself: its searches end with it, nothing released
                log.exception("the scheduler failed; %d searches end with its error", len(jobs))
                for job in jobs:
                    job.fail(exc)
                jobs = []

    def _step(self, jobs: list[_Job]) -> list[_Job]:
        for job in jobs:
            if job.call is None:
                job.call = job.advance()
        live = [job for job in jobs if job.call is not None]
        stepping = any(not isinstance(job.call, Score) for job in live)
        ready = []
        for job in live:
            if stepping and isinstance(job.call, Score) and job.held < ALIGN_STEPS:
                job.held += 1  # wait for the others to reach their scoring too
            else:
                ready.append(job)
        if ready:
            self.passes += 1
            self.most_searches = max(self.most_searches, len(ready))
            run_together([(job, job.call) for job in ready if job.call is not None], self.lm)
            for job in ready:
                job.call, job.held = None, 0
        return live


def run_apart(search: Search, lm: LanguageModel) -> Iterator[Event]:
    """`search` on a thread of its own that ends with it, its calls run there one at a time: for strategies whose
    passes cannot join the batch (RE-Control) on a batching engine. A worker thread that ran model passes would keep
    an OpenMP pool beside the scheduler's for as long as it lives, slowing every step (docs/engine.md)."""
    job = _Job(search)

    def work() -> None:
        while (call := job.advance()) is not None:
            job.reply, job.error = run_call(call, lm)

    threading.Thread(target=work, name="inferenceguard-apart", daemon=True).start()
    return job.events()


class _Job:
    """One search in the scheduler: its generator, the reply to its last call, and its consumer's queue."""

    def __init__(self, search: Search) -> None:
        self.search = search
        self.reply: Any = None
        self.error: BaseException | None = None
        self.abandoned = False
        self.call: Call | None = None  # the call it waits on
        self.held = 0  # steps its scorer call has waited for the others
        self._out: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def advance(self) -> Call | None:
        """Run the search to its next call (None once it has ended), passing its events to the consumer."""
        while True:
            if self.abandoned:  # the consumer stopped reading: leave now
                self.search.close()
                return None
            try:
                item = resume(self.search, self.reply, self.error)
            except StopIteration:
                self._out.put(_END)
                return None
            except Exception as exc:
                self._out.put(exc)
                return None
            self.reply, self.error = None, None
            if isinstance(item, CALLS):
                return item
            self._out.put(item)

    def fail(self, exc: Exception) -> None:
        self.search.close()
        self._out.put(exc)

    def events(self) -> Iterator[Event]:
        try:
            while (item := self._out.get()) is not _END:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self.abandoned = True
