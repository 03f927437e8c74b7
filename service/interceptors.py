"""The credentials check in front of every RPC but health: a call whose API key names no tenant is refused.

Our own services identify the caller's tenant again (a client certificate's subject is visible there, not here);
this check also covers reflection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from inferenceguard.service.errors import UnauthenticatedError
from inferenceguard.service.tenants import Tenants

OPEN_METHODS = ("/grpc.health.v1.Health/",)


class CredentialsInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, tenants: Callable[[], Tenants]) -> None:
        self._tenants = tenants  # the current tenants: a reload may change them

    async def intercept_service(self, continuation: Callable[[Any], Awaitable[Any]], handler_call_details: Any) -> Any:
        if handler_call_details.method.startswith(OPEN_METHODS):
            return await continuation(handler_call_details)
        tenants, metadata = self._tenants(), tuple(handler_call_details.invocation_metadata or ())
        try:
            tenants.identify(metadata)
            return await continuation(handler_call_details)
        except UnauthenticatedError as exc:
            if tenants.by_subject and "authorization" not in dict(metadata):
                return await continuation(handler_call_details)  # mutual TLS: the service checks the subject
            message = str(exc)
        handler = await continuation(handler_call_details)

        async def refuse(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

        async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
            yield  # pragma: no cover - makes this an async generator

        if handler is not None and handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(refuse_stream)
        return grpc.unary_unary_rpc_method_handler(refuse)
