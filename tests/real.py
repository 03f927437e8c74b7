"""The real default stack (SmolLM2-135M-Instruct, the built-in policies), loaded once per test run."""

from __future__ import annotations

import functools

from inferenceguard.service.config import Settings
from inferenceguard.service.runtime import Runtime, build_runtime


@functools.cache
def real_runtime() -> Runtime:
    return build_runtime(Settings.load())
