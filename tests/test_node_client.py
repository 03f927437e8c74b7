"""The Node.js client in clients/node against a live server, and `buf lint` over proto/.

CI installs node_modules (`make install` runs `npm ci`), so a missing node or node_modules fails, never skips.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from inferenceguard.service.client import Client
from inferenceguard.service.engine import LanguageModel
from inferenceguard.service.runtime import Runtime
from inferenceguard.v1 import safety_pb2
from tests.real import real_runtime
from tests.server_helpers import serving, tiny_runtime
from tests.test_security import tls_server_with_key_file

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = ROOT / "clients" / "node"


def installed(path: str | Path | None, what: str) -> str:
    if path is None or not Path(path).exists():
        pytest.fail(f"{what} is missing: install Node.js 20+ and run `npm ci` in clients/node (`make install` does)")
    return str(path)


def test_buf_lint_passes_on_the_protos() -> None:
    buf = installed(NODE_CLIENT / "node_modules" / ".bin" / "buf", "buf")
    result = subprocess.run([buf, "lint"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


async def stream_with_node(port: int, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Runs stream.js as a subprocess of the event loop that also runs the server."""
    node = installed(shutil.which("node"), "node")
    installed(NODE_CLIENT / "node_modules" / "@grpc" / "grpc-js", "clients/node/node_modules")
    process = await asyncio.create_subprocess_exec(
        node,
        str(NODE_CLIENT / "stream.js"),
        "--server",
        f"127.0.0.1:{port}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def check_same_answer(
    runtime: Runtime, prompt: str, seed: int, tokens: int, env: dict[str, str] | None = None, ca: Path | None = None
) -> dict[str, Any]:
    """The Node client's streamed answer equals the Python stub's Generate for the same request and seed."""
    key = runtime.settings.api_key
    async with serving(runtime, secure=ca) as (running, inference, _):
        code, stdout, stderr = await stream_with_node(
            running.port, "--seed", str(seed), "--max-new-tokens", str(tokens), prompt, env=env
        )
        metadata = (("authorization", f"Bearer {key}"),) if key else ()
        reply = await inference.Generate(Client.request(prompt, seed=seed, max_new_tokens=tokens), metadata=metadata)
    assert code == 0, stderr
    summary: dict[str, Any] = json.loads(stderr.splitlines()[-1])
    assert stdout == summary["text"] + "\n"
    assert summary["text"] == reply.finish.text
    assert summary["finish_reason"] == safety_pb2.FinishReason.Name(reply.finish.reason).removeprefix("FINISH_REASON_")
    assert summary["finish_reason"] != "UNSPECIFIED"
    assert summary["request_id"] and summary["request_id"] != reply.request_id  # assigned per request
    assert summary["tokens"] == reply.finish.usage.completion_tokens
    assert summary["policies"] == [policy.id for policy in reply.finish.safety.policies]
    assert summary["seed"] == str(seed)
    return summary


def test_node_client_streams_the_answer_that_generate_returns(lm: LanguageModel, tmp_path: Path) -> None:
    """Over TLS, with the CA and the API key taken from the environment and a key file, as a deployment would."""
    runtime, pki, env = tls_server_with_key_file(lm, tmp_path)
    summary = asyncio.run(check_same_answer(runtime, "w1 w2", seed=7, tokens=12, env=env, ca=pki["ca.pem"]))
    assert summary["text"] and summary["policies"] == ["no-five-six"]
    refused = {k: v for k, v in env.items() if k != "INFERENCEGUARD_API_KEY_FILE"}

    async def without_key() -> tuple[int, str, str]:
        async with serving(runtime, secure=pki["ca.pem"]) as (running, _, _control):
            return await stream_with_node(running.port, "w1 w2", env=refused)

    code, _, stderr = asyncio.run(without_key())
    assert code == 1 and ": UNAUTHENTICATED: " in stderr


@pytest.mark.parametrize(
    ("flags", "status", "named"),
    [
        (("--max-new-tokens", "0"), "INVALID_ARGUMENT", "stopping.max_new_tokens"),
        (("--max-new-tokens", "100000"), "INVALID_ARGUMENT", "stopping.max_new_tokens"),
        (("--policy", "no-such-policy"), "NOT_FOUND", "no-such-policy"),
    ],
)
def test_node_client_exits_with_the_status_on_bad_input(
    lm: LanguageModel, flags: tuple[str, ...], status: str, named: str
) -> None:
    async def scenario() -> tuple[int, str, str]:
        async with serving(tiny_runtime(lm)) as (running, _, _control):
            return await stream_with_node(running.port, *flags, "w1 w2")

    code, stdout, stderr = asyncio.run(scenario())
    assert code == 1 and stdout == ""
    assert f": {status}: " in stderr and named in stderr


@pytest.mark.slow
def test_node_client_against_the_real_default_model() -> None:
    real = real_runtime()
    local = dataclasses.replace(real, settings=dataclasses.replace(real.settings, host="127.0.0.1", grpc_port=0))
    summary = asyncio.run(check_same_answer(local, "What is the capital of France?", seed=0, tokens=8))
    assert summary["text"] and summary["policies"] == ["harm"]
