"""onnxruntime sessions: the CUDA provider when it is there, else the CPU; the choice is logged once."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as exc:  # the package leaves the choice of runtime to an extra
        raise RuntimeError(
            "onnxruntime is not installed: install inferenceguard[cpu] (onnxruntime) or inferenceguard[gpu] "
            "(onnxruntime-gpu)"
        ) from exc
    return onnxruntime


@functools.cache
def providers() -> tuple[str, ...]:
    ort = _onnxruntime()

    available = ort.get_available_providers()
    chosen = (
        ("CUDAExecutionProvider", "CPUExecutionProvider")
        if "CUDAExecutionProvider" in available
        else ("CPUExecutionProvider",)
    )
    log.info("onnxruntime %s: using %s", ort.__version__, chosen[0])
    return chosen


def open_session(path: Path, *, threads: int = 1) -> Any:
    """An inference session for `path`. One intra-op thread by default: the scorers' batches are small and
    the LM needs the cores."""
    ort = _onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=options, providers=list(providers()))
