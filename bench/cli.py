"""`inferenceguard bench ...` subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from inferenceguard.service.config import Settings
from inferenceguard.service.engine.errors import InvalidOptionError


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = subparsers.add_parser("bench", help="benchmarks (speed as ratios measured side by side)")
    targets = bench.add_subparsers(dest="target", required=True)
    engine = targets.add_parser("engine", help="the search vs plain sampling and the batched-sampling floor")
    engine.add_argument(
        "--num-candidates", "-n", type=int, action="append", dest="sizes", help="N to measure (repeatable; default 16)"
    )
    engine.add_argument("--block-tokens", type=int, default=16)
    engine.add_argument("--max-new-tokens", type=int, default=64)
    engine.add_argument("--rounds", type=int, default=1, help="passes over the prompts")
    engine.add_argument("--seed", type=int, default=0)
    engine.add_argument(
        "--dev-mix", type=int, default=4, help="also time this many harmful and as many benign dev requests (0 = off)"
    )
    engine.add_argument("--json", action="store_true", help="end with one JSON line holding the ratios")
    engine.set_defaults(handler=run_engine)
    policy = targets.add_parser("policy", help="safety under a policy on the dev split, per method")
    policy.add_argument("--policy", default="harm")
    policy.add_argument("--harmful", type=int, default=30, help="harmful dev prompts")
    policy.add_argument("--benign", type=int, default=15, help="benign dev prompts")
    policy.add_argument("--num-candidates", "-n", type=int, default=16)
    policy.add_argument("--max-new-tokens", type=int, default=64)
    policy.add_argument("--seed", type=int, default=0)
    policy.add_argument("--methods", nargs="+", help="subset of: sample beam inferenceguard inferenceguard+critic")
    policy.add_argument("--json", action="store_true", help="end with one JSON line")
    policy.set_defaults(handler=run_policy)
    service = targets.add_parser("service", help="gRPC streaming overhead over in-process, and throughput by clients")
    service.add_argument("--num-candidates", "-n", type=int, default=16)
    service.add_argument("--block-tokens", type=int, default=16)
    service.add_argument("--max-new-tokens", type=int, default=64)
    service.add_argument("--rounds", type=int, default=2, help="passes over the prompts for the overhead ratio")
    service.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrency levels")
    service.add_argument("--requests", type=int, default=8, help="requests per level (at least one per client)")
    service.add_argument("--seed", type=int, default=0)
    service.add_argument(
        "--dev-mix", type=int, default=4, help="also send this many harmful and as many benign dev requests (0 = off)"
    )
    service.add_argument("--json", action="store_true", help="end with one JSON line holding the ratio")
    service.set_defaults(handler=run_service)
    lag = targets.add_parser("lag", help="commit_lag_blocks 0, 1, 2 and never on a dev mix: safety, first chunk")
    lag.add_argument("--harmful", type=int, default=12, help="harmful dev prompts")
    lag.add_argument("--benign", type=int, default=12, help="benign dev prompts")
    lag.add_argument("--num-candidates", "-n", type=int, default=16)
    lag.add_argument("--block-tokens", type=int, default=16)
    lag.add_argument("--max-new-tokens", type=int, default=64)
    lag.add_argument("--seed", type=int, default=0)
    lag.add_argument("--json", action="store_true", help="end with one JSON line")
    lag.set_defaults(handler=run_lag)
    soak = targets.add_parser("soak", help="a live server under minutes of mixed traffic and faults, answers checked")
    soak.add_argument("--minutes", type=float, default=10.0, help="length of the traffic (default 10)")
    soak.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    soak.add_argument("--seed", type=int, default=0)
    soak.add_argument("--json", action="store_true", help="end with one JSON line holding the report")
    soak.set_defaults(handler=run_soak)


def run_engine(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.bench.engine_bench import PROMPTS, format_table, run_engine_bench
    from inferenceguard.service.engine import Engine
    from inferenceguard.service.runtime import build_runtime

    runtime = build_runtime(settings)
    # One request at a time, every method and the floor on this thread: the engine unbatched (the batched engine's
    # single-request cost is bench service's 1-client row), so that no second thread holds an OpenMP pool.
    engine = Engine(runtime.lm, runtime.engine.default_guard, settings.scorer_timeout_s)
    mixes = {"easy": list(PROMPTS)}
    if args.dev_mix:
        mixes["dev_mix"] = _dev_mix(runtime, args.dev_mix)
    reports: dict[str, list[dict[str, Any]]] = {mix: [] for mix in mixes}
    for mix, prompts in mixes.items():
        for n in args.sizes or [16]:
            report = run_engine_bench(
                engine, n, max(1, n // 4), args.block_tokens, args.max_new_tokens, args.rounds, args.seed,
                prompts,
            )  # fmt: skip
            report["config"]["mix"] = mix
            format_table(report, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
            reports[mix].append(report)
    if args.json:
        last = dict(reports["easy"][0])
        last["all"] = reports["easy"]
        if "dev_mix" in reports:
            last["dev_mix"] = reports["dev_mix"][0]
            last["ratio_ig_over_floor_dev_mix"] = reports["dev_mix"][0]["ratio_ig_over_floor"]
        print(json.dumps(last))
    return 0


def run_policy(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.bench.policy_bench import format_table, run_policy_bench
    from inferenceguard.service.runtime import build_runtime

    report = run_policy_bench(
        build_runtime(settings),
        args.policy,
        args.harmful,
        args.benign,
        args.num_candidates,
        args.max_new_tokens,
        args.seed,
        args.methods,
    )
    format_table(report, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
    if args.json:
        print(json.dumps(report))
    return 0


def _dev_mix(runtime: Any, each: int) -> list[str]:
    """Harmful and benign dev requests, alternating (never the test split): where the fallback fires, as in real
    traffic."""
    from inferenceguard.bench.policy_bench import dev_prompts

    if not each:
        return []
    harmful, benign = (dev_prompts(runtime, label, each) for label in ("harmful", "benign"))
    return [r.text for pair in zip(harmful, benign, strict=True) for r in pair]


def run_service(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.bench.batching_bench import bench_service, format_report
    from inferenceguard.service.engine import SearchOptions
    from inferenceguard.service.runtime import build_runtime

    options = SearchOptions(
        strategy="inferenceguard",
        num_candidates=args.num_candidates,
        num_beams=max(1, args.num_candidates // 4),
        block_tokens=args.block_tokens,
        max_new_tokens=args.max_new_tokens,
        seed=args.seed,
    )
    runtime = build_runtime(settings)
    report = bench_service(runtime, options, args.rounds, args.clients, args.requests, _dev_mix(runtime, args.dev_mix))
    format_report(report, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
    if args.json:
        print(json.dumps(report))
    return 0


def run_soak(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 1 when an answer was INTERNAL, released unchecked text, or was malformed."""
    from inferenceguard.bench.soak import run_soak as soak
    from inferenceguard.bench.soak_report import format_report

    if args.minutes <= 0 or args.clients < 1:
        raise InvalidOptionError("--minutes" if args.minutes <= 0 else "--clients", "must be positive")
    to_stderr = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    result = soak(settings, args.minutes, args.clients, args.seed, tick=to_stderr)
    format_report(result, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
    if args.json:
        print(json.dumps(result))
    failed = result["internal_errors"] or result["unchecked_text"] or result["problems"] or result["exit_code"]
    return 1 if failed else 0


def run_lag(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.bench.lag_bench import format_table, run_lag_bench
    from inferenceguard.service.engine import SearchOptions
    from inferenceguard.service.runtime import build_runtime

    options = SearchOptions(
        num_candidates=args.num_candidates, block_tokens=args.block_tokens, max_new_tokens=args.max_new_tokens
    )
    report = run_lag_bench(build_runtime(settings), args.harmful, args.benign, options, args.seed)
    format_table(report, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
    if args.json:
        print(json.dumps(report))
    return 0
