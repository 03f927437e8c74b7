"""A typed Python client for the InferenceGuard gRPC API."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from inferenceguard.service import channels
from inferenceguard.service.config import Settings
from inferenceguard.v1 import control_pb2, control_pb2_grpc, inference_pb2, inference_pb2_grpc, safety_pb2


@dataclass(frozen=True)
class StreamedAnswer:
    request_id: str
    text: str
    finish_reason: str  # e.g. "EOS", "BUDGET_EXHAUSTED"
    within_budget: bool
    policies: list[str] = field(default_factory=list)
    seed: int = 0


class Client:
    def __init__(
        self,
        target: str,
        *,
        api_key: str | None = None,
        credentials: grpc.ChannelCredentials | None = None,
        options: Sequence[tuple[str, str]] = channels.BALANCED,
    ):
        """`target` may name several servers (`dns:///inferenceguard.ns.svc:50051`): requests go round robin."""
        opts = list(options)
        secure = credentials is not None
        self.channel = grpc.secure_channel(target, credentials, opts) if secure else grpc.insecure_channel(target, opts)
        self.metadata = (("authorization", f"Bearer {api_key}"),) if api_key else ()
        self.inference = inference_pb2_grpc.InferenceServiceStub(self.channel)
        self.control = control_pb2_grpc.ControlServiceStub(self.channel)

    @classmethod
    def from_settings(cls, target: str, settings: Settings) -> Client:
        """A client that reaches `target` as the settings say: TLS, a client certificate, the API key."""
        credentials = channels.credentials(settings) if channels.uses_tls(settings) else None
        return cls(target, api_key=settings.api_key, credentials=credentials, options=channels.options(settings))

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.channel.close()

    @staticmethod
    def request(
        prompt: str,
        *,
        policies: Sequence[str] = (),
        seed: int | None = None,
        max_new_tokens: int | None = None,
        **search: Any,
    ) -> inference_pb2.GenerateRequest:
        message = inference_pb2.GenerateRequest(prompt=prompt)
        message.safety.policy_ids.extend(policies)
        if seed is not None:
            message.sampling.seed = seed
        if max_new_tokens is not None:
            message.stopping.max_new_tokens = max_new_tokens
        for name, value in search.items():
            setattr(message.search, name, value)
        return message

    def stream(self, request: inference_pb2.GenerateRequest, timeout: float | None = None) -> Iterator[Any]:
        """The raw stream: a start message, chunks, a finish message."""
        yield from self.inference.GenerateStream(request, timeout=timeout, metadata=self.metadata)

    def generate(self, request: inference_pb2.GenerateRequest, timeout: float | None = None) -> StreamedAnswer:
        reply = self.inference.Generate(request, timeout=timeout, metadata=self.metadata)
        return answer_of(reply)

    def policies(self) -> list[str]:
        reply = self.control.ListPolicies(control_pb2.ListPoliciesRequest(), metadata=self.metadata)
        return [p.ref.id for p in reply.policies]


def answer_of(final: Any, text: str | None = None) -> StreamedAnswer:
    finish = final.finish
    reason = safety_pb2.FinishReason.Name(finish.reason).removeprefix("FINISH_REASON_")
    return StreamedAnswer(
        final.request_id,
        finish.text if text is None else text,
        reason,
        finish.safety.within_budget,
        [p.id for p in finish.safety.policies],
        finish.seed,
    )
