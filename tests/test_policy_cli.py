"""`inferenceguard plugins` and `inferenceguard policies ...`: offline, no model load."""

from __future__ import annotations

import json
from pathlib import Path

from tests.onnx_helpers import critic_manifest
from tests.test_cli import cli


def test_plugins_lists_the_builtin_plugin_and_its_registrations() -> None:
    done = cli("plugins", "--json")
    assert done.returncode == 0, done.stderr
    (builtin,) = [row for row in json.loads(done.stdout) if row["name"] == "builtin"]
    assert {"cost_function:toxicity", "cost_function:harm", "reward_function:relevance", "policy:harm"} <= set(
        builtin["registers"]
    )


def test_policies_list_and_show() -> None:
    listing = cli("policies", "list", "--json")
    assert listing.returncode == 0
    ids = {row["id"] for row in json.loads(listing.stdout)}
    assert {"harm", "toxicity", "lexicon"} <= ids
    shown = cli("policies", "show", "toxicity")
    assert json.loads(shown.stdout)["cost_functions"] == {"toxicity": 0.5}


def test_show_an_unknown_policy_exits_2() -> None:
    done = cli("policies", "show", "nope")
    assert done.returncode == 2 and "policy 'nope' is not registered; known policies: harm" in done.stderr


def test_validate_reports_each_file(tmp_path: Path) -> None:
    good = critic_manifest(tmp_path, 32)
    (tmp_path / "bad").mkdir()
    bad = critic_manifest(tmp_path / "bad", 32, sha256="1" * 64)
    done = cli("policies", "validate", str(good), str(bad))
    assert done.returncode == 1
    assert f"ok      {good}" in done.stdout and f"FAILED  {bad}: sha256:" in done.stdout
    assert "Traceback" not in done.stderr


def test_validate_the_shipped_models() -> None:
    done = cli("policies", "validate")
    assert done.returncode == 0, done.stdout
