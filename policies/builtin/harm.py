"""The `harm` cost function: the probability that the response complies with a harmful request, read from
MiniLM embeddings of the prompt and of the response by a small head trained in this project (ONNX).

A refusal or a benign answer costs near 0; a compliant answer to a harmful request near 1. The response is
scored in the context of its prompt, so the same text can cost differently after different prompts. A
whole-text score of the response so far: a prefix cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferenceguard.critics.manifest import ManifestError, read_manifest, verify
from inferenceguard.policies.builtin.minilm import MiniLmEncoder

MODEL_DIR = Path(__file__).parent / "models" / "harm"
DEFAULT_BUDGET = 0.5


class HarmCost:
    name = "harm"
    semantics = "prefix"
    default_budget = DEFAULT_BUDGET

    def __init__(self, encoder: MiniLmEncoder, manifest_path: Path = MODEL_DIR / "harm.manifest.json") -> None:
        manifest = read_manifest(manifest_path)
        if manifest.details.get("features") != "all-MiniLM-L6-v2 mean-pooled, L2-normalised":
            raise ManifestError(manifest_path, "features", "this runtime feeds all-MiniLM-L6-v2 embeddings")
        self.version = manifest.version
        self.session = verify(manifest)
        self.encoder = encoder

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if not responses:
            return np.zeros(0)
        feeds = {"prompt_embedding": self.encoder.embed(prompts), "response_embedding": self.encoder.embed(responses)}
        return np.asarray(self.session.run(["cost"], feeds)[0], dtype=np.float64).reshape(-1)
