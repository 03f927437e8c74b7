"""Part of `inferenceguard bench service` (batching_bench.py runs it): the same requests in-process and over gRPC
streaming, and the throughput of one server under concurrent streaming clients.

The server runs in this process on a loopback port (its own event loop on a background thread), so both paths
share one model and one machine; the in-process and gRPC runs are interleaved per request so that noise from a
shared machine falls on both alike.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import grpc
from tqdm import tqdm

from inferenceguard.bench.engine_bench import PROMPTS
from inferenceguard.service.convert import request_for
from inferenceguard.service.engine import Chunk, GenerationResult, SearchOptions
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.server import Server, build_server, drain, warm_up_and_serve
from inferenceguard.v1 import inference_pb2_grpc

T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    seconds: float
    first_chunk_s: float  # time to the first committed chunk with text; the whole time if none came
    tokens: int
    text: str


class LoopbackServer:
    """The gRPC server on 127.0.0.1, run by an event loop on its own thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bench-server", daemon=True)
        self.thread.start()
        settings = replace(runtime.settings, host="127.0.0.1", grpc_port=0, api_key=None, tls_cert=None, tls_key=None)
        self.running: Server = self._call(build_server(settings, runtime))
        self._call(warm_up_and_serve(self.running, runtime))
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.running.port}")
        self.stub = inference_pb2_grpc.InferenceServiceStub(self.channel)

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.channel.close()
        self._call(drain(self.running, 1.0))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.running.executor.shutdown(wait=True)  # its threads end, and with them their OpenMP pools


def in_process(runtime: Runtime, prompt: str, options: SearchOptions) -> Timing:
    started, first = time.perf_counter(), 0.0
    for event in runtime.engine.generate(prompt, options, guard=runtime.guard()):
        if isinstance(event, Chunk) and event.text and not first:
            first = time.perf_counter() - started
        if isinstance(event, GenerationResult):
            seconds = time.perf_counter() - started
            return Timing(seconds, first or seconds, event.new_tokens, event.text)
    raise AssertionError("the engine ended without a result")  # pragma: no cover


def over_grpc(stub: Any, prompt: str, options: SearchOptions) -> Timing:
    request = request_for(prompt, options, [])
    started, first, parts, tokens = time.perf_counter(), 0.0, [], 0
    for message in stub.GenerateStream(request):
        if message.WhichOneof("event") == "chunk" and message.chunk.text:
            first = first or time.perf_counter() - started
            parts.append(message.chunk.text)
        elif message.WhichOneof("event") == "finish":
            tokens = message.finish.usage.completion_tokens
    seconds = time.perf_counter() - started
    return Timing(seconds, first or seconds, tokens, "".join(parts))


def overhead(runtime: Runtime, server: LoopbackServer, options: SearchOptions, rounds: int) -> dict[str, Any]:
    """Each request twice, in-process then over gRPC, with the same seed: same text, compared time."""
    local: list[Timing] = []
    remote: list[Timing] = []
    runs = [(r, i) for r in range(rounds) for i in range(len(PROMPTS))]
    for round_index, prompt_index in tqdm(runs, desc="bench service: in-process vs gRPC", unit="pair"):
        request = options.with_updates(seed=(options.seed or 0) + 1000 * round_index + prompt_index)
        prompt = PROMPTS[prompt_index]
        if (round_index + prompt_index) % 2:  # alternate which path goes first, so warm caches favour neither
            remote.append(over_grpc(server.stub, prompt, request))
            local.append(in_process(runtime, prompt, request))
        else:
            local.append(in_process(runtime, prompt, request))
            remote.append(over_grpc(server.stub, prompt, request))
    return {
        "requests": len(runs),
        "same_text": sum(a.text == b.text for a, b in zip(local, remote, strict=True)) / len(runs),
        "in_process": _summary(local),
        "grpc": _summary(remote),
        "ratio_grpc_over_inprocess": sum(t.seconds for t in remote) / sum(t.seconds for t in local),
    }


def throughput(
    server: LoopbackServer,
    options: SearchOptions,
    clients: int,
    requests: int,
    prompts: Sequence[str] = PROMPTS,
    label: str = "",
) -> dict[str, Any]:
    """`requests` streams sent by `clients` concurrent callers; tokens/s over the wall time of the whole batch."""

    def one(index: int) -> Timing:
        request = options.with_updates(seed=(options.seed or 0) + index)
        return over_grpc(server.stub, prompts[index % len(prompts)], request)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        desc = f"{label}{clients} clients"
        timings = list(tqdm(pool.map(one, range(requests)), total=requests, desc=desc, unit="req"))
    wall = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": requests,
        "wall_s": wall,
        "tokens_per_s": sum(t.tokens for t in timings) / wall,
        "requests_per_s": requests / wall,
        "ttft_fraction": statistics.mean(t.first_chunk_s / t.seconds for t in timings),
        **_summary(timings),
    }


def _summary(timings: Iterable[Timing]) -> dict[str, float]:
    listed = list(timings)
    return {
        "seconds_per_response": statistics.mean(t.seconds for t in listed),
        "first_chunk_s": statistics.mean(t.first_chunk_s for t in listed),
        "first_chunk_p50_s": statistics.median(t.first_chunk_s for t in listed),
        "response_tokens": statistics.mean(t.tokens for t in listed),
    }


def on_own_thread(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` on a thread that then ends. torch's OpenMP runtime slows every thread's parallel regions
    while another thread keeps a pool of its own (measured 1.4-1.7x a step), so this (main) thread must never run
    model passes itself while servers are measured."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result()


def run_service_bench(runtime: Runtime, options: SearchOptions, rounds: int) -> dict[str, Any]:
    """The gRPC / in-process comparison, with the configuration it ran under."""
    server = LoopbackServer(runtime)
    try:
        report = on_own_thread(overhead, runtime, server, options, rounds)
    finally:
        server.close()
    keys = ("num_candidates", "num_beams", "block_tokens", "max_new_tokens", "strategy", "seed")
    report["config"] = {k: options.to_dict()[k] for k in keys} | {
        "max_concurrent_requests": runtime.settings.max_concurrent_requests,
        "batching": runtime.settings.batching,
        "policy": runtime.settings.default_policy,
    }
    return report


def format_table(report: dict[str, Any], write: Callable[[str], None]) -> None:
    write(f"config: {report['config']}")
    write(f"{'path':<12}{'s/response':>12}{'first chunk s':>15}{'resp tokens':>13}")
    for path in ("in_process", "grpc"):
        row = report[path]
        write(
            f"{path:<12}{row['seconds_per_response']:>12.2f}{row['first_chunk_s']:>15.2f}{row['response_tokens']:>13.1f}"
        )
    write(f"gRPC / in-process = {report['ratio_grpc_over_inprocess']:.3f}   same text: {report['same_text']:.0%}")
