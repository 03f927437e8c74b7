"""The `harm` cost function: the probability that the response complies with a harmful request, read from
MiniLM embeddings of the prompt and of the response by a small head trained in this project (ONNX).

A refusal or a benign answer costs near 0; a compliant answer to a harmful request near 1. The response is
scored in the context of its prompt, so the same text can cost differently after different prompts. A
whole-text score of the response so far: a prefix cost.

A model whose head takes a `prompt_harm` input (the `gated` and `strict` designs) is also fed P(the request is
harmful) from its request gate, a fine-tuned MiniLM run once per prompt (harm_gate.py); one that also takes
`refuses_outright` (the `strict` design, harm 2.1.0) is fed the refusal rule's reading of each answer (refusal_rule.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferenceguard.critics.manifest import ManifestError, read_manifest, verify
from inferenceguard.policies.builtin.harm_gate import RequestGate, gate_folder
from inferenceguard.policies.builtin.minilm import MiniLmEncoder
from inferenceguard.policies.builtin.refusal_rule import refusal_rule

DEFAULT_BUDGET = 0.5


class HarmCost:
    name = "harm"
    semantics = "prefix"
    default_budget = DEFAULT_BUDGET

    def __init__(self, encoder: MiniLmEncoder, manifest_path: Path, home: Path) -> None:
        manifest = read_manifest(manifest_path)
        if manifest.details.get("features") != "all-MiniLM-L6-v2 mean-pooled, L2-normalised":
            raise ManifestError(manifest_path, "features", "this runtime feeds all-MiniLM-L6-v2 embeddings")
        self.version = manifest.version
        self.session = verify(manifest)
        self.encoder = encoder
        inputs = {spec.name for spec in manifest.inputs}
        self.gate = RequestGate(gate_folder(home, manifest)) if "prompt_harm" in inputs else None
        self.strict = "refuses_outright" in inputs

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        if not responses:
            return np.zeros(0)
        feeds = {"prompt_embedding": self.encoder.embed(prompts), "response_embedding": self.encoder.embed(responses)}
        if self.gate is not None:
            feeds["prompt_harm"] = self.gate(prompts)
        if self.strict:
            feeds["refuses_outright"] = refusal_rule(responses)
        return np.asarray(self.session.run(["cost"], feeds)[0], dtype=np.float64).reshape(-1)
