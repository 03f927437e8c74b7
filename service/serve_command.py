"""`inferenceguard serve` (the gRPC server on the embedded default model and policy) and
`inferenceguard health --server HOST:PORT` (exit 0 only when the server is ready)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from inferenceguard.service import probe
from inferenceguard.service.config import Settings


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser("serve", help="run the gRPC server")
    serve.add_argument("--host", help="address to bind (env INFERENCEGUARD_HOST; default 127.0.0.1)")
    serve.add_argument("--port", type=int, dest="grpc_port", help="gRPC port (env INFERENCEGUARD_GRPC_PORT; 50051)")
    serve.add_argument("--max-concurrent-requests", type=int, help="searches at once (default 2)")
    serve.add_argument("--max-queued-requests", type=int, help="queued requests before RESOURCE_EXHAUSTED (32)")
    serve.add_argument("--drain-delay-s", type=float, help="on SIGTERM, seconds not ready before the queue closes (5)")
    serve.add_argument("--graceful-shutdown-s", type=float, help="grace for in-flight streams on SIGTERM (30)")
    serve.add_argument("--api-key", help="require 'authorization: Bearer KEY' (env INFERENCEGUARD_API_KEY)")
    serve.add_argument("--tls-cert", help="PEM certificate chain (env INFERENCEGUARD_TLS_CERT)")
    serve.add_argument("--tls-key", help="PEM private key (env INFERENCEGUARD_TLS_KEY)")
    serve.add_argument("--tls-client-ca", help="require client certificates signed by this CA (mutual TLS)")
    serve.add_argument("--api-key-file", help="read the API key from this file (env INFERENCEGUARD_API_KEY_FILE)")
    serve.add_argument("--tenants-file", help="TOML file of tenants: keys, policies, limits (docs/configuration.md)")
    serve.add_argument("--metrics-port", type=int, help="Prometheus port, 0 = off (env INFERENCEGUARD_METRICS_PORT)")
    serve.add_argument(
        "--batching", action=argparse.BooleanOptionalAction, default=None,
        help="run concurrent searches in one batch (default on; env INFERENCEGUARD_BATCHING)",
    )  # fmt: skip
    flags = (
        "host",
        "grpc_port",
        "metrics_port",
        "max_concurrent_requests",
        "max_queued_requests",
        "batching",
        "drain_delay_s",
        "graceful_shutdown_s",
        "api_key",
        "tls_cert",
        "tls_key",
        "tls_client_ca",
        "api_key_file",
        "tenants_file",
    )
    # A server's request lines are INFO: shown unless the user asks for another level (--log-level etc.).
    serve.set_defaults(handler=run_serve, settings_flags=flags, default_log_level="INFO")
    hash_key = subparsers.add_parser("hash-key", help="print the tenants-file hash of an API key read from stdin")
    hash_key.set_defaults(handler=run_hash_key)
    health = subparsers.add_parser("health", help="exit 0 when the server is ready (TLS and key from the settings)")
    probe.add_arguments(health)
    health.set_defaults(handler=run_health)


def run_serve(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.service.runtime import build_runtime
    from inferenceguard.service.server import serve

    runtime = build_runtime(settings)
    asyncio.run(serve(settings, runtime, getattr(args, "load_settings", None)))
    return 0


def run_health(args: argparse.Namespace, settings: Settings) -> int:
    return probe.check(probe.target(args, settings), args.service, args.timeout, settings)


def run_hash_key(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.service.engine.errors import InvalidOptionError
    from inferenceguard.service.tenants import hash_key

    key = sys.stdin.readline().strip()
    if not key:
        raise InvalidOptionError("stdin", "give the API key on standard input (one line)")
    print(hash_key(key))
    return 0
