"""`inferenceguard critics train --policy P` and `inferenceguard critics train-harm-model`."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from inferenceguard.service.config import Settings

SHIPPED = Path(__file__).resolve().parents[2] / "policies" / "builtin" / "models"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    critics = subparsers.add_parser("critics", help="train latent critics and the harm cost model")
    actions = critics.add_subparsers(dest="action", required=True)
    train = actions.add_parser("train", help="train a policy's critic for the served model")
    train.add_argument("--policy", required=True, help="policy whose cost function labels the rollouts")
    train.add_argument("--epochs", type=int, default=50)
    train.add_argument("--out", type=Path, help="output folder (default: <home>/critics)")
    _rollout_flags(train)
    train.set_defaults(handler=run_train)
    harm = actions.add_parser("train-harm-model", help="train the harm cost model (MiniLM features + head)")
    harm.add_argument("--out", type=Path, help="output folder (default: <home>/harm)")
    harm.add_argument(
        "--design",
        nargs="+",
        choices=("joint", "factored", "gated", "strict"),
        default=["strict"],
        help="critics/training/harm_heads.py; several: each into OUT/DESIGN, trained on the same examples",
    )
    harm.add_argument(
        "--mined",
        action="append",
        default=[],
        metavar="RUN:TEXTS",
        help="a mining round: an eval folder on the train split with labels.jsonl, and its --save-text folder "
        "(repeatable)",
    )
    harm.add_argument("--version", default="2.1.0", help="the model's version in its manifest")
    harm.add_argument(
        "--gate-threshold",
        type=float,
        default=0.7,
        help="gated and strict designs: the gate's P(harmful) that costs half the budget's worth (0.7: chosen on dev)",
    )
    _rollout_flags(harm)
    harm.set_defaults(handler=run_train_harm)


def _rollout_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--samples", type=int, default=2, help="rollouts per training prompt")
    parser.add_argument("--block-tokens", type=int, default=16)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)


def _plan(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from inferenceguard.critics.training.rollouts import RolloutPlan

    return RolloutPlan(
        samples=args.samples, block_tokens=args.block_tokens, max_new_tokens=args.max_new_tokens, seed=args.seed
    )


def _command() -> str:
    # absolute paths are this machine's, not the recipe's
    return "inferenceguard " + " ".join("DIR" if a.startswith("/") else shlex.quote(a) for a in sys.argv[1:])


def run_train(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.critics.training.pipeline import train_policy_critic
    from inferenceguard.service.runtime import build_registry, load_language_model

    lm = load_language_model(settings)
    policy = build_registry(settings, lm).load(args.policy)
    out = args.out or settings.home / "critics"
    metrics = train_policy_critic(
        lm, settings.home, _plan(args), policy, out, f"{args.policy}-smollm2-135m", args.epochs, _command()
    )
    print(json.dumps({"policy": args.policy, "out": str(out), "metrics": metrics}, indent=2))
    return 0


def run_train_harm(args: argparse.Namespace, settings: Settings) -> int:
    from inferenceguard.critics.training.harm_pipeline import train_harm_model
    from inferenceguard.critics.training.mined import MiningRound
    from inferenceguard.policies.builtin.minilm import shared_encoder
    from inferenceguard.service.runtime import load_language_model

    lm = load_language_model(settings)
    out = args.out or settings.home / "harm"
    rounds = [MiningRound(*(Path(part) for part in _round(spec))) for spec in args.mined]
    metrics = train_harm_model(
        lm,
        settings.home,
        _plan(args),
        out,
        shared_encoder(settings.home).embed,
        _command(),
        designs=args.design,
        mined=rounds,
        version=args.version,
        gate_threshold=args.gate_threshold,
    )
    print(json.dumps({"out": str(out), "metrics": metrics}, indent=2))
    return 0


def _round(spec: str) -> tuple[str, str]:
    from inferenceguard.service.engine.errors import InvalidOptionError

    run, sep, texts = spec.partition(":")
    if not sep or not run or not texts:
        raise InvalidOptionError(
            "mined", f"must be RUN:TEXTS (an eval folder and its --save-text folder), got {spec!r}"
        )
    return run, texts
