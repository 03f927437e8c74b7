"""`inferenceguard eval`: run methods x prompt sets (resumable), then write summary.json, report.md and plots."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from inferenceguard.prompts.splits import SPLITS
from inferenceguard.service.config import Settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("eval", help="safety and helpfulness of every method on a prompt split")
    parser.add_argument("--out", default="eval-results", help="folder of results.jsonl, report.md, plots")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--harmful", type=int, default=150, help="harmful requests from the split")
    parser.add_argument("--toxic", type=int, default=50, help="toxic continuation prompts from the split")
    parser.add_argument("--benign", type=int, default=100, help="benign prompts (hard negatives included)")
    parser.add_argument(
        "--hard-negatives", type=int, default=0, help="also this many of the typed hard-negative set (benign)"
    )
    parser.add_argument("--lm-written", type=int, default=0, help="also this many LM-written benign requests")
    parser.add_argument("--offset", type=int, default=0, help="skip this many prompts of each kind (mining rounds)")
    parser.add_argument("--prompts", type=Path, help="JSONL of id, prompt, label (harmful|benign) instead of a split")
    parser.add_argument("--policy", action="append", help="guiding policy (repeatable; default: the server's)")
    parser.add_argument("--methods", nargs="+", help="subset of the method names (default: all)")
    parser.add_argument("--num-candidates", "-n", type=int, default=16, help="N for every method")
    parser.add_argument(
        "--large-n", type=int, default=64, help="InferenceGuard with and without critic also at this N; 0 = off"
    )
    parser.add_argument("--block-tokens", type=int, default=16, help="w")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="D")
    parser.add_argument("--seed", type=int, default=0, help="base seed; each prompt adds a fixed offset")
    parser.add_argument("--limit", type=int, help="run at most this many new rows, then report")
    parser.add_argument("--shard", default="0/1", help="K/N: run every N-th prompt from the K-th (parallel runs)")
    parser.add_argument("--report-only", action="store_true", help="summarise the rows already in --out")
    parser.add_argument(
        "--save-text",
        type=Path,
        metavar="DIR",
        help="also keep the answers in DIR/texts*.jsonl, for reading by hand or judging again; keep DIR out of "
        "repositories and reports (answers to harmful prompts). Off: results hold hashes only",
    )
    parser.set_defaults(handler=run)
    from inferenceguard.evaluation import audit_cli

    audit_cli.add_parser(parser.add_subparsers(dest="action", metavar="audit", required=False))


def run(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.evaluation.methods import methods
    from inferenceguard.evaluation.runner import EvalPlan, read_rows, run_eval
    from inferenceguard.service.engine.errors import InvalidOptionError
    from inferenceguard.service.runtime import build_runtime

    table = methods(args.num_candidates, args.block_tokens, args.max_new_tokens, args.large_n)
    unknown = sorted(set(args.methods or ()) - set(table))
    if unknown:
        raise InvalidOptionError("methods", f"unknown method {unknown[0]!r}; known: {', '.join(table)}")
    chosen = {name: m for name, m in table.items() if not args.methods or name in args.methods}
    shard = _shard(args.shard)
    out = Path(args.out)
    policies = args.policy or Settings.names(settings.default_policy)
    runtime = build_runtime(settings)
    prompts, source = _prompts(args, runtime.settings.home)
    config = _config(args, runtime, policies, source) | {"methods": list(chosen)}
    config["large_N"] = args.large_n if any(name.endswith(f"_n{args.large_n}") for name in chosen) else 0
    if not args.report_only:
        plan = EvalPlan(prompts, chosen, policies, args.seed, config, args.save_text, shard)
        written = run_eval(runtime, plan, out, args.limit)
        print(f"eval: {written} new rows in {out}", file=sys.stderr)
    ids = {p.id for p in prompts}
    rows = [r for r in read_rows(out) if r["prompt_id"] in ids]
    _write_report(out, rows, chosen, config)
    return 0


def _shard(text: str) -> tuple[int, int]:
    from inferenceguard.service.engine.errors import InvalidOptionError

    k, _, n = text.partition("/")
    if not (k.isdigit() and n.isdigit() and 0 <= int(k) < int(n)):
        raise InvalidOptionError("shard", f"must be K/N with 0 <= K < N, got {text!r}")
    return int(k), int(n)


def _prompts(args: argparse.Namespace, home: Path) -> tuple[list[Any], dict[str, Any]]:
    from inferenceguard.evaluation.prompt_sets import file_prompts, split_prompts
    from inferenceguard.prompts.catalog import load_prompts

    if args.prompts:
        digest = hashlib.sha256(args.prompts.read_bytes()).hexdigest() if args.prompts.exists() else ""
        return file_prompts(args.prompts), {"file": str(args.prompts), "sha256": digest}
    source = {"split": args.split} | ({"offset": args.offset} if args.offset else {})
    return split_prompts(load_prompts(home), args.split, _counts(args), args.offset), source


def _guide_versions(runtime: Any, policies: list[str]) -> dict[str, str]:
    """Each guiding policy's and cost function's version: rows guided by another model version are another run."""
    guard = runtime.guard(policies)
    return dict(guard.policies) | {f"cost:{c.name}": str(getattr(c.function, "version", "")) for c in guard.costs}


def _counts(args: argparse.Namespace) -> dict[str, int]:
    counts = {"harmful": args.harmful, "toxic": args.toxic, "benign": args.benign}
    extra = {"hard_negatives": args.hard_negatives, "lm_written": args.lm_written}
    return counts | {pool: n for pool, n in extra.items() if n}  # the first release's keys stay as they were


def _config(args: argparse.Namespace, runtime: Any, policies: list[str], source: dict[str, Any]) -> dict[str, Any]:
    versions = {name: metadata.version(name) for name in ("torch", "transformers", "onnxruntime", "inferenceguard")}
    return {
        "model": runtime.lm.model_id,
        "device": str(runtime.lm.device),
        "dtype": runtime.settings.dtype,
        "policies": policies,
        "guide_versions": _guide_versions(runtime, policies),
        "N": args.num_candidates,
        "K": max(1, args.num_candidates // 4),
        "w": args.block_tokens,
        "D": args.max_new_tokens,
        "seed": args.seed,
        "prompts": source,
        "counts": _counts(args) if "split" in source else None,
        "versions": versions,
        "date": datetime.date.today().isoformat(),
        "command": "inferenceguard " + shlex.join(sys.argv[1:]),
    }


def _write_report(out: Path, rows: list[dict[str, Any]], chosen: dict[str, Any], config: dict[str, Any]) -> None:
    from inferenceguard.evaluation.methods import PAIRED_REFERENCE
    from inferenceguard.evaluation.report import markdown_table, paired_table, plot
    from inferenceguard.evaluation.summary import paired_against, summarise

    table = summarise(rows, chosen)
    paired = paired_against(rows, PAIRED_REFERENCE, chosen) if PAIRED_REFERENCE in table else {}
    summary = {"config": config, "methods": table, "paired_against": {PAIRED_REFERENCE: paired} if paired else {}}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if not table:
        print("eval: no rows yet", file=sys.stderr)
        return
    markdown = markdown_table(table, chosen)
    if paired:
        markdown += "\n" + paired_table(paired, chosen, PAIRED_REFERENCE)
    (out / "report.md").write_text(f"{markdown}\nSettings: `{json.dumps(config)}`\n")
    plots = plot(table, chosen, out)
    print(markdown)
    print(f"eval: {out / 'summary.json'}, {out / 'report.md'}, " + ", ".join(str(p) for p in plots), file=sys.stderr)
