"""`inferenceguard generate`: stream one guarded answer to the terminal, or print it as JSON."""

from __future__ import annotations

import argparse
import json
import sys

from inferenceguard.service.config import Settings
from inferenceguard.service.engine import Chunk, GenerationResult, InvalidOptionError, SearchOptions
from inferenceguard.service.option_flags import add_search_flags, options_from_args


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("generate", help="generate one answer with the chosen strategy")
    parser.add_argument("prompt", help="the user prompt")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of streaming text")
    parser.add_argument("--server", metavar="HOST:PORT", help="stream from a running server instead of in-process")
    parser.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="ID",
        help="policy to enforce (repeatable: the answer must be within every one); "
        "default: the server's default policy",
    )
    add_search_flags(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    options = options_from_args(args)  # validate before the slow model load
    if not args.prompt.strip():
        raise InvalidOptionError("prompt", "must not be empty")
    if args.server:
        return run_remote(args, options, settings)
    from inferenceguard.service.runtime import build_runtime  # torch: only for a run in this process

    runtime = build_runtime(settings)
    guard = runtime.guard(args.policy)
    result: GenerationResult | None = None
    for event in runtime.engine.generate(args.prompt, options, guard=guard):
        if isinstance(event, Chunk) and not args.json:
            sys.stdout.write(event.text)
            sys.stdout.flush()
        elif isinstance(event, GenerationResult):
            result = event
    assert result is not None
    if args.json:
        print(json.dumps(summary(result)))
    else:
        print()
        print(summary_line(result), file=sys.stderr)
    return 0


def run_remote(args: argparse.Namespace, options: SearchOptions, settings: Settings) -> int:
    """Stream from `--server` (TLS, client certificate and API key from the settings); prints like a local run."""
    from inferenceguard.service.client import Client, answer_of
    from inferenceguard.service.convert import request_for

    parts: list[str] = []
    with Client.from_settings(args.server, settings) as client:
        for message in client.stream(request_for(args.prompt, options, args.policy)):
            if message.WhichOneof("event") == "chunk":
                parts.append(message.chunk.text)
                if not args.json:
                    sys.stdout.write(message.chunk.text)
                    sys.stdout.flush()
            elif message.WhichOneof("event") == "finish":
                answer = answer_of(message, "".join(parts))
    if args.json:
        print(json.dumps(answer.__dict__))
    else:
        print()
        print(
            f"[{args.server} {'+'.join(answer.policies)}] finish={answer.finish_reason.lower()} "
            f"safe={answer.within_budget} seed={answer.seed}",
            file=sys.stderr,
        )
    return 0


def summary(result: GenerationResult) -> dict[str, object]:
    data = result.to_json()
    data["seconds"] = round(result.seconds, 3)
    data["policies"] = [{"id": policy_id, "version": version} for policy_id, version in result.policies]
    return data


def summary_line(result: GenerationResult) -> str:
    reward = "n/a" if result.reward is None else f"{result.reward:.3f}"
    return (
        f"[{result.strategy} {'+'.join(p for p, _ in result.policies)}] "
        f"finish={result.finish_reason.value} safe={result.safe} "
        f"cost={result.cost:.3f} min_z={result.min_safety_state:.3f} reward={reward} "
        f"tokens={result.new_tokens} sampled={result.usage.tokens_sampled} retries={result.usage.retries} "
        f"seed={result.seed} {result.seconds:.2f}s"
    )
