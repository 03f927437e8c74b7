"""The server-side safety floor: a request may tighten what its tenant is held to, never loosen it.

A strategy or policy the operator did not allow, or a budget above the policies' own, is PERMISSION_DENIED
naming the request field; the baselines stay available to the CLI and the evaluation, which do not pass here.
"""

from __future__ import annotations

from collections.abc import Sequence

from inferenceguard.policies.types import UnknownPolicyError
from inferenceguard.service.engine import Guard, SearchOptions
from inferenceguard.service.errors import PermissionDeniedError
from inferenceguard.service.tenants import Tenant


def check_choices(tenant: Tenant, options: SearchOptions, policy_ids: Sequence[str], known: Sequence[str]) -> None:
    """The strategy and the policies a request names are among those its tenant may use (a policy no plugin
    registered is UnknownPolicyError: NOT_FOUND)."""
    for policy in policy_ids:
        if policy not in known:
            raise UnknownPolicyError(policy, sorted(tenant.allowed_policies))
    if options.strategy not in tenant.allowed_strategies:
        allowed = ", ".join(sorted(tenant.allowed_strategies))
        raise PermissionDeniedError("search.strategy", f"{options.strategy!r} is not allowed here; allowed: {allowed}")
    outside = [policy for policy in policy_ids if policy not in tenant.allowed_policies]
    if outside:
        allowed = ", ".join(sorted(tenant.allowed_policies))
        raise PermissionDeniedError("safety.policy_ids", f"{outside[0]!r} is not allowed here; allowed: {allowed}")


def check_budget(options: SearchOptions, guard: Guard) -> None:
    """A request's budget replaces every cost function's budget, so it may be at most the tightest of them."""
    if options.budget is None or not guard.costs:
        return
    ceiling = min(cost.budget for cost in guard.costs)
    if options.budget > ceiling:
        raise PermissionDeniedError(
            "safety.budget", f"may only tighten the policies' budget: at most {ceiling:g}, got {options.budget:g}"
        )
