"""The `acme-terms` cost function: term counts in Python, their weighting in ONNX."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from acme_policy.terms import TERMS
from inferenceguard.critics.manifest import read_manifest, verify

MODEL = Path(__file__).parent / "model" / "terms.manifest.json"


class AcmeTermsCost:
    name = "acme-terms"
    semantics = "prefix"
    default_budget = 0.5

    def __init__(self, manifest: Path = MODEL) -> None:
        self.session = verify(read_manifest(manifest))  # checks sha256, inputs and outputs
        self.patterns = [re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE) for term in TERMS]

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        counts = np.array([[len(p.findall(text)) for p in self.patterns] for text in responses], dtype=np.float32)
        counts = counts.reshape(len(responses), len(self.patterns))
        return np.asarray(self.session.run(["cost"], {"counts": counts})[0], dtype=np.float64)
