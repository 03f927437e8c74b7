"""Streams that end early (cancelled, aborted, past their deadline) give back everything they held.

Batches of such streams run against one server with two workers, so that some streams are cancelled while still
queued. After each batch settles, nothing is in flight, no thread was added, no search object survives, and the
process's memory does not grow from one batch to the next by anything like one request's KV cache per stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import os
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
import torch
from transformers import DynamicCache

from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.engine.blocks import Frontier
from inferenceguard.service.engine.bounded import POOL_SIZE as SCORER_POOL_SIZE
from inferenceguard.service.engine.context import RequestContext
from inferenceguard.service.engine.search import BlockSearch
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.server import Server
from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2
from tests.server_helpers import serving, single_torch_thread, tiny_runtime

WORKERS = 2
CANDIDATES = 128  # many rows, so that a leaked request would hold a KV cache big enough to see in the RSS
PROMPT_WORDS = 120
KINDS = ("queued-cancel", "cancel-at-start", "cancel-after-a-block", "abort", "deadline")


def stream_request(request_id: str, seed: int) -> inference_pb2.GenerateRequest:
    message = inference_pb2.GenerateRequest(prompt=" ".join(["w1"] * PROMPT_WORDS), request_id=request_id)
    message.sampling.seed = seed
    message.stopping.max_new_tokens = 120
    message.search.num_candidates = CANDIDATES
    message.search.num_beams = 1
    message.search.block_tokens = 2
    message.response.include_safety_trace = True  # one message per block: "a block was searched" is observable
    return message


async def one_stream(inference: Any, control: Any, kind: str, request_id: str, seed: int) -> str:
    """Start a long stream and end it early the way `kind` says; returns how it ended, for the tally."""
    timeout = 1.0 if kind == "deadline" else None
    call = inference.GenerateStream(stream_request(request_id, seed), timeout=timeout)
    try:
        if kind == "queued-cancel":  # both workers are usually busy: this one is still waiting for a slot
            await asyncio.sleep(0.01)
            call.cancel()
            return "cancelled"
        first = await call.read()
        assert first.WhichOneof("event") == "start"
        if kind == "cancel-at-start":
            call.cancel()
            return "cancelled"
        second = await call.read()  # the first block's trace: the children's KV cache exists now
        assert second.WhichOneof("event") in ("chunk", "finish")
        if kind == "cancel-after-a-block":
            call.cancel()
            return "cancelled"
        if kind == "abort":
            await control.Abort(control_pb2.AbortRequest(request_ids=[request_id]))
        last = second
        while (message := await call.read()) is not grpc.aio.EOF:
            last = message
        assert last.WhichOneof("event") == "finish"
        if kind == "abort":
            assert last.finish.reason == safety_pb2.FINISH_REASON_ABORTED
        return safety_pb2.FinishReason.Name(last.finish.reason)
    except grpc.aio.AioRpcError as error:
        # only the deadline may end a stream with a status (when it passes before the server's own time limit)
        assert kind == "deadline" and error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, (kind, error)
        return "DEADLINE_EXCEEDED"


async def batch(inference: Any, control: Any, name: str, size: int, tally: Counter[str]) -> None:
    """`size` streams, five at a time (two run, three queue), each kind in turn."""
    for start in range(0, size, len(KINDS)):
        group = [
            one_stream(inference, control, KINDS[i % len(KINDS)], f"{name}-{i}", seed=i)
            for i in range(start, min(start + len(KINDS), size))
        ]
        tally.update(await asyncio.gather(*group))


async def settle(running: Server, runtime: Runtime) -> None:
    """Wait (bounded: 30 s, never expected) until the server holds no request; then collect garbage.

    The test policy's scripted scorers keep a log of every call (for other tests); that log is the test's memory,
    not the server's, so it is emptied here.
    """
    for _ in range(600):
        idle = len(running.inflight) == 0 and running.admission.running == 0 and running.admission.waiting == 0
        # the scheduler's thread ends once it has no search, a moment after the last one's final event
        if idle and not any(t.name == "inferenceguard-scheduler" for t in threading.enumerate()):
            break
        await asyncio.sleep(0.05)
    assert not any(t.name == "inferenceguard-scheduler" for t in threading.enumerate())
    assert len(running.inflight) == 0
    assert running.admission.running == 0 and running.admission.waiting == 0
    policy = runtime.registry.load("no-five-six")
    for scorer in (*policy.cost_functions.values(), policy.reward):
        scorer.calls.clear()
    gc.collect()


@pytest.fixture(autouse=True, scope="function")
def one_torch_thread() -> Iterator[None]:
    with single_torch_thread():
        yield


def _release_free_heap() -> None:
    """Hand free heap pages back to the OS (glibc), so that the RSS counts memory in use, not memory cached."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the RSS is a little noisier, that is all
        ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass(frozen=True)
class Footprint:
    rss_bytes: int
    os_threads: int  # every thread of the process: grpc's and torch's native pools included
    python_threads: Counter[str]  # by name, the pool worker's number dropped ("search", "MainThread", ...)
    search_objects: int  # searches, their request contexts, frontiers and KV caches still alive
    tensors: int  # live torch tensors (the model's parameters, once nothing else is running)

    @classmethod
    def now(cls) -> Footprint:
        _release_free_heap()
        with open("/proc/self/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        with open("/proc/self/status") as status:
            os_threads = next(int(line.split()[1]) for line in status if line.startswith("Threads:"))
        names = Counter(t.name.rsplit("_", 1)[0] for t in threading.enumerate())
        kinds = {BlockSearch, RequestContext, Frontier, DynamicCache}
        types = [type(o) for o in gc.get_objects()]  # type(), not isinstance: no lazy module attribute fires
        search_objects = sum(1 for t in types if t in kinds)
        tensors = sum(1 for t in types if issubclass(t, torch.Tensor))
        return cls(rss, os_threads, names, search_objects, tensors)


def kv_bytes_per_request(lm: LanguageModel) -> int:
    """The KV cache a request holds once its first block is searched: CANDIDATES rows of prompt + 2 tokens."""
    config = lm.model.config
    head_dim = config.hidden_size // config.num_attention_heads
    per_token_row = config.num_hidden_layers * 2 * config.num_key_value_heads * head_dim * 4  # K and V, float32
    return CANDIDATES * (PROMPT_WORDS + 2) * per_token_row


def test_streams_cancelled_aborted_or_past_their_deadline_leave_nothing_behind(lm: LanguageModel) -> None:
    async def scenario() -> None:
        runtime = tiny_runtime(lm, max_concurrent_requests=WORKERS, max_queued_requests=8)
        async with serving(runtime) as (running, inference, control):
            tally: Counter[str] = Counter()
            await batch(inference, control, "warm-up", 5, tally)  # both search workers and grpc's pools start
            await settle(running, runtime)
            warm = Footprint.now()
            await batch(inference, control, "first", 25, tally)  # the allocator's arenas reach their size
            await settle(running, runtime)
            await batch(inference, control, "second", 25, tally)
            await settle(running, runtime)
            before = Footprint.now()
            await batch(inference, control, "third", 25, tally)
            await settle(running, runtime)
            after = Footprint.now()

            # 80 streams, 16 of each kind, each ended the way its kind says (settle checked nothing is in flight).
            assert sum(tally.values()) == 80 and tally["cancelled"] == 3 * 16
            assert tally["FINISH_REASON_ABORTED"] == 16
            # No search, request context, frontier or KV cache outlives its request, and no tensor either.
            assert warm.search_objects == before.search_objects == after.search_objects == 0
            assert after.tensors <= warm.tensors
            # Threads: the search pool stays within its size; no other Python thread appears. Natively, 75 more
            # requests may add the pool workers the warm-up did not start (normally none) and at most two threads
            # of grpc's event-engine pool, which is sized by load, not by the number of requests. A thread per
            # request, or per cancelled request, would add dozens.
            pools = {"search": WORKERS, "scorer": SCORER_POOL_SIZE}  # started on demand, up to their size
            assert all(after.python_threads[name] <= size for name, size in pools.items())
            assert {n: c for n, c in after.python_threads.items() if n not in pools} == {
                n: c for n, c in warm.python_threads.items() if n not in pools
            }
            missing_workers = sum(size - warm.python_threads[name] for name, size in pools.items())
            assert after.os_threads <= warm.os_threads + missing_workers + 2, (warm.os_threads, after.os_threads)
            # Memory, between two identical batches once the allocator has settled: 15 of the 25 streams in a
            # batch get past their first block (the "after-a-block", abort and deadline kinds) and then hold a
            # KV cache of kv_bytes_per_request (about 4 MiB: 128 rows x 122 tokens x 256 bytes). Leaking just
            # those caches would grow the RSS by ~57 MiB per batch; healthy runs measured here moved it by -2 to
            # +5 MiB. A third of the leak (~19 MiB) fails any leak of a third of the caches or more, and leaves
            # the allocator's noise a wide margin.
            leak = 15 * kv_bytes_per_request(lm)
            assert leak > 40 * 2**20  # the bound means something only while a leak is this visible
            grown = after.rss_bytes - before.rss_bytes
            assert grown < leak / 3, f"the RSS grew by {grown / 2**20:.1f} MiB over 25 streams"

            cheap = stream_request("after", seed=1)
            cheap.stopping.max_new_tokens, cheap.search.num_candidates = 4, 4
            reply = await inference.Generate(cheap, timeout=60)
            assert reply.request_id == "after" and reply.finish.reason == safety_pb2.FINISH_REASON_LENGTH

    asyncio.run(scenario())
