"""The gRPC service on a real port: stream order, the committed-prefix property, errors as statuses."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from inferenceguard.service.engine import LanguageModel
from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2
from tests.server_helpers import serving, tiny_runtime


def request(**fields: object) -> inference_pb2.GenerateRequest:
    message = inference_pb2.GenerateRequest(prompt="w1 w2 w3")
    message.sampling.seed = 7
    message.stopping.max_new_tokens = 12
    message.search.num_candidates = 4
    message.search.block_tokens = 4
    message.response.output_token_ids = True
    for key, value in fields.items():
        setattr(message, key, value)
    return message


def test_stream_order_and_committed_prefix_equal_unary(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, inference, _control):
            messages = [m async for m in inference.GenerateStream(request(request_id="r-1"))]
            unary = await inference.Generate(request())
        kinds = [m.WhichOneof("event") for m in messages]
        assert kinds[0] == "start" and kinds[-1] == "finish" and set(kinds[1:-1]) <= {"chunk"}
        assert all(m.request_id == "r-1" for m in messages)
        assert messages[0].start.seed == 7 and messages[0].start.policies[0].id == "no-five-six"
        streamed = "".join(m.chunk.text for m in messages if m.WhichOneof("event") == "chunk")
        ids = [i for m in messages if m.WhichOneof("event") == "chunk" for i in m.chunk.token_ids]
        assert streamed == unary.finish.text and ids == list(unary.finish.token_ids)
        assert messages[-1].finish.reason == unary.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED
        assert unary.finish.safety.within_budget and unary.finish.usage.completion_tokens == len(ids)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"prompt": ""}, grpc.StatusCode.INVALID_ARGUMENT, "prompt: must not be empty"),
        ({"num_candidates": 0}, grpc.StatusCode.INVALID_ARGUMENT, "search.num_candidates: must be in 1..1024"),
        ({"num_candidates": 5000}, grpc.StatusCode.INVALID_ARGUMENT, "search.num_candidates: must be at most 256"),
        ({"policy": "nope"}, grpc.StatusCode.NOT_FOUND, "policy 'nope' is not registered"),
        ({"policy": "x" * 4000}, grpc.StatusCode.INVALID_ARGUMENT, "safety.policy_ids: each id is at most 100"),
        ({"policy": ["no-five-six"] * 9}, grpc.StatusCode.INVALID_ARGUMENT, "safety.policy_ids: at most 8 ids"),
    ],
)
def test_bad_requests_get_a_status_naming_the_field(
    lm: LanguageModel, change: dict[str, Any], code: object, message: str
) -> None:
    bad = request()
    if "prompt" in change:
        bad.prompt = change["prompt"]
    if "num_candidates" in change:
        bad.search.num_candidates = change["num_candidates"]
    if "policy" in change:
        policy = change["policy"]
        bad.safety.policy_ids.extend(policy if isinstance(policy, list) else [policy])

    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, inference, _control):
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await inference.Generate(bad)
            assert caught.value.code() == code and message in caught.value.details()
            assert (await inference.Generate(request())).finish.text  # still serving

    asyncio.run(scenario())


def test_control_lists_policies_and_server_info(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, _inference, control):
            info = await control.GetServerInfo(control_pb2.GetServerInfoRequest())
            policies = await control.ListPolicies(control_pb2.ListPoliciesRequest())
            one = await control.GetPolicy(control_pb2.GetPolicyRequest(policy_id="no-five-six"))
        assert info.model_id == "tiny-llama" and list(info.default_policy_ids) == ["no-five-six"]
        assert "no-five-six" in {p.ref.id for p in policies.policies}
        assert one.is_default and one.budgets["banned-words"] == 0.5

    asyncio.run(scenario())


def test_metrics_count_requests_and_safety_decisions(lm: LanguageModel) -> None:
    from prometheus_client import generate_latest

    async def scenario() -> str:
        async with serving(tiny_runtime(lm)) as (running, inference, _control):
            await inference.Generate(request())
            with pytest.raises(grpc.aio.AioRpcError):
                await inference.Generate(inference_pb2.GenerateRequest(prompt=""))
            return generate_latest(running.metrics.registry).decode()

    text = asyncio.run(scenario())
    assert 'inferenceguard_safety_decisions_total{action="allowed",policy="no-five-six"}' in text
    assert 'inferenceguard_request_failure_total{code="INVALID_ARGUMENT",tenant="default"} 1.0' in text
    assert "inferenceguard_time_to_first_token_seconds_count" in text and "w1" not in text


def test_critic_latency_is_recorded_for_requests_that_used_a_critic() -> None:
    from prometheus_client import generate_latest

    from inferenceguard.service.engine.types import FinishReason, GenerationResult, Usage
    from inferenceguard.service.metrics import Metrics

    def result(usage: Usage) -> GenerationResult:
        return GenerationResult("", (), True, 1.0, 0.0, {}, None, FinishReason.EOS, "inferenceguard", 0, 1.0, usage)

    metrics = Metrics()
    metrics.record(result(Usage(critic_evaluations=8, critic_seconds=0.25)), "default")
    metrics.record(result(Usage()), "default")  # no critic: not a latency sample
    text = generate_latest(metrics.registry).decode()
    assert "inferenceguard_critic_seconds_count 1.0" in text
    assert "inferenceguard_critic_seconds_sum 0.25" in text
