"""`inferenceguard bench engine`: the search against plain sampling and the batched-sampling floor, on the
default model, side by side on the same prompts and seeds; methods are interleaved per prompt so that noise
from a shared machine falls on all of them alike."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from inferenceguard.bench.floor import sample_floor
from inferenceguard.service.engine import Engine, SearchOptions

# Benign prompts: the benchmark measures speed on ordinary traffic, where the fallback rarely fires.
PROMPTS = (
    "Explain how photosynthesis works in a few sentences.",
    "Write a short poem about the sea.",
    "Give me three tips for learning a new programming language.",
    "What causes the seasons on Earth?",
)


@dataclass
class MethodStats:
    seconds: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)  # tokens sampled (all candidates)
    new_tokens: list[int] = field(default_factory=list)  # tokens in the returned response
    retries: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        total = sum(self.seconds)
        return {
            "seconds_per_response": statistics.mean(self.seconds),
            "tokens_sampled_per_s": sum(self.tokens) / total if total else 0.0,
            "response_tokens": statistics.mean(self.new_tokens) if self.new_tokens else 0.0,
            "retries": statistics.mean(self.retries) if self.retries else 0.0,
        }


def methods(n: int, k: int, w: int, d: int) -> dict[str, SearchOptions | None]:
    """The methods compared; None marks the floor."""
    shared: dict[str, Any] = {"num_candidates": n, "num_beams": k, "block_tokens": w, "max_new_tokens": d}
    return {
        "sample": SearchOptions(strategy="sample", max_new_tokens=d),
        "floor": None,
        "beam": SearchOptions(strategy="beam", **shared),
        "inferenceguard_no_fallback": SearchOptions(strategy="inferenceguard", max_retries=0, **shared),
        "inferenceguard": SearchOptions(strategy="inferenceguard", **shared),
    }


def run_engine_bench(
    engine: Engine, n: int, k: int, w: int, d: int, rounds: int, seed: int, prompts: Sequence[str] = PROMPTS
) -> dict[str, Any]:
    plan = methods(n, k, w, d)
    stats = {name: MethodStats() for name in plan}
    runs = [(r, i, name) for r in range(rounds) for i in range(len(prompts)) for name in plan]
    for round_index, prompt_index, name in tqdm(runs, desc=f"bench engine N={n}", unit="run"):
        run_seed = seed + 1000 * round_index + prompt_index
        _measure(engine, prompts[prompt_index], plan[name], run_seed, n, d, stats[name])
    table = {name: s.summary() for name, s in stats.items()}
    ig = table["inferenceguard"]["seconds_per_response"]
    return {
        "config": {"N": n, "K": k, "w": w, "D": d, "prompts": len(prompts), "rounds": rounds, "seed": seed},
        "methods": table,
        "ratio_ig_over_sample": ig / table["sample"]["seconds_per_response"],
        "ratio_ig_over_floor": ig / table["floor"]["seconds_per_response"],
        "ratio_ig_no_fallback_over_floor": table["inferenceguard_no_fallback"]["seconds_per_response"]
        / table["floor"]["seconds_per_response"],
        "ratio_beam_over_floor": table["beam"]["seconds_per_response"] / table["floor"]["seconds_per_response"],
    }


def _measure(
    engine: Engine, prompt: str, options: SearchOptions | None, seed: int, n: int, d: int, into: MethodStats
) -> None:
    if options is None:
        seconds, tokens = sample_floor(engine.lm, prompt, n, d, seed)
        into.seconds.append(seconds)
        into.tokens.append(tokens)
        into.new_tokens.append(tokens // n)  # per candidate
        return
    result = engine.run(prompt, options.with_updates(seed=seed))
    into.seconds.append(result.seconds)
    into.tokens.append(result.usage.tokens_sampled)
    into.new_tokens.append(result.new_tokens)
    into.retries.append(result.usage.retries)


def format_table(report: dict[str, Any], write: Callable[[str], None]) -> None:
    c = report["config"]
    write(f"N={c['N']} K={c['K']} w={c['w']} D={c['D']}, {c['prompts']} prompts x {c['rounds']} rounds")
    write(f"{'method':<28}{'s/response':>12}{'tokens/s':>10}{'resp tokens':>13}{'retries':>9}")
    for name, row in report["methods"].items():
        write(
            f"{name:<28}{row['seconds_per_response']:>12.2f}{row['tokens_sampled_per_s']:>10.1f}"
            f"{row['response_tokens']:>13.1f}{row['retries']:>9.2f}"
        )
    write(
        f"inferenceguard / sample = {report['ratio_ig_over_sample']:.2f}   "
        f"inferenceguard / floor = {report['ratio_ig_over_floor']:.2f}   "
        f"(no fallback / floor = {report['ratio_ig_no_fallback_over_floor']:.2f})"
    )
