"""The operator's control on a live server (tiny model): the safety floor, two tenants with their own policies,
Abort and request ids per tenant, the rate limit, and a reload in the middle of a stream."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import generate_latest

from inferenceguard.critics.onnx_critic import OnnxCritic
from inferenceguard.policies import hookimpl
from inferenceguard.policies.types import PolicyLoadError
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.server import build_server
from inferenceguard.service.tenants import hash_key
from inferenceguard.v1 import control_pb2, inference_pb2, safety_pb2
from tests.onnx_helpers import export_training_critic
from tests.scripted import LengthReward, WordCost
from tests.server_helpers import serving, tiny_runtime
from tests.test_server_fuzz import FuzzPlugin
from tests.test_server_lifecycle import long_request

A, B = (("authorization", "Bearer key-a"),), (("authorization", "Bearer key-b"),)


class OneTwoPlugin:
    """A second policy for the tiny model: it bans w1 and w2."""

    @hookimpl
    def register_cost_functions(self, register: Any) -> None:
        register("one-two-words", lambda context: WordCost({"w1", "w2"}), version="1.0")

    @hookimpl
    def register_reward_functions(self, register: Any) -> None:
        register("length-too", lambda context: LengthReward(), version="1.0")

    @hookimpl
    def register_policies(self, register: Any) -> None:
        register("no-one-two", cost_functions={"one-two-words": 0.5}, reward="length-too", version="1.0")


def tenants_file(path: Path, a_default: str = "no-five-six", b_rate: float = 0) -> Path:
    path.write_text(f"""
[tenants.team-a]
api_key_hashes = ["{hash_key("key-a")}"]
default_policies = ["{a_default}"]
allowed_policies = ["no-five-six", "no-one-two"]
operator = true

[tenants.team-b]
api_key_hashes = ["{hash_key("key-b")}"]
default_policies = ["no-one-two"]
requests_per_second = {b_rate}
""")
    return path


def short(**fields: Any) -> inference_pb2.GenerateRequest:
    message = long_request(tokens=4)
    for name, value in fields.items():
        target, _, field = name.rpartition(".")
        part = getattr(message, target)
        getattr(part, field).extend(value) if isinstance(value, list) else setattr(part, field, value)
    return message


async def read_all(stream: Any) -> list[Any]:
    messages = []
    while (message := await stream.read()) is not grpc.aio.EOF:
        messages.append(message)
    return messages


async def denied(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"search.strategy": inference_pb2.STRATEGY_SAMPLE}, "search.strategy"),
        ({"search.strategy": inference_pb2.STRATEGY_ARGS}, "search.strategy"),
        ({"safety.budget": 1e300}, "safety.budget"),
        ({"safety.budget": 0.75}, "safety.budget"),  # above the policy's own 0.5
    ],
)
def test_by_default_a_request_cannot_loosen_the_guard(lm: LanguageModel, fields: dict[str, Any], named: str) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm)) as (_, inference, _control):
            error = await denied(inference.Generate(short(**fields)))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED and error.details().startswith(f"{named}: ")
            tighter = await inference.Generate(short(**{"safety.budget": 0.25}))
            assert tighter.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    asyncio.run(scenario())


def test_an_operator_can_allow_a_baseline_strategy(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm, allowed_strategies="inferenceguard,sample")) as (_, inference, _c):
            reply = await inference.Generate(short(**{"search.strategy": inference_pb2.STRATEGY_SAMPLE}))
            assert reply.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    asyncio.run(scenario())


def test_two_tenants_get_their_own_policies_and_requests(lm: LanguageModel, tmp_path: Path) -> None:
    runtime = tiny_runtime(lm, OneTwoPlugin(), tenants_file=str(tenants_file(tmp_path / "t.toml")), allow_insecure=True)

    async def scenario() -> None:
        async with serving(runtime) as (running, inference, control):
            a, b = await inference.Generate(short(), metadata=A), await inference.Generate(short(), metadata=B)
            assert [p.id for p in a.finish.safety.policies] == ["no-five-six"]
            assert [p.id for p in b.finish.safety.policies] == ["no-one-two"]
            error = await denied(inference.Generate(short(**{"safety.policy_ids": ["no-five-six"]}), metadata=B))
            assert error.code() == grpc.StatusCode.PERMISSION_DENIED and "safety.policy_ids" in error.details()
            assert (await denied(inference.Generate(short()))).code() == grpc.StatusCode.UNAUTHENTICATED
            stream = inference.GenerateStream(long_request("shared-id"), metadata=A)
            await stream.read()
            again = await denied(inference.Generate(long_request("shared-id", tokens=4), metadata=A))
            assert again.code() == grpc.StatusCode.ALREADY_EXISTS
            other = await inference.Generate(long_request("shared-id", tokens=4), metadata=B)  # B's own id space
            assert other.request_id == "shared-id"
            by_b = await control.Abort(control_pb2.AbortRequest(request_ids=["shared-id"]), metadata=B)
            assert list(by_b.aborted_request_ids) == []  # B cannot stop A's request
            by_a = await control.Abort(control_pb2.AbortRequest(request_ids=["shared-id"]), metadata=A)
            assert list(by_a.aborted_request_ids) == ["shared-id"]
            messages = await read_all(stream)
            assert messages[-1].finish.reason == safety_pb2.FINISH_REASON_ABORTED and len(running.inflight) == 0
            info = await control.GetServerInfo(control_pb2.GetServerInfoRequest(), metadata=B)
            assert (info.tenant, list(info.default_policy_ids)) == ("team-b", ["no-one-two"])
            metrics = generate_latest(running.metrics.registry).decode()
            assert 'reason="aborted",tenant="team-a"' in metrics and 'tenant="team-b"' in metrics

    asyncio.run(scenario())


def test_a_tenant_over_its_rate_is_told_when_to_retry(lm: LanguageModel, tmp_path: Path) -> None:
    path = tenants_file(tmp_path / "t.toml", b_rate=0.5)
    runtime = tiny_runtime(lm, OneTwoPlugin(), tenants_file=str(path), allow_insecure=True)

    async def scenario() -> None:
        async with serving(runtime) as (_, inference, _control):
            await inference.Generate(short(), metadata=B)
            error = await denied(inference.Generate(short(), metadata=B))
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            retry = dict(error.trailing_metadata() or ())["retry-after-ms"]
            assert 0 < int(retry) <= 2000
            await inference.Generate(short(), metadata=A)  # another tenant is not held back

    asyncio.run(scenario())


def test_a_reload_mid_stream_applies_to_new_requests_only(lm: LanguageModel, tmp_path: Path) -> None:
    path = tenants_file(tmp_path / "t.toml")
    runtime = tiny_runtime(lm, OneTwoPlugin(), tenants_file=str(path), allow_insecure=True)

    async def scenario() -> None:
        async with serving(runtime) as (running, inference, control):
            stream = inference.GenerateStream(long_request("before"), metadata=A)
            first = await stream.read()
            tenants_file(path, a_default="no-one-two")
            denied_reload = await denied(control.Reload(control_pb2.ReloadRequest(), metadata=B))
            assert denied_reload.code() == grpc.StatusCode.PERMISSION_DENIED
            done = await control.Reload(control_pb2.ReloadRequest(), metadata=A)
            assert done.ok and done.config_version == 2 and len(running.inflight) == 1  # still streaming
            rest = await read_all(stream)
            assert [p.id for p in first.start.policies] == ["no-five-six"]
            assert [p.id for p in rest[-1].finish.safety.policies] == ["no-five-six"]  # finished as it started
            after = await inference.Generate(short(), metadata=A)
            assert [p.id for p in after.finish.safety.policies] == ["no-one-two"]
            path.write_text("[tenants.team-a\nbroken")
            failed = await control.Reload(control_pb2.ReloadRequest(), metadata=A)
            assert not failed.ok and failed.config_version == 2 and "not valid TOML" in failed.error
            still = await inference.Generate(short(), metadata=A)  # the old configuration keeps serving
            assert [p.id for p in still.finish.safety.policies] == ["no-one-two"]
            metrics = generate_latest(running.metrics.registry).decode()
            assert 'inferenceguard_reloads_total{result="success"} 1.0' in metrics
            assert 'inferenceguard_reloads_total{result="failure"} 1.0' in metrics

    asyncio.run(scenario())


def test_a_reload_reads_the_config_file_again(lm: LanguageModel, tmp_path: Path) -> None:
    config = tmp_path / "inferenceguard.toml"
    config.write_text('allowed_strategies = "inferenceguard"\nhost = "127.0.0.1"\n')
    runtime = tiny_runtime(lm)
    overrides = {"default_policy": "no-five-six", "grpc_port": 0, "min_block_tokens": 1}
    load = lambda: Settings.load(overrides, environ={}, config=config)  # noqa: E731  # as `serve` reads them
    sample = short(**{"search.strategy": inference_pb2.STRATEGY_SAMPLE})

    async def scenario() -> None:
        async with serving(runtime, load_settings=load) as (_, inference, control):
            assert (await denied(inference.Generate(sample))).code() == grpc.StatusCode.PERMISSION_DENIED
            config.write_text('allowed_strategies = "inferenceguard,sample"\nhost = "0.0.0.0"\n')
            done = await control.Reload(control_pb2.ReloadRequest())
            assert done.ok and list(done.needs_restart) == ["host"]
            reply = await inference.Generate(sample)
            assert reply.finish.reason != safety_pb2.FINISH_REASON_UNSPECIFIED

    asyncio.run(scenario())


def test_an_allowed_policy_that_cannot_load_stops_the_start(lm: LanguageModel) -> None:
    """Every policy a caller may use is loaded before the server serves: none is built on a request."""
    runtime = tiny_runtime(lm, FuzzPlugin(), allowed_policies="no-five-six,broken")
    with pytest.raises(PolicyLoadError, match="broken"):
        asyncio.run(build_server(runtime.settings, runtime))


def test_the_ad_hoc_critic_is_loaded_once_not_per_request(
    lm: LanguageModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = export_training_critic(tmp_path / "critic.onnx", lm.hidden_size)
    loads: list[Path] = []

    class CountedCritic(OnnxCritic):
        def __init__(self, source: Path) -> None:
            loads.append(source)
            super().__init__(source)

    monkeypatch.setattr("inferenceguard.service.runtime.OnnxCritic", CountedCritic)

    async def scenario() -> None:
        async with serving(tiny_runtime(lm, critic=str(path))) as (_, inference, _control):
            for _ in range(3):
                reply = await inference.Generate(short())
                assert reply.finish.usage.critic_evaluations > 0

    asyncio.run(scenario())
    assert loads == [path]
