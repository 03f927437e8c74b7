"""Client channels to a server (`health`, `generate --server`, the Python client): TLS, a client certificate and
the API key come from the same settings as the server's, so a probe in the server's container needs no flags."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from inferenceguard.service.config import Settings
from inferenceguard.service.engine.errors import InvalidOptionError

# Every address a name resolves to gets requests in turn (a headless Service's pods). No retry policy: with one,
# grpc-core left server streams waiting until their deadline once the server they ran on had stopped (seen in the
# soak); a request refused with UNAVAILABLE by a draining server started nothing and is safe to send again.
SERVICE_CONFIG = json.dumps({"loadBalancingConfig": [{"round_robin": {}}]})
BALANCED = [("grpc.service_config", SERVICE_CONFIG)]


def uses_tls(settings: Settings) -> bool:
    return bool(settings.tls_ca or settings.tls_cert or settings.tls_client_cert)


def open_channel(target: str, settings: Settings) -> grpc.Channel:
    """A channel to `target`: TLS when the settings name a CA, a server certificate or a client certificate."""
    if not uses_tls(settings):
        return grpc.insecure_channel(target, options(settings))
    return grpc.secure_channel(target, credentials(settings), options(settings))


def credentials(settings: Settings) -> grpc.ChannelCredentials:
    roots = Path(settings.tls_ca).read_bytes() if settings.tls_ca else None
    if bool(settings.tls_client_cert) != bool(settings.tls_client_key):
        raise InvalidOptionError("tls_client_cert", "a client certificate needs tls_client_cert and tls_client_key")
    key = Path(settings.tls_client_key).read_bytes() if settings.tls_client_key else None
    chain = Path(settings.tls_client_cert).read_bytes() if settings.tls_client_cert else None
    return grpc.ssl_channel_credentials(roots, key, chain)


def options(settings: Settings) -> list[tuple[str, str]]:
    name = [("grpc.ssl_target_name_override", settings.tls_server_name)] if settings.tls_server_name else []
    return BALANCED + name
