#!/usr/bin/env bash
# The device check, ready for when a GPU is lent: the engine and service benchmarks on CUDA (torch on the GPU,
# onnxruntime-gpu's CUDA provider for the scorers), printing the same JSON lines as on a CPU.
# Needs an environment with the gpu extra (`pip install ".[gpu]"`, or the Docker image) and the model cache
# built (`make install` or a first `inferenceguard generate`). Usage: bench/gpu_check.sh [OUT_DIR]
set -euo pipefail
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
python - <<'PY'
import onnxruntime, torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
providers = onnxruntime.get_available_providers()
assert "CUDAExecutionProvider" in providers, f"onnxruntime has no CUDA provider: {providers} (install onnxruntime-gpu)"
print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, onnxruntime {onnxruntime.__version__}")
PY
inferenceguard --device cuda bench engine --json -n 16 -n 64 2> "$out/engine.log" | tail -1 | tee "$out/engine.json"
inferenceguard --device cuda bench service --json 2> "$out/service.log" | tail -1 | tee "$out/service.json"
grep -h -i "device\|provider" "$out/engine.log" "$out/service.log" | head -4 || true
