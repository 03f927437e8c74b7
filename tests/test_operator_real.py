"""The operator's control on the real default model: the floor refuses an unguarded strategy and a huge budget,
two tenants are held to different policies on one server, and a reload mid-stream changes only new requests."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import grpc
import pytest

from inferenceguard.service.tenants import hash_key
from inferenceguard.v1 import control_pb2, inference_pb2
from tests.real import real_runtime
from tests.server_helpers import serving
from tests.test_tenant_server import read_all

pytestmark = pytest.mark.slow
CHAT, FORUM = (("authorization", "Bearer chat-key"),), (("authorization", "Bearer forum-key"),)


def write_tenants(path: Path, chat_policy: str) -> None:
    path.write_text(f"""
[tenants.chat]
api_key_hashes = ["{hash_key("chat-key")}"]
default_policies = ["{chat_policy}"]
allowed_policies = ["harm", "toxicity"]
operator = true

[tenants.forum]
api_key_hashes = ["{hash_key("forum-key")}"]
default_policies = ["toxicity"]
""")


def question(
    tokens: int = 16, prompt: str = "What is the capital of France?", **search: object
) -> inference_pb2.GenerateRequest:
    message = inference_pb2.GenerateRequest(prompt=prompt)
    message.sampling.seed, message.stopping.max_new_tokens, message.search.num_candidates = 0, tokens, 4
    for name, value in search.items():
        target, _, field = name.rpartition(".")
        setattr(getattr(message, target), field, value)
    return message


def policies(reply: inference_pb2.GenerateResponse) -> list[str]:
    return [p.id for p in reply.finish.safety.policies]


def test_floor_tenants_and_a_reload_mid_stream_on_the_default_model(tmp_path: Path) -> None:
    path = tmp_path / "tenants.toml"
    write_tenants(path, chat_policy="harm")
    real = real_runtime()
    settings = dataclasses.replace(
        real.settings, host="127.0.0.1", grpc_port=0, tenants_file=str(path), allow_insecure=True
    )
    runtime = dataclasses.replace(real, settings=settings)

    async def scenario() -> None:
        async with serving(runtime) as (running, inference, control):
            for search in ({"search.strategy": inference_pb2.STRATEGY_SAMPLE}, {"safety.budget": 1e300}):
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await inference.Generate(question(**search), metadata=CHAT)
                assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
                assert caught.value.details().startswith(next(iter(search)).split(".")[0])
            assert policies(await inference.Generate(question(), metadata=CHAT)) == ["harm"]
            assert policies(await inference.Generate(question(), metadata=FORUM)) == ["toxicity"]
            # an answer that runs its full length, so that the reload lands while the stream is still running
            long_answer = question(tokens=128, prompt="Write a long story about a lighthouse keeper and the sea.")
            stream = inference.GenerateStream(long_answer, metadata=CHAT)
            first = await stream.read()
            write_tenants(path, chat_policy="toxicity")
            reloaded = await control.Reload(control_pb2.ReloadRequest(), metadata=CHAT)
            assert reloaded.ok and reloaded.config_version == 2 and len(running.inflight) == 1
            rest = await read_all(stream)
            assert [p.id for p in first.start.policies] == policies(rest[-1]) == ["harm"]
            assert policies(await inference.Generate(question(), metadata=CHAT)) == ["toxicity"]

    asyncio.run(scenario())
