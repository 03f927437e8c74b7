"""The tenant of an RPC: from its API key, else from its verified client certificate's subject."""

from __future__ import annotations

from typing import Any

from inferenceguard.service.tenants import Tenant, Tenants


def subjects_of(context: Any) -> list[str]:
    """The verified client certificate's subject as gRPC reports it (e.g. "CN=billing,O=Acme"); empty without one."""
    return [value.decode() for value in (context.auth_context() or {}).get("x509_subject", [])]


def caller(tenants: Tenants, context: Any) -> Tenant:
    """The caller's tenant; UnauthenticatedError when its credentials name none."""
    return tenants.identify(tuple(context.invocation_metadata() or ()), subjects_of(context))
