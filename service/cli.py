"""The `inferenceguard` command. Bad input exits with code 2 and one line naming the field and the limit."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

import grpc
from pluggy import PluginValidationError

from inferenceguard.critics.artifacts import ArtifactNotFoundError
from inferenceguard.critics.onnx_critic import CriticLoadError
from inferenceguard.policies.types import PolicyLoadError, UnknownPolicyError
from inferenceguard.service import generate_command, policy_commands, serve_command
from inferenceguard.service.config import Settings
from inferenceguard.service.engine.errors import InvalidOptionError, ScorerError
from inferenceguard.service.logs import configure_logging

EXIT_USAGE, EXIT_FAILURE = 2, 1
# global flags whose dest is a Settings field; subcommands name theirs in `settings_flags`
GLOBAL_FLAGS = (
    "model",
    "device",
    "dtype",
    "critic",
    "hidden_layer",
    "threads",
    "home",
    "log_level",
    "log_format",
    "log_text",
    "lexicon",
    "harm_model",
    "default_policy",
    "load_plugins",
    "disable_plugins",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inferenceguard", description=__doc__)
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="TOML file of settings, below the environment and flags (env INFERENCEGUARD_CONFIG; "
        "docs/configuration.md)",
    )
    parser.add_argument("--model", help="'default' (embedded SmolLM2-135M-Instruct) or a local HF model folder")
    parser.add_argument("--device", help="auto | cpu | cuda | cuda:N (env INFERENCEGUARD_DEVICE)")
    parser.add_argument("--dtype", help="float32 | bfloat16 | float16 (env INFERENCEGUARD_DTYPE)")
    parser.add_argument("--critic", help="ONNX critic for this model (env INFERENCEGUARD_CRITIC)")
    parser.add_argument(
        "--hidden-layer",
        type=int,
        help="layer critics read; -1 = final, after the norm (env INFERENCEGUARD_HIDDEN_LAYER)",
    )
    parser.add_argument("--threads", type=int, help="torch CPU threads; 0 = default (env INFERENCEGUARD_THREADS)")
    parser.add_argument("--home", help="cache folder for converted models (env INFERENCEGUARD_HOME)")
    parser.add_argument(
        "--log-level",
        help="DEBUG | INFO | WARNING | ERROR (env INFERENCEGUARD_LOG_LEVEL; default INFO for serve, else WARNING)",
    )
    parser.add_argument("--log-format", help="json | text (env INFERENCEGUARD_LOG_FORMAT; default json)")
    parser.add_argument(
        "--log-text",
        action="store_true",
        default=None,  # None = not given, so the environment and the config file still apply
        help="log prompt and response text with each request: debugging only, they may be sensitive or harmful",
    )
    parser.add_argument(
        "--default-policy", help="policy ids used when none is named (env INFERENCEGUARD_DEFAULT_POLICY)"
    )
    parser.add_argument(
        "--load-plugins",
        help="entry-point plugins to load, comma-separated; '*' = all installed "
        "(env INFERENCEGUARD_LOAD_PLUGINS; default: none)",
    )
    parser.add_argument(
        "--disable-plugin",
        dest="disable_plugins",
        help="plugins never to load, comma-separated (env INFERENCEGUARD_DISABLE_PLUGINS)",
    )
    parser.add_argument("--lexicon", help="word list of the lexicon policy, JSON (env INFERENCEGUARD_LEXICON)")
    parser.add_argument(
        "--harm-model",
        help="folder of another harm model (harm.manifest.json + ONNX), e.g. one retrained for a domain "
        "(env INFERENCEGUARD_HARM_MODEL)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    generate_command.add_parser(subparsers)
    serve_command.add_parsers(subparsers)
    policy_commands.add_parsers(subparsers)
    config = subparsers.add_parser("config", help="settings files").add_subparsers(dest="action", required=True)
    show = config.add_parser("show", help="print the effective settings as a TOML config file")
    show.set_defaults(handler=show_config)
    from inferenceguard.bench import cli as bench_cli
    from inferenceguard.critics.training import cli as training_cli
    from inferenceguard.evaluation import cli as eval_cli
    from inferenceguard.prompts import cli as prompts_cli

    bench_cli.add_parser(subparsers)
    training_cli.add_parser(subparsers)
    eval_cli.add_parser(subparsers)
    prompts_cli.add_parser(subparsers)
    return parser


def show_config(args: argparse.Namespace, settings: Settings) -> int:
    print(settings.to_toml(), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # every model is local; never reach for a hub
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        names = (*GLOBAL_FLAGS, *getattr(args, "settings_flags", ()))
        overrides = {name: getattr(args, name) for name in names}
        settings = Settings.load(overrides, config=args.config)
        args.load_settings = lambda: Settings.load(overrides, config=args.config)  # a server's reload reads again
        configure_logging(settings, getattr(args, "default_log_level", "WARNING"))
        return int(args.handler(args, settings))
    except (InvalidOptionError, CriticLoadError, UnknownPolicyError) as exc:
        print(f"inferenceguard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PolicyLoadError as exc:
        print(f"inferenceguard: error: {exc} (the policy is refused: fail closed)", file=sys.stderr)
        return EXIT_FAILURE
    except (ArtifactNotFoundError, PluginValidationError) as exc:
        print(f"inferenceguard: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except ScorerError as exc:
        print(f"inferenceguard: safety check failed, generation stopped (fail closed): {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except grpc.RpcError as exc:
        print(f"inferenceguard: error: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return EXIT_USAGE if exc.code() == grpc.StatusCode.INVALID_ARGUMENT else EXIT_FAILURE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
