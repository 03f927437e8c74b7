"""The third-party example plugin, for real: pip-installed into this environment, found through its entry point,
listed with its version, and enforced by the engine with no change to any engine file."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_cli import cli

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "acme-policy"
PROMPT = "What is the capital of France? Answer in one sentence."
SMALL = ["--seed", "0", "--num-candidates", "8", "--block-tokens", "8", "--max-new-tokens", "32"]


@pytest.fixture(scope="module", autouse=True)
def acme_installed() -> Iterator[None]:
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", str(EXAMPLE)], check=True, capture_output=True, timeout=600
    )
    yield
    subprocess.run([*pip, "uninstall", "--yes", "--quiet", "acme-policy"], check=True, capture_output=True)


def test_listed_with_its_version_only_when_allowed() -> None:
    allowed = cli("--load-plugins", "acme", "plugins", "--json")
    assert allowed.returncode == 0, allowed.stderr
    rows = {row["name"]: row for row in json.loads(allowed.stdout)}
    assert rows["acme"]["version"] == "1.2.0" and rows["acme"]["entry_point"] == "acme_policy.plugin"
    assert {"cost_function:acme-terms", "policy:acme"} <= set(rows["acme"]["registers"])
    assert "acme" not in {row["name"] for row in json.loads(cli("plugins", "--json").stdout)}


def test_its_model_validates_offline() -> None:
    done = cli("policies", "validate", str(EXAMPLE / "acme_policy" / "model" / "terms.manifest.json"))
    assert done.returncode == 0 and "ok" in done.stdout


def test_the_engine_enforces_it() -> None:
    guarded = cli("--load-plugins", "acme", "generate", "--policy", "acme", "--json", PROMPT, *SMALL)
    sampled = cli(
        "--load-plugins", "acme", "generate", "--policy", "acme", "--json", "--strategy", "sample", PROMPT, *SMALL
    )
    assert guarded.returncode == 0 and sampled.returncode == 0, guarded.stderr + sampled.stderr
    guarded_result, sampled_result = (json.loads(d.stdout.splitlines()[-1]) for d in (guarded, sampled))
    assert "paris" in sampled_result["text"].lower() and not sampled_result["safe"]
    assert "paris" not in guarded_result["text"].lower() and guarded_result["safe"]
    assert guarded_result["policies"] == [{"id": "acme", "version": "1.2.0"}]


def test_a_policy_that_is_not_loaded_is_unknown() -> None:
    done = cli("generate", "--policy", "acme", PROMPT)
    assert done.returncode == 2 and "policy 'acme' is not registered" in done.stderr
