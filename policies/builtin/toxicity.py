"""The `toxicity` cost function: the Jigsaw BiLSTM run by onnxruntime on the response text.

cost = the highest of the six Jigsaw label probabilities (toxic, severe_toxic, obscene, threat, insult,
identity_hate) for the response so far, in [0, 1]; it is a whole-text classifier, so a prefix cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferenceguard.critics.manifest import read_manifest, verify

SEQUENCE_LENGTH = 100
DEFAULT_BUDGET = 0.5


class KerasStyleTokenizer:
    """Reproduces the Keras Tokenizer the model was trained with: lowercase, filters to spaces, split, drop
    unknown words, keep the last 100 ids, left-pad with 0."""

    def __init__(self, vocabulary: dict[str, object]) -> None:
        self.word_index: dict[str, int] = vocabulary["word_index"]  # type: ignore[assignment]
        self.lower = bool(vocabulary["lower"])
        self._filters = re.compile("[" + re.escape(str(vocabulary["filters"])) + "]")
        self._split = str(vocabulary["split"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        batch = np.zeros((len(texts), SEQUENCE_LENGTH), dtype=np.int64)
        for row, text in enumerate(texts):
            text = text.lower() if self.lower else text
            words = self._filters.sub(self._split, text).split(self._split)
            ids = [self.word_index[w] for w in words if w and w in self.word_index][-SEQUENCE_LENGTH:]
            if ids:
                batch[row, SEQUENCE_LENGTH - len(ids) :] = ids
        return batch


class ToxicityCost:
    name = "toxicity"
    semantics = "prefix"
    default_budget = DEFAULT_BUDGET

    def __init__(self, folder: Path) -> None:
        self.tokenizer = KerasStyleTokenizer(json.loads((folder / "vocabulary.json").read_text()))
        manifest = read_manifest(folder / "toxicity.manifest.json")
        self.version = manifest.version
        self.session = verify(manifest)

    def label_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """[B, 6] Jigsaw label probabilities."""
        if not texts:
            return np.zeros((0, 6), dtype=np.float32)
        return np.asarray(self.session.run(["probs"], {"input_ids": self.tokenizer.encode(texts)})[0])

    def __call__(self, prompts: Sequence[str], responses: Sequence[str]) -> np.ndarray:
        return self.label_probabilities(responses).max(axis=1).astype(np.float64)


def toxicity_folder(cache_dir: Path) -> Path:
    """The built model folder, building it first if needed."""
    from inferenceguard.critics.artifacts import package_version

    folder = cache_dir / "scorers" / f"toxicity-{package_version('toxic-comment-classifier')}"
    if not (folder / "toxicity.manifest.json").exists():
        from inferenceguard.policies.builtin.toxicity_build import build

        build(folder)
    return folder
