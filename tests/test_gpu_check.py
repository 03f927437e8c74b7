"""bench/gpu_check.sh, the device check: on a machine without CUDA it stops before any benchmark, saying why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "gpu_check.sh"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA: the script would run the benchmarks")
def test_without_cuda_the_check_stops_before_benchmarking(tmp_path: Path) -> None:
    environ = os.environ | {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", str(SCRIPT), str(tmp_path)], capture_output=True, text=True, env=environ, timeout=120, check=False
    )
    assert done.returncode != 0 and "no CUDA device visible to torch" in done.stderr
    assert not (tmp_path / "engine.json").exists()
