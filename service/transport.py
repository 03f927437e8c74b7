"""Transport security: refuse a half or insecure configuration at start, and TLS credentials whose certificates a
reload replaces without a restart (each new handshake asks for the current ones)."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

import grpc

from inferenceguard.service.config import Settings
from inferenceguard.service.engine.errors import InvalidOptionError
from inferenceguard.service.tenants import Tenants

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CertificateFiles:
    key: bytes
    chain: bytes
    client_ca: bytes | None  # set: mutual TLS

    def configuration(self) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration([(self.key, self.chain)], root_certificates=self.client_ca)


def read_certificates(settings: Settings) -> CertificateFiles | None:
    """The TLS files, read and complete; None when TLS is off. A client CA alone would serve plaintext: refused."""
    cert, key, client_ca = settings.tls_cert, settings.tls_key, settings.tls_client_ca
    if not (cert or key or client_ca):
        return None
    if client_ca and not (cert and key):
        raise InvalidOptionError(
            "tls_client_ca", "needs tls_cert and tls_key: without them the server would be plaintext"
        )
    if not cert or not key:
        raise InvalidOptionError("tls_key" if cert else "tls_cert", "TLS needs both tls_cert and tls_key")
    roots = _read("tls_client_ca", client_ca) if client_ca else None
    return CertificateFiles(_read("tls_key", key), _read("tls_cert", cert), roots)


def check_security(settings: Settings, tenants: Tenants, tls: CertificateFiles | None) -> None:
    """Refuse credentials that would travel or be checked insecurely; warn on an open server beyond loopback."""
    if tenants.by_key_hash and tls is None:
        if not settings.allow_insecure:
            raise InvalidOptionError(
                "api_key" if settings.api_key else "tenants_file",
                "API keys without TLS travel in cleartext: set tls_cert and tls_key "
                "(or allow_insecure = true, for local testing only)",
            )
        log.warning("allow_insecure is set: API keys travel in cleartext")
    if tenants.by_subject and (tls is None or tls.client_ca is None):
        raise InvalidOptionError("tenants_file", "client_subjects need mutual TLS (tls_client_ca)")
    if not tenants.needs_credentials and not _is_loopback(settings.host):
        log.warning("serving without authentication on %s: every caller is the default tenant", settings.host)


def check_same_mode(old: Settings, new: Settings) -> None:
    """A reload may replace certificates, not switch TLS or mutual TLS on or off (that needs a restart)."""
    if (old.tls_cert is None, old.tls_client_ca is None) != (new.tls_cert is None, new.tls_client_ca is None):
        raise InvalidOptionError("tls_cert", "switching TLS or mutual TLS on or off needs a restart, not a reload")


class Certificates:
    """Server credentials that serve the newest certificates given to `update` from the next handshake on."""

    def __init__(self, files: CertificateFiles) -> None:
        self._files = self._served = files

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self._files.configuration(), self._fetch, require_client_authentication=self._files.client_ca is not None
        )

    def update(self, files: CertificateFiles) -> None:
        self._files = files

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        files = self._files  # called on a gRPC thread at each handshake: None = unchanged
        if files is self._served:
            return None
        self._served = files
        return files.configuration()


def _read(field: str, path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidOptionError(field, f"cannot read {path}: {exc.strerror}") from exc


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
