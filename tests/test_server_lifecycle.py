"""Cancellation, Abort, deadlines, overload, readiness and reflection, on a real port with the tiny model."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.server import READINESS, warm_up_and_serve
from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2
from tests.server_helpers import serving, tiny_runtime
from tests.tiny_model import tiny_lm


def long_request(request_id: str = "", seed: int = 1, tokens: int = 200) -> inference_pb2.GenerateRequest:
    message = inference_pb2.GenerateRequest(prompt="w1 w2", request_id=request_id)
    message.sampling.seed = seed
    message.stopping.max_new_tokens = tokens
    message.search.num_candidates = 4
    message.search.num_beams = 1
    message.search.block_tokens = 2
    return message


def test_abort_ends_the_stream_with_aborted(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (running, inference, control):
            call = inference.GenerateStream(long_request("to-abort"))
            messages = [await call.read(), await call.read()]
            aborted = await control.Abort(control_pb2.AbortRequest(request_ids=["to-abort", "unknown"]))
            while (message := await call.read()) is not grpc.aio.EOF:
                messages.append(message)
            assert list(aborted.aborted_request_ids) == ["to-abort"]
            assert messages[-1].finish.reason == safety_pb2.FINISH_REASON_ABORTED
            assert len(running.inflight) == 0

    asyncio.run(scenario())


def test_cancelled_streams_free_their_worker(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm, max_concurrent_requests=1)) as (running, inference, _):
            for index in range(10):
                call = inference.GenerateStream(long_request(f"c-{index}"))
                await call.read()
                call.cancel()
            for _ in range(100):
                if len(running.inflight) == 0 and running.admission.running == 0:
                    break
                await asyncio.sleep(0.05)
            assert len(running.inflight) == 0 and running.admission.running == 0
            reply = await inference.Generate(long_request(tokens=8))
            assert reply.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    asyncio.run(scenario())


def test_deadline_returns_the_checked_text_so_far() -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(tiny_lm(context=8192), max_new_tokens_limit=8000)) as (_, inference, _control):
            reply = await inference.Generate(long_request(tokens=5000), timeout=1.0)
            assert reply.finish.reason == safety_pb2.FINISH_REASON_TIME_LIMIT
            assert reply.finish.usage.completion_tokens < 5000

    asyncio.run(scenario())


def test_overload_is_refused_at_once_with_a_retry_hint(lm: LanguageModel) -> None:
    async def scenario() -> None:
        runtime = tiny_runtime(lm, max_concurrent_requests=1, max_queued_requests=1)
        async with serving(runtime) as (_, inference, _control):
            calls = [inference.Generate(long_request(seed=i, tokens=120)) for i in range(4)]
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
        assert refused and all(o.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for o in refused)
        assert all(dict(o.trailing_metadata()).get("retry-after-ms") for o in refused)
        assert any(not isinstance(o, Exception) for o in outcomes)

    asyncio.run(scenario())


def test_sixteen_concurrent_streams_match_their_unary_answers(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, inference, _control):

            async def stream(seed: int) -> str:
                parts = [m.chunk.text async for m in inference.GenerateStream(long_request(seed=seed, tokens=10))]
                return "".join(parts)

            streamed = await asyncio.gather(*(stream(seed) for seed in range(16)))
            unary = [(await inference.Generate(long_request(seed=seed, tokens=10))).finish.text for seed in range(16)]
            assert streamed == unary

    asyncio.run(scenario())


def test_readiness_follows_the_warm_up_and_reflection_lists_the_service(lm: LanguageModel) -> None:
    async def scenario() -> None:
        runtime = tiny_runtime(lm)
        async with serving(runtime, ready=False) as (running, _inference, _control):
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
            health = health_pb2_grpc.HealthStub(channel)
            before = await health.Check(health_pb2.HealthCheckRequest(service=READINESS))
            alive = await health.Check(health_pb2.HealthCheckRequest(service=""))
            await warm_up_and_serve(running, runtime)
            after = await health.Check(health_pb2.HealthCheckRequest(service=READINESS))
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            replies = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            names = {s.name async for reply in replies for s in reply.list_services_response.service}
            await channel.close()
        assert before.status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert alive.status == after.status == health_pb2.HealthCheckResponse.SERVING
        assert {"inferenceguard.v1.InferenceService", "inferenceguard.v1.ControlService"} <= names

    asyncio.run(scenario())


@pytest.mark.parametrize("budget", [-1.0, float("nan")])
def test_invalid_budget_is_invalid_argument(lm: LanguageModel, budget: float) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, inference, _control):
            bad = long_request(tokens=4)
            bad.safety.budget = budget
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await inference.Generate(bad)
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert caught.value.details().startswith("safety.budget:")

    asyncio.run(scenario())
