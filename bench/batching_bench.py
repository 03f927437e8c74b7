"""Batching on and off side by side, the part of `inferenceguard bench service` that measures the scheduler.

Two engines share one model and one policy set: one batches concurrent searches (the scheduler), the other runs
each search on its own thread. For every workload and concurrency level each gets the same requests with the same
seeds on a loopback server of its own, one after the other, alternating which goes first. KV bytes are measured on
the caches themselves: the prompt's KV of one request's N children right after the prefill, and the most a whole
request held (Usage.kv_bytes_peak)."""

from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Any

import torch

from inferenceguard.bench.service_bench import (
    PROMPTS,
    LoopbackServer,
    format_table,
    on_own_thread,
    run_service_bench,
    throughput,
)
from inferenceguard.service.engine import Engine, GenerationResult, SearchOptions
from inferenceguard.service.engine.lm import LanguageModel, kv_bytes
from inferenceguard.service.runtime import Runtime

MODES = ("unbatched", "batched")


def bench_service(
    runtime: Runtime, options: SearchOptions, rounds: int, levels: list[int], requests: int, dev_mix: list[str]
) -> dict[str, Any]:
    """`inferenceguard bench service`: gRPC against in-process, then batching on and off on the easy prompts and,
    when given, a dev mix."""
    report = run_service_bench(runtime, options, rounds)
    workloads = {"easy": list(PROMPTS), **({"dev_mix": dev_mix} if dev_mix else {})}
    return report | compare_batching(runtime, options, levels, requests, workloads)


def format_report(report: dict[str, Any], write: Any) -> None:
    format_table(report, write)
    format_batching(report, write)


def runtimes_of(runtime: Runtime) -> dict[str, Runtime]:
    """The runtime twice, sharing its model and policies: once with a batching engine and once without."""
    made = {}
    for mode in MODES:
        on = mode == "batched"
        engine = Engine(runtime.lm, runtime.engine.default_guard, runtime.settings.scorer_timeout_s, batching=on)
        made[mode] = replace(runtime, settings=replace(runtime.settings, batching=on), engine=engine)
    return made


def compare_batching(
    runtime: Runtime, options: SearchOptions, levels: list[int], requests: int, workloads: dict[str, list[str]]
) -> dict[str, Any]:
    runtimes = runtimes_of(runtime)
    rows = []
    for name, prompts in workloads.items():
        for index, clients in enumerate(levels):
            for mode in MODES if index % 2 == 0 else MODES[::-1]:
                label = f"{name}, {mode}, "
                row = _measured(runtimes[mode], options, clients, max(clients, requests), prompts, label)
                rows.append({"workload": name, "mode": mode, **row})
    early = options.with_updates(commit_lag_blocks=0)
    lag0 = _measured(runtimes["batched"], early, 1, requests, workloads["easy"], "easy, batched, L = 0, ")
    report: dict[str, Any] = {"batching": rows, "kv": on_own_thread(kv_report, runtimes, options)}
    for name in workloads:
        key = "" if name == "easy" else f"_{name}"
        for clients in levels:
            report[f"throughput_ratio_batched_over_unbatched_{clients}{key}"] = _ratio(rows, name, clients)
    report["ttft_fraction"] = _row(rows, "easy", "batched", min(levels))["ttft_fraction"]
    report["ttft_fraction_lag0"] = lag0["ttft_fraction"]
    report["lag0"] = lag0
    return report


def _measured(
    runtime: Runtime, options: SearchOptions, clients: int, requests: int, prompts: list[str], label: str
) -> dict[str, Any]:
    """One level on a server of its own, closed afterwards: the other mode's server must not be alive, idle threads
    included, while this one is measured (see service_bench.on_own_thread)."""
    server = LoopbackServer(runtime)
    try:
        return throughput(server, options, clients, requests, prompts, label)
    finally:
        server.close()


def kv_report(runtimes: dict[str, Runtime], options: SearchOptions) -> dict[str, Any]:
    lm = runtimes["batched"].lm
    ids = lm.encode_prompt(PROMPTS[0])
    children = torch.zeros(options.num_candidates, dtype=torch.long)
    unbatched = kv_bytes([LanguageModel.select_rows(lm.prefill(ids)[0], children)])
    batched = kv_bytes([LanguageModel.select_rows(lm.prefill_shared(ids)[0], children)])
    peaks = {mode: _peak(made, options) for mode, made in runtimes.items()}
    return {
        "prompt_tokens": len(ids),
        "prompt_kv_bytes_per_request": {"unbatched": unbatched, "batched": batched},
        "prompt_kv_ratio": unbatched / batched,
        "peak_kv_bytes_per_request": peaks,
        "peak_kv_ratio": peaks["unbatched"] / peaks["batched"],
    }


def _peak(runtime: Runtime, options: SearchOptions) -> int:
    peaks = []
    for prompt in PROMPTS:
        for event in runtime.engine.generate(prompt, options, guard=runtime.guard()):
            if isinstance(event, GenerationResult):
                peaks.append(event.usage.kv_bytes_peak)
    return int(statistics.mean(peaks))


def _row(rows: list[dict[str, Any]], workload: str, mode: str, clients: int) -> dict[str, Any]:
    return next(r for r in rows if r["workload"] == workload and r["mode"] == mode and r["clients"] == clients)


def _ratio(rows: list[dict[str, Any]], workload: str, clients: int) -> float:
    batched, unbatched = (_row(rows, workload, mode, clients)["tokens_per_s"] for mode in ("batched", "unbatched"))
    return float(batched / unbatched)


def format_batching(report: dict[str, Any], write: Any) -> None:
    heads = ("clients", 8), ("tokens/s", 10), ("req/s", 8), ("s/resp", 8), ("1st chunk s", 12), ("ttft frac", 10)
    write(f"{'workload':<10}{'mode':<11}" + "".join(f"{name:>{width}}" for name, width in heads))
    for r in report["batching"]:
        write(
            f"{r['workload']:<10}{r['mode']:<11}{r['clients']:>8}{r['tokens_per_s']:>10.2f}{r['requests_per_s']:>8.3f}"
            f"{r['seconds_per_response']:>8.2f}{r['first_chunk_s']:>12.2f}{r['ttft_fraction']:>10.2f}"
        )
    kv = report["kv"]
    write(f"prompt KV per request (N children): {kv['prompt_kv_bytes_per_request']}, ratio {kv['prompt_kv_ratio']:.1f}")
    write(f"peak KV per request: {kv['peak_kv_bytes_per_request']}, ratio {kv['peak_kv_ratio']:.2f}")
    ratios = {k: round(v, 2) for k, v in report.items() if k.startswith("throughput_ratio")}
    write(f"batched / unbatched tokens/s: {ratios}")
    fractions = report["ttft_fraction"], report["ttft_fraction_lag0"]
    write("ttft_fraction (batched, 1 client): {:.2f}; with L = 0: {:.2f}".format(*fractions))
