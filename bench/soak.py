"""`inferenceguard bench soak`: the server under minutes of mixed traffic and faults, every answer checked.

A real `inferenceguard serve` process on loopback with two tenants (API keys, different default policies) takes
several concurrent clients, each sending normal streams, cancels, aborts, short deadlines, bad and oversize
requests (bench/soak_traffic.py). Halfway through, the tenants file changes and SIGHUP reloads it; at the end
SIGTERM drains the server while the clients still send. The report counts answers by kind and status code, the
latency and time to first chunk of normal streams, and the server's RSS over the run.
"""

from __future__ import annotations

import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

from inferenceguard.bench.soak_traffic import KINDS, WEIGHTS, Caller, Outcome, call, request
from inferenceguard.service.channels import BALANCED
from inferenceguard.service.config import Settings
from inferenceguard.service.tenants import hash_key
from inferenceguard.v1 import control_pb2_grpc, inference_pb2_grpc

TENANTS = """
[tenants.alpha]
api_key_hashes = ["{alpha}"]
default_policies = ["harm"]
operator = true

[tenants.beta]
api_key_hashes = ["{beta}"]
default_policies = {beta_policies}
allowed_policies = ["harm", "lexicon"]
"""
CONFIG = """
host = "127.0.0.1"
grpc_port = {port}
metrics_port = {metrics_port}
home = "{home}"
model = "{model}"
threads = {threads}
tenants_file = "{tenants}"
allow_insecure = true
max_concurrent_requests = 2
max_queued_requests = 8
drain_delay_s = 1.0
graceful_shutdown_s = 5.0
log_format = "text"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SoakServer:
    """`inferenceguard serve` in a child process, configured in a temporary folder."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder, self.port, self.metrics_port = folder, free_port(), free_port()
        self.callers = [Caller("alpha", secrets.token_hex(16)), Caller("beta", secrets.token_hex(16))]
        self._write_tenants(["lexicon", "harm"])
        config = folder / "inferenceguard.toml"
        config.write_text(CONFIG.format(
            port=self.port, metrics_port=self.metrics_port, home=settings.home, model=settings.model,
            threads=settings.threads, tenants=folder / "tenants.toml",
        ))  # fmt: skip
        environ = {k: v for k, v in os.environ.items() if not k.startswith("INFERENCEGUARD_")}
        self.log = (folder / "server.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inferenceguard.service", "serve"],
            env=environ | {"INFERENCEGUARD_CONFIG": str(config)},
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self._wait_ready()

    def _write_tenants(self, beta_policies: list[str]) -> None:
        alpha, beta = (hash_key(c.key) for c in self.callers)
        text = TENANTS.format(alpha=alpha, beta=beta, beta_policies=str(beta_policies).replace("'", '"'))
        (self.folder / "tenants.toml").write_text(text)

    def _wait_ready(self, limit_s: float = 900) -> None:
        assert self.process.stdout is not None
        deadline = time.monotonic() + limit_s
        while "ready" not in (line := self.process.stdout.readline()):
            if not line or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not become ready; see {self.folder / 'server.log'}")
        threading.Thread(target=self.process.stdout.read, daemon=True).start()  # keep the pipe drained

    def rss_mib(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else float("nan")

    def reloads(self) -> int:
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).read().decode()
        match = re.search(r'inferenceguard_reloads_total\{result="success"\} (\d+)', text)
        return int(match.group(1)) if match else 0

    def reload(self, limit_s: float = 300) -> bool:
        """Swap beta's default policies and SIGHUP; whether the reload was counted as a success."""
        self._write_tenants(["harm"])
        self.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            if self.reloads() >= 1:
                return True
            time.sleep(1)
        return False

    def stop(self, limit_s: float = 120) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(limit_s)
        finally:
            self.process.kill()
            self.log.close()


def soak_prompts(home: Path, seed: int, count: int = 40) -> list[str]:
    """Train-split prompts, harmful and benign alike (the search must hold both to the budget); never printed."""
    from inferenceguard.prompts.catalog import load_prompts

    train = [r for r in load_prompts(home) if r.split == "train"]
    rng = random.Random(seed)
    harmful, benign = ([r.text for r in train if r.label == label] for label in ("harmful", "benign"))
    return rng.sample(harmful, min(count, len(harmful))) + rng.sample(benign, min(count, len(benign)))


class Clients:
    """`count` clients, each on its own channel, sending until stopped; outcomes collected with their time."""

    def __init__(self, server: SoakServer, prompts: Sequence[str], count: int, seed: int) -> None:
        self.server, self.prompts, self.seed = server, prompts, seed
        self.outcomes: list[tuple[float, Outcome]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(i,), daemon=True) for i in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(120)

    def _client(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        with grpc.insecure_channel(f"127.0.0.1:{self.server.port}", BALANCED) as channel:
            stubs = (inference_pb2_grpc.InferenceServiceStub(channel), control_pb2_grpc.ControlServiceStub(channel))
            sent = 0
            while not self.stopping.is_set():
                kind = rng.choices(KINDS, WEIGHTS)[0]
                caller = self.server.callers[sent % 2]
                message = request(rng, self.prompts, kind, index * 1_000_000 + sent)
                outcome = call(stubs, caller, message, kind, rng)
                with self._lock:
                    self.outcomes.append((time.monotonic(), outcome))
                sent += 1
                if outcome.code in ("UNAVAILABLE", "RESOURCE_EXHAUSTED"):
                    time.sleep(0.2)  # as a client with backoff would


def run_soak(
    settings: Settings, minutes: float, clients: int, seed: int, tick: Callable[[str], None] = lambda _: None
) -> dict[str, Any]:
    from inferenceguard.bench.soak_report import report

    with tempfile.TemporaryDirectory(prefix="inferenceguard-soak-") as folder:
        server = SoakServer(Path(folder), settings)
        try:
            traffic = Clients(server, soak_prompts(settings.home, seed), clients, seed)
            rss = [(time.monotonic(), server.rss_mib())]
            started = time.monotonic()
            traffic.start()
            reloaded = _run_for(server, traffic, minutes * 60, rss, tick)
            terminated_at = time.monotonic()
            exit_code = server.stop()
        finally:
            if server.process.poll() is None:
                server.process.kill()
        traffic.stop()
    return report(traffic.outcomes, rss, started, terminated_at, reloaded, exit_code)


def _run_for(
    server: SoakServer, traffic: Clients, seconds: float, rss: list[tuple[float, float]], tick: Callable[[str], None]
) -> bool:
    """Sample RSS every 5 s; reload halfway. Whether the reload succeeded."""
    started, reloaded, reload_thread = time.monotonic(), [False], None
    while (elapsed := time.monotonic() - started) < seconds:
        time.sleep(min(5.0, seconds - elapsed))
        rss.append((time.monotonic(), server.rss_mib()))
        if reload_thread is None and elapsed >= seconds / 2:
            reload_thread = threading.Thread(target=lambda: reloaded.__setitem__(0, server.reload()), daemon=True)
            reload_thread.start()
        tick(f"{elapsed / 60:.1f} min, {len(traffic.outcomes)} answers, RSS {rss[-1][1]:.0f} MiB")
    if reload_thread is not None:
        reload_thread.join(300)
    return reloaded[0]
