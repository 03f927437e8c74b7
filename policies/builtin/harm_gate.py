"""The request gate of a `gated` harm model at run time: P(the request is harmful), once per prompt.

The gate's ONNX file is built from the shipped adapters on first use (harm_gate_build.py) into a cache folder named
by the adapters' sha256, so a new gate never reuses an old build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferenceguard.critics.artifacts import sha256_of
from inferenceguard.critics.manifest import Manifest, ManifestError
from inferenceguard.critics.onnx_runtime import open_session
from inferenceguard.policies.builtin.minilm import MAX_TOKENS
from inferenceguard.policies.builtin.text_cache import TextCache

_CACHE_SIZE = 256  # prompts: one request scores one prompt many times


class RequestGate:
    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        from inferenceguard.policies.builtin.harm_gate_build import GATE_ONNX

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS, direction="left")  # keep the request after a long passage
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = open_session(folder / GATE_ONNX, threads=2)
        self._cache: TextCache[float] = TextCache(_CACHE_SIZE)

    def __call__(self, prompts: Sequence[str]) -> np.ndarray:
        """[B] P(harmful) of each prompt."""
        return np.array(self._cache.get_many(prompts, lambda missing: self._run(missing).tolist()), dtype=np.float32)

    def _run(self, prompts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(prompts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return np.asarray(self.session.run(["p_harmful"], {"input_ids": ids, "attention_mask": mask})[0])


def gate_folder(home: Path, manifest: Manifest) -> Path:
    """The built gate of `manifest` (its `gate` entry), building it on first use after checking the weights."""
    spec = manifest.require("gate")
    weights = manifest.path.parent / spec["weights"]
    if not weights.exists():
        raise ManifestError(manifest.path, "gate.weights", f"{weights} does not exist")
    digest = sha256_of(weights)
    if digest != spec["sha256"]:
        raise ManifestError(manifest.path, "gate.sha256", f"{weights.name} has sha256 {digest}")
    folder = home / "scorers" / f"harm-gate-{digest[:16]}"
    from inferenceguard.policies.builtin.harm_gate_build import GATE_ONNX, build

    if not (folder / GATE_ONNX).exists():
        from safetensors.torch import load_file

        # built aside and renamed into place, so processes starting together never read a half-written file
        scratch = folder.with_name(f"{folder.name}.building-{os.getpid()}")
        build(scratch, load_file(str(weights)), int(spec["rank"]), float(spec["alpha"]), tuple(spec["targets"]))
        try:
            scratch.rename(folder)
        except OSError:  # another process got there first
            shutil.rmtree(scratch, ignore_errors=True)
    return folder
