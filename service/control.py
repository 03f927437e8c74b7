"""ControlService: what the server runs, its policies, and Abort."""

from __future__ import annotations

from typing import Any

from inferenceguard.service import convert
from inferenceguard.service.config import Settings
from inferenceguard.service.errors import status_of
from inferenceguard.service.inflight import InFlight
from inferenceguard.service.runtime import Runtime
from inferenceguard.v1 import control_pb2, control_pb2_grpc, safety_pb2

API_VERSION = "inferenceguard.v1"
CAPABILITIES = ("streaming", "abort", "safety_trace", "multiple_policies", "critics", "token_ids")


class ControlServicer(control_pb2_grpc.ControlServiceServicer):
    def __init__(self, runtime: Runtime, inflight: InFlight, limits: convert.Limits, admission: Any) -> None:
        self.runtime, self.inflight, self.limits, self.admission = runtime, inflight, limits, admission

    async def GetServerInfo(self, request: Any, context: Any) -> Any:
        import importlib.metadata

        lm = self.runtime.lm
        limits = control_pb2.Limits(
            max_new_tokens=self.limits.max_new_tokens,
            max_num_candidates=self.limits.max_num_candidates,
            max_concurrent_requests=self.admission.max_running,
            max_queued_requests=self.admission.max_queued,
        )
        return control_pb2.ServerInfo(
            server_version=importlib.metadata.version("inferenceguard"),
            api_version=API_VERSION,
            model_id=lm.model_id,
            device=str(lm.device),
            hidden_size=lm.hidden_size,
            context_length=lm.context_length,
            default_policy_ids=self.default_ids(),
            capabilities=CAPABILITIES,
            limits=limits,
        )

    async def ListPolicies(self, request: Any, context: Any) -> Any:
        ids = self.runtime.registry.policy_ids()
        return control_pb2.ListPoliciesResponse(policies=[self._policy(i) for i in ids])

    async def GetPolicy(self, request: Any, context: Any) -> Any:
        try:
            return self._policy(request.policy_id)
        except Exception as exc:
            code, message = status_of(exc)
            await context.abort(code, message)

    async def Abort(self, request: Any, context: Any) -> Any:
        return control_pb2.AbortResponse(aborted_request_ids=self.inflight.abort(list(request.request_ids)))

    def default_ids(self) -> list[str]:
        return Settings.names(self.runtime.settings.default_policy)

    def _policy(self, policy_id: str) -> Any:
        spec = self.runtime.registry.spec(policy_id)
        return control_pb2.Policy(
            ref=safety_pb2.PolicyRef(id=spec.id, version=spec.version),
            plugin=spec.plugin,
            description=spec.description,
            budgets=dict(spec.cost_functions),
            critic=spec.critic or "",
            reward=spec.reward or "",
            is_default=spec.id in self.default_ids(),
        )
