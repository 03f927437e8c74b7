"""Builds and runs the gRPC server: InferenceService, ControlService, health, reflection, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

import grpc
import prometheus_client
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from inferenceguard.service.admission import Admission
from inferenceguard.service.config import Settings
from inferenceguard.service.control import ControlServicer
from inferenceguard.service.engine import SearchOptions
from inferenceguard.service.inflight import InFlight
from inferenceguard.service.interceptors import CredentialsInterceptor
from inferenceguard.service.metrics import Metrics
from inferenceguard.service.probe import READINESS
from inferenceguard.service.reload import Reloader
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.servicer import InferenceServicer
from inferenceguard.service.serving import build_serving, warm
from inferenceguard.service.tenants import load_tenants
from inferenceguard.service.transport import Certificates, check_security, read_certificates
from inferenceguard.service.work import MIB, ModelShape
from inferenceguard.v1 import control_pb2, control_pb2_grpc, inference_pb2, inference_pb2_grpc

log = logging.getLogger(__name__)
FINISH_AFTER_SHUTDOWN_S = 30.0  # a stopped search ends at its next forward pass; a scorer call may be in progress
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
    reloader: Reloader
    health_server: grpc.aio.Server | None = None  # plaintext health only, for probes that cannot speak TLS


async def build_server(
    settings: Settings,
    runtime: Runtime,
    defaults: SearchOptions | None = None,
    load_settings: Callable[[], Settings] | None = None,
) -> Server:
    """A started server on settings.host:settings.grpc_port (port 0 picks a free one), not yet ready.

    Refuses a half or insecure transport configuration; `load_settings` reads the settings again on reload."""
    tenants, tls = load_tenants(settings), read_certificates(settings)
    check_security(settings, tenants, tls)  # before any model is loaded: a misconfiguration fails at once
    serving = build_serving(settings, tenants, runtime, 1, fresh=False)
    certificates = Certificates(tls) if tls else None
    metrics = Metrics()
    reloader = Reloader(serving, runtime, load_settings, metrics, certificates)
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", 10_000),
    ]
    if settings.max_connection_age_s:  # GOAWAY, then the streams on the connection get a whole request's time
        options.append(("grpc.max_connection_age_ms", int(settings.max_connection_age_s * 1000)))
        options.append(("grpc.max_connection_age_grace_ms", int((settings.max_request_seconds + 10) * 1000)))
    interceptors = [CredentialsInterceptor(lambda: reloader.current.tenants)]
    server = grpc.aio.server(options=options, interceptors=interceptors)
    admission = Admission(
        settings.max_concurrent_requests, settings.max_queued_requests, settings.max_kv_cache_mib * MIB
    )
    inflight = InFlight()
    executor = ThreadPoolExecutor(max_workers=settings.max_concurrent_requests, thread_name_prefix="search")
    metrics.running.set_function(lambda: admission.running)
    metrics.waiting.set_function(lambda: admission.waiting)
    metrics.kv_reserved.set_function(lambda: admission.kv_reserved)
    shape = ModelShape.of(runtime.lm, shared_prompt=runtime.engine.scheduler is not None)
    servicer = InferenceServicer(
        runtime, reloader, admission, inflight, executor, defaults or SearchOptions(), metrics, shape
    )
    inference_pb2_grpc.add_InferenceServiceServicer_to_server(servicer, server)
    control_pb2_grpc.add_ControlServiceServicer_to_server(
        ControlServicer(runtime, reloader, inflight, admission), server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        reflection.enable_server_reflection(SERVICE_NAMES, server)
    address = f"{settings.host}:{settings.grpc_port}"
    port = (
        server.add_secure_port(address, certificates.credentials())
        if certificates
        else server.add_insecure_port(address)
    )
    await server.start()
    health_server = await _health_only_server(settings, health_servicer)
    await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)  # liveness
    await health_servicer.set(READINESS, health_pb2.HealthCheckResponse.NOT_SERVING)
    return Server(server, port, health_servicer, inflight, admission, executor, metrics, reloader, health_server)


async def _health_only_server(settings: Settings, servicer: health.aio.HealthServicer) -> grpc.aio.Server | None:
    """grpc.health.v1 alone on health_port, in plaintext: the kubelet's gRPC probe speaks neither TLS nor mTLS,
    and health statuses are all this port tells anyone."""
    if not settings.health_port:
        return None
    server = grpc.aio.server()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    server.add_insecure_port(f"{settings.host}:{settings.health_port}")
    await server.start()
    return server


async def warm_up_and_serve(running: Server, runtime: Runtime) -> None:
    """Every guard a tenant can use runs once (real generations), then readiness = SERVING."""
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(running.executor, warm, running.reloader.current, runtime)
    await running.health.set(READINESS, health_pb2.HealthCheckResponse.SERVING)
    log.info("ready", extra={"port": running.port})


async def drain(running: Server, grace_s: float, delay_s: float = 0.0) -> None:
    """Stop in the order a load balancer needs: readiness NOT_SERVING; `delay_s` during which requests are still
    served while the balancers move traffic away; then queued and new requests are refused with UNAVAILABLE;
    in-flight streams get `grace_s` to finish, after which each ends with its finish message and the text checked
    so far (FinishReason.SHUTDOWN); then the server stops."""
    await running.health.set(READINESS, health_pb2.HealthCheckResponse.NOT_SERVING)
    await asyncio.sleep(delay_s)
    running.admission.close()
    if not await _settled(running.inflight, grace_s):
        ended = running.inflight.shut_down()
        log.info("grace reached: in-flight streams end with their checked text", extra={"streams": ended})
        await _settled(running.inflight, FINISH_AFTER_SHUTDOWN_S)
    await running.health.enter_graceful_shutdown()
    await running.server.stop(1.0)
    if running.health_server is not None:
        await running.health_server.stop(0)
    running.executor.shutdown(wait=False, cancel_futures=True)
    running.reloader.close()


async def _settled(inflight: InFlight, within_s: float) -> bool:
    """Whether every in-flight request ended within `within_s` seconds."""
    deadline = asyncio.get_running_loop().time() + within_s
    while len(inflight):
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def serve_metrics(settings: Settings, metrics: Metrics) -> WSGIServer:
    """Prometheus /metrics on metrics_host (loopback unless configured: the endpoint has no authentication)."""
    server, _thread = prometheus_client.start_http_server(
        settings.metrics_port, addr=settings.metrics_host, registry=metrics.registry
    )
    return server


async def serve(settings: Settings, runtime: Runtime, load_settings: Callable[[], Settings] | None = None) -> None:
    """Serve until SIGTERM or SIGINT; SIGHUP reloads. The console lines on stdout are for people (and scripts that
    wait for "ready"); the same events are logged for log collectors."""
    running = await build_server(settings, runtime, load_settings=load_settings)
    print(f"inferenceguard: listening on {settings.host}:{running.port} (warming up)", flush=True)
    fields = {
        "host": settings.host,
        "port": running.port,
        "metrics": f"{settings.metrics_host}:{settings.metrics_port}",
    }
    log.info("listening, warming up", extra=fields)
    if settings.metrics_port:
        serve_metrics(settings, running.metrics)
        print(f"inferenceguard: metrics on {settings.metrics_host}:{settings.metrics_port}/metrics", flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    reloads: set[asyncio.Task[object]] = set()  # held until done: the loop keeps only weak references

    def reload() -> None:
        task = loop.create_task(running.reloader.reload())
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    await warm_up_and_serve(running, runtime)
    print("inferenceguard: ready", flush=True)
    await stopping.wait()
    delay, grace = settings.drain_delay_s, settings.graceful_shutdown_s
    print(f"inferenceguard: draining (not ready; queue closes in {delay:g} s, then up to {grace:g} s)", flush=True)
    log.info("draining", extra={"delay_s": delay, "grace_s": grace, "in_flight": len(running.inflight)})
    await drain(running, grace, delay)
    print("inferenceguard: stopped", flush=True)
