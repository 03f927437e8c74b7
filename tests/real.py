"""The real default stack (SmolLM2-135M-Instruct, Jigsaw toxicity ONNX, MiniLM relevance), loaded once."""

from __future__ import annotations

import functools

from inferenceguard.service.config import Settings
from inferenceguard.service.engine import Engine
from inferenceguard.service.runtime import build_engine


@functools.cache
def real_engine() -> Engine:
    return build_engine(Settings.load())
