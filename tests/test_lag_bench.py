"""`bench lag` on the tiny model: every L runs on the same prompts, and the report says when the first chunk came."""

from __future__ import annotations

import pytest

from inferenceguard.bench import lag_bench
from inferenceguard.bench.lag_bench import format_table, run_lag_bench
from inferenceguard.prompts.catalog import PromptRecord
from inferenceguard.service.engine import LanguageModel, SearchOptions
from tests.server_helpers import tiny_runtime


def test_every_lag_runs_on_the_same_dev_prompts(lm: LanguageModel, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_dev(runtime: object, label: str, limit: int) -> list[PromptRecord]:
        return [PromptRecord(f"{label}-{i}", "test", f"w{i + 1} w2 w3", label) for i in range(limit)]

    monkeypatch.setattr(lag_bench, "dev_prompts", fake_dev)
    options = SearchOptions(num_candidates=6, num_beams=3, block_tokens=2, max_new_tokens=8)
    report = run_lag_bench(tiny_runtime(lm), harmful=2, benign=2, options=options, seed=0)
    assert list(report["methods"]) == ["never", "L=2", "L=1", "L=0"]
    for row in report["methods"].values():
        assert 0 < row["ttft_fraction"] <= 1 and row["first_chunk_s"] <= row["seconds"]
        assert row["within_budget"] == 1.0  # dropping beams never releases text over budget: it fails closed
    lines: list[str] = []
    format_table(report, lines.append)
    assert any(line.startswith("| L=0 |") for line in lines)
