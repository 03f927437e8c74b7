"""Registers ACME's cost function and policy with InferenceGuard."""

from __future__ import annotations

from typing import Any

from inferenceguard.policies import LoadContext, hookimpl


def _terms(context: LoadContext) -> Any:
    from acme_policy.cost import AcmeTermsCost

    return AcmeTermsCost()


@hookimpl
def register_cost_functions(register: Any) -> None:
    register("acme-terms", _terms, version="1.2.0", description="mentions of ACME's confidential terms (ONNX)")


@hookimpl
def register_policies(register: Any) -> None:
    register(
        "acme",
        cost_functions={"acme-terms": 0.5},
        reward="relevance",
        version="1.2.0",
        description="never mention a confidential ACME term",
        exhausted_message=" [ACME policy: the rest is confidential.]",
    )
