"""`bench service` on the tiny model: both paths give the same text, every level completes its requests."""

from __future__ import annotations

from inferenceguard.bench.batching_bench import bench_service, format_report
from inferenceguard.service.engine import LanguageModel, SearchOptions
from tests.server_helpers import tiny_runtime


def test_service_bench_compares_the_same_requests(lm: LanguageModel) -> None:
    options = SearchOptions(strategy="inferenceguard", num_candidates=4, num_beams=2, block_tokens=2, max_new_tokens=6)
    report = bench_service(tiny_runtime(lm), options, rounds=1, levels=[1, 3], requests=4, dev_mix=["w5 w6"])
    assert report["same_text"] == 1.0
    assert report["ratio_grpc_over_inprocess"] > 0
    rows = report["batching"]
    assert [(r["workload"], r["mode"], r["clients"]) for r in rows] == [
        ("easy", "unbatched", 1), ("easy", "batched", 1), ("easy", "batched", 3), ("easy", "unbatched", 3),
        ("dev_mix", "unbatched", 1), ("dev_mix", "batched", 1), ("dev_mix", "batched", 3), ("dev_mix", "unbatched", 3),
    ]  # fmt: skip
    assert all(r["requests"] == 4 and r["tokens_per_s"] > 0 and r["response_tokens"] > 0 for r in rows)
    assert report["throughput_ratio_batched_over_unbatched_3"] > 0
    assert report["throughput_ratio_batched_over_unbatched_3_dev_mix"] > 0
    assert 0 < report["ttft_fraction"] <= 1
    kv = report["kv"]
    assert kv["prompt_kv_ratio"] == options.num_candidates  # N copies of the prompt, then one
    assert kv["peak_kv_bytes_per_request"]["batched"] < kv["peak_kv_bytes_per_request"]["unbatched"]
    lines: list[str] = []
    format_report(report, lines.append)
    assert any("gRPC / in-process" in line for line in lines)
    assert any("batched / unbatched" in line for line in lines)
