"""`inferenceguard plugins` and `inferenceguard policies list|show|validate`: offline views of what is installed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from inferenceguard.critics.manifest import ManifestError, read_manifest, verify
from inferenceguard.policies.registry import Registry
from inferenceguard.service.config import Settings
from inferenceguard.service.runtime import build_registry


def add_parsers(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    plugins = subparsers.add_parser("plugins", help="list plugins and what they register")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(handler=run_plugins)
    policies = subparsers.add_parser("policies", help="list, show or validate policies")
    actions = policies.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every registered policy")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one policy in full")
    show.add_argument("policy_id")
    show.set_defaults(handler=run_show)
    validate = actions.add_parser("validate", help="check ONNX files against their manifests (offline)")
    validate.add_argument("paths", nargs="*", type=Path, help="manifest files; default: every registered model")
    validate.set_defaults(handler=run_validate)


def plugin_rows(registry: Registry) -> list[dict[str, Any]]:
    rows = []
    names = set(registry.plugins.versions) | set(registry.errors)
    for name in sorted(names):
        rows.append(
            {
                "name": name,
                "version": registry.plugins.versions.get(name, ""),
                "entry_point": registry.plugins.entry_points.get(name, "built in" if name == "builtin" else ""),
                "error": registry.errors.get(name, ""),
                "registers": sorted(f"{r.kind}:{r.name}" for r in registry.scorers.values() if r.plugin == name)
                + sorted(f"policy:{p.id}" for p in registry.policies.values() if p.plugin == name),
            }
        )
    return rows


def run_plugins(args: argparse.Namespace, settings: Settings) -> int:
    rows = plugin_rows(build_registry(settings))
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        status = f"ERROR {row['error']}" if row["error"] else ", ".join(row["registers"])
        print(f"{row['name']} {row['version']} ({row['entry_point']}): {status}")
    return 0


def policy_row(registry: Registry, policy_id: str) -> dict[str, Any]:
    spec = registry.spec(policy_id)
    return {
        "id": spec.id,
        "version": spec.version,
        "plugin": spec.plugin,
        "description": spec.description,
        "cost_functions": dict(spec.cost_functions),
        "critic": spec.critic,
        "reward": spec.reward,
        "exhausted_message": spec.exhausted_message,
    }


def run_list(args: argparse.Namespace, settings: Settings) -> int:
    registry = build_registry(settings)
    rows = [policy_row(registry, policy_id) for policy_id in registry.policy_ids()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    default = Settings.names(settings.default_policy)
    for row in rows:
        budgets = ", ".join(f"{name} <= {budget}" for name, budget in row["cost_functions"].items())
        mark = " (default)" if row["id"] in default else ""
        print(f"{row['id']} {row['version']}{mark} [{row['plugin']}]: {budgets}; critic: {row['critic'] or 'none'}")
    return 0


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(policy_row(build_registry(settings), args.policy_id), indent=2))
    return 0


def shipped_manifests(registry: Registry) -> list[Path]:
    """The built-in models' manifests and every registered critic's."""
    from inferenceguard.policies.builtin.plugin import MODELS

    critics = {r.manifest for r in registry.scorer_registrations("critic") if r.manifest}
    return sorted(set(MODELS.rglob("*.manifest.json")) | critics)


def run_validate(args: argparse.Namespace, settings: Settings) -> int:
    paths = args.paths or shipped_manifests(build_registry(settings))
    if not paths:
        print("no model manifests to validate")
        return 0
    failures = 0
    for path in paths:
        try:
            manifest = read_manifest(path)
            verify(manifest)
            print(f"ok      {path} ({manifest.kind} {manifest.name} {manifest.version})")
        except ManifestError as exc:
            failures += 1
            print(f"FAILED  {exc}")
    return 1 if failures else 0
