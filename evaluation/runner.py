"""Runs methods x prompts and appends one JSON line per (method, prompt) to results.jsonl.

Resumable: rows already in the file are skipped, so a run cut short continues where it stopped. Prompts go in a
fixed shuffled order with every method run on a prompt before the next prompt, so a partial run is balanced
across methods and kinds, and noise from a shared machine falls on every method alike.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from inferenceguard.evaluation.judge import Judge, judge_for
from inferenceguard.evaluation.methods import Method
from inferenceguard.evaluation.prompt_sets import EvalPrompt, run_order, seed_of
from inferenceguard.service.engine import Guard
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.runtime import Runtime

RESULTS, RUN = "results.jsonl", "run.json"
# settings that may change between the sessions of one run: they do not change what a row means
FREE_TO_CHANGE = frozenset({"date", "command", "methods", "counts", "versions", "large_N"})


@dataclass(frozen=True)
class EvalPlan:
    prompts: Sequence[EvalPrompt]
    methods: Mapping[str, Method]
    policies: Sequence[str]  # the guide
    seed: int
    config: Mapping[str, Any]  # everything that must match for rows to be comparable (written to run.json)
    text_dir: Path | None = None  # where answers are kept (texts*.jsonl); None = hashes only
    shard: tuple[int, int] = (0, 1)  # (k, n): this process runs every n-th prompt from the k-th, into its own file


def results_path(out: Path, shard: tuple[int, int], stem: str = "results") -> Path:
    k, n = shard
    return out / (f"{stem}.jsonl" if n == 1 else f"{stem}.shard{k}of{n}.jsonl")


def read_rows(out: Path) -> list[dict[str, Any]]:
    """Every row in the folder, shards included; a line cut by a crash mid-write is dropped (and redone)."""
    rows = []
    for path in sorted(out.glob("results*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows


def check_run(out: Path, config: Mapping[str, Any]) -> None:
    """Refuse to mix rows of different settings in one folder; record the settings of a new run."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / RUN
    if path.exists():
        recorded = json.loads(path.read_text())
        for key, value in config.items():
            if key not in FREE_TO_CHANGE and recorded.get(key) != value:
                raise InvalidOptionError(
                    "out", f"{out} holds a run with {key}={recorded.get(key)!r}, not {value!r}; use another --out"
                )
        return
    path.write_text(json.dumps(dict(config), indent=2) + "\n")


def run_eval(runtime: Runtime, plan: EvalPlan, out: Path, limit: int | None = None, judge: Judge | None = None) -> int:
    """Run what is missing (at most `limit` rows); returns the number of rows written."""
    check_run(out, plan.config)
    guard = runtime.guard(plan.policies)
    guards = {False: replace(guard, critics=()), True: guard}
    judge = judge or judge_for(runtime, plan.policies, guard.exhausted_message)
    done = {(row["method"], row["prompt_id"]) for row in read_rows(out)}
    k, n = plan.shard
    mine = [p for index, p in enumerate(run_order(plan.prompts)) if index % n == k]
    todo = [(p, m) for p in mine for m in plan.methods.values() if (m.name, p.id) not in done]
    todo = todo[:limit] if limit is not None else todo
    texts = _Lines(results_path(plan.text_dir, plan.shard, "texts")) if plan.text_dir else None
    with _Lines(results_path(out, plan.shard)) as rows:
        for prompt, method in tqdm(todo, desc=f"eval {k + 1}/{n}", unit="run", dynamic_ncols=True):
            row, text = evaluate_one(runtime, guards[method.critic], judge, prompt, method, plan)
            if texts:
                texts.append({"method": method.name, "prompt_id": prompt.id, "text": text})
            rows.append(row)
    if texts:
        texts.close()
    return len(todo)


class _Lines:
    """An append-only JSONL file, each line on disk before the next run starts (a crash loses one run at most)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.sink = path.open("a", encoding="utf-8")

    def append(self, record: Mapping[str, Any]) -> None:
        self.sink.write(json.dumps(record) + "\n")
        self.sink.flush()
        os.fsync(self.sink.fileno())

    def close(self) -> None:
        self.sink.close()

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evaluate_one(
    runtime: Runtime, guard: Guard, judge: Judge, prompt: EvalPrompt, method: Method, plan: EvalPlan
) -> tuple[dict[str, Any], str]:
    """The row of one run (no text: it may answer a harmful request) and the answer's text."""
    seed = seed_of(prompt, plan.seed)
    result = runtime.engine.run(prompt.text, method.options.with_updates(seed=seed), guard=guard)
    verdict = judge(prompt.text, result.text)
    row: dict[str, Any] = {
        "method": method.name,
        "prompt_id": prompt.id,
        "kind": prompt.kind,
        "category": prompt.category,
        "seed": seed,
        "safe": result.safe,
        "cost": result.cost,
        "costs": result.costs,
        "min_safety_state": result.min_safety_state,
        "reward": result.reward,
        "finish_reason": result.finish_reason.value,
        "seconds": result.seconds,
        "new_tokens": result.new_tokens,
        "usage": {k: v for k, v in asdict(result.usage).items() if not k.endswith("seconds")},
        # compliance with a harmful request means nothing for a benign prompt or a continuation
        "judge": asdict(verdict)
        | {"harmful_compliance": verdict.harmful_compliance if prompt.kind == "harmful" else None},
        "text_sha256": hashlib.sha256(result.text.encode()).hexdigest(),
    }
    return row, result.text
