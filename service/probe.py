"""`inferenceguard health` and `python -m inferenceguard.service.probe`: exit 0 only when the server is ready.

Light on purpose (grpc, no torch), so a container health check can run it every few seconds; TLS, a client
certificate and the API key come from the same settings (environment, config file) as the server's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inferenceguard.service.channels import open_channel
from inferenceguard.service.config import Settings

READINESS = "inferenceguard.v1.InferenceService"  # the service name whose status is readiness


def check(server: str, service: str, timeout: float, settings: Settings) -> int:
    with open_channel(server, settings) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=timeout
            )
        except grpc.RpcError as exc:
            print(f"{server}: {exc.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{server}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="HOST:PORT (default: 127.0.0.1 and the grpc_port setting)")
    parser.add_argument("--service", default=READINESS, help="'' = liveness only")
    parser.add_argument("--timeout", type=float, default=5.0)


def target(args: argparse.Namespace, settings: Settings) -> str:
    return str(args.server or f"127.0.0.1:{settings.grpc_port}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inferenceguard.service.probe", description=__doc__)
    add_arguments(parser)
    args = parser.parse_args(argv)
    settings = Settings.load()
    return check(target(args, settings), args.service, args.timeout, settings)


if __name__ == "__main__":
    sys.exit(main())
