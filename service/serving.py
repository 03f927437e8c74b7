"""What requests are served under: the settings that may change live, the tenants, and every policy a tenant may
use, loaded. Built whole and checked before it serves anything (each tenant's guard runs once), and replaced whole
on reload: a request keeps the snapshot it started with, so it finishes under the policies it began with.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from inferenceguard.policies.registry import Registry
from inferenceguard.service.config import Settings
from inferenceguard.service.engine import BoundCritic, Guard, SearchOptions
from inferenceguard.service.runtime import Runtime, build_guard, load_context, load_extra_critic, with_critic
from inferenceguard.service.tenants import Tenant, Tenants

log = logging.getLogger(__name__)
WARM_UP = SearchOptions(strategy="inferenceguard", num_candidates=2, block_tokens=4, max_new_tokens=4, seed=0)


@dataclass
class Serving:
    version: int
    settings: Settings
    tenants: Tenants
    registry: Registry
    extra_critic: BoundCritic | None
    _guards: dict[tuple[str, ...], Guard] = field(default_factory=dict)

    def guard(self, tenant: Tenant, policy_ids: Sequence[str]) -> Guard:
        """The guard of `policy_ids` (the tenant's defaults when empty), composed from loaded policies only."""
        key = tuple(dict.fromkeys(policy_ids or tenant.default_policies))
        if key not in self._guards:  # a few combinations of allowed policies; nothing is loaded here
            self._guards[key] = with_critic(build_guard(self.registry, key), self.extra_critic)
        return self._guards[key]

    @property
    def policy_ids(self) -> list[str]:
        """Every policy some tenant may use, in a stable order."""
        tenants = self.tenants.by_name.values()
        return sorted({p for t in tenants for p in (*t.default_policies, *t.allowed_policies)})


def build_serving(settings: Settings, tenants: Tenants, runtime: Runtime, version: int, fresh: bool = True) -> Serving:
    """A checked snapshot: every policy some tenant may use loaded with its critic. Raises on any failure, so a
    configuration that cannot serve never replaces one that can. `fresh` (a reload) reads the models again; the
    first snapshot uses those the runtime has loaded. Callers check `tenants` (cheap) before this loads models."""
    if fresh:
        registry = Registry(runtime.registry.plugins, load_context(settings, runtime.lm))
        extra = load_extra_critic(settings)
    else:
        registry, extra = runtime.registry, runtime.extra_critic
    serving = Serving(version, settings, tenants, registry, extra)
    for policy_id in serving.policy_ids:
        registry.load(policy_id)  # PolicyLoadError / UnknownPolicyError: refused before it can serve
    for guard in _guards(serving):
        guard.check_hidden_size(runtime.lm.hidden_size)
    return serving


def warm(serving: Serving, runtime: Runtime) -> None:
    """Run each tenant's default guard and each allowed policy once (a short generation), so the first request
    pays no first-call cost and a scorer that cannot run fails here, not on a request."""
    for guard in _guards(serving):
        runtime.engine.run("Say hello.", WARM_UP, guard=guard)
    log.info(
        "serving configuration ready",
        extra={"version": serving.version, "tenants": sorted(serving.tenants.by_name), "policies": serving.policy_ids},
    )


def _guards(serving: Serving) -> list[Guard]:
    """Each tenant's default guard and one guard per allowed policy, each once."""
    found: dict[int, Guard] = {}
    for tenant in serving.tenants.by_name.values():
        for ids in ((), *((p,) for p in sorted(tenant.allowed_policies))):
            guard = serving.guard(tenant, ids)
            found[id(guard)] = guard
    return list(found.values())
