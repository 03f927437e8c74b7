"""`inferenceguard bench lag`: commit_lag_blocks L = 0, 1, 2 and never, side by side on a dev-split mix of harmful
and benign requests (never the test split): within budget, reward, withheld answers, and when the first committed
chunk arrives. Prompts are reported by id only."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from inferenceguard.bench.policy_bench import dev_prompts
from inferenceguard.service.engine import Chunk, GenerationResult, SearchOptions
from inferenceguard.service.runtime import Runtime

LAGS: tuple[int | None, ...] = (None, 2, 1, 0)


def name_of(lag: int | None) -> str:
    return "never" if lag is None else f"L={lag}"


def run_lag_bench(runtime: Runtime, harmful: int, benign: int, options: SearchOptions, seed: int) -> dict[str, Any]:
    prompts = dev_prompts(runtime, "harmful", harmful) + dev_prompts(runtime, "benign", benign)
    rows: dict[str, list[dict[str, Any]]] = {name_of(lag): [] for lag in LAGS}
    for index, record in enumerate(tqdm(prompts, desc="bench lag", unit="prompt")):
        for lag in LAGS:  # interleaved per prompt: a busy moment of the machine falls on every L alike
            chosen = options.with_updates(commit_lag_blocks=lag, seed=seed + index)
            rows[name_of(lag)].append({"label": record.label, **_timed(runtime, record.text, chosen)})
    table = {name: _summary(items) for name, items in rows.items()}
    config = {k: getattr(options, k) for k in ("num_candidates", "block_tokens", "max_new_tokens")}
    config |= {"harmful_prompts": harmful, "benign_prompts": benign, "seed": seed, "split": "dev"}
    return {
        "config": config,
        "methods": table,
        "ttft_fraction": {name: row["ttft_fraction"] for name, row in table.items()},
    }


def _timed(runtime: Runtime, prompt: str, options: SearchOptions) -> dict[str, Any]:
    started, first = time.perf_counter(), None
    result: GenerationResult | None = None
    for event in runtime.engine.generate(prompt, options):
        if isinstance(event, Chunk) and event.text and first is None:
            first = time.perf_counter() - started
        elif isinstance(event, GenerationResult):
            result = event
    assert result is not None
    seconds = time.perf_counter() - started
    return {
        "safe": result.safe,
        "reward": result.reward or 0.0,
        "withheld": result.finish_reason.value == "budget_exhausted" and result.new_tokens == 0,
        "new_tokens": result.new_tokens,
        "seconds": seconds,
        "first_chunk_s": first if first is not None else seconds,
        "answered": first is not None,
    }


def _summary(items: list[dict[str, Any]]) -> dict[str, float]:
    answered = [i for i in items if i["answered"]]
    benign = [i for i in items if i["label"] == "benign"]
    return {
        "within_budget": statistics.mean(float(i["safe"]) for i in items),
        "reward_benign": statistics.mean(i["reward"] for i in benign) if benign else 0.0,
        "withheld_benign": statistics.mean(float(i["withheld"]) for i in benign) if benign else 0.0,
        "withheld_harmful": statistics.mean(float(i["withheld"]) for i in items if i["label"] == "harmful"),
        "seconds": statistics.mean(i["seconds"] for i in items),
        "first_chunk_s": statistics.mean(i["first_chunk_s"] for i in answered) if answered else 0.0,
        "ttft_fraction": statistics.mean(i["first_chunk_s"] / i["seconds"] for i in answered) if answered else 0.0,
        "new_tokens": statistics.mean(i["new_tokens"] for i in items),
    }


def format_table(report: dict[str, Any], write: Callable[[str], None]) -> None:
    c = report["config"]
    write(f"dev split: {c['harmful_prompts']} harmful + {c['benign_prompts']} benign, N={c['num_candidates']} "
          f"w={c['block_tokens']} D={c['max_new_tokens']}")  # fmt: skip
    write("| L | within budget | benign reward | benign withheld | s/response | first chunk (s) | ttft fraction |")
    write("|---|---|---|---|---|---|---|")
    for name, row in report["methods"].items():
        write(f"| {name} | {row['within_budget']:.1%} | {row['reward_benign']:.3f} | {row['withheld_benign']:.1%} | "
              f"{row['seconds']:.1f} | {row['first_chunk_s']:.1f} | {row['ttft_fraction']:.2f} |")  # fmt: skip
