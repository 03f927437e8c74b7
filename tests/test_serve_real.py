"""`inferenceguard serve` as a user starts it: the embedded default model and policy, no configuration."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest

from inferenceguard.v1 import inference_pb2, inference_pb2_grpc, safety_pb2
from tests.test_cli import cli

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_reports_ready_answers_and_stops_on_sigterm() -> None:
    port, metrics_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "inferenceguard.service",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--drain-delay-s",
        "0.5",
        "--graceful-shutdown-s",
        "1",
    ]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 300
        while "ready" not in (line := server.stdout.readline()):
            assert line and time.monotonic() < deadline, "the server did not become ready"
        assert cli("health", "--server", f"127.0.0.1:{port}").returncode == 0
        request = inference_pb2.GenerateRequest(prompt="What is the capital of France?")
        request.sampling.seed, request.stopping.max_new_tokens, request.search.num_candidates = 0, 24, 4
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            reply = inference_pb2_grpc.InferenceServiceStub(channel).Generate(request, timeout=300)
        assert reply.finish.text and reply.finish.safety.policies[0].id == "harm"
        remote = cli(
            "generate",
            "--server",
            f"127.0.0.1:{port}",
            "--json",
            "--seed",
            "0",
            "--max-new-tokens",
            "24",
            "--num-candidates",
            "4",
            "What is the capital of France?",
        )
        assert remote.returncode == 0, remote.stderr
        answer = json.loads(remote.stdout.splitlines()[-1])
        assert answer["text"] == reply.finish.text and answer["policies"] == ["harm"]
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        assert "inferenceguard_safety_decisions_total{action=" in metrics and "France" not in metrics
        server.send_signal(signal.SIGHUP)  # a live reload: the server keeps serving, and counts it
        reloaded = 'inferenceguard_reloads_total{result="success"} 1.0'
        deadline = time.monotonic() + 120
        while (
            reloaded
            not in urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        ):
            assert time.monotonic() < deadline and server.poll() is None, "SIGHUP did not reload"
            time.sleep(0.5)
        assert cli("health", "--server", f"127.0.0.1:{port}").returncode == 0
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:  # SIGTERM mid-stream: the drain
            essay = inference_pb2.GenerateRequest(prompt="Write a long essay on the history of bread.")
            essay.sampling.seed, essay.stopping.max_new_tokens, essay.search.num_candidates = 0, 1000, 4
            stream = inference_pb2_grpc.InferenceServiceStub(channel).GenerateStream(essay, timeout=300)
            messages = [next(stream), next(stream)]  # the start and the first checked chunk
            server.send_signal(signal.SIGTERM)
            messages += list(stream)
        finish = messages[-1].finish
        assert finish.reason == safety_pb2.FINISH_REASON_SHUTDOWN, finish
        assert "".join(m.chunk.text for m in messages) and finish.usage.completion_tokens > 0
        assert server.wait(timeout=60) == 0
        assert cli("health", "--server", f"127.0.0.1:{port}", "--timeout", "1").returncode == 1
    finally:
        server.kill()
