"""ControlService: what the server runs for this caller, its policies, Abort of the caller's own requests, and
Reload for operators."""

from __future__ import annotations

from typing import Any

from inferenceguard.service import convert
from inferenceguard.service.callers import caller
from inferenceguard.service.errors import PermissionDeniedError, status_of
from inferenceguard.service.inflight import InFlight
from inferenceguard.service.reload import Reloader
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.tenants import Tenant
from inferenceguard.v1 import control_pb2, control_pb2_grpc


class ControlServicer(control_pb2_grpc.ControlServiceServicer):
    def __init__(self, runtime: Runtime, reloader: Reloader, inflight: InFlight, admission: Any) -> None:
        self.runtime, self.reloader, self.inflight, self.admission = runtime, reloader, inflight, admission

    async def GetServerInfo(self, request: Any, context: Any) -> Any:
        tenant = await self._caller(context)
        running, queued, version = self.admission.max_running, self.admission.max_queued, self.reloader.current.version
        return convert.server_info_to_pb(self.runtime.lm, tenant, running, queued, version)

    async def ListPolicies(self, request: Any, context: Any) -> Any:
        tenant = await self._caller(context)
        ids = sorted(tenant.allowed_policies)
        return control_pb2.ListPoliciesResponse(policies=[self._policy(tenant, i) for i in ids])

    async def GetPolicy(self, request: Any, context: Any) -> Any:
        tenant = await self._caller(context)
        try:
            return self._policy(tenant, request.policy_id)
        except Exception as exc:
            await context.abort(*status_of(exc))

    async def Abort(self, request: Any, context: Any) -> Any:
        tenant = await self._caller(context)
        return control_pb2.AbortResponse(
            aborted_request_ids=self.inflight.abort(tenant.name, list(request.request_ids))
        )

    async def Reload(self, request: Any, context: Any) -> Any:
        tenant = await self._caller(context)
        if not tenant.operator:
            await context.abort(*status_of(PermissionDeniedError("Reload", "is for operator tenants only")))
        outcome = await self.reloader.reload()
        return control_pb2.ReloadResponse(
            ok=outcome.ok, config_version=outcome.version, error=outcome.error, needs_restart=outcome.needs_restart
        )

    async def _caller(self, context: Any) -> Tenant:
        try:
            return caller(self.reloader.current.tenants, context)
        except Exception as exc:
            await context.abort(*status_of(exc))
            raise  # pragma: no cover - abort raises

    def _policy(self, tenant: Tenant, policy_id: str) -> Any:
        spec = self.reloader.current.registry.spec(policy_id)
        return convert.policy_to_pb(spec, is_default=spec.id in tenant.default_policies)
