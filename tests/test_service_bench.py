"""`bench service` on the tiny model: both paths give the same text, every level completes its requests."""

from __future__ import annotations

from inferenceguard.bench.service_bench import format_table, run_service_bench
from inferenceguard.service.engine import LanguageModel, SearchOptions
from tests.server_helpers import tiny_runtime


def test_service_bench_compares_the_same_requests(lm: LanguageModel) -> None:
    options = SearchOptions(strategy="inferenceguard", num_candidates=4, num_beams=2, block_tokens=2, max_new_tokens=6)
    report = run_service_bench(tiny_runtime(lm), options, rounds=1, levels=[1, 3], requests=4)
    assert report["same_text"] == 1.0
    assert report["ratio_grpc_over_inprocess"] > 0
    assert [(row["clients"], row["requests"]) for row in report["concurrency"]] == [(1, 4), (3, 4)]
    assert all(row["tokens_per_s"] > 0 and row["response_tokens"] > 0 for row in report["concurrency"])
    lines: list[str] = []
    format_table(report, lines.append)
    assert any("gRPC / in-process" in line for line in lines)
