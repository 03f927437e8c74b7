"""A real gRPC server on a free port, over the tiny model and a scripted policy."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import torch

from inferenceguard.policies.manager import build_plugin_manager
from inferenceguard.policies.registry import Registry
from inferenceguard.policies.types import LoadContext
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import Engine, LanguageModel
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.server import Server, build_server, drain, warm_up_and_serve
from inferenceguard.v1 import control_pb2_grpc, inference_pb2_grpc
from tests.test_plugins import WordsPlugin


def tiny_runtime(lm: LanguageModel, *extra_plugins: Any, **settings: Any) -> Runtime:
    values: dict[str, Any] = {"default_policy": "no-five-six", "grpc_port": 0, "host": "127.0.0.1"}
    values |= {"min_block_tokens": 1, "max_retries_limit": 16}  # the tiny model's tests use small blocks
    config = Settings.load(values | settings, environ={})
    plugins = build_plugin_manager()
    plugins.manager.register(WordsPlugin(), name="words")
    for index, plugin in enumerate(extra_plugins):
        plugins.manager.register(plugin, name=f"extra-{index}")
    registry = Registry(plugins, LoadContext(home=Path("/nonexistent"), lm_id=lm.model_id, hidden_size=lm.hidden_size))
    engine = Engine(lm, scorer_timeout_s=config.scorer_timeout_s, batching=config.batching)
    runtime = Runtime(config, lm, registry, engine)
    runtime.engine.default_guard = runtime.guard()
    return runtime


@contextlib.asynccontextmanager
async def serving(
    runtime: Runtime,
    ready: bool = True,
    load_settings: Callable[[], Settings] | None = None,
    secure: Path | None = None,
) -> AsyncIterator[tuple[Server, Any, Any]]:
    """A started server and stubs on a channel to it (TLS trusting the CA file `secure`, when given)."""
    running = await build_server(runtime.settings, runtime, load_settings=load_settings)
    if ready:
        await warm_up_and_serve(running, runtime)
    target = f"127.0.0.1:{running.port}"
    roots = grpc.ssl_channel_credentials(secure.read_bytes()) if secure else None
    channel = grpc.aio.secure_channel(target, roots) if roots else grpc.aio.insecure_channel(target)
    try:
        yield running, inference_pb2_grpc.InferenceServiceStub(channel), control_pb2_grpc.ControlServiceStub(channel)
    finally:
        await channel.close()
        await drain(running, 1.0)


@contextlib.contextmanager
def single_torch_thread() -> Iterator[None]:
    """Tiny matrices gain nothing from a second intra-op thread, and on a busy CI host each op would wait for it
    to be scheduled (measured: a 20 ms request took 2 s); the previous count is restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
