"""`inferenceguard bench ...` subcommands."""

from __future__ import annotations

import argparse
import json
import sys

from inferenceguard.service.config import Settings


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
    engine.add_argument("--json", action="store_true", help="end with one JSON line holding the ratios")
    engine.set_defaults(handler=run_engine)


def run_engine(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.bench.engine_bench import format_table, run_engine_bench
    from inferenceguard.service.runtime import build_runtime

    engine = build_runtime(settings).engine
    reports = []
    for n in args.sizes or [16]:
        report = run_engine_bench(
            engine, n, max(1, n // 4), args.block_tokens, args.max_new_tokens, args.rounds, args.seed
        )
        format_table(report, lambda line: print(line, file=sys.stderr if args.json else sys.stdout))
        reports.append(report)
    if args.json:
        last = dict(reports[0])
        last["all"] = reports
        print(json.dumps(last))
    return 0
