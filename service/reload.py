"""Live reload (SIGHUP or ControlService.Reload): read the settings, the tenants file, the certificates and the
policies' models again, check them whole, then swap. A failed reload keeps what serves now and says why;
in-flight requests finish under the snapshot they started with."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from inferenceguard.service.config import LIVE, Settings
from inferenceguard.service.metrics import Metrics
from inferenceguard.service.runtime import Runtime
from inferenceguard.service.serving import Serving, build_serving, warm
from inferenceguard.service.tenants import load_tenants
from inferenceguard.service.transport import (
    CertificateFiles,
    Certificates,
    check_same_mode,
    check_security,
    read_certificates,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    version: int  # the configuration serving after the attempt
    error: str = ""
    needs_restart: tuple[str, ...] = ()  # settings that changed but only apply at the next start


class Reloader:
    def __init__(
        self,
        serving: Serving,
        runtime: Runtime,
        load_settings: Callable[[], Settings] | None,
        metrics: Metrics,
        certificates: Certificates | None = None,
    ) -> None:
        self.current, self.runtime, self.metrics, self.certificates = serving, runtime, metrics, certificates
        self._load_settings = load_settings or (lambda: self.current.settings)
        self._lock = asyncio.Lock()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reload")  # never a search worker

    async def reload(self) -> ReloadOutcome:
        async with self._lock:
            loop = asyncio.get_running_loop()
            try:
                serving, ignored, files = await loop.run_in_executor(self._executor, self._build)
            except Exception as exc:
                self.metrics.reloads.labels("failure").inc()
                log.error("reload failed; the current configuration keeps serving", extra={"error": str(exc)})
                return ReloadOutcome(False, self.current.version, str(exc))
            self.current = serving  # one assignment: a request reads either the old snapshot or the new one
            if self.certificates is not None and files is not None:
                self.certificates.update(files)
            self.metrics.reloads.labels("success").inc()
            if ignored:
                log.warning("changed settings apply at the next start", extra={"settings": list(ignored)})
            return ReloadOutcome(True, serving.version, needs_restart=ignored)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _build(self) -> tuple[Serving, tuple[str, ...], CertificateFiles | None]:
        old = self.current.settings
        loaded = self._load_settings()
        settings = dataclasses.replace(old, **{name: getattr(loaded, name) for name in LIVE})
        ignored = tuple(
            f.name for f in dataclasses.fields(Settings) if getattr(loaded, f.name) != getattr(settings, f.name)
        )
        check_same_mode(old, settings)
        tenants, files = load_tenants(settings), read_certificates(settings)
        check_security(settings, tenants, files)  # before the models are read again
        serving = build_serving(settings, tenants, self.runtime, self.current.version + 1)
        warm(serving, self.runtime)
        return serving, ignored, files
