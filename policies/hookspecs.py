"""The InferenceGuard plugin hooks. Every hook receives a `register` callback (the host validates each call at
once and records which plugin made it) and returns nothing.

Hooks are called once, when the policy registry is built at start-up, in LIFO registration order; a plugin may
accept fewer arguments than a spec, so specs can gain arguments later. The decoding loop never goes through the
hook relay: it calls the registered scorers directly.
"""

from __future__ import annotations

from typing import Any

import pluggy

PROJECT = "inferenceguard"
ENTRY_POINT_GROUP = "inferenceguard"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_cost_functions(register: Any) -> None:
    """Register cost functions: `register(name, factory, *, version, description="")`.

    `factory(context: LoadContext)` is called the first time a policy that uses the function is loaded and must
    return a CostFunction (`(prompts, responses) -> costs >= 0`, batched). ONNX-based factories check the model
    against its manifest (`inferenceguard.critics.manifest`) and raise ManifestError on a mismatch.
    """


@hookspec
def register_reward_functions(register: Any) -> None:
    """Register reward functions: `register(name, factory, *, version, description="")`.

    `factory(context)` returns a RewardFunction (`(prompts, responses) -> rewards`, batched), which ranks the
    candidates that are within budget.
    """


@hookspec
def register_critics(register: Any) -> None:
    """Register latent critics: `register(name, manifest_path, *, description="")`.

    The manifest names the ONNX file, the LM it was trained for (id, layer, hidden size), its policy and budget;
    a critic is loaded only for that LM and layer.
    """


@hookspec
def register_policies(register: Any) -> None:
    """Register policies: `register(policy_id, *, cost_functions, version, critic=None, reward="relevance",
    description="", exhausted_message="")`.

    `cost_functions` maps cost-function names to budgets; a response is within a policy only if it is within
    every budget at every block end. `critic` names a registered critic used to prune and rank candidates.
    `exhausted_message` closes an answer that ran out of budget.
    """
