"""API key, TLS and mutual TLS, with certificates made inside the test."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.server import build_server, drain
from inferenceguard.v1 import control_pb2, control_pb2_grpc
from tests.server_helpers import serving, tiny_runtime

INFO = control_pb2.GetServerInfoRequest()


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA."""
    p = {name: folder / name for name in ("ca.key", "ca.pem", "server.key", "server.pem", "client.key", "client.pem")}
    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        str(p["ca.key"]),
        "-out",
        str(p["ca.pem"]),
    )
    ext = folder / "san.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for who in ("server", "client"):
        csr = folder / f"{who}.csr"
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            f"/CN={who}",
            "-keyout",
            str(p[f"{who}.key"]),
            "-out",
            str(csr),
        )
        openssl(
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(p["ca.pem"]),
            "-CAkey",
            str(p["ca.key"]),
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            str(p[f"{who}.pem"]),
            "-extfile",
            str(ext),
        )
    return p


def test_api_key_is_required_except_for_health(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm, api_key="s3cret")) as (running, _inference, control):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await control.GetServerInfo(INFO)
            with pytest.raises(grpc.aio.AioRpcError) as wrong:
                await control.GetServerInfo(INFO, metadata=(("authorization", "Bearer nope"),))
            ok = await control.GetServerInfo(INFO, metadata=(("authorization", "Bearer s3cret"),))
            channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
            health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
            await channel.close()
        assert missing.value.code() == wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert ok.model_id == "tiny-llama" and health.status == health_pb2.HealthCheckResponse.SERVING

    asyncio.run(scenario())


@pytest.mark.parametrize("mutual", [False, True])
def test_tls_and_mutual_tls(lm: LanguageModel, tmp_path: Path, mutual: bool) -> None:
    pki = make_pki(tmp_path)
    settings = {"tls_cert": str(pki["server.pem"]), "tls_key": str(pki["server.key"])}
    if mutual:
        settings["tls_client_ca"] = str(pki["ca.pem"])
    runtime = tiny_runtime(lm, **settings)

    async def call(credentials: grpc.ChannelCredentials, port: int) -> grpc.StatusCode:
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
            try:
                await control_pb2_grpc.ControlServiceStub(channel).GetServerInfo(INFO, timeout=5)
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                return exc.code()

    async def scenario() -> None:
        running = await build_server(runtime.settings, runtime)
        try:
            roots = pki["ca.pem"].read_bytes()
            anonymous = grpc.ssl_channel_credentials(root_certificates=roots)
            with_cert = grpc.ssl_channel_credentials(
                roots, pki["client.key"].read_bytes(), pki["client.pem"].read_bytes()
            )
            assert await call(with_cert, running.port) == grpc.StatusCode.OK
            assert (await call(anonymous, running.port) == grpc.StatusCode.OK) is not mutual
            untrusted = grpc.ssl_channel_credentials(root_certificates=pki["client.pem"].read_bytes())
            assert await call(untrusted, running.port) == grpc.StatusCode.UNAVAILABLE
        finally:
            await drain(running, 0.5)

    asyncio.run(scenario())
