"""Admission by work and the drain on a real port with the tiny model: oversize requests cost nothing, the prompt
is tokenised on a worker after admission, a hung scorer fails its request closed, and a drain ends every stream
with its finish message."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inferenceguard.policies import hookimpl
from inferenceguard.service.channels import BALANCED
from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.server import READINESS, build_server, drain, warm_up_and_serve
from inferenceguard.v1 import inference_pb2_grpc, safety_pb2
from tests.server_helpers import serving, tiny_runtime
from tests.test_server_lifecycle import long_request
from tests.test_tenant_server import denied, read_all
from tests.tiny_model import tiny_lm

HANG = threading.Event()  # set: the sleepy cost function stops answering


class SleepyCost:
    name, semantics, default_budget = "sleepy", "prefix", 1.0

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if HANG.is_set():
            time.sleep(3)  # well past the server's scorer timeout
        return np.zeros(len(responses))


class SleepyPlugin:
    @hookimpl
    def register_cost_functions(self, register: Any) -> None:
        register("sleepy", lambda context: SleepyCost(), version="1")

    @hookimpl
    def register_policies(self, register: Any) -> None:
        register("sleepy", cost_functions={"sleepy": 1.0}, reward="length", version="1")


def test_an_oversize_request_is_refused_before_the_engine_sees_it(
    lm: LanguageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tiny_runtime(lm, min_block_tokens=4, max_retries_limit=4, max_kv_cache_mib=64)
    started: list[str] = []

    def spy(name: str, result: Any) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            started.append(name)
            return result

        return called

    monkeypatch.setattr(runtime.engine, "generate", spy("generate", iter(())))
    monkeypatch.setattr(runtime.lm, "encode_prompt", spy("encode", [1]))
    cases = {
        "search.max_retries": {"max_retries": 16},
        "search.block_tokens": {"block_tokens": 1},
        "search.num_candidates": {"num_candidates": 256, "block_tokens": 4},
    }

    async def scenario() -> None:
        async with serving(runtime, ready=False) as (running, inference, _):
            started.clear()  # the start measured the chat template once
            for named, fields in cases.items():
                message = long_request(tokens=1000)
                for name, value in fields.items():
                    setattr(message.search, name, value)
                error = await denied(inference.Generate(message))
                assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert error.details().startswith(f"{named}: "), error.details()
            assert running.admission.running == 0 and running.admission.kv_reserved == 0

    asyncio.run(scenario())
    assert started == []  # neither tokenised nor searched


def test_the_prompt_is_tokenised_on_a_worker_not_on_the_event_loop(lm: LanguageModel) -> None:
    runtime = tiny_runtime(lm)
    threads: list[str] = []
    encode = runtime.lm.encode_prompt

    def spying(*args: Any, **kwargs: Any) -> list[int]:
        threads.append(threading.current_thread().name)
        return encode(*args, **kwargs)

    async def scenario() -> None:
        async with serving(runtime) as (_, inference, _control):
            threads.clear()  # the warm-up ran before
            reply = await inference.Generate(long_request(tokens=4))
            assert reply.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    runtime.lm.encode_prompt = spying
    asyncio.run(scenario())
    assert threads and all(name.startswith("search") for name in threads), threads


def test_a_hung_scorer_fails_its_request_closed_and_the_server_keeps_serving(lm: LanguageModel) -> None:
    runtime = tiny_runtime(lm, SleepyPlugin(), allowed_policies="no-five-six,sleepy", scorer_timeout_s=0.5)
    sleepy = long_request(tokens=8)
    sleepy.safety.policy_ids.append("sleepy")

    async def scenario() -> None:
        async with serving(runtime) as (_, inference, _control):
            HANG.set()
            try:
                messages, error = [], None
                call = inference.GenerateStream(sleepy)
                try:
                    messages = await read_all(call)
                except grpc.aio.AioRpcError as exc:
                    error = exc
            finally:
                HANG.clear()
            assert error is not None and error.code() == grpc.StatusCode.UNAVAILABLE
            assert "did not answer within 0.5 s" in error.details()
            assert not any(m.HasField("chunk") and m.chunk.text for m in messages)  # nothing unchecked
            reply = await inference.Generate(long_request(tokens=4))
            assert reply.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    asyncio.run(scenario())


def test_a_drain_refuses_the_queue_and_ends_the_running_stream_with_its_checked_text() -> None:
    runtime = tiny_runtime(tiny_lm(context=8192), max_concurrent_requests=1, max_new_tokens_limit=8000)

    async def scenario() -> None:
        async with serving(runtime) as (running, inference, _control):
            health = health_pb2_grpc.HealthStub(grpc.aio.insecure_channel(f"127.0.0.1:{running.port}"))
            stream = inference.GenerateStream(long_request("long", tokens=5000))
            first = await stream.read()
            assert first.HasField("start")
            queued = asyncio.ensure_future(inference.Generate(long_request("queued", tokens=8)))
            await asyncio.sleep(0.2)
            stopping = asyncio.ensure_future(drain(running, grace_s=0.5, delay_s=0.5))
            await asyncio.sleep(0.2)  # within the delay: not ready, but still alive and serving
            ready = await health.Check(health_pb2.HealthCheckRequest(service=READINESS))
            alive = await health.Check(health_pb2.HealthCheckRequest(service=""))
            assert ready.status == health_pb2.HealthCheckResponse.NOT_SERVING
            assert alive.status == health_pb2.HealthCheckResponse.SERVING
            refused = await denied(queued)
            assert refused.code() == grpc.StatusCode.UNAVAILABLE and "shutting down" in refused.details()
            rest = await read_all(stream)
            await stopping
            finish = rest[-1].finish
            assert finish.reason == safety_pb2.FINISH_REASON_SHUTDOWN
            released = "".join(m.chunk.text for m in rest if m.HasField("chunk"))
            assert finish.usage.completion_tokens > 0 and released  # the checked text came back
            assert len(running.inflight) == 0

    asyncio.run(scenario())


def test_a_deadline_counts_the_time_spent_queued() -> None:
    """A request that waited behind another still gets its checked text before its deadline, not DEADLINE_EXCEEDED."""
    runtime = tiny_runtime(tiny_lm(context=8192), max_concurrent_requests=1, max_new_tokens_limit=8000)

    async def scenario() -> None:
        async with serving(runtime) as (_, inference, _control):
            ahead = long_request("ahead", tokens=5000)
            ahead.stopping.time_limit_ms = 1500
            first = asyncio.ensure_future(inference.Generate(ahead))
            await asyncio.sleep(0.1)
            behind = await inference.Generate(long_request("behind", tokens=5000), timeout=4.0)
            assert behind.finish.reason == safety_pb2.FINISH_REASON_TIME_LIMIT
            assert behind.finish.usage.queue_time_ms >= 1000
            assert (await first).finish.reason == safety_pb2.FINISH_REASON_TIME_LIMIT

    asyncio.run(scenario())


def test_clients_with_the_default_channel_options_fail_fast_once_the_server_stopped() -> None:
    """With gRPC's retryPolicy in the service config, streams sent as the server stopped waited for their deadline."""
    runtime = tiny_runtime(tiny_lm(context=8192), max_concurrent_requests=1, max_new_tokens_limit=8000)
    codes: list[str] = []
    stopping = threading.Event()

    def client(port: int) -> None:
        with grpc.insecure_channel(f"127.0.0.1:{port}", BALANCED) as channel:
            stub = inference_pb2_grpc.InferenceServiceStub(channel)
            while not stopping.is_set():
                try:
                    list(stub.GenerateStream(long_request(tokens=400), timeout=10))
                    codes.append("OK")
                except grpc.RpcError as error:
                    codes.append(error.code().name)

    async def scenario() -> None:
        running = await build_server(runtime.settings, runtime)
        await warm_up_and_serve(running, runtime)
        threads = [threading.Thread(target=client, args=(running.port,)) for _ in range(3)]
        for thread in threads:
            thread.start()
        await asyncio.sleep(2)
        await drain(running, grace_s=0.5, delay_s=0.5)
        await asyncio.sleep(1)
        stopping.set()
        for thread in threads:
            await asyncio.get_running_loop().run_in_executor(None, thread.join)

    asyncio.run(scenario())
    assert "UNAVAILABLE" in codes and "DEADLINE_EXCEEDED" not in codes, codes
