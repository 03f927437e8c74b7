"""InferenceService: converts the request, runs the engine in a worker thread, streams what it commits.

The event loop never runs the search: a worker thread iterates the engine (which, batched, reads the events the
scheduler's thread produces) and hands them over through an asyncio queue. Client cancellation, the deadline and
Abort all set the request's stop event, which the engine checks between forward passes.

Each request logs one line when it ends: "request finished" (INFO) with its id, policies, token counts and
timings, "request cancelled" (INFO), or "request failed" (WARNING; ERROR for INTERNAL) with its status and
message. Those messages name fields and limits; the prompt and the generated text are logged only when log_text
is on (debugging).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc

from inferenceguard.service import convert, floor, work
from inferenceguard.service.admission import Admission
from inferenceguard.service.callers import caller
from inferenceguard.service.engine import (
    BlockTrace,
    Chunk,
    GenerationResult,
    Guard,
    InvalidOptionError,
    SearchOptions,
    Started,
)
from inferenceguard.service.engine.types import Event
from inferenceguard.service.errors import NotServingError, OverloadedError, RateLimitedError, status_of
from inferenceguard.service.inflight import InFlight
from inferenceguard.service.metrics import UNKNOWN_TENANT, Metrics
from inferenceguard.service.rate_limit import RateLimiter
from inferenceguard.service.reload import Reloader
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.serving import Serving
from inferenceguard.service.work import ModelShape, WorkLimits
from inferenceguard.v1 import inference_pb2_grpc

log = logging.getLogger(__name__)
_DONE = object()


class InferenceServicer(inference_pb2_grpc.InferenceServiceServicer):
    def __init__(
        self,
        runtime: Runtime,
        reloader: Reloader,
        admission: Admission,
        inflight: InFlight,
        executor: ThreadPoolExecutor,
        defaults: SearchOptions,
        metrics: Metrics,
        shape: ModelShape,
    ) -> None:
        self.runtime, self.reloader, self.admission, self.inflight = runtime, reloader, admission, inflight
        self.executor, self.defaults, self.metrics, self.shape = executor, defaults, metrics, shape
        self.rates = RateLimiter()

    async def GenerateStream(self, request: Any, context: Any) -> AsyncIterator[Any]:
        async for message in self._generate(request, context, with_text=False):
            yield message

    async def Generate(self, request: Any, context: Any) -> Any:
        final = None
        async for message in self._generate(request, context, with_text=True):
            final = message
        return final

    async def _generate(self, request: Any, context: Any, *, with_text: bool) -> AsyncIterator[Any]:
        serving = self.reloader.current  # the whole request runs under this snapshot, even across a reload
        call = _Call(context, serving.settings.log_text, request.prompt)
        try:
            call.tenant = caller(serving.tenants, context).name
            call.request_id = convert.request_id_of(request)  # before any metadata: it must be a valid header
        except Exception as exc:
            await self._fail(call, exc)
            return
        context.set_trailing_metadata((("x-request-id", call.request_id),))
        try:
            parsed, guard, needs = self._admit(serving, call.tenant, request, call.request_id)
            stop = self.inflight.add(call.tenant, call.request_id)
        except Exception as exc:
            await self._fail(call, exc)
            return
        context.add_done_callback(lambda _: stop.set())  # the client went away or the deadline passed
        try:
            async with self.admission.slot(needs.kv_bytes) as queued_s:
                # the deadline counts from now: the time spent queued is gone
                limit = _time_limit(parsed.options, context.time_remaining(), serving.settings.max_request_seconds)
                options = parsed.options.with_updates(time_limit_s=limit)
                # started (and the prompt tokenised) on the worker
                search = functools.partial(self.runtime.engine.generate, parsed.prompt, options, guard=guard, stop=stop)
                async for message in self._relay(search, parsed, stop, queued_s, with_text, call):
                    yield message
        except asyncio.CancelledError:  # the client went away
            log.info("request cancelled", extra=call.fields(status="CANCELLED"))
            raise
        except Exception as exc:
            await self._fail(call, exc)
        finally:
            stop.set()
            self.inflight.remove(call.tenant, call.request_id, stop)

    def _admit(
        self, serving: Serving, tenant_name: str, request: Any, request_id: str
    ) -> tuple[convert.ParsedRequest, Guard, work.Work]:
        """The request parsed within its tenant's limits, the floor and the server's work caps; its guard and work."""
        tenant = serving.tenants.by_name[tenant_name]
        limits = convert.Limits(max_new_tokens=tenant.max_new_tokens, max_num_candidates=tenant.max_num_candidates)
        parsed = convert.request_from_pb(request, self.defaults, limits, request_id)
        floor.check_choices(tenant, parsed.options, parsed.policy_ids, serving.registry.policies)
        guard = serving.guard(tenant, parsed.policy_ids)
        floor.check_budget(parsed.options, guard)
        needs = work.check(self.shape, parsed.options, parsed.prompt, guard, WorkLimits.of(serving.settings))
        self.rates.admit(tenant)
        return parsed, guard, needs

    async def _relay(
        self,
        search: Callable[[], Iterator[Event]],
        parsed: convert.ParsedRequest,
        stop: threading.Event,
        queued_s: float,
        with_text: bool,
        call: _Call,
    ) -> AsyncIterator[Any]:
        started, first_chunk_ms = time.perf_counter(), 0
        self.metrics.queue.observe(queued_s)
        async for event in _in_worker(search, self.executor, stop):
            if isinstance(event, Started):
                yield convert.start_to_pb(
                    parsed.request_id, event.prompt_tokens, event.policies, event.seed, event.strategy
                )
            elif isinstance(event, Chunk):
                if not first_chunk_ms:
                    first_chunk_ms = max(int((time.perf_counter() - started) * 1000), 1)
                    self.metrics.ttft.observe(time.perf_counter() - started)
                yield convert.chunk_to_pb(parsed.request_id, event, None, parsed)
            elif isinstance(event, BlockTrace) and parsed.include_safety_trace:
                yield convert.chunk_to_pb(parsed.request_id, Chunk("", ()), event, parsed)
            elif isinstance(event, GenerationResult):
                self.metrics.record(event, call.tenant)
                queue_ms = int(queued_s * 1000)
                duration_ms = queue_ms + int((time.perf_counter() - started) * 1000)
                call.log_finish(parsed, event, queue_ms=queue_ms, ttft_ms=first_chunk_ms, duration_ms=duration_ms)
                yield convert.finish_to_pb(
                    parsed.request_id, event, parsed, with_text=with_text, queue_ms=queue_ms, ttft_ms=first_chunk_ms
                )

    async def _fail(self, call: _Call, error: BaseException) -> None:
        """Count and log the failure, then end the call with the error's status (this raises)."""
        if isinstance(error, InvalidOptionError):
            error = convert.in_request_terms(error)
        code, message = status_of(error)
        self.metrics.failures.labels(code.name, call.tenant or UNKNOWN_TENANT).inc()
        if isinstance(error, OverloadedError | NotServingError):
            reason = {RateLimitedError: "rate_limited", NotServingError: "draining"}.get(type(error), "queue_full")
            self.metrics.rejected.labels(reason, call.tenant or UNKNOWN_TENANT).inc()
        fields = call.fields(status=code.name, error=message)
        if code == grpc.StatusCode.INTERNAL:
            # the frames without the messages: an unexpected error's message may quote the input
            fields |= {"error_type": type(error).__name__, "stack": "".join(traceback.format_tb(error.__traceback__))}
        if call.log_text:
            fields |= {"prompt": call.prompt, "exception": repr(error)}
        log.log(logging.ERROR if code == grpc.StatusCode.INTERNAL else logging.WARNING, "request failed", extra=fields)
        metadata = [("x-request-id", call.request_id)] if call.request_id is not None else []
        if isinstance(error, OverloadedError):
            metadata.append(("retry-after-ms", str(int(error.retry_after_s * 1000))))
        await call.context.abort(code, message, trailing_metadata=tuple(metadata))


@dataclasses.dataclass
class _Call:
    """One RPC as logs see it: who called, which request, and whether its text may be logged."""

    context: Any
    log_text: bool
    prompt: str
    tenant: str = ""
    request_id: str | None = None

    def fields(self, **extra: Any) -> dict[str, Any]:
        return {"request_id": self.request_id, "tenant": self.tenant or None, **extra, "peer": self.context.peer()}

    def log_finish(self, parsed: convert.ParsedRequest, result: GenerationResult, **timings: int) -> None:
        fields = self.fields(
            status="OK",
            policies=[f"{policy}@{version}" for policy, version in result.policies],
            strategy=result.strategy,
            finish_reason=result.finish_reason.value,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.new_tokens,
            **timings,
        )
        if self.log_text:
            fields |= {"prompt": parsed.prompt, "text": result.text}
        log.info("request finished", extra=fields)


async def _in_worker(
    search: Callable[[], Iterator[Event]], executor: ThreadPoolExecutor, stop: threading.Event
) -> AsyncIterator[Event]:
    """Start `search` and iterate its events on a worker thread; exceptions from the engine are re-raised here.

    If the consumer goes away early (cancellation, error), the search is told to stop and the worker is awaited,
    so its slot is only released once the thread is free again.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()

    def work() -> None:
        try:
            for event in search():
                loop.call_soon_threadsafe(queue.put_nowait, event)
        except BaseException as exc:  # handed to the event loop, which raises it in the handler
            loop.call_soon_threadsafe(queue.put_nowait, exc)
        finally:
            loop.call_soon_threadsafe(queue.put_nowait, _DONE)

    worker = loop.run_in_executor(executor, work)
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.shield(worker)


def _time_limit(options: SearchOptions, remaining: float | None, server_limit: float) -> float:
    """The search's time limit: the request's, the server's, and a little before the gRPC deadline (so the checked
    text so far still reaches the client), whichever comes first."""
    limits = [server_limit] + ([options.time_limit_s] if options.time_limit_s is not None else [])
    if remaining is not None:
        limits.append(max(remaining * 0.9 - 0.05, 0.001))
    return min(limits)
