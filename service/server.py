"""Builds and runs the gRPC server: InferenceService, ControlService, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import prometheus_client
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from inferenceguard.service import convert
from inferenceguard.service.admission import Admission
from inferenceguard.service.config import Settings
from inferenceguard.service.control import ControlServicer
from inferenceguard.service.engine import SearchOptions
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.inflight import InFlight
from inferenceguard.service.interceptors import ApiKeyInterceptor
from inferenceguard.service.metrics import Metrics
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.servicer import InferenceServicer
from inferenceguard.v1 import control_pb2, control_pb2_grpc, inference_pb2, inference_pb2_grpc

log = logging.getLogger(__name__)
READINESS = "inferenceguard.v1.InferenceService"
SERVICE_NAMES = (
    inference_pb2.DESCRIPTOR.services_by_name["InferenceService"].full_name,
    control_pb2.DESCRIPTOR.services_by_name["ControlService"].full_name,
    health.SERVICE_NAME,
    reflection.SERVICE_NAME,
)


@dataclass
class Server:
    server: grpc.aio.Server
    port: int
    health: health.aio.HealthServicer
    inflight: InFlight
    admission: Admission
    executor: ThreadPoolExecutor
    metrics: Metrics


async def build_server(settings: Settings, runtime: Runtime, defaults: SearchOptions | None = None) -> Server:
    """A started server on settings.host:settings.grpc_port (port 0 picks a free one), not yet ready."""
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ]
    interceptors = [ApiKeyInterceptor(settings.api_key)] if settings.api_key else []
    server = grpc.aio.server(options=options, interceptors=interceptors)
    limits = convert.Limits(
        max_new_tokens=settings.max_new_tokens_limit, max_num_candidates=settings.max_num_candidates
    )
    admission = Admission(settings.max_concurrent_requests, settings.max_queued_requests)
    inflight = InFlight()
    executor = ThreadPoolExecutor(max_workers=settings.max_concurrent_requests, thread_name_prefix="search")
    metrics = Metrics()
    metrics.running.set_function(lambda: admission.running)
    metrics.waiting.set_function(lambda: admission.waiting)
    servicer = InferenceServicer(
        runtime, admission, inflight, executor, defaults or SearchOptions(), limits, metrics, settings.log_text
    )
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, server)
    control_pb2_grpc.add_ControlServiceServicer_to_server(ControlServicer(runtime, inflight, limits, admission), server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection(SERVICE_NAMES, server)
    address = f"{settings.host}:{settings.grpc_port}"
    credentials = server_credentials(settings)
    port = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    await server.start()
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)  # liveness
    await health_servicer.set(READINESS, health_pb2.HealthCheckResponse.NOT_SERVING)
    return Server(server, port, health_servicer, inflight, admission, executor, metrics)


def server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """TLS from tls_cert and tls_key; mutual TLS when tls_client_ca is also given."""
    if not (settings.tls_cert or settings.tls_key):
        return None
    if not (settings.tls_cert and settings.tls_key):
        raise InvalidOptionError("tls_cert", "TLS needs both tls_cert and tls_key")
    pair = (Path(settings.tls_key).read_bytes(), Path(settings.tls_cert).read_bytes())
    roots = Path(settings.tls_client_ca).read_bytes() if settings.tls_client_ca else None
    return grpc.ssl_server_credentials([pair], root_certificates=roots, require_client_auth=roots is not None)


async def warm_up_and_serve(running: Server, runtime: Runtime) -> None:
    """One real generation, then readiness = SERVING."""
    loop = asyncio.get_running_loop()
    options = SearchOptions(strategy="inferenceguard", num_candidates=2, block_tokens=4, max_new_tokens=4, seed=0)
    await loop.run_in_executor(running.executor, lambda: runtime.engine.run("Say hello.", options))
    await running.health.set(READINESS, health_pb2.HealthCheckResponse.SERVING)
    log.info("ready", extra={"port": running.port})


async def drain(running: Server, grace_s: float) -> None:
    """NOT_SERVING first, then let in-flight streams finish for up to `grace_s` seconds."""
    await running.health.enter_graceful_shutdown()
    await running.server.stop(grace_s)
    running.executor.shutdown(wait=False, cancel_futures=True)


async def serve(settings: Settings, runtime: Runtime) -> None:
    """Serve until SIGTERM or SIGINT. The console lines on stdout are for people (and scripts that wait for
    "ready"); the same events are logged for log collectors."""
    running = await build_server(settings, runtime)
    print(f"inferenceguard: listening on {settings.host}:{running.port} (warming up)", flush=True)
    fields = {"host": settings.host, "port": running.port, "metrics_port": settings.metrics_port}
    log.info("listening, warming up", extra=fields)
    if settings.metrics_port:
        prometheus_client.start_http_server(
            settings.metrics_port, addr=settings.host, registry=running.metrics.registry
        )
        print(f"inferenceguard: metrics on {settings.host}:{settings.metrics_port}/metrics", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await warm_up_and_serve(running, runtime)
    print("inferenceguard: ready", flush=True)
    await stopping.wait()
    print(f"inferenceguard: draining (up to {settings.graceful_shutdown_s:.0f} s)", flush=True)
    log.info("draining", extra={"grace_s": settings.graceful_shutdown_s, "in_flight": len(running.inflight)})
    await drain(running, settings.graceful_shutdown_s)
