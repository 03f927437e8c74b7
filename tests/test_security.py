"""API key, TLS and mutual TLS, with certificates made inside the test."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from inferenceguard.service.config import Settings
from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.metrics import Metrics
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.server import build_server, drain, serve_metrics
from inferenceguard.v1 import control_pb2, control_pb2_grpc
from tests.server_helpers import serving, tiny_runtime

INFO = control_pb2.GetServerInfoRequest()


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, all signed by the CA."""
    folder.mkdir(parents=True, exist_ok=True)
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


async def call(credentials: grpc.ChannelCredentials, port: int) -> grpc.StatusCode:
    """The status of GetServerInfo over TLS with these credentials (OK when it answers)."""
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        try:
            await control_pb2_grpc.ControlServiceStub(channel).GetServerInfo(INFO, timeout=5)
            return grpc.StatusCode.OK
        except grpc.aio.AioRpcError as exc:
            return exc.code()


def test_api_key_is_required_except_for_health(lm: LanguageModel) -> None:
    async def scenario() -> None:
        async with serving(tiny_runtime(lm, api_key="s3cret", allow_insecure=True)) as (running, _inference, control):
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


def test_a_mutual_tls_server_answers_probes_on_a_plaintext_health_only_port(lm: LanguageModel, tmp_path: Path) -> None:
    """The kubelet's gRPC probe speaks no TLS: health_port answers health alone, in plaintext."""
    pki = make_pki(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        health_port = probe.getsockname()[1]
    tls = {"tls_cert": str(pki["server.pem"]), "tls_key": str(pki["server.key"]), "tls_client_ca": str(pki["ca.pem"])}
    runtime = tiny_runtime(lm, **tls, health_port=health_port)

    async def scenario() -> None:
        running = await build_server(runtime.settings, runtime)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as channel:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""))
                assert reply.status == health_pb2.HealthCheckResponse.SERVING
                with pytest.raises(grpc.aio.AioRpcError) as other:
                    await control_pb2_grpc.ControlServiceStub(channel).GetServerInfo(INFO)
                assert other.value.code() == grpc.StatusCode.UNIMPLEMENTED  # nothing else on that port
        finally:
            await drain(running, 0.5)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"tls_client_ca": "ca.pem"}, "tls_client_ca"),  # would serve plaintext
        ({"tls_cert": "server.pem"}, "tls_key"),
        ({"api_key": "k"}, "api_key"),  # the key would travel in cleartext
    ],
)
def test_a_half_or_insecure_transport_is_refused_at_start(
    lm: LanguageModel, tmp_path: Path, settings: dict[str, str], named: str
) -> None:
    pki = make_pki(tmp_path)
    files = {name: str(pki[value]) if value in pki else value for name, value in settings.items()}
    runtime = tiny_runtime(lm, **files)
    with pytest.raises(InvalidOptionError) as caught:
        asyncio.run(build_server(runtime.settings, runtime))
    assert caught.value.field == named


def test_a_client_certificate_subject_names_a_tenant(lm: LanguageModel, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    tenants = tmp_path / "tenants.toml"
    tenants.write_text('[tenants.backend]\nclient_subjects = ["CN=client"]\nmax_new_tokens = 64\n')
    tls = {"tls_cert": str(pki["server.pem"]), "tls_key": str(pki["server.key"]), "tls_client_ca": str(pki["ca.pem"])}
    runtime = tiny_runtime(lm, tenants_file=str(tenants), **tls)
    credentials = grpc.ssl_channel_credentials(
        pki["ca.pem"].read_bytes(), pki["client.key"].read_bytes(), pki["client.pem"].read_bytes()
    )

    async def scenario() -> None:
        running = await build_server(runtime.settings, runtime)
        try:
            async with grpc.aio.secure_channel(f"127.0.0.1:{running.port}", credentials) as channel:
                info = await control_pb2_grpc.ControlServiceStub(channel).GetServerInfo(INFO, timeout=5)
            assert info.tenant == "backend" and info.limits.max_new_tokens == 64
        finally:
            await drain(running, 0.5)

    asyncio.run(scenario())


def test_certificates_are_replaced_by_a_reload(lm: LanguageModel, tmp_path: Path) -> None:
    first, second = make_pki(tmp_path / "first"), make_pki(tmp_path / "second")
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    cert.write_bytes(first["server.pem"].read_bytes())
    key.write_bytes(first["server.key"].read_bytes())
    runtime = tiny_runtime(lm, tls_cert=str(cert), tls_key=str(key))

    async def status(port: int, ca: Path) -> grpc.StatusCode:
        return await call(grpc.ssl_channel_credentials(root_certificates=ca.read_bytes()), port)

    async def scenario() -> None:
        running = await build_server(runtime.settings, runtime)
        try:
            assert await status(running.port, first["ca.pem"]) == grpc.StatusCode.OK
            cert.write_bytes(second["server.pem"].read_bytes())
            key.write_bytes(second["server.key"].read_bytes())
            assert (await running.reloader.reload()).ok
            assert await status(running.port, second["ca.pem"]) == grpc.StatusCode.OK
            assert await status(running.port, first["ca.pem"]) == grpc.StatusCode.UNAVAILABLE
        finally:
            await drain(running, 0.5)

    asyncio.run(scenario())


def tls_server_with_key_file(lm: LanguageModel, folder: Path) -> tuple[Runtime, dict[str, Path], dict[str, str]]:
    """A TLS server runtime whose API key is read from a file, its PKI, and a client environment that names the CA
    and the same key file (as a container's would)."""
    pki = make_pki(folder)
    key_file = folder / "api-key"
    key_file.write_text("file-key\n")
    tls = {"tls_cert": str(pki["server.pem"]), "tls_key": str(pki["server.key"])}
    runtime = tiny_runtime(lm, api_key_file=str(key_file), **tls)
    env = {**os.environ, "INFERENCEGUARD_TLS_CA": str(pki["ca.pem"]), "INFERENCEGUARD_API_KEY_FILE": str(key_file)}
    return runtime, pki, env


def test_health_and_generate_reach_a_tls_server_with_a_key_from_a_file(lm: LanguageModel, tmp_path: Path) -> None:
    """The probe and `generate --server` take the CA and the key from the environment, as a container's would."""
    runtime, pki, env = tls_server_with_key_file(lm, tmp_path)
    client_env = {**env, "INFERENCEGUARD_TLS_SERVER_NAME": "localhost"}

    async def run(env: dict[str, str], *args: str) -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "inferenceguard.service", *args, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
        return int(process.returncode or 0), out.decode() + err.decode()

    async def scenario() -> None:
        async with serving(runtime, secure=pki["ca.pem"]) as (running, _, _control):
            target = f"127.0.0.1:{running.port}"
            assert (await run(client_env, "health", "--server", target))[0] == 0
            plain = {k: v for k, v in client_env.items() if k != "INFERENCEGUARD_TLS_CA"}
            assert (await run(plain, "health", "--server", target))[0] == 1  # the system roots do not know our CA
            generate = ("generate", "--server", target, "--json", "--max-new-tokens", "4", "w1")
            code, output = await run(client_env, *generate)
            assert code == 0 and '"within_budget": true' in output, output
            no_key = {k: v for k, v in client_env.items() if k != "INFERENCEGUARD_API_KEY_FILE"}
            code, output = await run(no_key, "generate", "--server", target, "--max-new-tokens", "4", "w1")
            assert code != 0 and "UNAUTHENTICATED" in output

    asyncio.run(scenario())


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one (no packet is sent)."""
    candidates = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(("198.51.100.1", 9))  # TEST-NET-2: connect only picks the outgoing interface
        candidates.append(str(probe.getsockname()[0]))
    with contextlib.suppress(OSError):
        candidates += socket.gethostbyname_ex(socket.gethostname())[2]
    return next((a for a in candidates if not ipaddress.ip_address(a).is_loopback), None)


def test_metrics_answer_on_loopback_only_by_default() -> None:
    address = non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback interface to prove the endpoint is not on")
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    settings = Settings.load({"metrics_port": port, "host": "0.0.0.0"}, environ={})  # gRPC on every interface
    server = serve_metrics(settings, Metrics())
    try:
        assert b"inferenceguard_" in urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{address}:{port}/metrics", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
