"""`inferenceguard bench policy`: safety under a policy on the dev split (never the test split), for sample,
beam (augmented), inferenceguard and inferenceguard with the policy's critic, side by side on the same prompts
and seeds. Prompts are reported by id only."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tqdm import tqdm

from inferenceguard.prompts.catalog import PromptRecord, load_prompts
from inferenceguard.prompts.refusals import is_refusal
from inferenceguard.prompts.splits import text_hash
from inferenceguard.service.engine import Guard, SearchOptions
from inferenceguard.service.runtime import Runtime


def dev_prompts(runtime: Runtime, label: str, limit: int) -> list[PromptRecord]:
    records = [
        r
        for r in load_prompts(runtime.settings.home)
        if r.split == "dev" and r.label == label and r.category != "toxic_continuation"
    ]
    return sorted(records, key=lambda r: text_hash(r.text))[:limit]


def methods(n: int, d: int, guard: Guard) -> dict[str, tuple[SearchOptions, Guard]]:
    shared: dict[str, Any] = {"num_candidates": n, "block_tokens": 16, "max_new_tokens": d}
    plain = replace(guard, critics=())
    table = {
        "sample": (SearchOptions(strategy="sample", max_new_tokens=d), plain),
        "beam": (SearchOptions(strategy="beam", **shared), plain),
        "inferenceguard": (SearchOptions(strategy="inferenceguard", **shared), plain),
    }
    if guard.critics:
        table["inferenceguard+critic"] = (SearchOptions(strategy="inferenceguard", **shared), guard)
    return table


def run_policy_bench(
    runtime: Runtime, policy: str, harmful: int, benign: int, n: int, d: int, seed: int, only: list[str] | None = None
) -> dict[str, Any]:
    guard = runtime.guard([policy])
    plan = {name: method for name, method in methods(n, d, guard).items() if not only or name in only}
    prompts = dev_prompts(runtime, "harmful", harmful) + dev_prompts(runtime, "benign", benign)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in plan}
    for index, record in enumerate(tqdm(prompts, desc=f"bench policy {policy}", unit="prompt")):
        for name, (options, method_guard) in plan.items():
            result = runtime.engine.run(record.text, options.with_updates(seed=seed + index), guard=method_guard)
            rows[name].append(
                {
                    "id": record.id,
                    "label": record.label,
                    "safe": result.safe,
                    "refused": is_refusal(result.text),
                    "reward": result.reward or 0.0,
                    "seconds": result.seconds,
                    "finish": result.finish_reason.value,
                }
            )
    table = {name: summarise(items) for name, items in rows.items()}
    return {
        "config": {
            "policy": policy,
            "N": n,
            "K": max(1, n // 4),
            "w": 16,
            "D": d,
            "seed": seed,
            "harmful_prompts": harmful,
            "benign_prompts": benign,
            "split": "dev",
        },
        "methods": table,
        "per_prompt": rows,
    }


def summarise(items: list[dict[str, Any]]) -> dict[str, float]:
    harmful = [i for i in items if i["label"] == "harmful"]
    benign = [i for i in items if i["label"] == "benign"]

    def share(rows: list[dict[str, Any]], key: str) -> float:
        return sum(bool(r[key]) for r in rows) / len(rows) if rows else float("nan")

    return {
        "harmful_safety_rate": share(harmful, "safe"),
        "harmful_refusal_rate": share(harmful, "refused"),
        "harmful_budget_exhausted": sum(r["finish"] == "budget_exhausted" for r in harmful) / max(len(harmful), 1),
        "benign_safety_rate": share(benign, "safe"),
        "benign_refusal_rate": share(benign, "refused"),
        "benign_reward": statistics.mean(r["reward"] for r in benign) if benign else float("nan"),
        "seconds_per_response": statistics.mean(r["seconds"] for r in items),
    }


def format_table(report: dict[str, Any], write: Callable[[str], None]) -> None:
    c = report["config"]
    write(
        f"policy {c['policy']} on the dev split: {c['harmful_prompts']} harmful + {c['benign_prompts']} benign "
        f"prompts, N={c['N']} K={c['K']} w={c['w']} D={c['D']}"
    )
    write(
        f"{'method':<24}{'safe (harmful)':>15}{'refused':>9}{'exhausted':>10}{'safe (benign)':>14}"
        f"{'benign reward':>14}{'s/response':>11}"
    )
    for name, row in report["methods"].items():
        write(
            f"{name:<24}{row['harmful_safety_rate']:>15.1%}{row['harmful_refusal_rate']:>9.1%}"
            f"{row['harmful_budget_exhausted']:>10.1%}{row['benign_safety_rate']:>14.1%}"
            f"{row['benign_reward']:>14.3f}{row['seconds_per_response']:>11.2f}"
        )
