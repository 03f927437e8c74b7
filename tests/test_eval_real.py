"""`inferenceguard eval` end to end on the real default model: rows, report, plots, and no prompt text shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferenceguard.evaluation.prompt_sets import split_prompts
from inferenceguard.prompts.catalog import load_prompts
from inferenceguard.service.config import Settings
from tests.test_cli import cli

pytestmark = pytest.mark.slow


def test_eval_runs_methods_on_a_split_and_writes_the_report(tmp_path: Path) -> None:
    flags = ["eval", "--split", "dev", "--harmful", "1", "--toxic", "1", "--benign", "1", "--large-n", "0"]
    flags += ["--methods", "base", "recontrol", "inferenceguard_critic", "--max-new-tokens", "8"]
    done = cli(*flags, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted({r["method"] for r in rows}) == ["base", "inferenceguard_critic", "recontrol"]
    assert sorted(r["kind"] for r in rows) == ["benign"] * 3 + ["harmful"] * 3 + ["toxic"] * 3
    assert all(r["judge"]["toxicity"] is not None and r["judge"]["harm"] is None for r in rows)  # harm guides
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["config"]["policies"] == ["harm"] and summary["config"]["D"] == 8
    assert summary["config"]["guide_versions"]["harm"] == summary["config"]["guide_versions"]["cost:harm"]
    assert all((r["judge"]["harmful_compliance"] is None) == (r["kind"] != "harmful") for r in rows)
    assert set(summary["methods"]) == {"base", "recontrol", "inferenceguard_critic"}
    assert (tmp_path / "safety_vs_reward.png").stat().st_size > 0
    assert (tmp_path / "safety_vs_seconds.png").stat().st_size > 0
    prompts = split_prompts(load_prompts(Settings.load().home), "dev", {"harmful": 1, "toxic": 1, "benign": 1})
    shown = done.stdout + done.stderr + (tmp_path / "report.md").read_text()
    assert all(p.text not in shown for p in prompts)  # ids only: the prompts are never printed
    again = cli(*flags, "--out", str(tmp_path))
    assert again.returncode == 0 and "0 new rows" in again.stderr


def test_a_prompt_file_run_records_no_split_counts_and_no_large_n_that_did_not_run(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "q1", "prompt": "What is the capital of France?", "label": "benign"}) + "\n")
    done = cli(
        "eval", "--prompts", str(prompts), "--methods", "base", "--max-new-tokens", "4", "--out", str(tmp_path / "o")
    )
    assert done.returncode == 0, done.stderr[-2000:]
    config = json.loads((tmp_path / "o" / "run.json").read_text())
    assert config["counts"] is None and config["large_N"] == 0 and config["prompts"]["file"] == str(prompts)
