"""The `relevance` reward: cosine similarity of prompt and response embeddings from all-MiniLM-L6-v2 (ONNX).

A stand-in for a preference reward model (none installs offline): it rewards answers on topic and says
nothing about helpfulness beyond that. In [-1, 1]; an empty response scores 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from inferenceguard.policies.builtin.minilm import MiniLmEncoder


class RelevanceReward:
    name = "relevance"

    def __init__(self, encoder: MiniLmEncoder) -> None:
        self.encoder = encoder

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        scores = np.zeros(len(responses))
        filled = [i for i, r in enumerate(responses) if r.strip()]
        if filled:
            answers = self.encoder.embed([responses[i] for i in filled])
            questions = self.encoder.embed([prompts[i] for i in filled])
            scores[filled] = (answers * questions).sum(axis=1)
        return scores
