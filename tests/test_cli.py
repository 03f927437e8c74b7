"""The `inferenceguard` command as a user runs it: a real process, exit codes, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.onnx_helpers import export_critic


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferenceguard.service", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--num-candidates", "0"], "num_candidates: must be in 1..1024, got 0"),
        (["--num-candidates", "4", "--num-beams", "8"], "num_beams: must not exceed num_candidates (4), got 8"),
        (["--block-tokens", "0"], "block_tokens: must be at least 1, got 0"),
        (["--temperature", "-1"], "temperature: must be a finite number >= 0"),
        (["--strategy", "nucleus"], "strategy: must be one of sample, best_of_n, beam, args, inferenceguard"),
    ],
)
def test_bad_options_exit_2_with_the_field_and_the_limit(flags: list[str], message: str) -> None:
    done = cli("generate", "hello", *flags)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_empty_prompt_exits_2() -> None:
    done = cli("generate", "  ")
    assert done.returncode == 2 and "prompt: must not be empty" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_json_output_on_the_real_model() -> None:
    done = cli(
        "generate",
        "What is the capital of France?",
        "--json",
        "--seed",
        "0",
        "--num-candidates",
        "4",
        "--block-tokens",
        "8",
        "--max-new-tokens",
        "24",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key in (
        "text",
        "safe",
        "min_safety_state",
        "cost",
        "reward",
        "finish_reason",
        "new_tokens",
        "seconds",
        "strategy",
    ):
        assert key in result
    assert result["strategy"] == "inferenceguard" and result["seed"] == 0 and "Paris" in result["text"]


@pytest.mark.slow
def test_streaming_output_ends_with_a_summary_line() -> None:
    done = cli("generate", "Say hello.", "--strategy", "sample", "--seed", "1", "--max-new-tokens", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "[sample harm] finish=" in done.stderr and "safe=" in done.stderr


@pytest.mark.slow
def test_prompt_longer_than_the_context_exits_2() -> None:
    done = cli("generate", "word " * 9000)
    assert done.returncode == 2 and "prompt: is " in done.stderr and "context is 8192 tokens" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_critic_for_another_hidden_size_exits_2(tmp_path: Path) -> None:
    critic = export_critic(tmp_path / "other-model.onnx", 64)
    done = cli("--critic", str(critic), "generate", "hello")
    assert done.returncode == 2
    assert "critic: 'other-model' expects hidden size 64 but the model has 576" in done.stderr
